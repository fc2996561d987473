/*
 * text.c — UTF-8 checks and JSON string escaping (see text.h). Pure functions over the bytes
 * given; the only allocation is the caller's buffer growing.
 */
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/text.h"

size_t dt_text_utf8_len(const void *ptr, size_t left, unsigned *cp_out) {
  const unsigned char *p = ptr;
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

bool dt_text_unsafe_cp(unsigned cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

static void dt__json_escape(dt_buf_t *b, const char *str, bool safe) {
  const unsigned char *s = (const unsigned char *)str, *end = s + strlen(str);
  while (s < end) {
    const unsigned char *run = s; /* bytes that stay as they are go out in one append */
    while (s < end && *s >= 0x20 && *s != '"' && *s != '\\' && (!safe || *s < 0x7f)) s++;
    if (s > run) dt_buf_append(b, run, (size_t)(s - run));
    if (s >= end) break;
    unsigned char c = *s;
    switch (c) {
    case '"': dt_buf_append(b, "\\\"", 2); break;
    case '\\': dt_buf_append(b, "\\\\", 2); break;
    case '\n': dt_buf_append(b, "\\n", 2); break;
    case '\r': dt_buf_append(b, "\\r", 2); break;
    case '\t': dt_buf_append(b, "\\t", 2); break;
    default:
      if (c < 0x80) { /* the other C0 controls, and DEL (safe only) */
        dt_buf_appendf(b, "\\u%04x", c);
      } else { /* safe only: a byte above 0x7f */
        unsigned cp = 0;
        size_t n = dt_text_utf8_len(s, (size_t)(end - s), &cp);
        if (n == 0) dt_buf_append(b, "\\ufffd", 6);
        else if (dt_text_unsafe_cp(cp)) dt_buf_appendf(b, "\\u%04x", cp);
        else dt_buf_append(b, s, n);
        s += n ? n : 1;
        continue;
      }
    }
    s++;
  }
}

void dt_text_json_escape(dt_buf_t *b, const char *s) { dt__json_escape(b, s, false); }
void dt_text_json_escape_safe(dt_buf_t *b, const char *s) { dt__json_escape(b, s, true); }

void dt_text_json_string(dt_buf_t *b, const char *s) {
  dt_buf_append(b, "\"", 1);
  dt__json_escape(b, s, false);
  dt_buf_append(b, "\"", 1);
}

bool dt_text_utf8_valid(const void *p, size_t len) {
  const unsigned char *s = p, *end = s + len;
  while (s < end) {
    if (*s == 0) return false;
    if (*s < 0x80) {
      s++;
      continue;
    }
    unsigned cp;
    size_t n = dt_text_utf8_len(s, (size_t)(end - s), &cp);
    if (n == 0) return false;
    s += n;
  }
  return true;
}

void dt_text_lua_string(dt_buf_t *b, const char *s) {
  dt_buf_append(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') dt_buf_appendf(b, "\\%c", c);
    else if (c == '\n') dt_buf_append(b, "\\n", 2);
    else if (c < 0x20 || c == 0x7f) dt_buf_appendf(b, "\\%03u", c);
    else dt_buf_append(b, s, 1);
  }
  dt_buf_append(b, "\"", 1);
}
