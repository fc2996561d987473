/* Unit tests for oauth.c against a token endpoint served by dt_http_server on the test's loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/log.h"
#include "dialtone/oauth.h"
#include "harness/dt_test.h"
#include "harness/loop.h"

#define CLIENT_ID "6b6f0e2a-app"
/* every character class the form encoder must get right */
#define CLIENT_SECRET "s3cr&t=+/ %~\xc3\xa9!"
#define SCOPE "api://dialtone-test/.default"

/* ---- the token endpoint ---- */

typedef struct {
  int requests;
  int form_ok;          /* requests whose form had exactly the expected fields */
  int fail;             /* answer with an Entra-style error body */
  int expires_in;
  char ctype[128];
  char raw_body[512];
} endpoint_t;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes one application/x-www-form-urlencoded field into out; NULL if absent. */
static const char *form_field(const char *body, size_t len, const char *key, char *out, size_t outlen) {
  size_t klen = strlen(key);
  const char *p = body, *end = body + len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
      size_t o = 0;
      for (const char *q = p + klen + 1; q < stop && o + 1 < outlen; q++) {
        if (*q == '+') {
          out[o++] = ' ';
        } else if (*q == '%' && q + 2 < stop && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
          out[o++] = (char)(hexval(q[1]) * 16 + hexval(q[2]));
          q += 2;
        } else {
          out[o++] = *q;
        }
      }
      out[o] = '\0';
      return out;
    }
    p = stop + 1;
  }
  return NULL;
}

static void token_handler(dt_http_request_t *req, void *ud) {
  endpoint_t *ep = ud;
  ep->requests++;
  const char *ct = dt_http_request_header(req, "content-type");
  snprintf(ep->ctype, sizeof ep->ctype, "%s", ct ? ct : "");
  snprintf(ep->raw_body, sizeof ep->raw_body, "%.*s", (int)req->body_len, req->body);
  char id[128], secret[128], grant[128], scope[128];
  const char *a = form_field(req->body, req->body_len, "client_id", id, sizeof id);
  const char *b = form_field(req->body, req->body_len, "client_secret", secret, sizeof secret);
  const char *c = form_field(req->body, req->body_len, "grant_type", grant, sizeof grant);
  const char *d = form_field(req->body, req->body_len, "scope", scope, sizeof scope);
  if (strcmp(req->method, "POST") == 0 && a && b && c && d && strcmp(a, CLIENT_ID) == 0 &&
      strcmp(b, CLIENT_SECRET) == 0 && strcmp(c, "client_credentials") == 0 && strcmp(d, SCOPE) == 0)
    ep->form_ok++;
  if (ep->fail) {
    const char *err =
        "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
        "secret provided. Ensure the secret being sent in the request is the client secret "
        "value.\",\"error_codes\":[7000215]}";
    dt_http_respond(req, 401, "application/json", err, strlen(err));
    return;
  }
  char body[256];
  int n = snprintf(body, sizeof body,
                   "{\"token_type\":\"Bearer\",\"expires_in\":%d,\"ext_expires_in\":%d,"
                   "\"access_token\":\"token-%d\"}",
                   ep->expires_in, ep->expires_in, ep->requests);
  dt_http_respond(req, 200, "application/json", body, (size_t)n);
}

typedef struct {
  uv_loop_t loop;
  dt_http_server_t *srv;
  dt_http_client_t *http;
  dt_oauth_source_t *ts;
  endpoint_t ep;
  char url[96];
} fixture_t;

static int fixture_start(fixture_t *f, int expires_in) {
  memset(f, 0, sizeof *f);
  f->ep.expires_in = expires_in;
  uv_loop_init(&f->loop);
  dt_http_server_options_t so = {.listen = "127.0.0.1:0", .handler = token_handler,
                                 .handler_ud = &f->ep};
  char err[256] = "";
  int rc = dt_http_server_start(&f->loop, &so, &f->srv, err, sizeof err);
  if (rc != 0) return rc;
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/tenant/oauth2/v2.0/token",
           dt_http_server_port(f->srv));
  if ((rc = dt_http_client_new(&f->loop, NULL, &f->http)) != 0) return rc;
  dt_oauth_options_t o = {.token_url = f->url, .client_id = CLIENT_ID,
                          .client_secret = CLIENT_SECRET, .scope = SCOPE};
  return dt_oauth_source_new(&f->loop, f->http, &o, &f->ts);
}

