/*
 * hours.h — business hours as data: per-weekday opening spans in a time zone's wall-clock
 * time, and holidays (whole local days closed); "is it open at t" and "when does it next
 * open". Pure (no I/O): the zone is a dt_tz_t loaded by the caller (tz.h).
 *
 * Spans are "HH:MM-HH:MM" (24-hour clock, end after start, "24:00" allowed as an end),
 * several per day separated by commas ("08:00-12:00,13:00-17:30"), at most
 * DT_HOURS_MAX_SPANS a day, sorted and not overlapping once parsed. A span never crosses
 * midnight: "22:00-02:00" is refused (write "22:00-24:00" on the day and "00:00-02:00" on
 * the next). Open means start <= local time < end. A holiday closes the whole local day.
 * Local times that a DST change skips or repeats follow dt_tz_from_local.
 */
#ifndef DIALTONE_HOURS_H
#define DIALTONE_HOURS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dialtone/tz.h"

#define DT_HOURS_MAX_SPANS 8
#define DT_HOURS_MAX_HOLIDAYS 366
#define DT_HOURS_HORIZON_DAYS 400 /* how far next_open looks ahead */

typedef struct {
  uint16_t from, to; /* minutes since local midnight; to <= 1440 */
} dt_hours_span_t;

typedef struct {
  const dt_tz_t *tz;                               /* borrowed */
  dt_hours_span_t spans[7][DT_HOURS_MAX_SPANS];    /* [0] = Sunday */
  uint8_t nspans[7];
  int32_t holidays[DT_HOURS_MAX_HOLIDAYS];         /* local days since 1970-01-01, sorted */
  size_t nholidays;
} dt_hours_t;

/* Parses "08:00-12:00,13:00-18:00" into out (sorted); "" or "closed" = no spans.
   DT_EINVAL with the reason in err. */
int dt_hours_parse_spans(const char *text, dt_hours_span_t out[DT_HOURS_MAX_SPANS], uint8_t *n, char *err,
                         size_t errlen);
/* "2026-12-25" -> days since 1970-01-01 (a real calendar date). */
int dt_hours_parse_date(const char *text, int32_t *days);
/* Adds a holiday (kept sorted, duplicates once); DT_ELIMIT past DT_HOURS_MAX_HOLIDAYS. */
int dt_hours_add_holiday(dt_hours_t *h, int32_t day);
/* Open at Unix time t (seconds)? */
bool dt_hours_open(const dt_hours_t *h, int64_t t);
/* The first instant >= t at which it is open (t itself when open at t); false when it
   does not open within DT_HOURS_HORIZON_DAYS. */
bool dt_hours_next_open(const dt_hours_t *h, int64_t t, int64_t *out);

#endif
