/* Unit tests for text.c: UTF-8 sequence checks, unsafe code points, and the two JSON string
   escapings (the CDR's plain one and the logger's safe one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/text.h"
#include "harness/dt_test.h"

static char *esc(const char *s, int mode) {
  dt_buf_t b = {0};
  if (mode == 0) dt_text_json_escape(&b, s);
  else if (mode == 1) dt_text_json_escape_safe(&b, s);
  else dt_text_json_string(&b, s);
  if (b.data == NULL) dt_buf_append(&b, "", 0);
  return b.data;
}

#define ASSERT_ESC(in, mode, want)                                                          \
  do {                                                                                      \
    char *got_ = esc(in, mode);                                                             \
    int ok_ = strcmp(got_, want) == 0;                                                      \
    if (!ok_) fprintf(stderr, "  got \"%s\"\n", got_);                                      \
    free(got_);                                                                             \
    DT_ASSERT_MSG(ok_, "escape(%s, %d) != %s", #in, mode, #want);                           \
  } while (0)

DT_TEST(utf8_len_accepts_well_formed_only) {
  unsigned cp = 0;
  DT_ASSERT_EQ_INT(dt_text_utf8_len("A", 1, &cp), 0);
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xc3\xa9", 2, &cp), 2);
  DT_ASSERT_EQ_INT(cp, 0xe9);
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xe2\x82\xac", 3, &cp), 3);
  DT_ASSERT_EQ_INT(cp, 0x20ac);
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xf0\x9f\x98\x80", 4, &cp), 4);
  DT_ASSERT_EQ_INT(cp, 0x1f600);
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xe2\x82\xac", 2, &cp), 0); /* cut short */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\x80", 1, &cp), 0);         /* stray continuation */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xc0\xaf", 2, &cp), 0);     /* overlong */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xe0\x80\xaf", 3, &cp), 0); /* overlong */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xed\xa0\x80", 3, &cp), 0); /* surrogate */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xf4\x90\x80\x80", 4, &cp), 0); /* above U+10FFFF */
  DT_ASSERT_EQ_INT(dt_text_utf8_len("\xc3(", 2, &cp), 0);
}

DT_TEST(unsafe_code_points) {
  DT_ASSERT(dt_text_unsafe_cp(0x85) && dt_text_unsafe_cp(0x9b));
  DT_ASSERT(dt_text_unsafe_cp(0x2028) && dt_text_unsafe_cp(0x2029));
  DT_ASSERT(dt_text_unsafe_cp(0x202e) && dt_text_unsafe_cp(0x2066) && dt_text_unsafe_cp(0x2069));
  DT_ASSERT(!dt_text_unsafe_cp(0xe9) && !dt_text_unsafe_cp(0x20ac) && !dt_text_unsafe_cp(0x2070));
}

DT_TEST(plain_escape_is_the_cdrs) {
  ASSERT_ESC("", 0, "");
  ASSERT_ESC("hello", 0, "hello");
  ASSERT_ESC("a\"b\\c", 0, "a\\\"b\\\\c");
  ASSERT_ESC("l1\nl2\r\tx", 0, "l1\\nl2\\r\\tx");
  ASSERT_ESC("\x01\x1b[31m", 0, "\\u0001\\u001b[31m");
  ASSERT_ESC("\x7f", 0, "\x7f");                   /* DEL as it is */
  ASSERT_ESC("caf\xc3\xa9 \xff", 0, "caf\xc3\xa9 \xff"); /* bytes above 0x7f as they are */
  ASSERT_ESC("\xe2\x80\xae", 0, "\xe2\x80\xae");
  ASSERT_ESC("say \"hi\"", 2, "\"say \\\"hi\\\"\"");
  ASSERT_ESC("", 2, "\"\"");
}

DT_TEST(safe_escape_is_the_loggers) {
  ASSERT_ESC("a\"b\\c\n", 1, "a\\\"b\\\\c\\n");
  ASSERT_ESC("\x1b[2J\x7f", 1, "\\u001b[2J\\u007f");
  ASSERT_ESC("caf\xc3\xa9", 1, "caf\xc3\xa9");          /* well-formed UTF-8 stays */
  ASSERT_ESC("x\xffy", 1, "x\\ufffdy");                 /* not UTF-8 */
  ASSERT_ESC("\xe2\x82", 1, "\\ufffd\\ufffd");          /* cut short: each byte */
  ASSERT_ESC("\xc2\x85|\xe2\x80\xa8|\xe2\x80\xae", 1, "\\u0085|\\u2028|\\u202e");
  ASSERT_ESC("\xf0\x9f\x98\x80", 1, "\xf0\x9f\x98\x80");
}

DT_TEST(utf8_valid_and_lua_literals) {
  DT_ASSERT(dt_text_utf8_valid("plain", 5));
  DT_ASSERT(dt_text_utf8_valid("\xc3\xb1" "and" "\xc3\xba", 7));
  DT_ASSERT(dt_text_utf8_valid("", 0));
  DT_ASSERT(!dt_text_utf8_valid("a\0b", 3));
  DT_ASSERT(!dt_text_utf8_valid("\xff", 1));
  DT_ASSERT(!dt_text_utf8_valid("\xc3", 1));            /* cut short */
  DT_ASSERT(!dt_text_utf8_valid("\xed\xa0\x80", 3));   /* a surrogate */
  dt_buf_t b = {0};
  dt_text_lua_string(&b, "say \"hi\"\\\n\x01\x7f");
  DT_ASSERT_EQ_STR(b.data, "\"say \\\"hi\\\"\\\\\\n\\001\\127\"");
  dt_buf_free(&b);
}

DT_TEST_MAIN()