static void on_flag(void *ud) { *(int *)ud = 1; }

static int fixture_stop(fixture_t *f) {
  dt_oauth_source_free(f->ts);
  int a = 0, b = 0;
  dt_http_client_close(f->http, on_flag, &a);
  dt_http_server_close(f->srv, on_flag, &b);
  run_until(&f->loop, &a, 10);
  run_until(&f->loop, &b, 10);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  if (!a || !b) return -1;
  return uv_loop_close(&f->loop);
}

typedef struct {
  int calls;
  int err;
  char token[64];
} got_t;

static void on_token(int err, const char *token, void *ud) {
  got_t *g = ud;
  g->calls++;
  g->err = err;
  snprintf(g->token, sizeof g->token, "%s", token ? token : "(null)");
}

/* ---- tests ---- */

DT_TEST(token_is_fetched_then_cached) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  DT_ASSERT(dt_oauth_cached(f.ts) == NULL);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT_EQ_INT(g.calls, 0); /* later, on the loop */
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  DT_ASSERT_EQ_INT(g.err, 0);
  DT_ASSERT_EQ_STR(g.token, "token-1");
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(f.ts), 1);
  DT_ASSERT_EQ_STR(dt_oauth_cached(f.ts), "token-1");
  got_t g2 = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g2, NULL), 0);
  DT_ASSERT_EQ_INT(g2.calls, 0); /* even from the cache, the callback runs later */
  DT_ASSERT(run_until(&f.loop, &g2.calls, 20));
  DT_ASSERT_EQ_STR(g2.token, "token-1");
  DT_ASSERT_EQ_INT(f.ep.requests, 1);
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(f.ts), 1);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(concurrent_gets_share_one_request) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  enum { N = 20 };
  got_t g[N];
  memset(g, 0, sizeof g);
  int total = 0;
  for (int i = 0; i < N; i++) DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g[i], NULL), 0);
  uint64_t deadline = dt_now_ms() + 20000;
  while (dt_now_ms() < deadline) {
    total = 0;
    for (int i = 0; i < N; i++) total += g[i].calls;
    if (total == N) break;
    run_for(&f.loop, 20);
  }
  DT_ASSERT_EQ_INT(total, N);
  for (int i = 0; i < N; i++) {
    DT_ASSERT_EQ_INT(g[i].calls, 1);
    DT_ASSERT_EQ_INT(g[i].err, 0);
    DT_ASSERT_EQ_STR(g[i].token, "token-1");
  }
  DT_ASSERT_EQ_INT(f.ep.requests, 1);
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(f.ts), 1);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(token_is_refreshed_ahead_of_expiry) {
  fixture_t f;
  /* 2 s lifetime is shorter than twice the default 300 s margin: refresh at half-life */
  DT_ASSERT_EQ_INT(fixture_start(&f, 2), 0);
  uint64_t t0 = dt_now_ms();
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  DT_ASSERT_EQ_STR(g.token, "token-1");
  run_for(&f.loop, 1200);
  /* inside the refresh window: the cache no longer offers it, a get refreshes */
  DT_ASSERT(dt_oauth_cached(f.ts) == NULL);
  got_t g2 = {0};
  uint64_t asked = dt_now_ms();
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g2, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g2.calls, 20));
  DT_ASSERT_EQ_INT(g2.err, 0);
  /* while the old token is still valid it is served at once, not after the refresh */
  if (asked - t0 < 1900) DT_ASSERT_EQ_STR(g2.token, "token-1");
  uint64_t deadline = dt_now_ms() + 20000;
  while (f.ep.requests < 2 && dt_now_ms() < deadline) run_for(&f.loop, 20);
  run_for(&f.loop, 50);
  DT_ASSERT_EQ_INT(f.ep.requests, 2);
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(f.ts), 2);
  DT_ASSERT_EQ_STR(dt_oauth_cached(f.ts), "token-2");
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(invalidate_forces_a_new_fetch) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  DT_ASSERT_EQ_STR(g.token, "token-1");
  dt_oauth_invalidate(f.ts); /* e.g. Graph answered 401 */
  DT_ASSERT(dt_oauth_cached(f.ts) == NULL);
  got_t g2 = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g2, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g2.calls, 20));
  DT_ASSERT_EQ_STR(g2.token, "token-2");
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(f.ts), 2);
  DT_ASSERT_EQ_STR(dt_oauth_cached(f.ts), "token-2");
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(invalidate_between_get_and_delivery_fetches) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  got_t g2 = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g2, NULL), 0); /* would be served from cache */
  dt_oauth_invalidate(f.ts);
  DT_ASSERT(run_until(&f.loop, &g2.calls, 20));
  DT_ASSERT_EQ_STR(g2.token, "token-2");
  DT_ASSERT(dt_oauth_last_error(f.ts) == NULL);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(error_body_becomes_eauth_and_is_logged_without_secret) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  f.ep.fail = 1;
  char *logtext = NULL;
  size_t loglen = 0;
  FILE *mem = open_memstream(&logtext, &loglen);
  dt_log_set_output(mem);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  run_until(&f.loop, &g.calls, 20);
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT_EQ_INT(g.calls, 1);
  DT_ASSERT_EQ_INT(g.err, DT_EAUTH);
  DT_ASSERT_EQ_STR(g.token, "(null)");
  DT_ASSERT_CONTAINS(logtext, "invalid_client");
  DT_ASSERT_CONTAINS(logtext, "AADSTS7000215: Invalid client secret provided");
  DT_ASSERT(strstr(logtext, "s3cr") == NULL);
  free(logtext);
  DT_ASSERT(dt_oauth_cached(f.ts) == NULL);
  /* the failure stays readable (for /healthz and the start-up check) until a success */
  DT_ASSERT(dt_oauth_last_error(f.ts) != NULL);
  DT_ASSERT_CONTAINS(dt_oauth_last_error(f.ts), "answered HTTP 401: invalid_client: AADSTS7000215: Invalid client");
  DT_ASSERT(strstr(dt_oauth_last_error(f.ts), "s3cr") == NULL);
  /* failures are not cached: the next get asks again and succeeds */
  f.ep.fail = 0;
  got_t g2 = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g2, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g2.calls, 20));
  DT_ASSERT_EQ_INT(g2.err, 0);
  DT_ASSERT_EQ_STR(g2.token, "token-2");
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(form_fields_are_url_encoded) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  DT_ASSERT_EQ_INT(f.ep.requests, 1);
  DT_ASSERT_EQ_INT(f.ep.form_ok, 1); /* the server decoded exactly the configured values */
  DT_ASSERT_EQ_STR(f.ep.ctype, "application/x-www-form-urlencoded");
  DT_ASSERT_CONTAINS(f.ep.raw_body, "client_secret=s3cr%26t%3D%2B%2F%20%25~%C3%A9%21");
  DT_ASSERT_CONTAINS(f.ep.raw_body, "grant_type=client_credentials");
  DT_ASSERT_CONTAINS(f.ep.raw_body, "scope=api%3A%2F%2Fdialtone-test%2F.default");
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(default_scope_is_graph) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  dt_oauth_source_free(f.ts);
  dt_oauth_options_t o = {.token_url = f.url, .client_id = CLIENT_ID, .client_secret = "x"};
  DT_ASSERT_EQ_INT(dt_oauth_source_new(&f.loop, f.http, &o, &f.ts), 0);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &g.calls, 20));
  DT_ASSERT_CONTAINS(f.ep.raw_body, "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(cancelled_waiter_is_never_called) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  got_t a = {0}, b = {0}, c = {0};
  dt_oauth_wait_t *wa = NULL, *wc = NULL;
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &a, &wa), 0);
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &b, NULL), 0);
  dt_oauth_wait_cancel(wa);
  DT_ASSERT(run_until(&f.loop, &b.calls, 20));
  DT_ASSERT_EQ_STR(b.token, "token-1");
  /* a waiter served from the cache can be cancelled too */
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &c, &wc), 0);
  dt_oauth_wait_cancel(wc);
  run_for(&f.loop, 100);
  DT_ASSERT_EQ_INT(a.calls, 0);
  DT_ASSERT_EQ_INT(c.calls, 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(free_with_waiters_pending_calls_nobody) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  got_t a = {0}, b = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &a, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &a.calls, 20));
  got_t c = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &c, NULL), 0); /* from cache, pending */
  dt_oauth_invalidate(f.ts);
  dt_oauth_source_free(f.ts);
  DT_ASSERT_EQ_INT(dt_oauth_source_new(&f.loop, f.http,
                                       &(dt_oauth_options_t){.token_url = f.url,
                                                             .client_id = CLIENT_ID,
                                                             .client_secret = CLIENT_SECRET,
                                                             .scope = SCOPE},
                                       &f.ts),
                   0);
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &b, NULL), 0); /* fetch in flight */
  dt_oauth_source_free(f.ts);
  f.ts = NULL;
  run_for(&f.loop, 200);
  DT_ASSERT_EQ_INT(b.calls, 0);
  DT_ASSERT_EQ_INT(c.calls, 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

typedef struct {
  fixture_t *f;
  int calls;
} freer_t;

static void on_token_then_free(int err, const char *token, void *ud) {
  freer_t *fr = ud;
  fr->calls++;
  if (fr->f->ts) {
    dt_oauth_source_free(fr->f->ts);
    fr->f->ts = NULL;
  }
}

DT_TEST(free_from_inside_a_callback) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  freer_t fr[3] = {{&f, 0}, {&f, 0}, {&f, 0}};
  for (int i = 0; i < 3; i++) DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token_then_free, &fr[i], NULL), 0);
  DT_ASSERT(run_until(&f.loop, &fr[0].calls, 20));
  run_for(&f.loop, 50);
  DT_ASSERT(f.ts == NULL);
  DT_ASSERT_EQ_INT(fr[1].calls, 0); /* freed by the first: the rest are cancelled */
  DT_ASSERT_EQ_INT(fr[2].calls, 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(unreachable_endpoint_reports_transport_error) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f, 3600), 0);
  int closed = 0;
  dt_http_server_close(f.srv, on_flag, &closed);
  DT_ASSERT(run_until(&f.loop, &closed, 10));
  char *logtext = NULL;
  size_t loglen = 0;
  FILE *mem = open_memstream(&logtext, &loglen);
  dt_log_set_output(mem);
  got_t g = {0};
  DT_ASSERT_EQ_INT(dt_oauth_get(f.ts, on_token, &g, NULL), 0);
  run_until(&f.loop, &g.calls, 20);
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT_EQ_INT(g.calls, 1);
  DT_ASSERT_EQ_INT(g.err, DT_ECONNREFUSED);
  DT_ASSERT_CONTAINS(logtext, "connection refused");
  DT_ASSERT(strstr(logtext, "HTTP 0") == NULL);
  DT_ASSERT_CONTAINS(dt_oauth_last_error(f.ts), ": connection refused (");
  free(logtext);
  /* restart a server so fixture_stop has one to close */
  dt_http_server_options_t so = {.listen = "127.0.0.1:0", .handler = token_handler,
                                 .handler_ud = &f.ep};
  DT_ASSERT_EQ_INT(dt_http_server_start(&f.loop, &so, &f.srv, NULL, 0), 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST_MAIN()
