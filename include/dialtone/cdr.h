/*
 * cdr.h — call detail records: one JSON object per line, appended to a file when a call
 * ends.
 *
 * Line format (keys always present, null when unknown):
 *   {"call_id","direction":"incoming"|"outgoing","from","to","flow","flow_version",
 *    "start","answer","end" (ISO-8601 UTC with ms), "duration_s","outcome"
 *    ("completed","hangup","error","rejected","redirected","transferred","unanswered",
 *    "drained"),"digits":[...],"recordings":[...],
 *    "transfers":[{"target","result"}...] (one object per transfer the flow attempted, in
 *    order: target is the invited identity, result "transferred", "failed", "redirected",
 *    or "hangup" when the caller hung up while the target was still being reached — the
 *    call's outcome is then "hangup", not "transferred"),
 *    "error","end_code","end_subcode","end_message",
 *    "tags":{...} (the flow's call:tag pairs: strings and numbers; {} when none)}
 *
 * Each line is written with one write(2) on a file opened O_APPEND, so concurrent
 * writers (several dialtone processes) never interleave inside a line. The write is
 * synchronous: a line is a few hundred bytes and a call ends once.
 *
 * No record is lost or cut: a write that fails (ENOSPC, EIO, a short write) is undone
 * with ftruncate, so the file holds whole lines only, and the record is kept — in memory
 * (up to spool_records), then, when spool_path is set, appended to that file. Kept records
 * are retried on a timer with backoff (RETRY_FIRST_MS doubling to RETRY_MAX_MS), the CDR
 * file reopened by path each time (a fixed mount, a rotated file), and written exactly
 * once and in order when writes succeed again; records that come meanwhile queue behind
 * them. A failure episode is logged once when it starts and once when it ends. What cannot
 * be kept anywhere is logged in full (the log is then the record). dt_cdr_close tries a
 * last time, moves what is left to spool_path and says in the log how many records are
 * where; a spool file found by dt_cdr_open is written to the CDR file first.
 * Metrics: dt_cdr_write_failures_total (failed write attempts), dt_cdr_spooled (records
 * waiting), dt_cdr_dropped_total (records kept nowhere but in the log).
 */
#ifndef DIALTONE_CDR_H
#define DIALTONE_CDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/metrics.h"

typedef struct dt_cdr_writer_s dt_cdr_writer_t;

/* One call's record, flat: what the line carries, filled by the call side. Strings are
   borrowed for the duration of the format/write call; NULL is written as null. */
typedef struct {
  const char *call_id;
  const char *direction;        /* "incoming" / "outgoing" */
  const char *from, *to, *flow;
  unsigned flow_version;        /* 0 = null */
  int64_t start_ms, answer_ms, end_ms; /* Unix ms; <= 0 = null */
  const char *outcome;          /* "completed", "hangup", ... */
  /* the items of the digits, recordings and transfers arrays, already JSON text
     ("\"12\",\"3\""), without the brackets; NULL or length 0 = empty */
  const char *digits, *recordings, *transfers;
  size_t digits_len, recordings_len, transfers_len;
  const char *error;
  int end_code, end_subcode;    /* Graph resultInfo of the termination; all three of */
  const char *end_message;      /* end_* are null in the line when 0, 0 and NULL */
  const char *tags;             /* call:tag's JSON object text; NULL = {} */
  size_t tags_len;
} dt_cdr_record_t;

typedef struct {
  const char *path;          /* the CDR file (created if missing); required */
  uv_loop_t *loop;           /* retries run on a timer here; NULL = only when a record comes */
  dt_metrics_t *metrics;     /* optional, borrowed */
  size_t spool_records;      /* records kept in memory while the file fails; 0 = 10000 */
  const char *spool_path;    /* optional: where records go when memory is full, and at close */
} dt_cdr_options_t;

/* Opens (creating) path for appending; a spool file left by an earlier process is
   written to it first (or kept for the retries). */
int dt_cdr_open_opts(const dt_cdr_options_t *o, dt_cdr_writer_t **out, char *err, size_t errlen);
/* The same with the defaults and no loop (tests, tools). */
int dt_cdr_open(const char *path, dt_cdr_writer_t **out, char *err, size_t errlen);
void dt_cdr_close(dt_cdr_writer_t *w);
/* Formats the record (without the newline) into out. */
void dt_cdr_format(const dt_cdr_record_t *rec, dt_buf_t *out);
/* Appends the record as one line, or keeps it for a retry when the file cannot take
   it. 0 = written or kept; DT_EIO = kept nowhere (the record is in the log). */
int dt_cdr_write(dt_cdr_writer_t *w, const dt_cdr_record_t *rec);
/* Lines written so far (tests). */
uint64_t dt_cdr_count(const dt_cdr_writer_t *w);
/* Records kept for a retry (in memory and in the spool file). */
uint64_t dt_cdr_pending(const dt_cdr_writer_t *w);

#endif
