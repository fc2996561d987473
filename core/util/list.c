/*
 * list.c — the intrusive doubly linked list of list.h. Owns nothing but the links it sets;
 * promises O(1) push, remove and pop, no allocation, and a removed node left unlinked (NULL).
 */
#include "dialtone/list.h"

/* n goes between prev and next, neighbours in l (NULL at an end). */
static void link_between(dt_list_t *l, dt_list_node_t *n, dt_list_node_t *prev, dt_list_node_t *next) {
  n->prev = prev;
  n->next = next;
  if (prev) prev->next = n;
  else l->head = n;
  if (next) next->prev = n;
  else l->tail = n;
  l->count++;
}

void dt_list_push_front(dt_list_t *l, dt_list_node_t *n) { link_between(l, n, NULL, l->head); }

void dt_list_push_back(dt_list_t *l, dt_list_node_t *n) { link_between(l, n, l->tail, NULL); }

void dt_list_remove(dt_list_t *l, dt_list_node_t *n) {
  if (n->prev) n->prev->next = n->next;
  else l->head = n->next;
  if (n->next) n->next->prev = n->prev;
  else l->tail = n->prev;
  n->prev = n->next = NULL;
  l->count--;
}

dt_list_node_t *dt_list_pop_front(dt_list_t *l) {
  dt_list_node_t *n = l->head;
  if (n) dt_list_remove(l, n);
  return n;
}

bool dt_list_linked(const dt_list_t *l, const dt_list_node_t *n) { return n->prev != NULL || l->head == n; }

size_t dt_list_count(const dt_list_t *l) { return l ? l->count : 0; }
