/*
 * log.c — text or JSON-lines logging (see log.h). Single-threaded callers are the norm;
 * the embedded emulator may run on its own thread, so each line is written with one
 * fwrite under the stdio lock to keep lines whole.
 *
 * Owns the one place where log lines are built, so it is also the one place that keeps
 * them unforgeable: a message or call id comes from outside more often than not (Graph
 * bodies, headers, JWT fields, flow strings), and both formats escape every byte that
 * could end a line, move the cursor or recolour a terminal (dt_log_text_escape).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/log.h"
#include "dialtone/text.h"

static dt_log_level_t dt__log_level = DT_LOG_INFO;
static dt_log_format_t dt__log_format = DT_LOG_TEXT;
static FILE *dt__log_out = NULL;

static const char *const dt__level_names[] = {"debug", "info", "warn", "error", "off"};
static _Thread_local dt_log_fields_fn dt__fields_fn = NULL;
static _Thread_local void *dt__fields_ud = NULL;

void dt_log_set_fields_hook(dt_log_fields_fn fn, void *ud) {
  dt__fields_fn = fn;
  dt__fields_ud = fn ? ud : NULL;
}

void *dt_log_fields_hook_ud(void) { return dt__fields_ud; }

static bool needs_quotes(const char *s) {
  if (*s == '\0') return true;
  for (; *s; s++)
    if (*s == ' ' || *s == '"' || *s == '=' || *s == ']') return true;
  return false;
}

/* Fields as ,"NAME":{...} (JSON) or " k=v" pairs (text). */
static void append_field_list(dt_buf_t *line, const char *name, const dt_log_field_t *f, size_t n, bool json) {
  if (n == 0) return;
  if (json) dt_buf_appendf(line, ",\"%s\":{", name);
  for (size_t i = 0; i < n; i++) {
    if (json) {
      if (i) dt_buf_append(line, ",", 1);
      dt_buf_append(line, "\"", 1);
      dt_text_json_escape_safe(line, f[i].key);
      dt_buf_append(line, "\":", 2);
      if (f[i].number) {
        dt_buf_append(line, f[i].value, strlen(f[i].value));
      } else {
        dt_buf_append(line, "\"", 1);
        dt_text_json_escape_safe(line, f[i].value);
        dt_buf_append(line, "\"", 1);
      }
    } else {
      dt_buf_append(line, " ", 1);
      dt_log_text_escape(line, f[i].key, strlen(f[i].key));
      dt_buf_append(line, "=", 1);
      bool q = !f[i].number && needs_quotes(f[i].value);
      if (q) dt_buf_append(line, "\"", 1);
      const char *p = f[i].value;
      while (*p) { /* runs between quotes escaped as any log text; a quote inside is \" */
        size_t run = q ? strcspn(p, "\"") : strlen(p);
        dt_log_text_escape(line, p, run);
        p += run;
        if (*p == '"') {
          dt_buf_append(line, "\\\"", 2);
          p++;
        }
      }
      if (q) dt_buf_append(line, "\"", 1);
    }
  }
  if (json) dt_buf_append(line, "}", 1);
}

/* The call's own fields (call:tag), from the hook. */
static void append_fields(dt_buf_t *line, const char *call_id, bool json) {
  const dt_log_field_t *f = NULL;
  size_t n = dt__fields_fn ? dt__fields_fn(dt__fields_ud, call_id, &f) : 0;
  append_field_list(line, "tags", f, n, json);
}

void dt_log_set_level(dt_log_level_t level) { dt__log_level = level; }
dt_log_level_t dt_log_get_level(void) { return dt__log_level; }
void dt_log_set_format(dt_log_format_t format) { dt__log_format = format; }
void dt_log_set_output(FILE *out) { dt__log_out = out; }

int dt_log_level_from_name(const char *name) {
  for (int i = 0; i <= DT_LOG_OFF; i++)
    if (dt_strcasecmp(name, dt__level_names[i]) == 0) return i;
  return -1;
}

void dt_log_text_escape(dt_buf_t *b, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    const unsigned char *run = p; /* printable ASCII goes out in one append */
    while (p < end && *p >= 0x20 && *p < 0x7f && *p != '\\') p++;
    if (p > run) dt_buf_append(b, run, (size_t)(p - run));
    if (p >= end) break;
    unsigned char c = *p;
    if (c == '\\') {
      dt_buf_append(b, "\\\\", 2);
      p++;
    } else if (c == '\n') {
      dt_buf_append(b, "\\n", 2);
      p++;
    } else if (c == '\r') {
      dt_buf_append(b, "\\r", 2);
      p++;
    } else if (c == '\t') {
      dt_buf_append(b, "\\t", 2);
      p++;
    } else if (c < 0x80) { /* the other C0 controls (ESC among them) and DEL */
      dt_buf_appendf(b, "\\x%02x", c);
      p++;
    } else {
      unsigned cp = 0;
      size_t n = dt_text_utf8_len(p, (size_t)(end - p), &cp);
      if (n && !dt_text_unsafe_cp(cp)) {
        dt_buf_append(b, p, n);
        p += n;
      } else { /* not UTF-8, or a control in UTF-8: every byte shows as \xHH */
        size_t k = n ? n : 1;
        for (size_t i = 0; i < k; i++) dt_buf_appendf(b, "\\x%02x", p[i]);
        p += k;
      }
    }
  }
}

static void log_line(dt_log_level_t level, const char *call_id, const dt_log_field_t *fields, size_t nfields,
                     const char *msg);

void dt_log(dt_log_level_t level, const char *call_id, const char *fmt, ...) {
  if (level < dt__log_level || level >= DT_LOG_OFF) return;
  char msg[4096];
  DT_VFORMAT(msg, fmt);
  log_line(level, call_id, NULL, 0, msg);
}

void dt_log_fields(dt_log_level_t level, const char *call_id, const dt_log_field_t *fields, size_t nfields,
                   const char *msg) {
  if (level < dt__log_level || level >= DT_LOG_OFF) return;
  log_line(level, call_id, fields, nfields, msg ? msg : "");
}

static void log_line(dt_log_level_t level, const char *call_id, const dt_log_field_t *fields, size_t nfields,
                     const char *msg) {
  char ts[32];
  dt_iso8601_now(ts);
  dt_buf_t line = {0};
  if (dt__log_format == DT_LOG_JSON) {
    dt_buf_appendf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, dt__level_names[level]);
    if (call_id) {
      dt_buf_append(&line, ",\"call_id\":\"", 12);
      dt_text_json_escape_safe(&line, call_id);
      dt_buf_append(&line, "\"", 1);
      append_fields(&line, call_id, true);
    }
    dt_buf_append(&line, ",\"msg\":\"", 8);
    dt_text_json_escape_safe(&line, msg);
    dt_buf_append(&line, "\"", 1);
    append_field_list(&line, "fields", fields, nfields, true);
    dt_buf_append(&line, "}\n", 2);
  } else {
    dt_buf_appendf(&line, "%s %-5s ", ts, dt__level_names[level]);
    if (call_id) {
      dt_buf_append(&line, "[call ", 6);
      dt_log_text_escape(&line, call_id, strlen(call_id));
      append_fields(&line, call_id, false);
      dt_buf_append(&line, "] ", 2);
    }
    dt_log_text_escape(&line, msg, strlen(msg));
    append_field_list(&line, "fields", fields, nfields, false);
    dt_buf_append(&line, "\n", 1);
  }
  FILE *out = dt__log_out ? dt__log_out : stderr;
  flockfile(out);
  fwrite(line.data, 1, line.len, out);
  fflush(out);
  funlockfile(out);
  dt_buf_free(&line);
}
