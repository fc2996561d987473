/*
 * hashmap.c — the string-keyed hash map of hashmap.h: chained buckets, a power of two of them,
 * FNV-1a hashes kept in the nodes. Owns the bucket array (and, for value maps, the entries);
 * promises O(1) insert/find/remove with no allocation but the occasional growth.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/hashmap.h"

#define DT__HASHMAP_MIN 64

uint64_t dt_hashmap_hash(const char *key) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ULL;
  return h;
}

void dt_hashmap_free(dt_hashmap_t *m) {
  free(m->buckets);
  m->buckets = NULL;
  m->nbuckets = m->count = 0;
}

size_t dt_hashmap_count(const dt_hashmap_t *m) { return m->count; }

static void dt__hashmap_grow(dt_hashmap_t *m) {
  size_t n = m->nbuckets ? m->nbuckets * 2 : DT__HASHMAP_MIN;
  dt_hashmap_node_t **b = dt_xcalloc(n, sizeof *b);
  for (size_t i = 0; i < m->nbuckets; i++) {
    dt_hashmap_node_t *e = m->buckets[i];
    while (e) {
      dt_hashmap_node_t *next = e->next;
      size_t j = (size_t)e->hash & (n - 1);
      e->next = b[j];
      b[j] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

void dt_hashmap_insert(dt_hashmap_t *m, dt_hashmap_node_t *node, const char *key) {
  if (m->count + 1 > m->nbuckets) dt__hashmap_grow(m);
  node->key = key;
  node->hash = dt_hashmap_hash(key);
  size_t i = (size_t)node->hash & (m->nbuckets - 1);
  node->next = m->buckets[i];
  m->buckets[i] = node;
  m->count++;
}

static dt_hashmap_node_t **dt__hashmap_slot(const dt_hashmap_t *m, const char *key) {
  if (m->nbuckets == 0) return NULL;
  uint64_t h = dt_hashmap_hash(key);
  dt_hashmap_node_t **pp = &m->buckets[(size_t)h & (m->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->next)
    if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0) return pp;
  return NULL;
}

dt_hashmap_node_t *dt_hashmap_find(const dt_hashmap_t *m, const char *key) {
  dt_hashmap_node_t **pp = dt__hashmap_slot(m, key);
  return pp ? *pp : NULL;
}

bool dt_hashmap_remove(dt_hashmap_t *m, dt_hashmap_node_t *node) {
  if (m->nbuckets == 0) return false;
  dt_hashmap_node_t **pp = &m->buckets[(size_t)node->hash & (m->nbuckets - 1)];
  while (*pp && *pp != node) pp = &(*pp)->next;
  if (*pp == NULL) return false;
  *pp = node->next;
  node->next = NULL;
  m->count--;
  return true;
}

dt_hashmap_iter_t dt_hashmap_iter(const dt_hashmap_t *m) {
  dt_hashmap_iter_t it = {m, 0, NULL};
  return it;
}

dt_hashmap_node_t *dt_hashmap_next(dt_hashmap_iter_t *it) {
  while (it->next == NULL) {
    if (it->bucket >= it->m->nbuckets) return NULL;
    it->next = it->m->buckets[it->bucket++];
  }
  dt_hashmap_node_t *n = it->next;
  it->next = n->next;
  return n;
}

/* ---------------------------------------------------------------- value maps */

typedef struct {
  dt_hashmap_entry_t e;
  char key[];
} dt__hashmap_kv_t;

dt_hashmap_entry_t *dt_hashmap_entry(dt_hashmap_node_t *node) {
  return DT_CONTAINER_OF(node, dt_hashmap_entry_t, node);
}

void dt_hashmap_put(dt_hashmap_t *m, const char *key, void *val) {
  dt_hashmap_node_t *n = dt_hashmap_find(m, key);
  if (n) {
    dt_hashmap_entry(n)->val = val;
    return;
  }
  size_t klen = strlen(key);
  dt__hashmap_kv_t *kv = dt_xmalloc(sizeof *kv + klen + 1);
  memcpy(kv->key, key, klen + 1);
  kv->e.val = val;
  dt_hashmap_insert(m, &kv->e.node, kv->key);
}

void *dt_hashmap_get(const dt_hashmap_t *m, const char *key) {
  dt_hashmap_node_t *n = dt_hashmap_find(m, key);
  return n ? dt_hashmap_entry(n)->val : NULL;
}

void *dt_hashmap_entry_remove(dt_hashmap_t *m, dt_hashmap_entry_t *e) {
  void *val = e->val;
  dt_hashmap_remove(m, &e->node);
  free(DT_CONTAINER_OF(e, dt__hashmap_kv_t, e));
  return val;
}

void *dt_hashmap_del(dt_hashmap_t *m, const char *key) {
  dt_hashmap_node_t *n = dt_hashmap_find(m, key);
  return n ? dt_hashmap_entry_remove(m, dt_hashmap_entry(n)) : NULL;
}

void **dt_hashmap_values(const dt_hashmap_t *m, size_t *n) {
  void **out = dt_xmalloc((m->count + 1) * sizeof *out);
  size_t k = 0;
  dt_hashmap_iter_t it = dt_hashmap_iter(m);
  for (dt_hashmap_node_t *node; (node = dt_hashmap_next(&it)) != NULL;) out[k++] = dt_hashmap_entry(node)->val;
  *n = k;
  return out;
}

void dt_hashmap_clear(dt_hashmap_t *m, void (*free_val)(void *)) {
  dt_hashmap_iter_t it = dt_hashmap_iter(m);
  for (dt_hashmap_node_t *node; (node = dt_hashmap_next(&it)) != NULL;) {
    dt_hashmap_entry_t *e = dt_hashmap_entry(node);
    if (free_val) free_val(e->val);
    free(DT_CONTAINER_OF(e, dt__hashmap_kv_t, e));
  }
  dt_hashmap_free(m);
}
