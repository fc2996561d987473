/*
 * metrics.c — the metrics registry (see metrics.h).
 *
 * Owns: metric families (name, type, help) and their series (one per label string).
 * Promises: every lookup is one hash probe sequence (FNV-1a over name and labels, open
 * addressing), so counters may be bumped on hot paths; rendering groups each family's
 * series under one # HELP / # TYPE block in the order the families were first seen,
 * which keeps the output stable for tests and scrapers. Inputs are bounded: names must
 * be valid Prometheus names, label strings at most DT_METRICS_MAX_LABELS bytes without
 * newlines, and a registry holds at most DT_METRICS_MAX_SERIES series; anything else is
 * dropped (a metrics call never fails its caller).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/log.h"
#include "dialtone/metrics.h"

#define DT_METRICS_MAX_NAME 200
#define DT_METRICS_MAX_LABELS 1024
#define DT_METRICS_MAX_SERIES 100000
#define DT_METRICS_MAX_HELP 1024

enum { MT_UNTYPED = 0, MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };
static const char *const type_names[] = {"untyped", "counter", "gauge", "histogram"};

#define NBUCKETS 15
static const double bucket_bounds[NBUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const char *const bucket_labels[NBUCKETS] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                    "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                    "1",      "2.5",   "5",      "10",    "+Inf"};

typedef struct family_s family_t;
typedef struct series_s series_t;

struct series_s {
  uint64_t hash;
  family_t *fam;
  series_t *next; /* next series of the same family, in creation order */
  char *labels;   /* "" when none */
  size_t labels_len;
  double value; /* counter/gauge value, or histogram sum */
  uint64_t count;
  uint64_t *buckets; /* NBUCKETS non-cumulative counts, histograms only */
};

struct family_s {
  uint64_t hash;
  char *name;
  char *help;
  int type;
  family_t *next; /* registry order */
  series_t *first, *last;
};

/* Open-addressing table of pointers; the stored object carries its own hash. */
typedef struct {
  void **slots;
  size_t cap; /* power of two */
  size_t len;
} table_t;

struct dt_metrics_s {
  table_t families;
  table_t series;
  family_t *first_family, *last_family;
  bool warned_full;
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}
#define FNV_BASIS 14695981039346656037ULL

static uint64_t series_hash(const char *name, size_t nlen, const char *labels, size_t llen) {
  uint64_t h = fnv1a(FNV_BASIS, name, nlen);
  h = fnv1a(h ^ 0xff, "\0", 1);
  return fnv1a(h, labels, llen);
}

static uint64_t obj_hash(table_t *t, void *obj, bool is_series) {
  (void)t;
  return is_series ? ((series_t *)obj)->hash : ((family_t *)obj)->hash;
}

static void table_grow(table_t *t, bool is_series) {
  size_t ncap = t->cap ? t->cap * 2 : 64;
  void **ns = dt_xcalloc(ncap, sizeof(void *));
  for (size_t i = 0; i < t->cap; i++) {
    void *o = t->slots[i];
    if (!o) continue;
    size_t j = (size_t)obj_hash(t, o, is_series) & (ncap - 1);
    while (ns[j]) j = (j + 1) & (ncap - 1);
    ns[j] = o;
  }
  free(t->slots);
  t->slots = ns;
  t->cap = ncap;
}

static void table_insert(table_t *t, void *obj, bool is_series) {
  if ((t->len + 1) * 10 > t->cap * 7) table_grow(t, is_series);
  size_t j = (size_t)obj_hash(t, obj, is_series) & (t->cap - 1);
  while (t->slots[j]) j = (j + 1) & (t->cap - 1);
  t->slots[j] = obj;
  t->len++;
}

