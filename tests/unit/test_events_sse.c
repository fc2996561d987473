/*
 * test_events_sse.c — core/calls/events_sse.c on an in-process HTTP server: the stream's
 * head and event format ("id:", "event:", "data:" JSON), the filters (types, call by Graph
 * id key, flow) and a bad filter (400), the replay from since=, heartbeats, the limit of
 * streams (503), a client that does not read is dropped instead of buffered, and closing
 * the hub ends the streams.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call_events.h"
#include "dialtone/events_sse.h"
#include "harness/dt_test.h"
#include "harness/http_loopback.h"

typedef struct {
  dt_events_sse_t *hub;
} ctx_t;

static void handler(dt_http_request_t *req, void *ud) {
  ctx_t *c = ud;
  dt_events_sse_open(c->hub, req);
}

typedef struct {
  lb_server_t s;
  dt_call_events_t *bus;
  ctx_t ctx;
} fx_t;

static bool fx_start(fx_t *f, unsigned max, unsigned heartbeat_ms) {
  memset(f, 0, sizeof *f);
  f->bus = dt_call_events_new(16, 0);
  if (!lb_start(&f->s, (dt_http_server_options_t){.handler = handler, .handler_ud = &f->ctx})) return false;
  dt_events_sse_options_t o = {.loop = &f->s.loop, .bus = f->bus, .max_subscribers = max, .heartbeat_ms = heartbeat_ms};
  return dt_events_sse_new(&o, &f->ctx.hub) == 0;
}

static void fx_stop(fx_t *f) {
  dt_events_sse_close(f->ctx.hub);
  lb_stop(&f->s);
  dt_call_events_free(f->bus);
}

static int open_stream_until(fx_t *f, const char *target, char *buf, size_t cap, const char *until) {
  int fd = lb_connect(f->s.port);
  char req[512];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
  lb_send(fd, req);
  lb_read(&f->s.loop, fd, buf, cap, until, 3000, NULL);
  return fd;
}

static int open_stream(fx_t *f, const char *target, char *buf, size_t cap) {
  return open_stream_until(f, target, buf, cap, ": dialtone events");
}

DT_TEST(events_stream_with_their_filters) {
  fx_t f;
  DT_ASSERT(fx_start(&f, 0, 0));
  char a[8192], b[8192], c[8192], d[8192];
  int all = open_stream(&f, "/events", a, sizeof a);
  DT_ASSERT_CONTAINS(a, "200 OK");
  DT_ASSERT_CONTAINS(a, "text/event-stream");
  int keys = open_stream(&f, "/events?types=key,ended", b, sizeof b);
  int one = open_stream(&f, "/events?call=ABC-def", c, sizeof c); /* Graph ids: case and dashes do not matter */
  int flow = open_stream(&f, "/events?flow=other%20flow", d, sizeof d);
  DT_ASSERT_EQ_INT((int)dt_events_sse_count(f.ctx.hub), 4);
  dt_call_events_emit(f.bus, "started", "abcdef", "main", 1, NULL);
  dt_call_events_emit(f.bus, "key", "abcdef", "main", 1, "\"key\":\"1\"");
  dt_call_events_emit(f.bus, "key", "zzz", "other flow", 1, "\"key\":\"2\"");
  dt_call_events_emit(f.bus, "ended", "abcdef", "main", 1, "\"outcome\":\"completed\"");
  lb_read(&f.s.loop, all, a, sizeof a, "event: ended", 3000, NULL);
  DT_ASSERT_CONTAINS(a, "id: 1\nevent: started\ndata: {\"seq\":1,");
  DT_ASSERT_CONTAINS(a, "id: 4\nevent: ended\ndata: {\"seq\":4,");
  lb_read(&f.s.loop, keys, b, sizeof b, "event: ended", 3000, NULL);
  DT_ASSERT(strstr(b, "event: started") == NULL);
  DT_ASSERT_CONTAINS(b, "\"key\":\"2\"");
  lb_read(&f.s.loop, one, c, sizeof c, "event: ended", 3000, NULL);
  DT_ASSERT_CONTAINS(c, "event: started");
  DT_ASSERT(strstr(c, "\"key\":\"2\"") == NULL);
  lb_read(&f.s.loop, flow, d, sizeof d, "\"key\":\"2\"", 3000, NULL);
  DT_ASSERT_CONTAINS(d, "\"key\":\"2\"");
  DT_ASSERT(strstr(d, "event: started") == NULL && strstr(d, "event: ended") == NULL);
  /* a replay: what the ring holds after seq 2 */
  char e[8192];
  int late = open_stream_until(&f, "/events?since=2", e, sizeof e, "event: ended");
  DT_ASSERT(strstr(e, "id: 3\n") && strstr(e, "id: 4\n") && !strstr(e, "id: 2\n"));
  /* a bad filter */
  int bad = open_stream(&f, "/events?types=nope", e, sizeof e);
  DT_ASSERT_CONTAINS(e, "400 Bad Request");
  close(bad);
  bad = open_stream(&f, "/events?since=x", e, sizeof e);
  DT_ASSERT_CONTAINS(e, "400 Bad Request");
  close(bad);
  /* closing the hub ends every stream (the chunked body's end) */
  dt_events_sse_close(f.ctx.hub);
  f.ctx.hub = NULL;
  lb_read(&f.s.loop, all, a, sizeof a, "0\r\n\r\n", 3000, NULL);
  DT_ASSERT_CONTAINS(a, "0\r\n\r\n");
  close(all), close(keys), close(one), close(flow), close(late);
  lb_stop(&f.s);
  dt_call_events_free(f.bus);
}

