/*
 * hashmap.h — the one string-keyed hash map (chained, power-of-two buckets, FNV-1a).
 *
 * Two ways to use it, never mixed in one map:
 *
 *  - Intrusive (the call registry, tombstones): the caller embeds a dt_hashmap_node_t in its
 *    own struct and owns the key's storage (it must stay unchanged while the node is in the
 *    map). Insert, find and remove are O(1) and never allocate, except that an insert may
 *    grow the bucket array (amortised O(1)). DT_CONTAINER_OF turns a node back into its struct.
 *
 *        typedef struct { dt_hashmap_node_t hnode; char *key; ... } call_t;
 *        dt_hashmap_insert(&map, &c->hnode, c->key);
 *        dt_hashmap_node_t *n = dt_hashmap_find(&map, key);
 *        call_t *c = n ? DT_CONTAINER_OF(n, call_t, hnode) : NULL;
 *        dt_hashmap_remove(&map, &c->hnode);
 *
 *  - Values (the emulator's tables): dt_hashmap_put copies the key into an entry the map
 *    allocates and stores a void * value; get/del/values/clear work on such maps.
 *
 * Keys are NUL-terminated and compared with strcmp. Each node keeps its key's hash, so a
 * lookup compares hashes before strings and growing never rehashes a key. Iteration order is
 * bucket order: unspecified, stable while the map is not changed. A zeroed dt_hashmap_t is an
 * empty map (no allocation until the first insert). Not thread-safe.
 */
#ifndef DIALTONE_HASHMAP_H
#define DIALTONE_HASHMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dialtone/common.h" /* DT_CONTAINER_OF */

typedef struct dt_hashmap_node_s {
  struct dt_hashmap_node_s *next; /* the map's bucket chain */
  const char *key;                /* set by insert; storage is the owner's */
  uint64_t hash;                  /* dt_hashmap_hash(key), set by insert */
} dt_hashmap_node_t;

typedef struct {
  dt_hashmap_node_t **buckets;
  size_t nbuckets; /* 0 or a power of two (64 at first); doubles when count exceeds it */
  size_t count;
} dt_hashmap_t;

/* A value map's entry: the node (whose key points into the entry) and the value. */
typedef struct {
  dt_hashmap_node_t node;
  void *val;
} dt_hashmap_entry_t;

/* FNV-1a, 64 bits, with the offset basis the tree has always used (1469598103934665603, a
   digit short of the standard one): buckets and iteration order stay what they were. */
uint64_t dt_hashmap_hash(const char *key);

/* Releases the bucket array and leaves an empty map; nodes are the caller's (intrusive). */
void dt_hashmap_free(dt_hashmap_t *m);
size_t dt_hashmap_count(const dt_hashmap_t *m);

/* ---- intrusive */
/* Adds node under key. The caller makes sure key is not in the map yet (find first). */
void dt_hashmap_insert(dt_hashmap_t *m, dt_hashmap_node_t *node, const char *key);
/* The node stored under key, or NULL. No allocation. */
dt_hashmap_node_t *dt_hashmap_find(const dt_hashmap_t *m, const char *key);
/* Takes node out of the map; false (and nothing changes) if it was not in it. */
bool dt_hashmap_remove(dt_hashmap_t *m, dt_hashmap_node_t *node);

/* Iteration, safe against removing (or freeing) the node just returned:
       dt_hashmap_iter_t it = dt_hashmap_iter(&map);
       for (dt_hashmap_node_t *n; (n = dt_hashmap_next(&it)) != NULL;) ...
   Inserting while iterating may or may not visit the new node and may visit others twice. */
typedef struct {
  const dt_hashmap_t *m;
  size_t bucket;
  dt_hashmap_node_t *next;
} dt_hashmap_iter_t;
dt_hashmap_iter_t dt_hashmap_iter(const dt_hashmap_t *m);
dt_hashmap_node_t *dt_hashmap_next(dt_hashmap_iter_t *it);

/* ---- values (the map owns entries and their key copies; values are the caller's) */
/* Stores val under a copy of key, replacing the value already there. */
void dt_hashmap_put(dt_hashmap_t *m, const char *key, void *val);
/* The value under key, or NULL. */
void *dt_hashmap_get(const dt_hashmap_t *m, const char *key);
/* Removes key's entry and returns its value (NULL when absent). */
void *dt_hashmap_del(dt_hashmap_t *m, const char *key);
/* The entry a node of a value map belongs to (for iteration: entry->node.key, entry->val). */
dt_hashmap_entry_t *dt_hashmap_entry(dt_hashmap_node_t *node);
/* Removes and frees an entry found by iteration; returns its value. */
void *dt_hashmap_entry_remove(dt_hashmap_t *m, dt_hashmap_entry_t *e);
/* A snapshot of the values (caller frees the array; *n gets the count; never NULL). */
void **dt_hashmap_values(const dt_hashmap_t *m, size_t *n);
/* Frees every entry (free_val, when not NULL, gets each value) and the buckets: empty map. */
void dt_hashmap_clear(dt_hashmap_t *m, void (*free_val)(void *));

#endif
