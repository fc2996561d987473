/*
 * list.h — the one intrusive doubly linked list (head, tail, count).
 *
 * The caller embeds a dt_list_node_t in its own struct; DT_LIST_ENTRY turns a node back into
 * its struct. Push at either end, remove any node, pop the first: all O(1), no allocation.
 * A zeroed dt_list_t is an empty list; a zeroed node is in no list.
 *
 *     typedef struct { dt_list_node_t link; int n; } item_t;
 *     dt_list_t items = {0};
 *     dt_list_push_back(&items, &it->link);
 *     for (dt_list_node_t *n = items.head; n; n = n->next) {
 *       item_t *it = DT_LIST_ENTRY(n, item_t, link); ...
 *     }
 *     while (items.head) destroy(DT_LIST_ENTRY(items.head, item_t, link)); // destroy removes
 *     dt_list_remove(&items, &it->link);
 *
 * Rules: a node is in at most one list at a time through one dt_list_node_t (a struct that
 * sits in two lists embeds two nodes). Removing leaves the node's links NULL, so
 * dt_list_linked can tell, in O(1), whether a node that is either in this list or in none is
 * in it. To free nodes while walking, read n->next before the node goes. Not thread-safe.
 */
#ifndef DIALTONE_LIST_H
#define DIALTONE_LIST_H
#include <stdbool.h>
#include <stddef.h>
#include "dialtone/common.h" /* DT_CONTAINER_OF */

typedef struct dt_list_node_s {
  struct dt_list_node_s *prev, *next; /* NULL at the ends, and both NULL when in no list */
} dt_list_node_t;

typedef struct {
  dt_list_node_t *head, *tail;
  size_t count;
} dt_list_t;

/* The struct holding node, NULL for a NULL node; node is evaluated once, so
   DT_LIST_ENTRY(dt_list_pop_front(&l), T, link) is fine. */
static inline void *dt__list_entry(dt_list_node_t *node, size_t offset) {
  return node ? (char *)node - offset : NULL;
}
#define DT_LIST_ENTRY(node, type, member) ((type *)dt__list_entry((node), offsetof(type, member)))

void dt_list_push_front(dt_list_t *l, dt_list_node_t *n); /* n must be in no list */
void dt_list_push_back(dt_list_t *l, dt_list_node_t *n);  /* n must be in no list */
/* n must be in l. Afterwards n's links are NULL. */
void dt_list_remove(dt_list_t *l, dt_list_node_t *n);
/* Removes and returns the first node, or NULL when l is empty. */
dt_list_node_t *dt_list_pop_front(dt_list_t *l);
/* Whether n is in l, for a node that is in l or in no list (not for one in another list). */
bool dt_list_linked(const dt_list_t *l, const dt_list_node_t *n);
size_t dt_list_count(const dt_list_t *l); /* 0 for NULL */

#endif