DT_TEST(heartbeats_and_the_limit_of_streams) {
  fx_t f;
  DT_ASSERT(fx_start(&f, 1, 20));
  char a[4096], b[4096];
  int one = open_stream(&f, "/events", a, sizeof a);
  lb_read(&f.s.loop, one, a, sizeof a, ": ping", 3000, NULL);
  DT_ASSERT_CONTAINS(a, ": ping\n\n");
  int two = open_stream(&f, "/events", b, sizeof b);
  DT_ASSERT_CONTAINS(b, "503");
  close(two);
  /* the client goes away: its stream is removed */
  close(one);
  for (uint64_t end = dt_now_ms() + 3000; dt_events_sse_count(f.ctx.hub) > 0 && dt_now_ms() < end;) {
    uv_run(&f.s.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  DT_ASSERT_EQ_INT((int)dt_events_sse_count(f.ctx.hub), 0);
  DT_ASSERT_EQ_INT((int)dt_call_events_subscribers(f.bus), 0);
  fx_stop(&f);
}

DT_TEST(a_client_that_does_not_read_is_dropped) {
  fx_t f;
  DT_ASSERT(fx_start(&f, 0, 0));
  char a[4096];
  int slow = open_stream(&f, "/events", a, sizeof a);
  int small = 1024;
  setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  size_t big = 64 * 1024;
  char *fields = malloc(big + 32);
  memcpy(fields, "\"pad\":\"", 7);
  memset(fields + 7, 'x', big);
  memcpy(fields + 7 + big, "\"", 2);
  for (int i = 0; i < 400 && dt_events_sse_dropped(f.ctx.hub) == 0; i++) { /* up to 25 MiB */
    dt_call_events_emit(f.bus, "key", "c", "f", 1, fields);
    uv_run(&f.s.loop, UV_RUN_NOWAIT);
  }
  free(fields);
  DT_ASSERT(dt_events_sse_dropped(f.ctx.hub) == 1);
  DT_ASSERT_EQ_INT((int)dt_events_sse_count(f.ctx.hub), 0);
  close(slow);
  fx_stop(&f);
}

DT_TEST_MAIN()
