/*
 * clock.h — wall-clock time for records and files: Unix milliseconds and their ISO-8601
 * UTC text. (The monotonic clock for deadlines is dt_now_ms in common.h.)
 *
 * Promises: dt_clock_unix_ms never fails (CLOCK_REALTIME); dt_clock_format_iso always
 * writes a NUL-terminated string of at most 24 characters, "" for a time <= 0 (unknown).
 */
#ifndef DIALTONE_CLOCK_H
#define DIALTONE_CLOCK_H
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock). */
int64_t dt_clock_unix_ms(void);
/* "2024-01-02T03:04:05.678Z" for a Unix time in ms; "" when unix_ms <= 0. */
void dt_clock_format_iso(int64_t unix_ms, char out[32]);

#endif