static bool valid_name(const char *name, size_t n) {
  if (n == 0 || n > DT_METRICS_MAX_NAME) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

static bool valid_labels(const char *labels, size_t n) {
  if (n > DT_METRICS_MAX_LABELS) return false;
  return memchr(labels, '\n', n) == NULL;
}

static family_t *family_find(dt_metrics_t *m, const char *name, size_t nlen, uint64_t h) {
  if (!m->families.cap) return NULL;
  size_t mask = m->families.cap - 1;
  for (size_t j = (size_t)h & mask;; j = (j + 1) & mask) {
    family_t *f = m->families.slots[j];
    if (!f) return NULL;
    if (f->hash == h && strncmp(f->name, name, nlen) == 0 && f->name[nlen] == '\0') return f;
  }
}

static family_t *family_get(dt_metrics_t *m, const char *name, int type) {
  size_t nlen = strlen(name);
  if (!valid_name(name, nlen)) return NULL;
  uint64_t h = fnv1a(FNV_BASIS, name, nlen);
  family_t *f = family_find(m, name, nlen, h);
  if (f) return f;
  f = dt_xcalloc(1, sizeof *f);
  f->hash = h;
  f->name = dt_xstrndup(name, nlen);
  f->type = type;
  if (m->last_family) m->last_family->next = f;
  else m->first_family = f;
  m->last_family = f;
  table_insert(&m->families, f, false);
  return f;
}

static series_t *series_find(dt_metrics_t *m, const char *name, size_t nlen, const char *labels,
                             size_t llen, uint64_t h) {
  if (!m->series.cap) return NULL;
  size_t mask = m->series.cap - 1;
  for (size_t j = (size_t)h & mask;; j = (j + 1) & mask) {
    series_t *s = m->series.slots[j];
    if (!s) return NULL;
    if (s->hash == h && s->labels_len == llen && memcmp(s->labels, labels, llen) == 0 &&
        strncmp(s->fam->name, name, nlen) == 0 && s->fam->name[nlen] == '\0')
      return s;
  }
}

/* Finds or creates name{labels}; NULL if the input is invalid, the registry is full, or the
   family exists with an incompatible type (a histogram is not a counter). */
static series_t *series_get(dt_metrics_t *m, const char *name, const char *labels, int type,
                            bool create) {
  if (!m || !name) return NULL;
  if (!labels) labels = "";
  size_t nlen = strlen(name), llen = strlen(labels);
  uint64_t h = series_hash(name, nlen, labels, llen);
  series_t *s = series_find(m, name, nlen, labels, llen, h);
  if (s || !create) {
    if (s && (s->fam->type == MT_HISTOGRAM) != (type == MT_HISTOGRAM)) return NULL;
    return s;
  }
  if (!valid_labels(labels, llen)) return NULL;
  if (m->series.len >= DT_METRICS_MAX_SERIES) {
    if (!m->warned_full) dt_log_warn("metrics: registry full, dropping new series of %s", name);
    m->warned_full = true;
    return NULL;
  }
  family_t *f = family_get(m, name, type);
  if (!f) return NULL;
  if (f->type == MT_UNTYPED) f->type = type;
  if ((f->type == MT_HISTOGRAM) != (type == MT_HISTOGRAM)) return NULL;
  s = dt_xcalloc(1, sizeof *s);
  s->hash = h;
  s->fam = f;
  s->labels = dt_xstrndup(labels, llen);
  s->labels_len = llen;
  if (type == MT_HISTOGRAM) s->buckets = dt_xcalloc(NBUCKETS, sizeof(uint64_t));
  if (f->last) f->last->next = s;
  else f->first = s;
  f->last = s;
  table_insert(&m->series, s, true);
  return s;
}

dt_metrics_t *dt_metrics_new(void) { return dt_xcalloc(1, sizeof(dt_metrics_t)); }

void dt_metrics_free(dt_metrics_t *m) {
  if (!m) return;
  family_t *f = m->first_family;
  while (f) {
    family_t *fn = f->next;
    series_t *s = f->first;
    while (s) {
      series_t *sn = s->next;
      free(s->labels);
      free(s->buckets);
      free(s);
      s = sn;
    }
    free(f->name);
    free(f->help);
    free(f);
    f = fn;
  }
  free(m->families.slots);
  free(m->series.slots);
  free(m);
}

void dt_metrics_describe_all(dt_metrics_t *m, const dt_metrics_family_t *families, size_t n) {
  if (!m) return;
  for (size_t i = 0; i < n; i++) dt_metrics_describe(m, families[i].name, families[i].type, families[i].help);
}

void dt_metrics_describe(dt_metrics_t *m, const char *name, const char *type, const char *help) {
  if (!m || !name) return;
  int t = MT_UNTYPED;
  if (type) {
    for (int i = 1; i < (int)DT_ARRAY_SIZE(type_names); i++)
      if (strcmp(type, type_names[i]) == 0) t = i;
  }
  family_t *f = family_get(m, name, t);
  if (!f) return;
  /* A family's kind (histogram or not) is fixed by its first series. */
  if (t != MT_UNTYPED && (f->first == NULL || (f->type == MT_HISTOGRAM) == (t == MT_HISTOGRAM)))
    f->type = t;
  if (help) {
    free(f->help);
    f->help = dt_xstrndup(help, strnlen(help, DT_METRICS_MAX_HELP));
  }
}

void dt_metrics_add(dt_metrics_t *m, const char *name, const char *labels, double delta) {
  series_t *s = series_get(m, name, labels, MT_COUNTER, true);
  if (s) s->value += delta;
}

void dt_metrics_set(dt_metrics_t *m, const char *name, const char *labels, double value) {
  series_t *s = series_get(m, name, labels, MT_GAUGE, true);
  if (s) s->value = value;
}

void dt_metrics_observe(dt_metrics_t *m, const char *name, const char *labels, double value) {
  if (isnan(value)) return;
  series_t *s = series_get(m, name, labels, MT_HISTOGRAM, true);
  if (!s) return;
  size_t i = 0;
  while (i < NBUCKETS - 1 && value > bucket_bounds[i]) i++;
  s->buckets[i]++;
  s->count++;
  s->value += value;
}

double dt_metrics_get(dt_metrics_t *m, const char *name, const char *labels) {
  if (!m || !name) return 0;
  if (!labels) labels = "";
  size_t nlen = strlen(name), llen = strlen(labels);
  series_t *s = series_find(m, name, nlen, labels, llen, series_hash(name, nlen, labels, llen));
  if (!s) return 0;
  /* For a histogram the useful single number is its observation count. */
  return s->fam->type == MT_HISTOGRAM ? (double)s->count : s->value;
}

/* Backward-shift deletion (linear probing keeps no tombstones): every later entry of the
   probe run that could sit in the freed slot moves back into it. */
static void table_delete(table_t *t, void *obj, bool is_series) {
  size_t mask = t->cap - 1, i = (size_t)obj_hash(t, obj, is_series) & mask;
  while (t->slots[i] != obj) i = (i + 1) & mask;
  for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
    size_t home = (size_t)obj_hash(t, t->slots[j], is_series) & mask;
    /* slot j's entry may move to i unless its home lies cyclically in (i, j] */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    t->slots[i] = t->slots[j];
    i = j;
  }
  t->slots[i] = NULL;
  t->len--;
}

