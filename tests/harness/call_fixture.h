/*
 * call_fixture.h — a call registry on its own loop for the unit tests of core/calls
 * (test_call*.c): a Graph client aimed at a closed local port (every request fails at once
 * with a transport error, never retried), hooks that count what they are told, an optional
 * CDR file, and notifications fed as JSON text. No emulator, no engine.
 */
#ifndef DT_CALL_FIXTURE_H
#define DT_CALL_FIXTURE_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "dialtone/call.h"
#include "dialtone/cdr.h"
#include "dialtone/common.h"
#include "dialtone/notify.h"
#include "harness/loop.h"

typedef struct {
  uv_loop_t loop;
  dt_http_client_t *http;
  dt_graph_t *graph;
  dt_calls_t *reg;
  dt_cdr_writer_t *cdr;
  char cdr_path[64];
  int start_rc;                     /* what on_start returns */
  int starts, results, releases;
  dt_call_t *started, *resulted;
  dt_call_result_t last;            /* copies of the last result's scalars */
  char last_reason[32], last_digits[72], last_message[256];
} call_fx_t;

static inline int fx_on_start(dt_call_t *c, void *ud) {
  call_fx_t *f = ud;
  f->starts++;
  f->started = c;
  return f->start_rc;
}

static inline void fx_on_result(dt_call_t *c, void *ud) {
  call_fx_t *f = ud;
  f->results++;
  f->resulted = c;
  f->last = c->result;
  snprintf(f->last_reason, sizeof f->last_reason, "%s", c->result.reason ? c->result.reason : "");
  snprintf(f->last_digits, sizeof f->last_digits, "%s", c->result.digits ? c->result.digits : "");
  snprintf(f->last_message, sizeof f->last_message, "%s", c->result.message ? c->result.message : "");
}

static inline void fx_on_release(dt_call_t *c, void *ud) {
  call_fx_t *f = ud;
  (void)c;
  f->releases++;
}

/* A loopback port free a moment ago: for a stand-in Graph whose URL the fixture needs first. */
static inline int fx_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

/* Where Graph requests go: by default a closed port (each fails at once). */
static char fx_graph_url[64] = "http://127.0.0.1:9/v1.0";

/* Opens the fixture; o (may be NULL) gives routes, max_calls, op_timeout_ms. */
static inline void fx_open(call_fx_t *f, const dt_calls_options_t *o, bool with_cdr) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  dt_http_client_new(&f->loop, &(dt_http_client_options_t){0}, &f->http);
  dt_graph_new(&f->loop, f->http, NULL, &(dt_graph_options_t){.base_url = fx_graph_url, .max_attempts = 1},
               &f->graph);
  if (with_cdr) {
    snprintf(f->cdr_path, sizeof f->cdr_path, "/tmp/dt_call_fx_XXXXXX");
    int fd = mkstemp(f->cdr_path);
    if (fd >= 0) close(fd);
    char err[128];
    dt_cdr_open(f->cdr_path, &f->cdr, err, sizeof err);
  }
  dt_calls_options_t opts = o ? *o : (dt_calls_options_t){0};
  opts.loop = &f->loop;
  opts.graph = f->graph;
  opts.http = f->http;
  opts.cdr = f->cdr;
  opts.callback_uri = "https://bot.example/callback";
  opts.hooks = (dt_calls_hooks_t){fx_on_start, fx_on_result, fx_on_release, f};
  dt_calls_new(&opts, &f->reg);
}

/* Feeds a notification body (JSON text) to the registry. */
static inline int fx_notify(call_fx_t *f, const char *json) {
  dt_event_list_t list = {0};
  char err[256];
  int rc = dt_notify_parse(json, strlen(json), &list, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "  notification does not parse: %s\n", err);
    return rc;
  }
  dt_calls_dispatch(f->reg, &list);
  dt_event_list_free(&list);
  return 0;
}

/* A "created" notification of an incoming call from a user to an application. */
static inline int fx_incoming(call_fx_t *f, const char *call_id, const char *user, const char *app) {
  char *json = dt_xasprintf(
      "{\"value\":[{\"changeType\":\"created\",\"resource\":\"/app/calls/%s\",\"resourceData\":{"
      "\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"incoming\",\"direction\":\"incoming\","
      "\"source\":{\"identity\":{\"user\":{\"id\":\"%s\"}}},"
      "\"targets\":[{\"identity\":{\"application\":{\"id\":\"%s\"}}}]}}]}",
      call_id, user, app);
  int rc = fx_notify(f, json);
  free(json);
  return rc;
}

/* A call state notification ("established", "terminated", ...); "established" comes with
   mediaState audio active (media readiness, call_ready.c, is tested on its own). */
static inline int fx_state(call_fx_t *f, const char *call_id, const char *state) {
  bool est = strcmp(state, "established") == 0;
  char *json = dt_xasprintf("{\"value\":[{\"changeType\":\"%s\",\"resource\":\"/app/calls/%s\",\"resourceData\":{"
                            "\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"%s\"%s}}]}",
                            strcmp(state, "terminated") == 0 ? "deleted" : "updated", call_id, state,
                            est ? ",\"mediaState\":{\"audio\":\"active\"}" : "");
  int rc = fx_notify(f, json);
  free(json);
  return rc;
}

/* A tone notification (toneInfo with a sequence id). */
static inline int fx_tone(call_fx_t *f, const char *call_id, const char *tone, int seq) {
  char *json = dt_xasprintf("{\"value\":[{\"changeType\":\"updated\",\"resource\":\"/app/calls/%s\",\"resourceData\":{"
                            "\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"established\","
                            "\"toneInfo\":{\"@odata.type\":\"#microsoft.graph.toneInfo\",\"sequenceId\":%d,\"tone\":\"%s\"}}}]}",
                            call_id, seq, tone);
  int rc = fx_notify(f, json);
  free(json);
  return rc;
}

/* Runs the loop until cond holds or ms pass (then asserts cond). */
#define FX_UNTIL(f, ms, cond)                                                              \
  do {                                                                                     \
    uint64_t fx__end = dt_now_ms() + (uint64_t)(ms) * (getenv("DT_UNDER_VALGRIND") ? 6 : 1); \
    while (!(cond) && dt_now_ms() < fx__end) {                                             \
      uv_run(&(f)->loop, UV_RUN_NOWAIT);                                                   \
      if (!(cond)) usleep(1000);                                                           \
    }                                                                                      \
    DT_ASSERT(cond);                                                                       \
  } while (0)

/* Closes everything; returns the CDR file's text (caller frees) if there was one. */
static inline char *fx_close(call_fx_t *f) {
  int done = 0;
  dt_calls_close(f->reg, on_done_flag, &done);
  while (!done) uv_run(&f->loop, UV_RUN_ONCE);
  char *text = NULL;
  if (f->cdr) {
    dt_cdr_close(f->cdr);
    size_t len = 0;
    dt_read_file(f->cdr_path, 1 << 20, &text, &len);
    unlink(f->cdr_path);
  }
  dt_graph_free(f->graph);
  dt_http_client_close(f->http, NULL, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_loop_close(&f->loop);
  return text;
}

/* The CDR line of call_id in text, copied (caller frees), or NULL. */
static inline char *fx_cdr_line(const char *text, const char *call_id) {
  char *needle = dt_xasprintf("{\"call_id\":\"%s\",", call_id);
  const char *p = text ? strstr(text, needle) : NULL;
  free(needle);
  if (!p) return NULL;
  const char *nl = strchr(p, '\n');
  return dt_xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
}

#endif
