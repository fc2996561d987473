/*
 * log_limit.c — per-reason log rate limiting (see log_limit.h).
 *
 * Owns nothing but the caller's table. Promises: the first occurrence of a reason is
 * always logged; later ones at most once per interval, carrying the count of those not
 * logged; a new reason when the table is full takes the slot logged longest ago (its
 * count is lost, never its next line).
 */
#include "dialtone/log_limit.h"
#include <string.h>

void dt_log_limit_key(const char *reason, char out[DT_LOG_LIMIT_KEY]) {
  size_t n = 0;
  const char *r = reason ? reason : "";
  while (r[n] && n < DT_LOG_LIMIT_KEY - 1 && !strchr("\"'(:0123456789", r[n])) n++;
  while (n > 0 && r[n - 1] == ' ') n--;
  memcpy(out, r, n);
  out[n] = '\0';
}

bool dt_log_limit_pass(dt_log_limit_t *l, const char *reason, uint64_t now_ms, uint64_t *count) {
  char key[DT_LOG_LIMIT_KEY];
  dt_log_limit_key(reason, key);
  uint64_t interval = l->interval_ms ? l->interval_ms : 1000;
  dt_log_limit_slot_t *s = NULL, *oldest = NULL;
  for (size_t i = 0; i < DT_LOG_LIMIT_SLOTS && !s; i++) {
    dt_log_limit_slot_t *it = &l->slots[i];
    if (it->used && strcmp(it->key, key) == 0) s = it;
    else if (!oldest || !it->used || (oldest->used && it->last_ms < oldest->last_ms)) oldest = it;
  }
  if (!s) { /* first of its kind (or its slot was reused): logged now */
    s = oldest;
    memcpy(s->key, key, sizeof key);
    s->used = true;
    s->unlogged = 0;
    s->last_ms = now_ms;
    if (count) *count = 1;
    return true;
  }
  s->unlogged++;
  if (now_ms - s->last_ms < interval) return false;
  if (count) *count = s->unlogged;
  s->unlogged = 0;
  s->last_ms = now_ms;
  return true;
}
