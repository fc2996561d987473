/*
 * test_tz.c — core/util/tz.c: TZif files of the system's tzdata read as data, offsets
 * across DST transitions (America/New_York, Europe/Madrid, from the table and from the
 * footer's rule), local time back to UTC in gaps and overlaps, bad names and bad files,
 * and agreement with glibc's localtime_r over many instants (TZ set only in this test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/tz.h"
#include "harness/dt_test.h"

static int64_t utc(int y, unsigned m, unsigned d, int h, int mi) {
  return dt_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60;
}

static dt_tz_t *zone(const char *name) {
  dt_tz_t *tz = NULL;
  char err[256];
  if (dt_tz_load(NULL, name, &tz, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    abort();
  }
  return tz;
}

DT_TEST(civil_dates_round_trip) {
  DT_ASSERT_EQ_INT(dt_days_from_civil(1970, 1, 1), 0);
  DT_ASSERT_EQ_INT(dt_weekday_from_days(0), 4); /* a Thursday */
  DT_ASSERT_EQ_INT(dt_weekday_from_days(dt_days_from_civil(2026, 12, 25)), 5);
  DT_ASSERT_EQ_INT(dt_weekday_from_days(-1), 3);
  DT_ASSERT_EQ_INT(dt_weekday_from_days(-7), 4);
  for (int64_t z = -800000; z < 800000; z += 97) {
    int64_t y;
    unsigned m, d;
    dt_civil_from_days(z, &y, &m, &d);
    DT_ASSERT_EQ_INT(dt_days_from_civil(y, m, d), z);
  }
  DT_ASSERT_EQ_INT(dt_days_of(-1), -1);
  DT_ASSERT_EQ_INT(dt_days_of(86399), 0);
}

DT_TEST(new_york_dst_2026_and_2007) {
  dt_tz_t *ny = zone("America/New_York");
  bool dst = true;
  DT_ASSERT_EQ_STR(dt_tz_name(ny), "America/New_York");
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2026, 1, 15, 12, 0), &dst), -5 * 3600);
  DT_ASSERT(!dst);
  /* spring forward: Sunday 2026-03-08 02:00 EST = 07:00 UTC */
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2026, 3, 8, 7, 0) - 1, NULL), -5 * 3600);
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2026, 3, 8, 7, 0), &dst), -4 * 3600);
  DT_ASSERT(dst);
  /* fall back: Sunday 2026-11-01 02:00 EDT = 06:00 UTC */
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2026, 11, 1, 6, 0) - 1, NULL), -4 * 3600);
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2026, 11, 1, 6, 0), NULL), -5 * 3600);
  /* from the transition table: 2007-03-11, the first year of today's US rules */
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2007, 3, 11, 7, 0) - 1, NULL), -5 * 3600);
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2007, 3, 11, 7, 0), NULL), -4 * 3600);
  /* and far past the table: the footer's rule (2100-03-14) */
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2100, 3, 14, 7, 0), NULL), -4 * 3600);
  DT_ASSERT_EQ_INT(dt_tz_offset(ny, utc(2100, 3, 14, 7, 0) - 1, NULL), -5 * 3600);
  dt_tz_free(ny);
}

DT_TEST(madrid_dst_2026) {
  dt_tz_t *md = zone("Europe/Madrid");
  /* CEST from Sunday 2026-03-29 01:00 UTC to Sunday 2026-10-25 01:00 UTC */
  DT_ASSERT_EQ_INT(dt_tz_offset(md, utc(2026, 3, 29, 1, 0) - 1, NULL), 3600);
  DT_ASSERT_EQ_INT(dt_tz_offset(md, utc(2026, 3, 29, 1, 0), NULL), 7200);
  DT_ASSERT_EQ_INT(dt_tz_offset(md, utc(2026, 10, 25, 1, 0) - 1, NULL), 7200);
  DT_ASSERT_EQ_INT(dt_tz_offset(md, utc(2026, 10, 25, 1, 0), NULL), 3600);
  dt_tz_free(md);
}

