/*
 * text.h — UTF-8 checks and JSON string escaping, shared by the logger (log.c), the CDR
 * writer (cdr.c) and the call registry's JSON (call.c).
 *
 * Two escapings, one implementation:
 *  - dt_text_json_escape (the CDR's): '"', '\\', \n, \r, \t as two characters, every other
 *    byte below 0x20 as \u00XX; everything else, bytes above 0x7f included, as it is. The
 *    output is valid JSON when the input is valid UTF-8.
 *  - dt_text_json_escape_safe (the logger's): the same, and the output is always valid UTF-8
 *    and harmless on a terminal: DEL as \u007f, each byte that is not part of well-formed
 *    UTF-8 as \ufffd, and the code points terminals or viewers act on (dt_text_unsafe_cp) as
 *    \uXXXX.
 */
#ifndef DIALTONE_TEXT_H
#define DIALTONE_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include "dialtone/common.h"

/* Length (2..4) of the well-formed UTF-8 sequence at p (left bytes readable), with its code
   point in *cp; 0 when the bytes there are not one (ASCII, stray continuation byte, overlong
   form, surrogate, above U+10FFFF, cut short). */
size_t dt_text_utf8_len(const void *p, size_t left, unsigned *cp);

/* C1 controls U+0080..U+009F (0x9b is CSI on 8-bit terminals), the line and paragraph
   separators U+2028/U+2029, the bidirectional overrides U+202A..U+202E and isolates
   U+2066..U+2069 (they make text display in another order than it is stored). */
bool dt_text_unsafe_cp(unsigned cp);

/* true when the len bytes at p are well-formed UTF-8 with no NUL byte. */
bool dt_text_utf8_valid(const void *p, size_t len);
/* Appends s as a Lua string literal ("..." with \" \\ \n and \ddd for other controls and DEL),
   as the config dumps write them. */
void dt_text_lua_string(dt_buf_t *b, const char *s);

/* Appends the JSON string contents of s (no quotes), as described above. */
void dt_text_json_escape(dt_buf_t *b, const char *s);
void dt_text_json_escape_safe(dt_buf_t *b, const char *s);
/* Appends s as a JSON string: quotes around dt_text_json_escape(s). */
void dt_text_json_string(dt_buf_t *b, const char *s);

#endif
