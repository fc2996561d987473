/*
 * call_tags.c — a call's own data (see call_tags.h): validated, bounded key/value pairs
 * kept in the call (freed with it), as JSON for the CDR and /calls, and as the fields of
 * the call's log lines through log.h's thread-local hook (call_registry.c installs it on
 * its loop thread; lookups go through the registry's map, so a line for a call that has
 * left the registry carries no tags). Knows nothing of the call itself: it works on the
 * dt_call_tags_t the call holds.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call_tags.h"
#include "dialtone/error.h"
#include "dialtone/text.h"

int dt_call_tag_check(const char *key, size_t klen, const char *value, size_t vlen, char *err, size_t errlen) {
  if (klen == 0 || klen > DT_CALL_TAG_KEY_MAX || strlen(key) != klen)
    return dt_seterr(err, errlen, DT_EINVAL, "tag names are 1 to %d characters", DT_CALL_TAG_KEY_MAX);
  for (size_t i = 0; i < klen; i++) {
    char c = key[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
      return dt_seterr(err, errlen, DT_EINVAL, "'%.*s' is not a tag name (a letter or _, then letters, digits or _)",
                       (int)klen, key);
  }
  if (vlen > DT_CALL_TAG_VALUE_MAX)
    return dt_seterr(err, errlen, DT_EINVAL, "tag '%s' is longer than %d bytes", key, DT_CALL_TAG_VALUE_MAX);
  if (!dt_text_utf8_valid(value, vlen))
    return dt_seterr(err, errlen, DT_EINVAL, "tag '%s' is not UTF-8 text", key);
  return 0;
}

static dt_log_field_t *find(const dt_call_tags_t *c, const char *key) {
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->items[i].key, key) == 0) return &c->items[i];
  return NULL;
}

int dt_call_tags_merge(dt_call_tags_t *c, const dt_log_field_t *tags, size_t n, char *err, size_t errlen) {
  size_t added = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = dt_call_tag_check(tags[i].key, strlen(tags[i].key), tags[i].value, strlen(tags[i].value), err, errlen);
    if (rc) return rc;
    bool dup = find(c, tags[i].key) != NULL;
    for (size_t j = 0; j < i && !dup; j++) dup = strcmp(tags[j].key, tags[i].key) == 0;
    if (!dup) added++;
  }
  if (c->count + added > DT_CALL_TAGS_MAX)
    return dt_seterr(err, errlen, DT_ELIMIT, "a call has at most %d tags (it has %zu, this adds %zu)", DT_CALL_TAGS_MAX,
                     c->count, added);
  if (added) c->items = dt_xrealloc(c->items, (c->count + added) * sizeof *c->items);
  for (size_t i = 0; i < n; i++) {
    dt_log_field_t *t = find(c, tags[i].key);
    if (t) {
      free((char *)t->value);
    } else {
      t = &c->items[c->count++];
      t->key = dt_xstrdup(tags[i].key);
    }
    t->value = dt_xstrdup(tags[i].value);
    t->number = tags[i].number;
  }
  return 0;
}

void dt_call_tags_json(const dt_call_tags_t *c, dt_buf_t *b) {
  dt_buf_append(b, "{", 1);
  for (size_t i = 0; i < c->count; i++) {
    if (i) dt_buf_append(b, ",", 1);
    dt_text_json_string(b, c->items[i].key);
    dt_buf_append(b, ":", 1);
    if (c->items[i].number) dt_buf_append(b, c->items[i].value, strlen(c->items[i].value));
    else dt_text_json_string(b, c->items[i].value);
  }
  dt_buf_append(b, "}", 1);
}

void dt_call_tags_free(dt_call_tags_t *c) {
  for (size_t i = 0; i < c->count; i++) {
    free((char *)c->items[i].key);
    free((char *)c->items[i].value);
  }
  free(c->items);
  c->items = NULL;
  c->count = 0;
}
