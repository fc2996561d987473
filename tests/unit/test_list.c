/* Unit tests for list.c: the intrusive list's pushes at both ends, removal anywhere (links
   left NULL), pop, count, dt_list_linked, freeing while walking, and a struct in two lists. */
#include <stdlib.h>
#include "dialtone/common.h"
#include "dialtone/list.h"
#include "harness/dt_test.h"

typedef struct {
  dt_list_node_t link;
  dt_list_node_t other; /* a second list */
  int n;
} item_t;

static item_t *item_of(dt_list_node_t *n) { return DT_LIST_ENTRY(n, item_t, link); }

/* The list's values front to back into out (and back to front must mirror it). */
static size_t values(const dt_list_t *l, int *out, size_t max) {
  size_t k = 0;
  for (dt_list_node_t *n = l->head; n && k < max; n = n->next) out[k++] = item_of(n)->n;
  size_t back = 0;
  for (dt_list_node_t *n = l->tail; n; n = n->prev) back++;
  return back == k ? k : (size_t)-1;
}

DT_TEST(zeroed_list_is_empty) {
  dt_list_t l = {0};
  item_t a = {0};
  DT_ASSERT(l.head == NULL && l.tail == NULL);
  DT_ASSERT_EQ_INT(dt_list_count(&l), 0);
  DT_ASSERT_EQ_INT(dt_list_count(NULL), 0);
  DT_ASSERT(dt_list_pop_front(&l) == NULL);
  DT_ASSERT(!dt_list_linked(&l, &a.link));
  DT_ASSERT(DT_LIST_ENTRY((dt_list_node_t *)NULL, item_t, link) == NULL);
}

DT_TEST(push_both_ends_keeps_order_and_count) {
  dt_list_t l = {0};
  item_t it[4] = {{.n = 0}, {.n = 1}, {.n = 2}, {.n = 3}};
  dt_list_push_back(&l, &it[1].link);
  dt_list_push_back(&l, &it[2].link);
  dt_list_push_front(&l, &it[0].link);
  dt_list_push_back(&l, &it[3].link);
  int v[8];
  DT_ASSERT_EQ_INT(values(&l, v, 8), 4);
  for (int i = 0; i < 4; i++) DT_ASSERT_EQ_INT(v[i], i);
  DT_ASSERT_EQ_INT(dt_list_count(&l), 4);
  DT_ASSERT(item_of(l.head) == &it[0] && item_of(l.tail) == &it[3]);
  /* push_front on an empty list sets the tail too */
  dt_list_t m = {0};
  item_t x = {.n = 9};
  dt_list_push_front(&m, &x.link);
  DT_ASSERT(m.head == &x.link && m.tail == &x.link);
}

DT_TEST(remove_anywhere_unlinks_and_keeps_the_rest) {
  dt_list_t l = {0};
  item_t it[5];
  for (int i = 0; i < 5; i++) {
    it[i] = (item_t){.n = i};
    dt_list_push_back(&l, &it[i].link);
  }
  dt_list_remove(&l, &it[2].link); /* middle */
  DT_ASSERT(it[2].link.prev == NULL && it[2].link.next == NULL);
  DT_ASSERT(!dt_list_linked(&l, &it[2].link));
  dt_list_remove(&l, &it[0].link); /* head */
  dt_list_remove(&l, &it[4].link); /* tail */
  int v[8];
  DT_ASSERT_EQ_INT(values(&l, v, 8), 2);
  DT_ASSERT_EQ_INT(v[0], 1);
  DT_ASSERT_EQ_INT(v[1], 3);
  DT_ASSERT(dt_list_linked(&l, &it[1].link) && dt_list_linked(&l, &it[3].link));
  dt_list_remove(&l, &it[1].link);
  dt_list_remove(&l, &it[3].link);
  DT_ASSERT(l.head == NULL && l.tail == NULL);
  DT_ASSERT_EQ_INT(dt_list_count(&l), 0);
  /* a node back in after removal */
  dt_list_push_front(&l, &it[2].link);
  DT_ASSERT(dt_list_linked(&l, &it[2].link)); /* the only node: no prev, but it is the head */
  DT_ASSERT_EQ_INT(dt_list_count(&l), 1);
}

DT_TEST(pop_front_is_a_fifo_with_push_back) {
  dt_list_t q = {0};
  item_t it[3] = {{.n = 10}, {.n = 11}, {.n = 12}};
  for (int i = 0; i < 3; i++) dt_list_push_back(&q, &it[i].link);
  for (int i = 0; i < 3; i++) {
    dt_list_node_t *n = dt_list_pop_front(&q);
    DT_ASSERT(n != NULL);
    DT_ASSERT_EQ_INT(item_of(n)->n, 10 + i);
    DT_ASSERT(n->prev == NULL && n->next == NULL);
  }
  DT_ASSERT(dt_list_pop_front(&q) == NULL);
  DT_ASSERT(q.tail == NULL);
  /* DT_LIST_ENTRY evaluates its node once: popping through it takes one node */
  for (int i = 0; i < 3; i++) dt_list_push_back(&q, &it[i].link);
  item_t *first = DT_LIST_ENTRY(dt_list_pop_front(&q), item_t, link);
  DT_ASSERT(first == &it[0]);
  DT_ASSERT_EQ_INT(dt_list_count(&q), 2);
  DT_ASSERT(DT_LIST_ENTRY(dt_list_pop_front(&q), item_t, link) == &it[1]);
}

DT_TEST(free_while_walking_and_draining) {
  dt_list_t l = {0};
  for (int i = 0; i < 100; i++) {
    item_t *it = dt_xcalloc(1, sizeof *it);
    it->n = i;
    dt_list_push_back(&l, &it->link);
  }
  /* free the even ones while walking */
  for (dt_list_node_t *n = l.head, *next; n; n = next) {
    next = n->next;
    item_t *it = item_of(n);
    if (it->n % 2 == 0) {
      dt_list_remove(&l, n);
      free(it);
    }
  }
  DT_ASSERT_EQ_INT(dt_list_count(&l), 50);
  int expect = 1;
  for (dt_list_node_t *n = l.head; n; n = n->next, expect += 2) DT_ASSERT_EQ_INT(item_of(n)->n, expect);
  while (l.head) {
    item_t *it = item_of(l.head);
    dt_list_remove(&l, &it->link);
    free(it);
  }
  DT_ASSERT_EQ_INT(dt_list_count(&l), 0);
}

DT_TEST(one_struct_in_two_lists) {
  dt_list_t a = {0}, b = {0};
  item_t it[2] = {{.n = 1}, {.n = 2}};
  dt_list_push_back(&a, &it[0].link);
  dt_list_push_back(&a, &it[1].link);
  dt_list_push_front(&b, &it[0].other);
  dt_list_push_front(&b, &it[1].other);
  DT_ASSERT(DT_LIST_ENTRY(b.head, item_t, other) == &it[1]);
  dt_list_remove(&a, &it[1].link);
  DT_ASSERT_EQ_INT(dt_list_count(&a), 1);
  DT_ASSERT_EQ_INT(dt_list_count(&b), 2);
  DT_ASSERT(dt_list_linked(&b, &it[1].other));
}

DT_TEST_MAIN()
