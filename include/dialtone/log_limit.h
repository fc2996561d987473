/*
 * log_limit.h — at most one log line per interval per reason, with a count of the rest.
 *
 * For events an outsider can cause at any rate (refused notifications): each reason gets
 * its own slot, so a flood of one kind neither floods the log nor hides a different kind.
 * A fixed table (DT_LOG_LIMIT_SLOTS reasons; the least recently logged slot is reused),
 * no allocation, no I/O: the caller logs when told to.
 */
#ifndef DIALTONE_LOG_LIMIT_H
#define DIALTONE_LOG_LIMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_LOG_LIMIT_SLOTS 16
#define DT_LOG_LIMIT_KEY 48

typedef struct {
  char key[DT_LOG_LIMIT_KEY];
  uint64_t last_ms;    /* when this reason was last logged */
  uint64_t unlogged;   /* occurrences since then */
  bool used;
} dt_log_limit_slot_t;

typedef struct {
  uint64_t interval_ms; /* 0 = 1000 */
  dt_log_limit_slot_t slots[DT_LOG_LIMIT_SLOTS];
} dt_log_limit_t;

/* The reason's kind: its text up to the first quote, parenthesis, colon or digit
   ("token kid \"abc\" is not in the key set" -> "token kid"), trimmed, at most
   DT_LOG_LIMIT_KEY - 1 bytes. */
void dt_log_limit_key(const char *reason, char out[DT_LOG_LIMIT_KEY]);

/* One occurrence of reason at now_ms. true: log it now, and *count is how many of this
   kind happened since its last line, this one included (>= 1); false: stay quiet. */
bool dt_log_limit_pass(dt_log_limit_t *l, const char *reason, uint64_t now_ms, uint64_t *count);

#endif
