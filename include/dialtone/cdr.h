/*
 * cdr.h — call detail records: one JSON object per line, appended to a file when a call
 * ends.
 *
 * Line format (keys always present, null when unknown):
 *   {"call_id","direction":"incoming"|"outgoing","from","to","flow","flow_version",
 *    "start","answer","end" (ISO-8601 UTC with ms), "duration_s","outcome"
 *    ("completed","hangup","error","rejected","redirected","transferred","unanswered",
 *    "drained"),"digits":[...],"recordings":[...],"transfers":[...],"error",
 *    "end_code","end_subcode","end_message"}
 *
 * Each line is written with one write(2) on a file opened O_APPEND, so concurrent
 * writers (several dialtone processes) never interleave inside a line. The write is
 * synchronous: a line is a few hundred bytes and a call ends once.
 */
#ifndef DIALTONE_CDR_H
#define DIALTONE_CDR_H
#include "dialtone/call.h"
#include "dialtone/common.h"

/* Opens (creating) path for appending. */
int dt_cdr_open(const char *path, dt_cdr_writer_t **out, char *err, size_t errlen);
void dt_cdr_close(dt_cdr_writer_t *w);
/* Formats the call's record (without the newline) into out. */
void dt_cdr_format(const dt_call_t *call, dt_buf_t *out);
/* Appends the call's record as one line. */
int dt_cdr_write(dt_cdr_writer_t *w, const dt_call_t *call);
/* Lines written so far (tests). */
uint64_t dt_cdr_count(const dt_cdr_writer_t *w);
/* Appends val as a JSON string literal (quotes, escapes). */
void dt_cdr_json_string(dt_buf_t *b, const char *val);
/* ISO-8601 UTC text with milliseconds for a Unix time in ms ("2024-01-02T03:04:05.678Z"). */
void dt_cdr_time_text(int64_t unix_ms, char out[32]);

#endif