DT_TEST(local_time_back_to_utc_in_gaps_and_overlaps) {
  dt_tz_t *ny = zone("America/New_York");
  /* an ordinary time */
  DT_ASSERT_EQ_INT(dt_tz_from_local(ny, utc(2026, 12, 24, 17, 59)), utc(2026, 12, 24, 22, 59));
  DT_ASSERT_EQ_INT(dt_tz_from_local(ny, utc(2026, 7, 1, 8, 0)), utc(2026, 7, 1, 12, 0));
  /* 02:30 on 2026-03-08 never shows: the clock as it read before the jump (= 03:30 EDT) */
  DT_ASSERT_EQ_INT(dt_tz_from_local(ny, utc(2026, 3, 8, 2, 30)), utc(2026, 3, 8, 7, 30));
  /* 01:30 on 2026-11-01 shows twice: the earlier (EDT) */
  DT_ASSERT_EQ_INT(dt_tz_from_local(ny, utc(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));
  dt_tz_free(ny);
}

DT_TEST(agrees_with_glibc_over_many_instants) {
  const char *names[] = {"America/New_York", "Europe/Madrid", "Australia/Sydney", "Asia/Kolkata", "UTC"};
  for (size_t z = 0; z < DT_ARRAY_SIZE(names); z++) {
    dt_tz_t *tz = zone(names[z]);
    setenv("TZ", names[z], 1); /* this test is single-threaded; the module never does this */
    tzset();
    for (int64_t t = utc(1995, 1, 1, 0, 0); t < utc(2045, 1, 1, 0, 0); t += 86400 * 3 + 3571) {
      time_t tt = (time_t)t;
      struct tm tm;
      localtime_r(&tt, &tm);
      bool dst;
      int32_t off = dt_tz_offset(tz, t, &dst);
      DT_ASSERT_MSG(off == tm.tm_gmtoff, "%s at %lld: %d vs glibc %ld", names[z], (long long)t, off, tm.tm_gmtoff);
      DT_ASSERT(dst == (tm.tm_isdst > 0));
    }
    dt_tz_free(tz);
  }
  unsetenv("TZ");
  tzset();
}

DT_TEST(bad_names_and_files) {
  dt_tz_t *tz = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "Mars/Olympus_Mons", &tz, err, sizeof err), DT_ENOENT);
  DT_ASSERT_CONTAINS(err, "unknown time zone 'Mars/Olympus_Mons'");
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "../../etc/passwd", &tz, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "/etc/passwd", &tz, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "", &tz, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "America/New York", &tz, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tz_load(NULL, "right/UTC", &tz, err, sizeof err), DT_EINVAL);
  DT_ASSERT(tz == NULL);
  DT_ASSERT_EQ_INT(dt_tz_parse((const unsigned char *)"hello", 5, &tz, err, sizeof err), DT_EPARSE);
  /* a real file cut anywhere is refused or read, never read past its end */
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(DT_TZ_DIR "/America/New_York", DT_TZ_MAX_FILE, &text, &len), 0);
  for (size_t cut = 0; cut < len; cut += 7) {
    unsigned char *copy = malloc(cut ? cut : 1);
    memcpy(copy, text, cut);
    if (dt_tz_parse(copy, cut, &tz, err, sizeof err) == 0) {
      (void)dt_tz_offset(tz, utc(2026, 3, 8, 7, 0), NULL);
      dt_tz_free(tz);
    }
    free(copy);
  }
  /* counts that promise more than the file holds */
  unsigned char *bad = malloc(len);
  memcpy(bad, text, len);
  bad[35] = 0xff; /* timecnt of the v1 header */
  DT_ASSERT(dt_tz_parse(bad, len, &tz, err, sizeof err) != 0);
  free(bad);
  free(text);
}

DT_TEST(footer_only_zone_and_fixed_offsets) {
  dt_tz_t *k = zone("Asia/Kolkata");
  DT_ASSERT_EQ_INT(dt_tz_offset(k, utc(2026, 6, 1, 0, 0), NULL), 5 * 3600 + 1800);
  dt_tz_free(k);
  dt_tz_t *u = zone("UTC");
  DT_ASSERT_EQ_INT(dt_tz_offset(u, utc(2026, 6, 1, 0, 0), NULL), 0);
  DT_ASSERT_EQ_INT(dt_tz_from_local(u, 12345), 12345);
  dt_tz_free(u);
}

DT_TEST_MAIN()