void dt_metrics_remove(dt_metrics_t *m, const char *name, const char *labels) {
  if (!m || !name) return;
  if (!labels) labels = "";
  size_t nlen = strlen(name), llen = strlen(labels);
  series_t *s = series_find(m, name, nlen, labels, llen, series_hash(name, nlen, labels, llen));
  if (!s) return;
  table_delete(&m->series, s, true);
  family_t *f = s->fam;
  series_t *prev = NULL;
  for (series_t *x = f->first; x != s; x = x->next) prev = x;
  if (prev) prev->next = s->next;
  else f->first = s->next;
  if (f->last == s) f->last = prev;
  free(s->labels);
  free(s->buckets);
  free(s);
}

/* Shortest text that reads back as the same double, as Prometheus clients print. */
static void fmt_value(char out[40], double v) {
  if (isnan(v)) {
    strcpy(out, "NaN");
  } else if (isinf(v)) {
    strcpy(out, v > 0 ? "+Inf" : "-Inf");
  } else if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, 40, "%.0f", v);
  } else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(out, 40, "%.*g", prec, v);
      if (strtod(out, NULL) == v) break;
    }
  }
}

static void append_help(dt_buf_t *out, const char *help) {
  /* HELP text escapes backslash and newline only (format 0.0.4). */
  const char *p = help, *run = help;
  for (; *p; p++) {
    if (*p != '\\' && *p != '\n') continue;
    dt_buf_append(out, run, (size_t)(p - run));
    dt_buf_append(out, *p == '\\' ? "\\\\" : "\\n", 2);
    run = p + 1;
  }
  dt_buf_append(out, run, (size_t)(p - run));
}

static void append_sample(dt_buf_t *out, const char *name, const char *suffix, const series_t *s,
                          const char *le, double v) {
  char num[40];
  fmt_value(num, v);
  dt_buf_append(out, name, strlen(name));
  dt_buf_append(out, suffix, strlen(suffix));
  if (s->labels_len || le) {
    dt_buf_append(out, "{", 1);
    dt_buf_append(out, s->labels, s->labels_len);
    if (le) {
      if (s->labels_len) dt_buf_append(out, ",", 1);
      dt_buf_appendf(out, "le=\"%s\"", le);
    }
    dt_buf_append(out, "}", 1);
  }
  dt_buf_appendf(out, " %s\n", num);
}

void dt_metrics_render(dt_metrics_t *m, dt_buf_t *out) {
  if (!m || !out) return;
  for (family_t *f = m->first_family; f; f = f->next) {
    if (!f->first) continue; /* described but never used */
    dt_buf_appendf(out, "# HELP %s ", f->name);
    append_help(out, f->help ? f->help : f->name);
    dt_buf_appendf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (series_t *s = f->first; s; s = s->next) {
      if (f->type != MT_HISTOGRAM) {
        append_sample(out, f->name, "", s, NULL, s->value);
        continue;
      }
      uint64_t cum = 0;
      for (int i = 0; i < NBUCKETS; i++) {
        cum += s->buckets[i];
        append_sample(out, f->name, "_bucket", s, bucket_labels[i], (double)cum);
      }
      append_sample(out, f->name, "_sum", s, NULL, s->value);
      append_sample(out, f->name, "_count", s, NULL, (double)s->count);
    }
  }
}
