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

/* Length of the well-formed UTF-8 sequence at p (2..4), or 0 when the bytes there are not
   one (stray continuation, overlong form, surrogate, above U+10FFFF, cut short). */
static size_t dt__utf8_len(const unsigned char *p, size_t left, unsigned *cp_out) {
  unsigned c = p[0], cp, n;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (left < n) return 0;
  for (unsigned i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *cp_out = cp;
  return n;
}

/* Code points a terminal or a log viewer treats as control: C1 (0x9b is CSI on 8-bit
   terminals), the Unicode line and paragraph separators, and the bidirectional overrides
   that make text display in another order than it is stored. */
static bool dt__unsafe_codepoint(unsigned cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
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
      size_t n = dt__utf8_len(p, (size_t)(end - p), &cp);
      if (n && !dt__unsafe_codepoint(cp)) {
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

/* JSON string contents; the output is valid UTF-8 (a byte that is not UTF-8 becomes
   U+FFFD) and shows the terminal controls of the text format as \\uXXXX too. */
static void dt__json_escape(dt_buf_t *b, const char *str) {
  const unsigned char *s = (const unsigned char *)str, *end = s + strlen(str);
  while (s < end) {
    unsigned char c = *s;
    switch (c) {
    case '"': dt_buf_append(b, "\\\"", 2); break;
    case '\\': dt_buf_append(b, "\\\\", 2); break;
    case '\n': dt_buf_append(b, "\\n", 2); break;
    case '\r': dt_buf_append(b, "\\r", 2); break;
    case '\t': dt_buf_append(b, "\\t", 2); break;
    default:
      if (c < 0x20 || c == 0x7f) {
        dt_buf_appendf(b, "\\u%04x", c);
      } else if (c < 0x80) {
        dt_buf_append(b, s, 1);
      } else {
        unsigned cp = 0;
        size_t n = dt__utf8_len(s, (size_t)(end - s), &cp);
        if (n == 0) dt_buf_append(b, "\\ufffd", 6);
        else if (dt__unsafe_codepoint(cp)) dt_buf_appendf(b, "\\u%04x", cp);
        else dt_buf_append(b, s, n);
        s += n ? n : 1;
        continue;
      }
    }
    s++;
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
    if (call_id) {
      dt_buf_append(&line, "[call ", 6);
      dt_log_text_escape(&line, call_id, strlen(call_id));
      dt_buf_append(&line, "] ", 2);
    }
    dt_log_text_escape(&line, msg, strlen(msg));
    dt_buf_append(&line, "\n", 1);
  }
  FILE *out = dt__log_out ? dt__log_out : stderr;
  flockfile(out);
  fwrite(line.data, 1, line.len, out);
  fflush(out);
  funlockfile(out);
  dt_buf_free(&line);
}
