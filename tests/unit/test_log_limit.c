/* Unit tests for log_limit.c: one line per reason per interval with the count of the
   occurrences in between, reasons kept apart, details (kids, numbers) not splitting a
   reason, and a full table reusing the slot logged longest ago. */
#include <stdio.h>
#include <string.h>
#include "dialtone/log_limit.h"
#include "harness/dt_test.h"

DT_TEST(key_is_the_reason_without_its_details) {
  char k[DT_LOG_LIMIT_KEY];
  dt_log_limit_key("token kid \"abc\" is not in the key set", k);
  DT_ASSERT_EQ_STR(k, "token kid");
  dt_log_limit_key("token expired (exp 5, now 9)", k);
  DT_ASSERT_EQ_STR(k, "token expired");
  dt_log_limit_key("no bearer token", k);
  DT_ASSERT_EQ_STR(k, "no bearer token");
  dt_log_limit_key(NULL, k);
  DT_ASSERT_EQ_STR(k, "");
  char longr[200];
  memset(longr, 'x', sizeof longr - 1);
  longr[sizeof longr - 1] = '\0';
  dt_log_limit_key(longr, k);
  DT_ASSERT_EQ_INT((int)strlen(k), DT_LOG_LIMIT_KEY - 1);
}

DT_TEST(one_line_a_second_per_reason_with_the_count) {
  dt_log_limit_t l = {0};
  uint64_t n = 0;
  DT_ASSERT(dt_log_limit_pass(&l, "no bearer token", 1000, &n));
  DT_ASSERT_EQ_INT((int)n, 1);
  for (int i = 0; i < 50; i++) DT_ASSERT(!dt_log_limit_pass(&l, "no bearer token", 1000 + (uint64_t)i * 10, &n));
  /* another reason is not hidden by the flood */
  DT_ASSERT(dt_log_limit_pass(&l, "bad signature", 1200, &n));
  DT_ASSERT_EQ_INT((int)n, 1);
  DT_ASSERT(dt_log_limit_pass(&l, "no bearer token", 2000, &n));
  DT_ASSERT_EQ_INT((int)n, 51);
  DT_ASSERT(!dt_log_limit_pass(&l, "no bearer token", 2999, &n));
  DT_ASSERT(dt_log_limit_pass(&l, "no bearer token", 3000, &n));
  DT_ASSERT_EQ_INT((int)n, 2);
  /* details do not make a new reason */
  DT_ASSERT(dt_log_limit_pass(&l, "token kid \"a\" is not in the key set", 3000, &n));
  DT_ASSERT(!dt_log_limit_pass(&l, "token kid \"b\" is not in the key set", 3001, &n));
}

DT_TEST(a_full_table_reuses_the_slot_logged_longest_ago) {
  dt_log_limit_t l = {.interval_ms = 100};
  char r[32];
  for (int i = 0; i < DT_LOG_LIMIT_SLOTS; i++) {
    snprintf(r, sizeof r, "reason %c", 'a' + i);
    DT_ASSERT(dt_log_limit_pass(&l, r, 10 + (uint64_t)i, NULL));
  }
  DT_ASSERT(dt_log_limit_pass(&l, "another", 50, NULL)); /* takes "reason a"'s slot */
  DT_ASSERT(dt_log_limit_pass(&l, "reason a", 51, NULL)); /* new again: logged at once */
  DT_ASSERT(!dt_log_limit_pass(&l, "another", 52, NULL));
}

DT_TEST_MAIN()
