/*
 * log.h — dialtone's one logger.
 *
 * Two formats: "text" (human-readable, for a terminal) and "json" (one JSON object a
 * line: ts, level, msg, and call_id when the line concerns a call).
 *
 * Every line is exactly one line, whatever the message holds: values from outside (Graph
 * bodies, headers, JWT fields, flow strings) cannot start a forged line or drive the
 * terminal. The text format escapes the message and the call id with
 * dt_log_text_escape; the JSON format escapes them as JSON strings, with the same bytes
 * shown as \uXXXX and bytes that are not UTF-8 as U+FFFD. Lines go to stderr
 * unless dt_log_set_output() says otherwise. Levels below the configured one cost a
 * comparison. Secrets must never be passed to the logger; the modules that hold them
 * (OAuth, JWT) log only their kind and length.
 */
#ifndef DIALTONE_LOG_H
#define DIALTONE_LOG_H
#include <stdbool.h>
#include <stdio.h>
#include "dialtone/common.h"

typedef enum { DT_LOG_DEBUG = 0, DT_LOG_INFO, DT_LOG_WARN, DT_LOG_ERROR, DT_LOG_OFF } dt_log_level_t;
typedef enum { DT_LOG_TEXT = 0, DT_LOG_JSON } dt_log_format_t;

void dt_log_set_level(dt_log_level_t level);
dt_log_level_t dt_log_get_level(void);
void dt_log_set_format(dt_log_format_t format);
void dt_log_set_output(FILE *out); /* NULL = stderr; the caller keeps ownership of out */

/* A call's own fields (call:tag) on each of its log lines: the hook returns the fields of
   the call with this id (borrowed until the hook is called again) and their count. JSON
   lines carry them as "tags":{"key":"value"|number}, text lines as key=value inside the
   [call ...] bracket (a value with spaces, quotes, '=' or ']' is quoted). The hook is the
   calling thread's own (thread-local): the engine's registry sets it on its loop thread,
   so an emulator running on another thread never reaches the registry. */
typedef struct {
  const char *key;
  const char *value;
  bool number; /* value is a JSON number's text */
} dt_log_field_t;
typedef size_t (*dt_log_fields_fn)(void *ud, const char *call_id, const dt_log_field_t **fields);
void dt_log_set_fields_hook(dt_log_fields_fn fn, void *ud);
void *dt_log_fields_hook_ud(void);
/* "debug"/"info"/"warn"/"error"/"off" -> level; returns -1 for anything else. */
int dt_log_level_from_name(const char *name);

/* Appends s[0..len) to b as the text format shows it, reversibly: backslash becomes \\,
   newline \n, carriage return \r, tab \t, every other C0 control byte, DEL and every byte
   that is not part of well-formed UTF-8 \xHH (ESC is \x1b); so are the bytes of the UTF-8
   code points terminals or viewers act on (C1 controls U+0080..U+009F, line and paragraph
   separators U+2028/U+2029, bidirectional overrides U+202A..U+202E and U+2066..U+2069).
   Printable ASCII and other well-formed UTF-8 stay as they are. */
void dt_log_text_escape(dt_buf_t *b, const char *s, size_t len);

/* Logs one line. call_id may be NULL (no call_id field). */
void dt_log(dt_log_level_t level, const char *call_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs msg with structured fields (dialtone.log's third argument): JSON lines carry them as
   "fields":{...} after "msg", text lines as " key=value" after the message (quoted as the
   call's tags are). Keys must be plain names; the caller bounds them. */
void dt_log_fields(dt_log_level_t level, const char *call_id, const dt_log_field_t *fields, size_t nfields,
                   const char *msg);

#define dt_log_debug(...) dt_log(DT_LOG_DEBUG, NULL, __VA_ARGS__)
#define dt_log_info(...) dt_log(DT_LOG_INFO, NULL, __VA_ARGS__)
#define dt_log_warn(...) dt_log(DT_LOG_WARN, NULL, __VA_ARGS__)
#define dt_log_error(...) dt_log(DT_LOG_ERROR, NULL, __VA_ARGS__)

#endif
