/*
 * metrics.h — counters and histograms rendered in Prometheus text format.
 *
 * A registry owns named series. A series is identified by its metric name plus a label
 * string already in Prometheus form (e.g. `route="/api/calls",status="202"`); the first
 * use of a (name, labels) pair creates it. Lookups are hashed, so hot paths may call
 * dt_metrics_inc() directly. Not thread-safe: one registry per loop thread.
 */
#ifndef DIALTONE_METRICS_H
#define DIALTONE_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "dialtone/common.h"

typedef struct dt_metrics_s dt_metrics_t;

dt_metrics_t *dt_metrics_new(void);
void dt_metrics_free(dt_metrics_t *m);

/* Declares help text and type ("counter", "gauge" or "histogram") for a metric name. Optional. */
void dt_metrics_describe(dt_metrics_t *m, const char *name, const char *type, const char *help);
/* A module's metric families as a table, described in one call (m may be NULL: nothing). */
typedef struct {
  const char *name, *type, *help;
} dt_metrics_family_t;
void dt_metrics_describe_all(dt_metrics_t *m, const dt_metrics_family_t *families, size_t n);
/* Adds delta to the counter (or gauge) name{labels}. labels may be NULL or "". */
void dt_metrics_add(dt_metrics_t *m, const char *name, const char *labels, double delta);
#define dt_metrics_inc(m, name, labels) dt_metrics_add((m), (name), (labels), 1.0)
/* Sets the gauge name{labels} to value. */
void dt_metrics_set(dt_metrics_t *m, const char *name, const char *labels, double value);
/* Records one observation (in seconds, say) in histogram name{labels}; buckets are fixed
   at 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, +Inf. */
void dt_metrics_observe(dt_metrics_t *m, const char *name, const char *labels, double value);
/* Removes the series name{labels} (nothing if it does not exist): for series whose subject
   is gone, such as a flow version no call runs on any more. The family's # HELP stays. */
void dt_metrics_remove(dt_metrics_t *m, const char *name, const char *labels);
/* Current value of a counter/gauge (0 if it does not exist); for tests and /calls. */
double dt_metrics_get(dt_metrics_t *m, const char *name, const char *labels);
/* Appends the whole registry in Prometheus text exposition format 0.0.4. */
void dt_metrics_render(dt_metrics_t *m, dt_buf_t *out);

#endif
