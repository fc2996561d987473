/*
 * events_sse.h — GET /events: the bus of call events (call_events.h) served as
 * Server-Sent Events on an HTTP request (the admin listener's, ingress.c).
 *
 *   GET /events[?call=ID][&flow=NAME][&types=key,ended][&since=SEQ]
 *
 * Each event is "id: SEQ\nevent: TYPE\ndata: {JSON}\n\n"; the filters are ANDed (call ids
 * compared as Graph ids, types a comma list); since=SEQ (or a Last-Event-ID header) first
 * replays the kept events after SEQ that pass the filters. A comment line ": ping" every
 * heartbeat keeps proxies from closing a quiet stream.
 *
 * Promises: at most max_subscribers streams (503 beyond); a client that does not read is
 * dropped (its stream ended, counted) once the server holds its limit of unsent bytes for
 * it, never buffered without bound; a bad filter is 400. Everything runs on the loop.
 */
#ifndef DIALTONE_EVENTS_SSE_H
#define DIALTONE_EVENTS_SSE_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "dialtone/call_events.h"
#include "dialtone/http_server.h"

typedef struct dt_events_sse_s dt_events_sse_t;

typedef struct {
  uv_loop_t *loop;
  dt_call_events_t *bus;     /* borrowed; outlives the hub */
  unsigned max_subscribers;  /* default 16 */
  unsigned heartbeat_ms;     /* default 15000 */
} dt_events_sse_options_t;

int dt_events_sse_new(const dt_events_sse_options_t *o, dt_events_sse_t **out);
/* Answers req: a stream (200 text/event-stream), 400 for a bad filter, 503 when full. */
void dt_events_sse_open(dt_events_sse_t *h, dt_http_request_t *req);
/* Streams open now. */
size_t dt_events_sse_count(const dt_events_sse_t *h);
/* Streams dropped because their client did not keep up. */
uint64_t dt_events_sse_dropped(const dt_events_sse_t *h);
/* Ends every stream and stops the heartbeat; frees the hub from the loop. */
void dt_events_sse_close(dt_events_sse_t *h);

#endif
