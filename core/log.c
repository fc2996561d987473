/*
 * log.c — text or JSON-lines logging (see log.h). Single-threaded callers are the norm;
 * the embedded emulator may run on its own thread, so each line is written with one
 * fwrite under the stdio lock to keep lines whole.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/log.h"

static dt_log_level_t dt__log_level = DT_LOG_INFO;
static dt_log_format_t dt__log_format = DT_LOG_TEXT;
static FILE *dt__log_out = NULL;

static const char *const dt__level_names[] = {"debug", "info", "warn", "error", "off"};

void dt_log_set_level(dt_log_level_t level) { dt__log_level = level; }
dt_log_level_t dt_log_get_level(void) { return dt__log_level; }
void dt_log_set_format(dt_log_format_t format) { dt__log_format = format; }
void dt_log_set_output(FILE *out) { dt__log_out = out; }

int dt_log_level_from_name(const char *name) {
  for (int i = 0; i <= DT_LOG_OFF; i++)
    if (dt_strcasecmp(name, dt__level_names[i]) == 0) return i;
  return -1;
}

static void dt__json_escape(dt_buf_t *b, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '"': dt_buf_append(b, "\\\"", 2); break;
    case '\\': dt_buf_append(b, "\\\\", 2); break;
    case '\n': dt_buf_append(b, "\\n", 2); break;
    case '\r': dt_buf_append(b, "\\r", 2); break;
    case '\t': dt_buf_append(b, "\\t", 2); break;
    default:
      if (c < 0x20) dt_buf_appendf(b, "\\u%04x", c);
      else dt_buf_append(b, s, 1);
    }
  }
}

void dt_log(dt_log_level_t level, const char *call_id, const char *fmt, ...) {
  if (level < dt__log_level || level >= DT_LOG_OFF) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char ts[32];
  dt_iso8601_now(ts);
  dt_buf_t line = {0};
  if (dt__log_format == DT_LOG_JSON) {
    dt_buf_appendf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, dt__level_names[level]);
    if (call_id) {
      dt_buf_append(&line, ",\"call_id\":\"", 12);
      dt__json_escape(&line, call_id);
      dt_buf_append(&line, "\"", 1);
    }
    dt_buf_append(&line, ",\"msg\":\"", 8);
    dt__json_escape(&line, msg);
    dt_buf_append(&line, "\"}\n", 3);
  } else {
    dt_buf_appendf(&line, "%s %-5s ", ts, dt__level_names[level]);
    if (call_id) dt_buf_appendf(&line, "[call %s] ", call_id);
    dt_buf_appendf(&line, "%s\n", msg);
  }
  FILE *out = dt__log_out ? dt__log_out : stderr;
  flockfile(out);
  fwrite(line.data, 1, line.len, out);
  fflush(out);
  funlockfile(out);
  dt_buf_free(&line);
}
