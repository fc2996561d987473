/*
 * tz.h — IANA time zones without touching process-global state: a bounded TZif (RFC 8536,
 * versions 1 to 4) reader for the system's tzdata (/usr/share/zoneinfo, Debian's `tzdata`)
 * with the POSIX TZ rule of the file's footer for instants past its last transition, and
 * the civil-date arithmetic the business-hours module needs.
 *
 * Why not localtime_r after setenv("TZ")? TZ is one variable for the whole process: setting
 * it while another thread (the embedded emulator, the thread pool, a second engine in a
 * test) formats a time races, and glibc's tzset reads it under a lock the other threads do
 * not take in setenv. A zone here is plain data, loaded once and read by any thread.
 *
 * Promises: dt_tz_load reads at most DT_TZ_MAX_FILE bytes, accepts only zone names of
 * letters, digits, '_', '-', '+' and '/' (no "..", no leading '/', at most 64 characters),
 * and rejects a file that is not TZif or whose counts do not fit its size. Offsets are
 * seconds east of UTC. Leap-second records are skipped (tzdata's "right/" zones are not
 * supported: they are refused by name).
 */
#ifndef DIALTONE_TZ_H
#define DIALTONE_TZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_TZ_DIR "/usr/share/zoneinfo"
#define DT_TZ_MAX_FILE (256u << 10)
#define DT_TZ_MAX_NAME 64

typedef struct dt_tz_s dt_tz_t;

/* Loads zone `name` ("America/New_York", "UTC") from dir (NULL = DT_TZ_DIR). DT_EINVAL for
   a bad name, DT_ENOENT for an unknown zone, DT_EPARSE for a file that is not TZif. */
int dt_tz_load(const char *dir, const char *name, dt_tz_t **out, char *err, size_t errlen);
/* Parses TZif bytes (tests, or a file read elsewhere). */
int dt_tz_parse(const unsigned char *data, size_t len, dt_tz_t **out, char *err, size_t errlen);
void dt_tz_free(dt_tz_t *tz);
/* The zone's name as loaded ("" from dt_tz_parse). */
const char *dt_tz_name(const dt_tz_t *tz);

/* UTC offset in seconds at Unix time t; *isdst (optional) whether it is daylight time. */
int32_t dt_tz_offset(const dt_tz_t *tz, int64_t t, bool *isdst);
/* Unix time of local wall-clock time `local` (seconds since 1970-01-01T00:00 of the local
   calendar, as if it were UTC). In a fall-back overlap, the earlier instant; in a
   spring-forward gap (a time that never shows on the clock), the instant the clock would
   show had it not moved (02:30 in New York on the spring day is 03:30 EDT). */
int64_t dt_tz_from_local(const dt_tz_t *tz, int64_t local);

/* Civil dates (proleptic Gregorian): days since 1970-01-01 and back. */
int64_t dt_days_from_civil(int64_t y, unsigned m, unsigned d);
void dt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 0 = Sunday ... 6 = Saturday. */
unsigned dt_weekday_from_days(int64_t days);
/* Floor division of seconds into days (negative times round down). */
int64_t dt_days_of(int64_t secs);

#endif
