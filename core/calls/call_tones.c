/*
 * call_tones.c — a call's tone buffer and the gather scan.
 *
 * Owns nothing beyond the call's tone fields. Promises: tones are deduplicated by
 * toneInfo.sequenceId (a 64-id window) and kept in sequence order; a gather sees only the
 * tones whose earlier sequence ids have all arrived (tone_contig); a full buffer drops the
 * oldest digit, with a warning. Pure apart from that warning.
 */
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

static bool tone_seq_seen(const dt_call_t *c, int64_t seq) {
  if (c->tone_max_seq < 0 || seq > c->tone_max_seq) return false;
  if (seq == c->tone_max_seq) return true;
  uint64_t d = (uint64_t)(c->tone_max_seq - 1 - seq);
  return d < 64 && (c->tone_seen & (1ULL << d));
}

/* Sequence ids start at 1 (Graph's toneInfo.sequenceId is "an incremental identifier used
   for ordering DTMF events"). A hole older than the 64 ids the bitmap remembers is given up. */
static void tone_advance_contig(dt_call_t *c) {
  if (c->tone_max_seq - c->tone_contig > 64) c->tone_contig = c->tone_max_seq - 64;
  while (tone_seq_seen(c, c->tone_contig + 1)) c->tone_contig++;
}

/* Buffered tones a gather may use: those before the first one whose earlier sequence ids
   have not all arrived (a reordered notification may still bring them). */
size_t dt__call_tones_ready(const dt_call_t *c) {
  size_t n = 0;
  while (n < c->tone_len && (c->tone_seq[n] <= 0 || c->tone_seq[n] <= c->tone_contig)) n++;
  return n;
}

int dt_call_tone_push(dt_call_t *c, int64_t seq, char tone) {
  if (seq > 0) {
    if (c->tone_max_seq < 0) {
      c->tone_max_seq = seq;
      c->tone_seen = 0;
    } else if (seq > c->tone_max_seq) {
      uint64_t shift = (uint64_t)(seq - c->tone_max_seq);
      c->tone_seen = shift >= 64 ? 0 : (c->tone_seen << shift) | (1ULL << (shift - 1));
      c->tone_max_seq = seq;
    } else if (seq == c->tone_max_seq) {
      return 0;
    } else {
      uint64_t d = (uint64_t)(c->tone_max_seq - 1 - seq);
      if (d >= 64 || (c->tone_seen & (1ULL << d))) return 0;
      c->tone_seen |= 1ULL << d;
    }
  }
  if (seq > 0) tone_advance_contig(c);
  if (tone == 0) return 1; /* seen, consumed elsewhere (record stop tones) */
  if (c->tone_len == DT_TONE_BUFFER) {
    dt_log(DT_LOG_WARN, c->id, "tone buffer full; dropping the oldest digit '%c'", c->tones[0]);
    memmove(c->tones, c->tones + 1, DT_TONE_BUFFER - 1);
    memmove(c->tone_seq, c->tone_seq + 1, (DT_TONE_BUFFER - 1) * sizeof c->tone_seq[0]);
    c->tone_len--;
  }
  /* Keep sequence order: a tone delivered out of order goes before later ones still
     in the buffer. */
  size_t i = c->tone_len;
  if (seq > 0)
    while (i > 0 && c->tone_seq[i - 1] > seq) i--;
  memmove(c->tones + i + 1, c->tones + i, c->tone_len - i);
  memmove(c->tone_seq + i + 1, c->tone_seq + i, (c->tone_len - i) * sizeof c->tone_seq[0]);
  c->tones[i] = tone;
  c->tone_seq[i] = seq;
  c->tone_len++;
  return 1;
}

void dt__call_tones_consume(dt_call_t *c, size_t n) {
  if (n > c->tone_len) n = c->tone_len;
  memmove(c->tones, c->tones + n, c->tone_len - n);
  memmove(c->tone_seq, c->tone_seq + n, (c->tone_len - n) * sizeof c->tone_seq[0]);
  c->tone_len = (uint8_t)(c->tone_len - n);
}

size_t dt_gather_scan(const char *buf, size_t len, unsigned max, const char *terminators,
                      const char **reason, size_t *ndigits) {
  for (size_t i = 0; i < len; i++) {
    if (terminators && terminators[0] && strchr(terminators, buf[i])) {
      *reason = "terminator";
      *ndigits = i;
      return i + 1;
    }
    if (max > 0 && i + 1 >= max) {
      *reason = "max";
      *ndigits = i + 1;
      return i + 1;
    }
  }
  *reason = NULL;
  *ndigits = 0;
  return 0;
}
