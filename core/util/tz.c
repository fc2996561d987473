/*
 * tz.c — IANA time zones as plain data (see tz.h): a bounded TZif reader and the POSIX TZ
 * rule of its footer, plus civil-date arithmetic.
 *
 * Owns each dt_tz_t (one allocation for the struct, one for the transitions). Thread-safe:
 * nothing here reads or writes process-global state (no TZ variable, no tzset, no static
 * buffers), so a zone loaded once may be read from any thread. This is the reason the
 * module exists: converting with localtime_r needs setenv("TZ") + tzset, which changes the
 * zone of every thread in the process while calls run.
 *
 * Bounds: the file is read up to DT_TZ_MAX_FILE bytes; counts are checked against the
 * bytes present before anything is read (timecnt <= 65535, typecnt 1..256); offsets are
 * within RFC 8536's -89999..93599 s (a file or footer with another is refused or ignored);
 * the footer is at most 128 bytes. A footer that cannot be parsed is ignored (the last transition's type
 * holds past the table), so an odd rule never makes a zone unusable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/tz.h"

#define MAX_TIMES 65535
#define MAX_TYPES 256
#define MIN_UTOFF (-89999) /* RFC 8536: a local time type's offset is within -25..+26 hours */
#define MAX_UTOFF 93599

typedef struct {
  int32_t utoff;
  bool isdst;
} tz_type_t;

/* One rule date of a POSIX TZ string: Jn, n or Mm.w.d, and the local time of day. */
typedef struct {
  char kind; /* 'J', 'D' (zero-based day) or 'M' */
  int n, m, w, d;
  int32_t secs;
} tz_rule_date_t;

typedef struct {
  bool present; /* a usable footer */
  bool has_dst;
  int32_t std_off, dst_off; /* seconds east of UTC */
  tz_rule_date_t start, end;
} tz_rule_t;

struct dt_tz_s {
  char name[DT_TZ_MAX_NAME + 1];
  size_t ntimes;
  int64_t *times;
  uint8_t *idx;
  size_t ntypes;
  tz_type_t types[MAX_TYPES];
  tz_rule_t rule;
};

/* ------------------------------------------------------------------ civil dates */

int64_t dt_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void dt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned dt_weekday_from_days(int64_t z) { return (unsigned)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6); }

int64_t dt_days_of(int64_t secs) { return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400); }

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* ------------------------------------------------------------------ POSIX TZ rule */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *parse_name(const char *p) {
  if (*p == '<') {
    const char *q = strchr(p, '>');
    return q && q - p >= 4 ? q + 1 : NULL;
  }
  const char *s = p;
  while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) p++;
  return p - s >= 3 ? p : NULL;
}

static const char *parse_num(const char *p, int max, int *out) {
  if (!is_digit(*p)) return NULL;
  int v = 0;
  while (is_digit(*p)) {
    v = v * 10 + (*p++ - '0');
    if (v > max) return NULL;
  }
  *out = v;
  return p;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 extension); seconds. */
static const char *parse_hms(const char *p, int32_t *out) {
  int sign = 1, h = 0, m = 0, s = 0;
  if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
  if (!(p = parse_num(p, 167, &h))) return NULL;
  if (*p == ':') {
    if (!(p = parse_num(p + 1, 59, &m))) return NULL;
    if (*p == ':' && !(p = parse_num(p + 1, 59, &s))) return NULL;
  }
  *out = sign * (h * 3600 + m * 60 + s);
  return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date_t *r) {
  r->secs = 7200;
  if (*p == 'J') {
    r->kind = 'J';
    if (!(p = parse_num(p + 1, 365, &r->n)) || r->n < 1) return NULL;
  } else if (*p == 'M') {
    r->kind = 'M';
    if (!(p = parse_num(p + 1, 12, &r->m)) || r->m < 1 || *p != '.') return NULL;
    if (!(p = parse_num(p + 1, 5, &r->w)) || r->w < 1 || *p != '.') return NULL;
    if (!(p = parse_num(p + 1, 6, &r->d))) return NULL;
  } else {
    r->kind = 'D';
    if (!(p = parse_num(p, 365, &r->n))) return NULL;
  }
  if (*p == '/' && !(p = parse_hms(p + 1, &r->secs))) return NULL;
  return p;
}

