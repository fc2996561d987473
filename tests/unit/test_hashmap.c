/* Unit tests for hashmap.c: intrusive nodes (the call registry's use) and value maps (the
   emulator's), growth, removal while iterating, and that keys are compared by content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/hashmap.h"
#include "harness/dt_test.h"

typedef struct {
  dt_hashmap_node_t hnode;
  char key[16];
  int n;
} item_t;

static item_t *item_of(dt_hashmap_node_t *n) { return n ? DT_CONTAINER_OF(n, item_t, hnode) : NULL; }

DT_TEST(hash_is_the_trees_fnv1a) {
  /* FNV-1a with the offset basis the tree has always used (a digit short of the standard
     14695981039346656037): the same buckets, and so the same iteration order, as before */
  DT_ASSERT(dt_hashmap_hash("") == 1469598103934665603ULL);
  DT_ASSERT(dt_hashmap_hash("a") == 0x44bd8ad473cd9906ULL);
  DT_ASSERT(dt_hashmap_hash("ab") != dt_hashmap_hash("ba"));
}

DT_TEST(empty_map_finds_nothing_and_allocates_nothing) {
  dt_hashmap_t m = {0};
  DT_ASSERT(dt_hashmap_find(&m, "x") == NULL);
  DT_ASSERT(dt_hashmap_get(&m, "x") == NULL);
  DT_ASSERT(dt_hashmap_del(&m, "x") == NULL);
  DT_ASSERT(m.buckets == NULL);
  dt_hashmap_iter_t it = dt_hashmap_iter(&m);
  DT_ASSERT(dt_hashmap_next(&it) == NULL);
  item_t stray = {0};
  DT_ASSERT(!dt_hashmap_remove(&m, &stray.hnode));
  dt_hashmap_free(&m);
}

DT_TEST(intrusive_insert_find_remove_through_growth) {
  enum { N = 5000 };
  item_t *items = calloc(N, sizeof *items);
  dt_hashmap_t m = {0};
  for (int i = 0; i < N; i++) {
    snprintf(items[i].key, sizeof items[i].key, "call-%d", i);
    items[i].n = i;
    dt_hashmap_insert(&m, &items[i].hnode, items[i].key);
  }
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), N);
  DT_ASSERT(m.nbuckets >= N && (m.nbuckets & (m.nbuckets - 1)) == 0);
  for (int i = 0; i < N; i++) {
    char k[16];
    snprintf(k, sizeof k, "call-%d", i); /* another copy of the key: compared by content */
    item_t *it = item_of(dt_hashmap_find(&m, k));
    DT_ASSERT(it == &items[i]);
  }
  DT_ASSERT(dt_hashmap_find(&m, "call-5000") == NULL);
  for (int i = 0; i < N; i += 2) DT_ASSERT(dt_hashmap_remove(&m, &items[i].hnode));
  DT_ASSERT(!dt_hashmap_remove(&m, &items[0].hnode)); /* already out */
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), N / 2);
  for (int i = 0; i < N; i++) DT_ASSERT((dt_hashmap_find(&m, items[i].key) != NULL) == (i % 2 == 1));
  /* a removed node can go back in */
  dt_hashmap_insert(&m, &items[0].hnode, items[0].key);
  DT_ASSERT(item_of(dt_hashmap_find(&m, "call-0")) == &items[0]);
  dt_hashmap_free(&m);
  DT_ASSERT(m.buckets == NULL && m.count == 0);
  free(items);
}

DT_TEST(iteration_visits_each_once_and_survives_removal) {
  enum { N = 300 };
  item_t items[N];
  dt_hashmap_t m = {0};
  for (int i = 0; i < N; i++) {
    snprintf(items[i].key, sizeof items[i].key, "k%d", i);
    items[i].n = 0;
    dt_hashmap_insert(&m, &items[i].hnode, items[i].key);
  }
  dt_hashmap_iter_t it = dt_hashmap_iter(&m);
  int seen = 0;
  for (dt_hashmap_node_t *n; (n = dt_hashmap_next(&it)) != NULL;) {
    item_t *x = item_of(n);
    x->n++;
    seen++;
    DT_ASSERT(dt_hashmap_remove(&m, n)); /* removing the node just returned is allowed */
  }
  DT_ASSERT_EQ_INT(seen, N);
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), 0);
  for (int i = 0; i < N; i++) DT_ASSERT_EQ_INT(items[i].n, 1);
  dt_hashmap_free(&m);
}

static int freed;
static void count_free(void *v) {
  freed++;
  free(v);
}

DT_TEST(value_map_copies_keys_and_replaces) {
  dt_hashmap_t m = {0};
  char key[8] = "alpha";
  int a = 1, b = 2;
  dt_hashmap_put(&m, key, &a);
  strcpy(key, "XXXXX"); /* the map holds its own copy */
  DT_ASSERT(dt_hashmap_get(&m, "alpha") == &a);
  DT_ASSERT(dt_hashmap_get(&m, "XXXXX") == NULL);
  dt_hashmap_put(&m, "alpha", &b); /* replaces, does not add */
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), 1);
  DT_ASSERT(dt_hashmap_get(&m, "alpha") == &b);
  DT_ASSERT(dt_hashmap_del(&m, "alpha") == &b);
  DT_ASSERT(dt_hashmap_del(&m, "alpha") == NULL);
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), 0);
  dt_hashmap_clear(&m, NULL);
}

DT_TEST(value_map_values_entries_and_clear) {
  dt_hashmap_t m = {0};
  for (int i = 0; i < 200; i++) {
    char k[16];
    snprintf(k, sizeof k, "v%d", i);
    int *v = malloc(sizeof *v);
    *v = i;
    dt_hashmap_put(&m, k, v);
  }
  size_t n = 0;
  void **vals = dt_hashmap_values(&m, &n);
  DT_ASSERT_EQ_INT(n, 200);
  long sum = 0;
  for (size_t i = 0; i < n; i++) sum += *(int *)vals[i];
  DT_ASSERT_EQ_INT(sum, 199 * 200 / 2);
  free(vals);
  /* remove the odd values while iterating, through their entries */
  dt_hashmap_iter_t it = dt_hashmap_iter(&m);
  for (dt_hashmap_node_t *node; (node = dt_hashmap_next(&it)) != NULL;) {
    dt_hashmap_entry_t *e = dt_hashmap_entry(node);
    int v = *(int *)e->val;
    char k[16];
    snprintf(k, sizeof k, "v%d", v);
    DT_ASSERT_EQ_STR(e->node.key, k);
    if (v % 2) free(dt_hashmap_entry_remove(&m, e));
  }
  DT_ASSERT_EQ_INT(dt_hashmap_count(&m), 100);
  DT_ASSERT(dt_hashmap_get(&m, "v3") == NULL);
  DT_ASSERT_EQ_INT(*(int *)dt_hashmap_get(&m, "v4"), 4);
  freed = 0;
  dt_hashmap_clear(&m, count_free);
  DT_ASSERT_EQ_INT(freed, 100);
  DT_ASSERT(m.buckets == NULL && dt_hashmap_count(&m) == 0);
  vals = dt_hashmap_values(&m, &n); /* never NULL, even empty */
  DT_ASSERT(vals != NULL && n == 0);
  free(vals);
}

DT_TEST_MAIN()
