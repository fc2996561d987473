/*
 * call_tags.h — a call's own data (call:tag{...}): key = string or number pairs kept with
 * the call, written into its CDR ("tags":{...}), shown in /calls and added to each of its
 * log lines (log.h's fields hook).
 *
 * Limits: at most DT_CALL_TAGS_MAX tags a call; keys are identifiers (a letter or _, then
 * letters, digits, _) of 1..DT_CALL_TAG_KEY_MAX characters; string values at most
 * DT_CALL_TAG_VALUE_MAX bytes of UTF-8 (no NUL); numbers are JSON number text. A merge is
 * all or nothing: one bad entry, or too many tags in all, changes nothing.
 */
#ifndef DIALTONE_CALL_TAGS_H
#define DIALTONE_CALL_TAGS_H
#include <stdbool.h>
#include <stddef.h>
#include "dialtone/common.h"
#include "dialtone/log.h"

#define DT_CALL_TAGS_MAX 32
#define DT_CALL_TAG_KEY_MAX 32
#define DT_CALL_TAG_VALUE_MAX 256

/* A call's tags (dt_call_t.tags), in the order first set. */
typedef struct {
  dt_log_field_t *items; /* key, value and number owned */
  size_t count;
} dt_call_tags_t;

/* Is this one entry acceptable? DT_EINVAL with the reason (naming the key) in err. */
int dt_call_tag_check(const char *key, size_t klen, const char *value, size_t vlen, char *err, size_t errlen);
/* Merges n entries into the call's tags (a key already there gets the new value). */
int dt_call_tags_merge(dt_call_tags_t *t, const dt_log_field_t *tags, size_t n, char *err, size_t errlen);
/* The tags as a JSON object ("{}" when none). */
void dt_call_tags_json(const dt_call_tags_t *t, dt_buf_t *out);
void dt_call_tags_free(dt_call_tags_t *t);

#endif