static bool parse_rule(const char *s, tz_rule_t *r) {
  memset(r, 0, sizeof *r);
  const char *p = parse_name(s);
  int32_t off;
  if (!p || !(p = parse_hms(p, &off))) return false;
  r->std_off = -off;
  if (r->std_off < MIN_UTOFF || r->std_off > MAX_UTOFF) return false;
  if (*p == '\0') {
    r->present = true;
    return true;
  }
  if (!(p = parse_name(p))) return false;
  r->has_dst = true;
  r->dst_off = r->std_off + 3600;
  if (*p != ',' && *p != '\0') {
    if (!(p = parse_hms(p, &off))) return false;
    r->dst_off = -off;
  }
  if (*p == '\0') { /* POSIX's default: the US rules */
    r->start = (tz_rule_date_t){'M', 0, 3, 2, 0, 7200};
    r->end = (tz_rule_date_t){'M', 0, 11, 1, 0, 7200};
  } else {
    if (*p != ',' || !(p = parse_rule_date(p + 1, &r->start))) return false;
    if (*p != ',' || !(p = parse_rule_date(p + 1, &r->end))) return false;
    if (*p != '\0') return false;
  }
  if (r->dst_off < MIN_UTOFF || r->dst_off > MAX_UTOFF) return false;
  r->present = true;
  return true;
}

/* Local seconds (as if UTC) of a rule date in year y. */
static int64_t rule_local(const tz_rule_date_t *r, int64_t y) {
  int64_t day;
  if (r->kind == 'J') {
    day = dt_days_from_civil(y, 1, 1) + r->n - 1;
    if (leap(y) && r->n >= 60) day++;
  } else if (r->kind == 'D') {
    day = dt_days_from_civil(y, 1, 1) + r->n;
  } else {
    int64_t first = dt_days_from_civil(y, (unsigned)r->m, 1);
    unsigned wd = dt_weekday_from_days(first);
    day = first + ((unsigned)r->d + 7 - wd) % 7 + (int64_t)(r->w - 1) * 7;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned len = mdays[r->m - 1] + (r->m == 2 && leap(y));
    int64_t last = first + len - 1;
    while (day > last) day -= 7; /* w = 5: the last such weekday */
  }
  return day * 86400 + r->secs;
}

static int32_t rule_offset(const tz_rule_t *r, int64_t t, bool *isdst) {
  bool dst = false;
  if (r->has_dst) {
    int64_t y;
    unsigned m, d;
    dt_civil_from_days(dt_days_of(t + r->std_off), &y, &m, &d);
    int64_t start = rule_local(&r->start, y) - r->std_off; /* start is in standard time */
    int64_t end = rule_local(&r->end, y) - r->dst_off;     /* end is in daylight time */
    dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  }
  if (isdst) *isdst = dst;
  return dst ? r->dst_off : r->std_off;
}

/* ------------------------------------------------------------------ TZif */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

typedef struct {
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tz_counts_t;

static int header(const unsigned char *p, size_t len, tz_counts_t *c, int *version, char *err, size_t errlen) {
  if (len < 44 || memcmp(p, "TZif", 4) != 0) return dt_seterr(err, errlen, DT_EPARSE, "not a TZif file");
  *version = p[4] == 0 ? 1 : p[4] - '0';
  c->isutcnt = be32(p + 20);
  c->isstdcnt = be32(p + 24);
  c->leapcnt = be32(p + 28);
  c->timecnt = be32(p + 32);
  c->typecnt = be32(p + 36);
  c->charcnt = be32(p + 40);
  if (c->timecnt > MAX_TIMES || c->typecnt == 0 || c->typecnt > MAX_TYPES || c->charcnt > 65536 ||
      c->leapcnt > 65536 || (c->isutcnt && c->isutcnt != c->typecnt) ||
      (c->isstdcnt && c->isstdcnt != c->typecnt))
    return dt_seterr(err, errlen, DT_EPARSE, "TZif counts out of range");
  return 0;
}

static size_t block_len(const tz_counts_t *c, size_t tsize) {
  return (size_t)c->timecnt * tsize + c->timecnt + (size_t)c->typecnt * 6 + c->charcnt +
         (size_t)c->leapcnt * (tsize + 4) + c->isstdcnt + c->isutcnt;
}

int dt_tz_parse(const unsigned char *data, size_t len, dt_tz_t **out, char *err, size_t errlen) {
  *out = NULL;
  tz_counts_t c;
  int version, rc;
  if ((rc = header(data, len, &c, &version, err, errlen)) != 0) return rc;
  size_t tsize = 4;
  const unsigned char *p = data + 44, *end = data + len;
  if (block_len(&c, 4) > (size_t)(end - p)) return dt_seterr(err, errlen, DT_EPARSE, "TZif file is truncated");
  if (version >= 2) { /* skip the 32-bit block: the 64-bit one follows */
    p += block_len(&c, 4);
    if ((rc = header(p, (size_t)(end - p), &c, &version, err, errlen)) != 0) return rc;
    p += 44;
    tsize = 8;
    if (block_len(&c, 8) > (size_t)(end - p)) return dt_seterr(err, errlen, DT_EPARSE, "TZif file is truncated");
  }
  dt_tz_t *tz = dt_xcalloc(1, sizeof *tz);
  tz->ntimes = c.timecnt;
  tz->times = dt_xmalloc((c.timecnt ? c.timecnt : 1) * (sizeof *tz->times + 1));
  tz->idx = (uint8_t *)(tz->times + (c.timecnt ? c.timecnt : 1));
  for (size_t i = 0; i < c.timecnt; i++, p += tsize)
    tz->times[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
  for (size_t i = 0; i < c.timecnt; i++) {
    if (p[i] >= c.typecnt) {
      dt_tz_free(tz);
      return dt_seterr(err, errlen, DT_EPARSE, "TZif transition names a type that does not exist");
    }
    tz->idx[i] = p[i];
  }
  p += c.timecnt;
  tz->ntypes = c.typecnt;
  for (size_t i = 0; i < c.typecnt; i++, p += 6) {
    tz->types[i].utoff = (int32_t)be32(p);
    tz->types[i].isdst = p[4] != 0;
    if (tz->types[i].utoff < MIN_UTOFF || tz->types[i].utoff > MAX_UTOFF) {
      dt_tz_free(tz);
      return dt_seterr(err, errlen, DT_EPARSE, "TZif local time type with an offset beyond 25 hours");
    }
  }
  p += c.charcnt + (size_t)c.leapcnt * (tsize + 4) + c.isstdcnt + c.isutcnt;
  if (version >= 2 && end - p >= 2 && *p == '\n') { /* footer: \nTZ\n */
    const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
    char rule[129];
    size_t n = nl ? (size_t)(nl - p - 1) : 0;
    if (nl && n > 0 && n < sizeof rule) {
      memcpy(rule, p + 1, n);
      rule[n] = '\0';
      parse_rule(rule, &tz->rule);
    }
  }
  *out = tz;
  return 0;
}

static bool valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > DT_TZ_MAX_NAME || s[0] == '/' || strstr(s, "..") || strncmp(s, "right/", 6) == 0 ||
      strncmp(s, "posix/", 6) == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '_' || ch == '-' ||
          ch == '+' || ch == '/'))
      return false;
  }
  return true;
}

