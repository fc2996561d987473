/*
 * floor_bot.c — dt_floor_bot, the benchmark's floor (issue 17 point 1): the least a Graph
 * calling bot can do per notification, so the engine's CPU per notification has something
 * to be divided by.
 *
 *   dt_floor_bot --listen PORT --upstream http://127.0.0.1:PORT [--conns N]
 *
 * Owns: one libuv loop, one HTTP/1.1 keep-alive listener on 127.0.0.1 and one keep-alive
 * connection pool upstream (lean_http.c, llhttp). Per notification it answers 202 at once
 * and sends exactly one request upstream — POST {upstream}/v1.0/communications/calls/{id}/
 * playPrompt with a fixed small body — where {id} is found with one fixed byte search for
 * "/communications/calls/" in the body: no JSON parsing, no JWT, no state beyond the pool.
 * Prints "listening on PORT" on stdout once it listens; SIGTERM/SIGINT print the counts
 * (notifications, requests, upstream failures) on stderr and exit 0; 2 on a usage error.
 */
#define _GNU_SOURCE /* memmem */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "lean_http.h"

typedef struct {
  uv_loop_t *loop;
  lh_pool_t *up;
  char host[64];
  unsigned long notifications, requests, failed, not_found;
} floor_t;

static void on_upstream(int status, void *ud) {
  floor_t *f = ud;
  if (status < 200 || status >= 300) f->failed++;
}

static const char PATH_KEY[] = "/communications/calls/";
static const char BODY[] = "{\"clientContext\":\"floor\"}";

static void on_request(lh_conn_t *c, const char *method, const char *target, size_t target_len, const char *body,
                       size_t body_len, void *ud) {
  floor_t *f = ud;
  (void)method;
  (void)target;
  (void)target_len;
  lh_respond(c, 202, NULL, "", 0);
  f->notifications++;
  const char *p = memmem(body, body_len, PATH_KEY, sizeof PATH_KEY - 1);
  size_t n = 0;
  if (p) {
    p += sizeof PATH_KEY - 1;
    while (p + n < body + body_len && n < 64 && p[n] != '/' && p[n] != '"') n++;
  }
  if (n == 0) {
    f->not_found++;
    return;
  }
  char req[512];
  int len = snprintf(req, sizeof req,
                     "POST /v1.0/communications/calls/%.*s/playPrompt HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     (int)n, p, f->host, sizeof BODY - 1, BODY);
  f->requests++;
  lh_pool_send(f->up, req, (size_t)len, on_upstream, f);
}

static uv_signal_t sig_term, sig_int;

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  uv_stop(s->loop);
}

int main(int argc, char **argv) {
  int port = 0;
  unsigned conns = 64;
  const char *upstream = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--listen") == 0) port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--upstream") == 0) upstream = argv[i + 1];
    else if (strcmp(argv[i], "--conns") == 0) conns = (unsigned)atoi(argv[i + 1]);
    else upstream = NULL, i = argc;
  }
  if (argc % 2 == 0 || !upstream || port < 0 || port > 65535 || conns < 1 || conns > 4096) {
    fprintf(stderr, "usage: dt_floor_bot --listen PORT --upstream http://127.0.0.1:PORT [--conns N]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  floor_t f = {.loop = uv_default_loop()};
  f.up = lh_pool_new(f.loop, upstream, conns);
  if (!f.up || sscanf(upstream, "http://%63[^/]", f.host) != 1) {
    fprintf(stderr, "dt_floor_bot: bad upstream URL '%s'\n", upstream);
    return 2;
  }
  lh_server_t *srv = NULL;
  int bound = 0;
  int r = lh_server_start(f.loop, port, on_request, &f, &srv, &bound);
  if (r) {
    fprintf(stderr, "dt_floor_bot: cannot listen on %d: %s\n", port, uv_strerror(r));
    lh_pool_close(f.up);
    return 1;
  }
  uv_signal_init(f.loop, &sig_term);
  uv_signal_init(f.loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  printf("listening on %d\n", bound);
  fflush(stdout);
  uv_run(f.loop, UV_RUN_DEFAULT);
  fprintf(stderr, "dt_floor_bot: %lu notifications, %lu requests upstream, %lu answered other than 2xx (404: the call had ended), %lu without a call id, %lu connections opened\n",
          f.notifications, f.requests, f.failed, f.not_found, lh_pool_connects(f.up));
  lh_pool_close(f.up);
  lh_server_close(srv);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  for (int i = 0; i < 100 && uv_run(f.loop, UV_RUN_NOWAIT); i++) {
  }
  return 0;
}
