/*
 * live_view.h — the engine's live view on the admin listener (issue 14, docs/operator.md
 * "Live view"): GET /events (events_sse.c on the engine's bus of call events), GET
 * /dashboard (the page of src/dashboard/index.html, embedded at build time), GET
 * /cdrs?limit=N (the tail of the CDR file, bounded), GET /flows (the flows and versions).
 * It is the ingress's admin_route hook; every route needs the admin token when one is set.
 */
#ifndef DIALTONE_LIVE_VIEW_H
#define DIALTONE_LIVE_VIEW_H
#include <stdbool.h>
#include <uv.h>
#include "dialtone/call_events.h"
#include "dialtone/ingress.h"

typedef struct dt_live_view_s dt_live_view_t;

typedef struct {
  uv_loop_t *loop;
  dt_call_events_t *bus;              /* borrowed */
  const char *cdr_path;               /* NULL: /cdrs answers [] */
  const char *flows_dir;
  unsigned (*flow_version)(void *ud, const char *name); /* 0: not loaded */
  void *flow_version_ud;
  unsigned max_subscribers;           /* /events streams; default 16 */
  unsigned heartbeat_ms;              /* default 15000 */
} dt_live_view_options_t;

dt_live_view_t *dt_live_view_new(const dt_live_view_options_t *o);
/* The ingress's admin_route hook (ud: the live view). */
bool dt_live_view_route(dt_ingress_t *ing, dt_http_request_t *req, void *ud);
void dt_live_view_set_version_source(dt_live_view_t *lv, unsigned (*fn)(void *ud, const char *name), void *ud);
/* Ends the event streams; frees the view (part of it from the loop). */
void dt_live_view_close(dt_live_view_t *lv);

/* The tail of a JSON-lines file as a JSON array of its last `limit` complete lines (at most
   the last 1 MiB is read); "[]" when it cannot be read. For /cdrs and its test. */
void dt_live_view_tail_json(const char *path, unsigned limit, dt_buf_t *out);

#endif