int dt_tz_load(const char *dir, const char *name, dt_tz_t **out, char *err, size_t errlen) {
  *out = NULL;
  if (name == NULL || !valid_name(name))
    return dt_seterr(err, errlen, DT_EINVAL, "'%s' is not a time zone name (like \"America/New_York\")",
                     name ? name : "(null)");
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir ? dir : DT_TZ_DIR, name);
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, DT_TZ_MAX_FILE, &text, &len) != 0)
    return dt_seterr(err, errlen, DT_ENOENT, "unknown time zone '%s' (no %s; is tzdata installed?)", name, path);
  char why[128];
  int rc = dt_tz_parse((const unsigned char *)text, len, out, why, sizeof why);
  free(text);
  if (rc != 0) return dt_seterr(err, errlen, rc, "time zone '%s': %s", name, why);
  snprintf((*out)->name, sizeof (*out)->name, "%s", name);
  return 0;
}

void dt_tz_free(dt_tz_t *tz) {
  if (!tz) return;
  free(tz->times);
  free(tz);
}

const char *dt_tz_name(const dt_tz_t *tz) { return tz->name; }

int32_t dt_tz_offset(const dt_tz_t *tz, int64_t t, bool *isdst) {
  if (tz->ntimes == 0 || t < tz->times[0]) {
    if (tz->ntimes == 0 && tz->rule.present) return rule_offset(&tz->rule, t, isdst);
    if (isdst) *isdst = tz->types[0].isdst;
    return tz->types[0].utoff;
  }
  if (t >= tz->times[tz->ntimes - 1] && tz->rule.present) return rule_offset(&tz->rule, t, isdst);
  size_t lo = 0, hi = tz->ntimes; /* the last transition <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->times[mid] <= t) lo = mid;
    else hi = mid;
  }
  const tz_type_t *ty = &tz->types[tz->idx[lo]];
  if (isdst) *isdst = ty->isdst;
  return ty->utoff;
}

int64_t dt_tz_from_local(const dt_tz_t *tz, int64_t local) {
  /* transitions are days apart: the offsets a day either side are the candidates */
  int32_t before = dt_tz_offset(tz, local - 86400, NULL), after = dt_tz_offset(tz, local + 86400, NULL);
  int64_t a = local - before, b = local - after;
  bool a_ok = dt_tz_offset(tz, a, NULL) == before, b_ok = dt_tz_offset(tz, b, NULL) == after;
  if (a_ok && b_ok) return a < b ? a : b;
  if (b_ok) return b;
  return a; /* a_ok, or a gap: the clock as it read before the jump */
}
