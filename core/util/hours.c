/*
 * hours.c — business hours (see hours.h): spans per weekday, holidays, open and next_open
 * in a zone's wall-clock time. Pure and allocation-free: a dt_hours_t is plain data of
 * fixed size, so a caller may keep it anywhere (the flow runtime keeps it in a userdata).
 */
#include <stdio.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/hours.h"

static bool digit(char c) { return c >= '0' && c <= '9'; }

/* "HH:MM" at p (exactly two digits each); minutes, or -1. */
static int hhmm(const char *p) {
  if (!digit(p[0]) || !digit(p[1]) || p[2] != ':' || !digit(p[3]) || !digit(p[4])) return -1;
  int h = (p[0] - '0') * 10 + (p[1] - '0'), m = (p[3] - '0') * 10 + (p[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

int dt_hours_parse_spans(const char *text, dt_hours_span_t out[DT_HOURS_MAX_SPANS], uint8_t *n, char *err,
                         size_t errlen) {
  *n = 0;
  if (strcmp(text, "") == 0 || strcmp(text, "closed") == 0) return 0;
  const char *p = text;
  for (;;) {
    while (*p == ' ') p++;
    int from = hhmm(p), to = (from >= 0 && p[5] == '-') ? hhmm(p + 6) : -1;
    if (from < 0 || to < 0)
      return dt_seterr(err, errlen, DT_EINVAL, "'%s' is not \"HH:MM-HH:MM\" (24-hour clock, e.g. \"08:00-18:00\")",
                       text);
    if (from == 1440) return dt_seterr(err, errlen, DT_EINVAL, "'%s': a span cannot start at 24:00", text);
    if (to <= from)
      return dt_seterr(err, errlen, DT_EINVAL,
                       "'%.11s' ends before it starts (a span cannot cross midnight: write \"22:00-24:00\" "
                       "on the day and \"00:00-02:00\" on the next)",
                       p);
    if (*n == DT_HOURS_MAX_SPANS)
      return dt_seterr(err, errlen, DT_EINVAL, "'%s': more than %d spans in a day", text, DT_HOURS_MAX_SPANS);
    size_t i = *n; /* insertion keeps them sorted */
    while (i > 0 && out[i - 1].from > from) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = (dt_hours_span_t){(uint16_t)from, (uint16_t)to};
    (*n)++;
    p += 11;
    while (*p == ' ') p++;
    if (*p == '\0') break;
    if (*p != ',') return dt_seterr(err, errlen, DT_EINVAL, "'%s': spans are separated by commas", text);
    p++;
  }
  for (size_t i = 1; i < *n; i++)
    if (out[i].from < out[i - 1].to)
      return dt_seterr(err, errlen, DT_EINVAL, "'%s': spans overlap", text);
  return 0;
}

int dt_hours_parse_date(const char *s, int32_t *days) {
  for (int i = 0; i < 10; i++)
    if ((i == 4 || i == 7) ? s[i] != '-' : !digit(s[i])) return DT_EINVAL;
  if (s[10] != '\0') return DT_EINVAL;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0')), d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
  if (y < 1970 || m < 1 || m > 12 || d < 1) return DT_EINVAL;
  int64_t z = dt_days_from_civil(y, m, d);
  int64_t yy;
  unsigned mm, dd;
  dt_civil_from_days(z, &yy, &mm, &dd);
  if (mm != m || dd != d) return DT_EINVAL; /* 2026-02-30 */
  *days = (int32_t)z;
  return 0;
}

int dt_hours_add_holiday(dt_hours_t *h, int32_t day) {
  size_t i = h->nholidays;
  while (i > 0 && h->holidays[i - 1] > day) i--;
  if (i > 0 && h->holidays[i - 1] == day) return 0;
  if (h->nholidays == DT_HOURS_MAX_HOLIDAYS) return DT_ELIMIT;
  memmove(&h->holidays[i + 1], &h->holidays[i], (h->nholidays - i) * sizeof h->holidays[0]);
  h->holidays[i] = day;
  h->nholidays++;
  return 0;
}

static bool holiday(const dt_hours_t *h, int64_t day) {
  size_t lo = 0, hi = h->nholidays;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->holidays[mid] == day) return true;
    if (h->holidays[mid] < day) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

bool dt_hours_open(const dt_hours_t *h, int64_t t) {
  int64_t local = t + dt_tz_offset(h->tz, t, NULL);
  int64_t day = dt_days_of(local);
  if (holiday(h, day)) return false;
  int64_t secs = local - day * 86400;
  unsigned wd = dt_weekday_from_days(day);
  for (size_t i = 0; i < h->nspans[wd]; i++)
    if (secs >= (int64_t)h->spans[wd][i].from * 60 && secs < (int64_t)h->spans[wd][i].to * 60) return true;
  return false;
}

bool dt_hours_next_open(const dt_hours_t *h, int64_t t, int64_t *out) {
  if (dt_hours_open(h, t)) {
    *out = t;
    return true;
  }
  int64_t first = dt_days_of(t + dt_tz_offset(h->tz, t, NULL));
  for (int64_t day = first; day <= first + DT_HOURS_HORIZON_DAYS; day++) {
    if (holiday(h, day)) continue;
    unsigned wd = dt_weekday_from_days(day);
    for (size_t i = 0; i < h->nspans[wd]; i++) {
      int64_t start = dt_tz_from_local(h->tz, day * 86400 + (int64_t)h->spans[wd][i].from * 60);
      if (start > t) {
        *out = start;
        return true;
      }
    }
  }
  return false;
}
