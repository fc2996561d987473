/*
 * test_clock.c — core/util/clock.c: Unix milliseconds from the wall clock and their
 * ISO-8601 UTC text (the CDR's and the sidecars' format).
 */
#include <time.h>
#include "dialtone/clock.h"
#include "harness/dt_test.h"

DT_TEST(unix_ms_follows_the_wall_clock) {
  int64_t before = (int64_t)time(NULL) * 1000;
  int64_t now = dt_clock_unix_ms();
  int64_t after = (int64_t)time(NULL) * 1000 + 1000;
  DT_ASSERT(now >= before && now < after);
}

DT_TEST(iso_text_with_milliseconds) {
  char t[32];
  dt_clock_format_iso(1700000000123, t);
  DT_ASSERT_EQ_STR(t, "2023-11-14T22:13:20.123Z");
  dt_clock_format_iso(1000, t);
  DT_ASSERT_EQ_STR(t, "1970-01-01T00:00:01.000Z");
  dt_clock_format_iso(4102444800999, t);
  DT_ASSERT_EQ_STR(t, "2100-01-01T00:00:00.999Z");
  dt_clock_format_iso(0, t);
  DT_ASSERT_EQ_STR(t, "");
  dt_clock_format_iso(-5, t);
  DT_ASSERT_EQ_STR(t, "");
}

DT_TEST_MAIN()
