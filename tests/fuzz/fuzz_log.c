/*
 * fuzz_log.c — libFuzzer target for core/util/log.c: the text escaping (dt_log_text_escape) and
 * both line formats, on every input.
 *
 * Per input:
 *  1. dt_log_text_escape on the raw bytes (NULs included). The output holds no C0 control
 *     byte, no DEL, is well-formed UTF-8 and has no UTF-8 code point a terminal acts on
 *     (C1 controls, U+2028/U+2029, bidirectional overrides); and unescaping it (the
 *     decoder below, written from log.h's description) gives back exactly the input.
 *  2. The bytes (up to the first NUL) as a message and, split at the first '|', as a call
 *     id, logged in the text format: exactly one line, ending in its only '\n', with no
 *     other control byte.
 *  3. The same in the JSON format: one line that parses as a JSON object whose "msg" (and
 *     "call_id") are the input when the input is well-formed UTF-8 without controls the
 *     formatter replaces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed UTF-8 sequence length at p (0 = not one), code point in *cp. Written apart
   from log.c's on purpose: the two must agree. */
static size_t utf8_seq(const unsigned char *p, size_t left, unsigned *cp) {
  unsigned c = p[0];
  size_t n;
  unsigned v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if ((c & 0xe0) == 0xc0) n = 2, v = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, v = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, v = c & 0x07;
  else return 0;
  if (left < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (p[i] & 0x3f);
  }
  static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

static int terminal_control(unsigned cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The escaped text back to bytes; -1 when it is not something the escaper can write. */
static long unescape(const unsigned char *s, size_t len, unsigned char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '\\') {
      out[o++] = s[i];
      continue;
    }
    if (++i >= len) return -1;
    switch (s[i]) {
    case '\\': out[o++] = '\\'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'x': {
      if (i + 2 >= len) return -1;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return -1;
      out[o++] = (unsigned char)(h * 16 + l);
      i += 2;
      break;
    }
    default: return -1;
    }
  }
  return (long)o;
}

/* Every byte is printable ASCII or part of well-formed UTF-8 that is not a terminal control
   (newline allowed only where allow_nl says: the last byte). */
static void check_clean(const unsigned char *s, size_t len, int final_newline) {
  size_t end = len;
  if (final_newline) {
    if (len == 0 || s[len - 1] != '\n') abort();
    end = len - 1;
  }
  for (size_t i = 0; i < end;) {
    unsigned cp = 0;
    size_t n = utf8_seq(s + i, end - i, &cp);
    if (n == 0 || terminal_control(cp)) abort();
    i += n;
  }
}

static void check_escape(const uint8_t *data, size_t size) {
  dt_buf_t b = {0};
  dt_log_text_escape(&b, (const char *)data, size);
  check_clean((const unsigned char *)b.data, b.len, 0);
  unsigned char *back = malloc(b.len + 1);
  long n = unescape((const unsigned char *)b.data, b.len, back);
  if (n != (long)size || (size && memcmp(back, data, size) != 0)) abort();
  free(back);
  dt_buf_free(&b);
}

/* Input whose bytes the JSON format keeps as they are. */
static int json_exact(const char *s) {
  size_t len = strlen(s);
  for (size_t i = 0; i < len;) {
    unsigned cp = 0;
    size_t n = utf8_seq((const unsigned char *)s + i, len - i, &cp);
    if (n == 0 || (cp >= 0x7f && terminal_control(cp))) return 0;
    i += n;
  }
  return 1;
}

static void check_line(const char *msg, const char *call_id, dt_log_format_t format) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return;
  dt_log_set_output(f);
  dt_log_set_format(format);
  dt_log(DT_LOG_ERROR, call_id, "%s", msg);
  fflush(f);
  dt_log_set_output(NULL);
  fclose(f);
  /* one line: its only newline is the last byte */
  if (len == 0 || memchr(text, '\n', len) != text + len - 1) abort();
  check_clean((const unsigned char *)text, len, 1);
  if (format == DT_LOG_JSON) {
    cJSON *j = cJSON_Parse(text);
    if (!cJSON_IsObject(j)) abort();
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "msg");
    if (!cJSON_IsString(m)) abort();
    /* the logger keeps messages under 4 KiB: compare what it kept */
    if (strlen(msg) < 4000 && json_exact(msg) && strcmp(m->valuestring, msg) != 0) abort();
    if (call_id) {
      const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "call_id");
      if (!cJSON_IsString(c)) abort();
      if (json_exact(call_id) && strcmp(c->valuestring, call_id) != 0) abort();
    }
    cJSON_Delete(j);
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_escape(data, size);
  char *s = dt_xstrndup((const char *)data, size); /* up to the first NUL */
  char *bar = strchr(s, '|');
  const char *call_id = NULL;
  if (bar) {
    *bar = '\0';
    call_id = s;
  }
  const char *msg = bar ? bar + 1 : s;
  dt_log_set_level(DT_LOG_DEBUG);
  check_line(msg, call_id, DT_LOG_TEXT);
  check_line(msg, call_id, DT_LOG_JSON);
  free(s);
  return 0;
}
