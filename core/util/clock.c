/*
 * clock.c — wall-clock time for records and files (see clock.h): Unix milliseconds and
 * ISO-8601 UTC text with milliseconds, as the CDR lines and recording sidecars carry it.
 * Owns nothing; pure apart from reading CLOCK_REALTIME.
 */
#include <stdio.h>
#include <time.h>
#include "dialtone/clock.h"

int64_t dt_clock_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dt_clock_format_iso(int64_t unix_ms, char out[32]) {
  if (unix_ms <= 0) {
    out[0] = '\0';
    return;
  }
  time_t s = (time_t)(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03dZ", (int)(unix_ms % 1000));
}
