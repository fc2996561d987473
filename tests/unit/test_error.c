/* Unit tests for error.c: every code has a name and a message, unknown codes fall back, and
   dt_seterr fills the optional detail buffer and returns the code. */
#include <stdio.h>
#include <string.h>
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(error_names_and_messages) {
  DT_ASSERT_EQ_STR(dt_err_name(DT_EINVAL), "EINVAL");
  DT_ASSERT_EQ_STR(dt_strerror(DT_ETIMEDOUT), "timed out");
  DT_ASSERT_EQ_STR(dt_err_name(12345), "UNKNOWN");
  DT_ASSERT(DT_EINVAL < 0);
  char err[64];
  DT_ASSERT_EQ_INT(dt_seterr(err, sizeof err, DT_ECONFIG, "key %s", "listen"), DT_ECONFIG);
  DT_ASSERT_EQ_STR(err, "key listen");
}

DT_TEST(every_code_is_negative_named_and_distinct) {
  for (int e = DT__ERR_BASE + 1; e < DT__ERR_END; e++) {
    DT_ASSERT(e < 0);
    DT_ASSERT(strcmp(dt_err_name(e), "UNKNOWN") != 0);
    DT_ASSERT(strcmp(dt_strerror(e), "unknown error") != 0);
    for (int f = e + 1; f < DT__ERR_END; f++) DT_ASSERT(strcmp(dt_err_name(e), dt_err_name(f)) != 0);
  }
  DT_ASSERT_EQ_STR(dt_err_name(0), "OK");
  DT_ASSERT_EQ_STR(dt_strerror(0), "success");
  DT_ASSERT_EQ_STR(dt_strerror(-1), "unknown error"); /* a raw errno is not ours */
  DT_ASSERT_EQ_STR(dt_err_name(DT__ERR_END), "UNKNOWN");
  DT_ASSERT_EQ_STR(dt_err_name(DT_EUNSUPPORTED), "EUNSUPPORTED");
  DT_ASSERT_EQ_STR(dt_strerror(DT_EHANGUP), "the call has ended");
}

DT_TEST(seterr_without_buffer_and_truncating) {
  DT_ASSERT_EQ_INT(dt_seterr(NULL, 0, DT_EIO, "ignored %d", 1), DT_EIO);
  char small[6] = "xxxxx";
  DT_ASSERT_EQ_INT(dt_seterr(small, 0, DT_EIO, "untouched"), DT_EIO);
  DT_ASSERT_EQ_STR(small, "xxxxx");
  DT_ASSERT_EQ_INT(dt_seterr(small, sizeof small, DT_EPARSE, "%s", "truncated text"), DT_EPARSE);
  DT_ASSERT_EQ_STR(small, "trunc");
}

DT_TEST_MAIN()
