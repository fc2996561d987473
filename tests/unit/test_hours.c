/*
 * test_hours.c — core/util/hours.c: spans parsed and refused, open and next_open across
 * closing time, weekends, holidays and the DST weekends of America/New_York and
 * Europe/Madrid (real zones from the system's tzdata).
 */
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/hours.h"
#include "harness/dt_test.h"

static int64_t utc(int y, unsigned m, unsigned d, int h, int mi) {
  return dt_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60;
}

/* mon_fri 08:00-18:00, sat 09:00-13:00, sun closed, holiday 2026-12-25 */
static void pharmacy(dt_hours_t *h, const dt_tz_t *tz) {
  memset(h, 0, sizeof *h);
  h->tz = tz;
  char err[128];
  for (int d = 1; d <= 5; d++) DT_ASSERT_EQ_INT(dt_hours_parse_spans("08:00-18:00", h->spans[d], &h->nspans[d], err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("09:00-13:00", h->spans[6], &h->nspans[6], err, sizeof err), 0);
  int32_t day;
  DT_ASSERT_EQ_INT(dt_hours_parse_date("2026-12-25", &day), 0);
  DT_ASSERT_EQ_INT(dt_hours_add_holiday(h, day), 0);
}

DT_TEST(spans_parse_sorted_and_refuse_nonsense) {
  dt_hours_span_t s[DT_HOURS_MAX_SPANS];
  uint8_t n;
  char err[256];
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("13:00-17:30, 08:00-12:00", s, &n, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(n, 2);
  DT_ASSERT_EQ_INT(s[0].from, 480);
  DT_ASSERT_EQ_INT(s[1].to, 1050);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("00:00-24:00", s, &n, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(s[0].to, 1440);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("closed", s, &n, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(n, 0);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("22:00-02:00", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "cannot cross midnight");
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("8:00-18:00", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "HH:MM-HH:MM");
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("08:00-18:60", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("24:00-24:00", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("08:00-12:00,11:00-13:00", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "overlap");
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("08:00-12:00;13:00-14:00", s, &n, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_spans("01:00-02:00,02:00-03:00,03:00-04:00,04:00-05:00,05:00-06:00,"
                                        "06:00-07:00,07:00-08:00,08:00-09:00,09:00-10:00",
                                        s, &n, err, sizeof err),
                   DT_EINVAL);
  int32_t day;
  DT_ASSERT_EQ_INT(dt_hours_parse_date("2026-02-30", &day), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_date("2026-12-25x", &day), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_date("2026-1-25", &day), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_hours_parse_date("2028-02-29", &day), 0);
}

DT_TEST(new_york_closing_time_holiday_and_weekend) {
  dt_tz_t *ny = NULL;
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "America/New_York", &ny, NULL, 0), 0);
  dt_hours_t h;
  pharmacy(&h, ny);
  /* Thursday 2026-12-24 17:59 EST (22:59 UTC) open; 18:00 closed */
  DT_ASSERT(dt_hours_open(&h, utc(2026, 12, 24, 22, 59)));
  DT_ASSERT(!dt_hours_open(&h, utc(2026, 12, 24, 23, 0)));
  int64_t next = 0;
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 12, 24, 22, 59), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 12, 24, 22, 59)); /* open: now */
  /* Friday is Christmas: next is Saturday 09:00 EST */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 12, 24, 23, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 12, 26, 14, 0));
  DT_ASSERT(!dt_hours_open(&h, utc(2026, 12, 25, 15, 0)));
  /* Saturday 13:00 closes until Monday 08:00 */
  DT_ASSERT(dt_hours_open(&h, utc(2026, 12, 26, 17, 59)));
  DT_ASSERT(!dt_hours_open(&h, utc(2026, 12, 26, 18, 0)));
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 12, 26, 18, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 12, 28, 13, 0));
  /* before opening on a weekday: the same morning */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 12, 28, 6, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 12, 28, 13, 0));
  dt_tz_free(ny);
}

DT_TEST(dst_weekends_new_york_and_madrid) {
  dt_tz_t *ny = NULL, *md = NULL;
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "America/New_York", &ny, NULL, 0), 0);
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "Europe/Madrid", &md, NULL, 0), 0);
  dt_hours_t h;
  pharmacy(&h, ny);
  int64_t next = 0;
  /* Saturday 2026-03-07 13:00 EST; the clocks spring forward on Sunday: Monday 08:00 EDT */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 3, 7, 18, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 3, 9, 12, 0));
  DT_ASSERT(dt_hours_open(&h, utc(2026, 3, 9, 12, 0)));
  DT_ASSERT(!dt_hours_open(&h, utc(2026, 3, 9, 11, 59)));
  DT_ASSERT(dt_hours_open(&h, utc(2026, 3, 9, 21, 59))); /* 17:59 EDT */
  DT_ASSERT(!dt_hours_open(&h, utc(2026, 3, 9, 22, 0)));
  /* fall back: Monday 2026-11-02 08:00 EST = 13:00 UTC */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 10, 31, 17, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 11, 2, 13, 0));
  pharmacy(&h, md);
  /* Madrid: Saturday 2026-03-28 13:00 CET; Monday 08:00 CEST = 06:00 UTC */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 3, 28, 12, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 3, 30, 6, 0));
  /* Friday 2026-10-23 18:00 CEST; clocks fall back Sunday: Saturday 09:00 CEST, then Monday 08:00 CET */
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 10, 23, 16, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 10, 24, 7, 0));
  DT_ASSERT(dt_hours_next_open(&h, utc(2026, 10, 24, 11, 0), &next));
  DT_ASSERT_EQ_INT(next, utc(2026, 10, 26, 7, 0));
  dt_tz_free(ny);
  dt_tz_free(md);
}

DT_TEST(never_open_and_holiday_bounds) {
  dt_tz_t *u = NULL;
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "UTC", &u, NULL, 0), 0);
  dt_hours_t h;
  memset(&h, 0, sizeof h);
  h.tz = u;
  int64_t next = 0;
  DT_ASSERT(!dt_hours_open(&h, 0));
  DT_ASSERT(!dt_hours_next_open(&h, utc(2026, 1, 1, 0, 0), &next));
  for (int32_t i = 0; i < DT_HOURS_MAX_HOLIDAYS; i++) DT_ASSERT_EQ_INT(dt_hours_add_holiday(&h, 20000 + i * 2), 0);
  DT_ASSERT_EQ_INT(dt_hours_add_holiday(&h, 20000), 0); /* already there */
  DT_ASSERT_EQ_INT(dt_hours_add_holiday(&h, 1), DT_ELIMIT);
  dt_tz_free(u);
}

DT_TEST_MAIN()
