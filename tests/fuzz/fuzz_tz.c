/*
 * fuzz_tz.c — libFuzzer target for core/util/tz.c and core/util/hours.c: the TZif reader,
 * the POSIX TZ rule of a file's footer, and business-hours spans.
 *
 * Per input:
 *  1. The bytes as a TZif file (dt_tz_parse). When it is accepted: offsets at instants
 *     across the whole range are within +-26 h, and dt_tz_from_local of a local time is an
 *     instant whose local time is within a day of it.
 *  2. The bytes (up to 128, no NUL or newline) as the footer rule of a minimal valid v2
 *     file with no transitions, read the same way: the rule parser on every input.
 *  3. The bytes (up to the first NUL) as a day's spans (dt_hours_parse_spans): when
 *     accepted, at most DT_HOURS_MAX_SPANS, each from < to <= 1440, sorted, apart; and as a
 *     holiday date.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/hours.h"
#include "dialtone/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_zone(const dt_tz_t *tz) {
  static const int64_t T[] = {-4000000000LL, -1, 0, 1, 1000000000, 1798153140, 4102444800LL, 32503680000LL};
  for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
    bool dst;
    int32_t off = dt_tz_offset(tz, T[i], &dst);
    if (off > 26 * 3600 || off < -26 * 3600) abort();
    int64_t t = dt_tz_from_local(tz, T[i]);
    int64_t back = t + dt_tz_offset(tz, t, NULL);
    if (back - T[i] > 2 * 86400 || T[i] - back > 2 * 86400) abort();
  }
}

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dt_tz_t *tz = NULL;
  if (dt_tz_parse(data, size, &tz, NULL, 0) == 0) {
    check_zone(tz);
    dt_tz_free(tz);
  }
  /* a v2 file: header, one type (UTC), no transitions (v1 and v2 blocks), then the footer */
  unsigned char file[2 * (44 + 6) + 131];
  size_t n = 0;
  for (int v = 0; v < 2; v++) {
    memset(file + n, 0, 44);
    memcpy(file + n, "TZif2", 5);
    be32(file + n + 36, 1); /* typecnt */
    n += 44;
    memset(file + n, 0, 6); /* utoff 0, isdst 0, desigidx 0 */
    n += 6;
  }
  size_t rl = 0;
  file[n++] = '\n';
  while (rl < size && rl < 128 && data[rl] != '\n' && data[rl] != '\0') file[n++] = data[rl++];
  file[n++] = '\n';
  if (dt_tz_parse(file, n, &tz, NULL, 0) == 0) {
    check_zone(tz);
    dt_tz_free(tz);
  }
  char text[512];
  size_t tl = 0;
  while (tl < size && tl < sizeof text - 1 && data[tl] != '\0') {
    text[tl] = (char)data[tl];
    tl++;
  }
  text[tl] = '\0';
  dt_hours_span_t spans[DT_HOURS_MAX_SPANS];
  uint8_t ns = 0;
  if (dt_hours_parse_spans(text, spans, &ns, NULL, 0) == 0) {
    if (ns > DT_HOURS_MAX_SPANS) abort();
    for (size_t i = 0; i < ns; i++) {
      if (spans[i].from >= spans[i].to || spans[i].to > 1440) abort();
      if (i && spans[i].from < spans[i - 1].to) abort();
    }
  }
  int32_t day;
  (void)dt_hours_parse_date(text, &day);
  return 0;
}
