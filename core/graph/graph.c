/*
 * graph.c — the Graph calls REST client (see dialtone/graph.h).
 *
 * Owns: the URL of each action in both dialects (its body comes from graph_body.c), the
 * path ids' validation, the bearer token on each request with one retry after a
 * 401, and turning an answer into a dt_graph_result_t.
 * Also owns the retries (graph.h, "Retries"): 429/503 and refused connections are sent
 * again after Retry-After or a jittered backoff, timeouts/502/504/lost connections only
 * for requests the k_repeat table calls repeatable, within max_attempts and a deadline.
 * Promises: one callback per request that was started and not cancelled, always from a
 * loop callback (never from inside the function that started it); cancelling works in
 * every waiting state (token, HTTP, backoff). The per-request path is one allocation for
 * the request and its URL, one cJSON_PrintUnformatted for the body (kept for resends),
 * and the Authorization value on the stack unless the token is unusually large; a
 * first-try success costs the retry logic one comparison, and the backoff timer is only
 * allocated when a request first has to wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/hashmap.h" /* dt_hashmap_hash: the token fingerprint */
#include "dialtone/list.h"
#include "dialtone/log.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define MAX_BASE_URL 2048
#define DEFAULT_MAX_ATTEMPTS 4
#define DEFAULT_BASE_BACKOFF_MS 200L
#define DEFAULT_MAX_BACKOFF_MS 10000L
#define MAX_OPTION_MS (24L * 3600 * 1000) /* a day: bounds every delay option */

struct dt_graph_s {
  uv_loop_t *loop;
  dt_http_client_t *http;
  dt_oauth_source_t *tokens;
  dt_graph_dialect_t dialect;
  long timeout_ms;
  long first_timeout_ms; /* timeout_ms cut to the retry deadline */
  int max_attempts;
  long base_backoff_ms, max_backoff_ms, retry_deadline_ms;
  uint64_t rng; /* xorshift64 state for the backoff jitter */
  dt_metrics_t *metrics;
  char *calls_url;
  size_t calls_url_len;
  size_t base_len;     /* calls_url[0..base_len) is the version base (".../v1.0") */
  dt_list_t reqs; /* live requests (dt_graph_req_t.link), for dt_graph_free; count = pending */
};

enum { REQ_WAIT_TOKEN = 1, REQ_IN_FLIGHT, REQ_BACKOFF, REQ_DELIVERING };

struct dt_graph_req_s {
  dt_graph_t *g;
  dt_list_node_t link; /* in g->reqs */
  int state;
  bool retried;
  bool is_create;
  const char *method; /* a literal */
  char *body;         /* printed once; reused by the 401 retry */
  size_t body_len;
  uint64_t token_hash; /* of the token this request was sent with */
  dt_graph_fn cb;
  void *ud;
  dt_oauth_wait_t *wait;
  dt_http_call_t *call;
  int attempts;       /* sends so far, the 401 resend included */
  uint64_t deadline;  /* uv_now() value past which no retry starts */
  uv_timer_t *timer;  /* backoff; allocated on the first retry, closed by req_free */
  size_t rel;         /* url + rel is the path as the caller gave it */
  char url[]; /* calls_url (or the version base) + path */
};

/* ---- validation ---- */

static bool set(const char *s) { return s != NULL && *s != '\0'; }

/* Ids go into the URL path unescaped, so only characters that need no escaping pass. */
bool dt_graph_id_ok(const char *id) {
  if (id == NULL || *id == '\0') return false;
  size_t n = 0;
  for (const char *p = id; *p; p++, n++) {
    char c = *p;
    if (n >= DT_GRAPH_MAX_ID) return false;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    if (c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '@') continue;
    return false;
  }
  return true;
}

/* ---- client ---- */

int dt_graph_new(uv_loop_t *loop, dt_http_client_t *http, dt_oauth_source_t *tokens,
                 const dt_graph_options_t *opts, dt_graph_t **out) {
  *out = NULL;
  if (loop == NULL || http == NULL || opts == NULL || !set(opts->base_url)) return DT_EINVAL;
  if (opts->dialect != DT_GRAPH_V1 && opts->dialect != DT_GRAPH_BETA) return DT_EINVAL;
  size_t blen = strnlen(opts->base_url, MAX_BASE_URL + 1);
  if (blen > MAX_BASE_URL) return DT_EINVAL;
  if (strncmp(opts->base_url, "http://", 7) != 0 && strncmp(opts->base_url, "https://", 8) != 0) return DT_EINVAL;
  while (blen > 0 && opts->base_url[blen - 1] == '/') blen--;
  if (opts->max_attempts < 0 || opts->max_attempts > DT_GRAPH_MAX_ATTEMPTS) return DT_EINVAL;
  if (opts->timeout_ms < 0 || opts->timeout_ms > MAX_OPTION_MS) return DT_EINVAL;
  if (opts->base_backoff_ms < 0 || opts->base_backoff_ms > MAX_OPTION_MS) return DT_EINVAL;
  if (opts->max_backoff_ms < 0 || opts->max_backoff_ms > MAX_OPTION_MS) return DT_EINVAL;
  if (opts->retry_deadline_ms < 0 || opts->retry_deadline_ms > MAX_OPTION_MS * DT_GRAPH_MAX_ATTEMPTS)
    return DT_EINVAL;
  dt_graph_t *g = dt_xcalloc(1, sizeof *g);
  g->loop = loop;
  g->http = http;
  g->tokens = tokens;
  g->dialect = opts->dialect;
  g->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  g->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_MAX_ATTEMPTS;
  g->max_backoff_ms = opts->max_backoff_ms > 0 ? opts->max_backoff_ms : DEFAULT_MAX_BACKOFF_MS;
  g->base_backoff_ms = opts->base_backoff_ms > 0 ? opts->base_backoff_ms : DEFAULT_BASE_BACKOFF_MS;
  if (g->base_backoff_ms > g->max_backoff_ms) g->base_backoff_ms = g->max_backoff_ms;
  g->retry_deadline_ms = opts->retry_deadline_ms > 0 ? opts->retry_deadline_ms : g->timeout_ms * g->max_attempts;
  g->first_timeout_ms = g->timeout_ms < g->retry_deadline_ms ? g->timeout_ms : g->retry_deadline_ms;
  dt_random_bytes(&g->rng, sizeof g->rng);
  if (g->rng == 0) g->rng = 0x9e3779b97f4a7c15ULL; /* xorshift's one fixed point */
  g->metrics = opts->metrics;
  if (g->metrics) {
    dt_metrics_describe(g->metrics, "dt_graph_retries_total", "counter",
                        "Graph requests sent again after a transient failure, by reason");
    dt_metrics_describe(g->metrics, "dt_graph_giveups_total", "counter",
                        "Graph requests that ended in a transient failure (retries exhausted or not repeatable)");
  }
  g->calls_url = dt_xasprintf("%.*s%s", (int)blen, opts->base_url,
                              opts->dialect == DT_GRAPH_BETA ? "/app/calls" : "/communications/calls");
  g->calls_url_len = strlen(g->calls_url);
  g->base_len = blen;
  *out = g;
  return 0;
}

const char *dt_graph_calls_url(const dt_graph_t *g) { return g->calls_url; }

size_t dt_graph_pending(const dt_graph_t *g) { return g ? dt_list_count(&g->reqs) : 0; }

static void req_unlink(dt_graph_req_t *r) { dt_list_remove(&r->g->reqs, &r->link); }

static void on_timer_closed(uv_handle_t *h) { free(h); }

/* The timer outlives the request until its close callback; it no longer points back. */
static void req_free(dt_graph_req_t *r) {
  if (r->timer) {
    r->timer->data = NULL;
    uv_close((uv_handle_t *)r->timer, on_timer_closed);
  }
  cJSON_free(r->body);
  free(r);
}

void dt_graph_req_cancel(dt_graph_req_t *r) {
  if (r == NULL || r->state == REQ_DELIVERING) return;
  if (r->wait) dt_oauth_wait_cancel(r->wait);
  if (r->call) dt_http_call_cancel(r->call);
  req_unlink(r);
  req_free(r);
}

void dt_graph_free(dt_graph_t *g) {
  if (g == NULL) return;
  while (g->reqs.head) dt_graph_req_cancel(DT_LIST_ENTRY(g->reqs.head, dt_graph_req_t, link));
  free(g->calls_url);
  free(g);
}

/* FNV-1a (the hashmap's): enough to tell "the token I used" from "a newer one" without
   keeping a copy. */
static uint64_t token_hash(const char *t) { return dt_hashmap_hash(t); }

static void on_response(const dt_http_response_t *res, void *ud);

static int req_send(dt_graph_req_t *r, const char *token) {
  dt_graph_t *g = r->g;
  char stack_auth[4096];
  char *auth = NULL;
  dt_http_header_t h[3];
  size_t nh = 0;
  if (token) {
    size_t tl = strlen(token);
    auth = tl + 8 <= sizeof stack_auth ? stack_auth : dt_xmalloc(tl + 8);
    memcpy(auth, "Bearer ", 7);
    memcpy(auth + 7, token, tl + 1);
    h[nh++] = (dt_http_header_t){"Authorization", auth};
    r->token_hash = token_hash(token);
  }
  h[nh++] = (dt_http_header_t){"Accept", "application/json"};
  if (r->method[0] == 'P') h[nh++] = (dt_http_header_t){"Content-Type", "application/json"};
  long timeout = g->first_timeout_ms;
  if (r->attempts > 0) {
    /* A resend gets what is left of the deadline, so the deadline bounds the request. */
    uint64_t now = uv_now(g->loop);
    uint64_t left = r->deadline > now ? r->deadline - now : 1;
    if (left < (uint64_t)timeout) timeout = (long)left;
  }
  dt_http_request_options_t o = {
      .method = r->method,
      .url = r->url,
      .headers = h,
      .header_count = nh,
      .body = r->body,
      .body_len = r->body_len,
      .timeout_ms = timeout,
  };
  int rc = dt_http_client_send(g->http, &o, on_response, r, &r->call);
  if (auth && auth != stack_auth) free(auth);
  if (rc == 0) {
    r->state = REQ_IN_FLIGHT;
    r->attempts++;
  } else {
    r->call = NULL;
  }
  return rc;
}

static void deliver(dt_graph_req_t *r, const dt_graph_result_t *res) {
  r->state = REQ_DELIVERING;
  req_unlink(r);
  /* The callback may free the whole client; r no longer points into it. */
  r->cb(res, r->ud);
  req_free(r);
}

static void deliver_error(dt_graph_req_t *r, int err, const char *msg) {
  dt_graph_result_t res = {.error = err, .error_message = msg, .retry_after_s = -1, .attempts = r->attempts};
  deliver(r, &res);
}

static void on_token(int err, const char *token, void *ud) {
  dt_graph_req_t *r = ud;
  r->wait = NULL;
  if (err != 0 || token == NULL) {
    deliver_error(r, err ? err : DT_EAUTH, "no access token for Graph");
    return;
  }
  int rc = req_send(r, token);
  if (rc != 0) deliver_error(r, rc, dt_strerror(rc));
}

/* Sends now with the cached token, or waits for one. Returns non-zero if neither started. */
static int req_start(dt_graph_req_t *r) {
  dt_graph_t *g = r->g;
  if (g->tokens == NULL) return req_send(r, NULL);
  const char *token = dt_oauth_cached(g->tokens);
  if (token) return req_send(r, token);
  r->state = REQ_WAIT_TOKEN;
  return dt_oauth_get(g->tokens, on_token, r, &r->wait);
}

/* Retry-After is delta-seconds or an HTTP-date. */
static int parse_retry_after(const char *v) {
  if (v == NULL) return -1;
  while (*v == ' ') v++;
  if (*v >= '0' && *v <= '9') {
    long s = 0;
    for (; *v >= '0' && *v <= '9'; v++) {
      s = s * 10 + (*v - '0');
      if (s > 86400L * 365) return 86400 * 365;
    }
    return (int)s;
  }
  time_t t = curl_getdate(v, NULL);
  if (t == (time_t)-1) return -1;
  time_t now = time(NULL);
  return t > now ? (int)(t - now > 86400L * 365 ? 86400L * 365 : t - now) : 0;
}

/* ---- retries ---- */

/* Which requests may be sent again after a failure that leaves open whether Graph acted
   on them (timeout, connection lost after sending, 502/504). The only table of it; graph.h
   documents it. A 429/503 (Graph refused without acting) or a refused connection (nothing
   sent) is retried whatever this says. POST actions are matched on the path's last
   segment; anything not listed is not repeatable. */
static const struct {
  const char *method;
  const char *action; /* NULL: every path */
  bool repeatable;
  const char *why;
} k_repeat[] = {
    {"GET", NULL, true, "reads: get call, participants, operation GETs"},
    {"DELETE", NULL, true, "a second delete finds the call or participant gone (404)"},
    {"PUT", NULL, true, "replaces, by HTTP's definition"},
    {"POST", "keepAlive", true, "refreshes a timer"},
    {"POST", "subscribeToTone", true, "a subscription already there stays"},
    {"POST", "cancelMediaProcessing", true, "nothing left to cancel the second time"},
    {"POST", "mute", true, "call and participant mute: sets a state"},
    {"POST", "unmute", true, "sets a state"},
    {"POST", "muteAll", true, "sets a state"},
    {"POST", "changeScreenSharingRole", true, "sets a state"},
    {"POST", "updateMetadata", true, "sets a value"},
    {"POST", "updateRecordingStatus", true, "sets a state"},
    {"POST", "", false, "create call: a second call would ring"},
    {"POST", "answer", false, "the second answer fails or races the first"},
    {"POST", "reject", false, "call state changes"},
    {"POST", "redirect", false, "rings the targets again"},
    {"POST", "transfer", false, "transfers twice"},
    {"POST", "playPrompt", false, "the caller hears the prompt twice"},
    {"POST", "record", false, "a second recording starts"},
    {"POST", "recordResponse", false, "a second recording starts"},
    {"POST", "sendDtmfTones", false, "the far end gets the digits twice"},
    {"POST", "invite", false, "rings the participants again"},
};

bool dt_graph_repeatable(const char *method, const char *path) {
  if (method == NULL || path == NULL) return false;
  const char *slash = strrchr(path, '/');
  const char *action = slash ? slash + 1 : path;
  size_t alen = strcspn(action, "?#");
  for (size_t i = 0; i < DT_ARRAY_SIZE(k_repeat); i++) {
    if (strcmp(method, k_repeat[i].method) != 0) continue;
    const char *a = k_repeat[i].action;
    if (a == NULL || (strlen(a) == alen && strncmp(a, action, alen) == 0)) return k_repeat[i].repeatable;
  }
  return false;
}

typedef struct {
  const char *name;   /* for the log */
  const char *label;  /* for dt_graph_retries_total */
  bool ambiguous;     /* Graph may have acted: only repeatable requests go again */
} reason_t;

static const reason_t k_429 = {"429", "reason=\"429\"", false}, k_503 = {"503", "reason=\"503\"", false},
                      k_502 = {"502", "reason=\"502\"", true}, k_504 = {"504", "reason=\"504\"", true},
                      k_refused = {"connection refused", "reason=\"refused\"", false},
                      k_timeout = {"timeout", "reason=\"timeout\"", true},
                      k_conn = {"connection failed", "reason=\"connection\"", true};

/* Why an answer might be worth another attempt, or NULL if it is final whatever the request. */
static const reason_t *transient_reason(const dt_http_response_t *hr) {
  if (hr->error == 0 && hr->status != 0) {
    switch (hr->status) {
      case 429: return &k_429;
      case 503: return &k_503;
      case 502: return &k_502;
      case 504: return &k_504;
      default: return NULL;
    }
  }
  switch (hr->error) {
    case DT_ECONNREFUSED: return &k_refused; /* curl could not connect: nothing was sent */
    case DT_ETIMEDOUT: return &k_timeout;
    case 0: /* status 0 without an error is reported as DT_ECONN */
    case DT_ECONN:
    case DT_EDNS: /* was DT_ECONN before it had a code of its own */
      return &k_conn;
    default: return NULL; /* TLS, too big, out of memory: the same again */
  }
}

static uint64_t next_random(dt_graph_t *g) {
  uint64_t x = g->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return g->rng = x;
}

static void on_backoff_done(uv_timer_t *t) {
  dt_graph_req_t *r = t->data;
  if (r == NULL) return;
  int rc = req_start(r);
  if (rc != 0) deliver_error(r, rc, dt_strerror(rc));
}

/* Arms the backoff timer for the next attempt, or returns false: the budget or the
   deadline is spent (the caller delivers the answer as the result). */
static bool schedule_retry(dt_graph_req_t *r, const dt_http_response_t *hr, const reason_t *reason) {
  dt_graph_t *g = r->g;
  int used = r->attempts - (r->retried ? 1 : 0); /* the 401 resend has its own budget */
  if (used >= g->max_attempts) return false;
  uint64_t now = uv_now(g->loop);
  if (now >= r->deadline) return false;
  uint64_t left = r->deadline - now, delay;
  int retry_after = parse_retry_after(dt_http_response_header(hr, "Retry-After"));
  if (retry_after >= 0) {
    delay = (uint64_t)retry_after * 1000; /* Graph: wait what it says, even past our cap */
  } else {
    uint64_t ceiling = (uint64_t)g->base_backoff_ms;
    for (int i = 1; i < used && ceiling < (uint64_t)g->max_backoff_ms; i++) ceiling *= 2;
    if (ceiling > (uint64_t)g->max_backoff_ms) ceiling = (uint64_t)g->max_backoff_ms;
    delay = next_random(g) % (ceiling + 1); /* full jitter: spreads a burst of clients */
  }
  if (delay >= left) return false; /* the attempt could not start before the deadline */
  if (r->timer == NULL) {
    r->timer = dt_xmalloc(sizeof *r->timer);
    uv_timer_init(g->loop, r->timer);
  }
  r->timer->data = r;
  uv_timer_start(r->timer, on_backoff_done, delay, 0);
  r->state = REQ_BACKOFF;
  if (g->metrics) dt_metrics_inc(g->metrics, "dt_graph_retries_total", reason->label);
  dt_log_debug("graph: %s %s: %s; attempt %d of %d in %llu ms", r->method, r->url, reason->name, used + 1,
               g->max_attempts, (unsigned long long)delay);
  return true;
}

/* The last path segment after marker in url, copied into buf (NULL if none or too long). */
static const char *segment_after(const char *url, const char *marker, char *buf, size_t buflen) {
  if (url == NULL) return NULL;
  const char *p = NULL, *q = url;
  while ((q = strstr(q, marker)) != NULL) p = q += strlen(marker);
  if (p == NULL) return NULL;
  size_t n = 0;
  while (p[n] && p[n] != '/' && p[n] != '?' && p[n] != '#') n++;
  if (n == 0 || n >= buflen) return NULL;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

static void on_response(const dt_http_response_t *hr, void *ud) {
  dt_graph_req_t *r = ud;
  dt_graph_t *g = r->g;
  r->call = NULL;

  if (hr->status == 401 && !r->retried && g->tokens) {
    /* Once: the token may have been revoked or rotated early. Drop it only if it is
       still the cached one; a concurrent request may already have fetched a new one. */
    r->retried = true;
    const char *cached = dt_oauth_cached(g->tokens);
    if (cached == NULL || token_hash(cached) == r->token_hash) {
      dt_oauth_invalidate(g->tokens);
      cached = NULL;
    }
    int rc;
    if (cached) {
      rc = req_send(r, cached);
    } else {
      r->state = REQ_WAIT_TOKEN;
      rc = dt_oauth_get(g->tokens, on_token, r, &r->wait);
    }
    if (rc != 0) deliver_error(r, rc, dt_strerror(rc));
    return;
  }

  /* One comparison on the fast path: success skips the whole retry decision. */
  if (hr->status >= 400 || hr->status == 0 || hr->error != 0) {
    const reason_t *reason = transient_reason(hr);
    if (reason) {
      bool repeatable = !reason->ambiguous || dt_graph_repeatable(r->method, r->url + r->rel);
      if (repeatable && schedule_retry(r, hr, reason)) return;
      if (g->metrics) dt_metrics_inc(g->metrics, "dt_graph_giveups_total", "");
      dt_log_warn("graph: %s %s: %s; giving up after %d attempt%s%s", r->method, r->url, reason->name,
                  r->attempts, r->attempts == 1 ? "" : "s",
                  repeatable ? "" : " (not safe to repeat: Graph may have acted on it)");
    }
  }

  dt_graph_result_t res = {.status = hr->status, .error_message = "", .op_status = DT_OP_STATUS_UNKNOWN,
                           .attempts = r->attempts};
  char msgbuf[64], opbuf[DT_GRAPH_MAX_ID + 1], callbuf[DT_GRAPH_MAX_ID + 1];
  if (hr->status == 0 || hr->error != 0) {
    res.error = hr->error ? hr->error : DT_ECONN;
    res.error_message = hr->error_message && *hr->error_message ? hr->error_message : dt_strerror(res.error);
  } else if (hr->status >= 400) {
    res.error = DT_EGRAPH;
  }
  if (hr->body && hr->body_len > 0) {
    const char *b = hr->body;
    size_t n = hr->body_len;
    while (n > 0 && (*b == ' ' || *b == '\r' || *b == '\n' || *b == '\t')) b++, n--;
    if (n > 0 && (*b == '{' || *b == '[')) res.body = cJSON_ParseWithLength(b, n);
  }
  res.location = dt_http_response_header(hr, "Location");
  res.retry_after_s = parse_retry_after(dt_http_response_header(hr, "Retry-After"));

  if (cJSON_IsObject(res.body)) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(res.body, "error");
    if (cJSON_IsObject(e)) {
      const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
      const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
      if (cJSON_IsString(c)) res.error_code = c->valuestring;
      if (cJSON_IsString(m) && res.error == DT_EGRAPH) res.error_message = m->valuestring;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(res.body, "status");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res.body, "id");
    if (cJSON_IsString(st)) {
      res.op_status = dt_op_status_from_name(st->valuestring);
      if (res.op_status != DT_OP_STATUS_UNKNOWN && cJSON_IsString(id)) res.op_id = id->valuestring;
    }
    if (r->is_create && cJSON_IsString(id)) res.call_id = id->valuestring;
  }
  if (res.op_id == NULL) res.op_id = segment_after(res.location, "/operations/", opbuf, sizeof opbuf);
  if (r->is_create && res.call_id == NULL && res.error == 0)
    res.call_id = segment_after(res.location, "/calls/", callbuf, sizeof callbuf);
  if (res.error == DT_EGRAPH && *res.error_message == '\0') {
    snprintf(msgbuf, sizeof msgbuf, "Graph answered HTTP %d", hr->status);
    res.error_message = msgbuf;
  }
  cJSON *body = res.body;
  deliver(r, &res);
  cJSON_Delete(body);
}

static const char *method_literal(const char *m) {
  static const char *const methods[] = {"GET", "POST", "DELETE", "PATCH", "PUT"};
  return dt_str_among(m, methods, DT_ARRAY_SIZE(methods));
}

/* method + prefix (the first plen bytes of calls_url) + path. */
static int request_at(dt_graph_t *g, size_t prefix, const char *method, const char *path, cJSON *body,
                      dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  if (out) *out = NULL;
  const char *m = method_literal(method);
  if (g == NULL || m == NULL || cb == NULL || path == NULL) {
    cJSON_Delete(body);
    return DT_EINVAL;
  }
  size_t plen = strnlen(path, DT_GRAPH_MAX_STRING + 1);
  if (plen > DT_GRAPH_MAX_STRING || (plen > 0 && path[0] != '/')) {
    cJSON_Delete(body);
    return DT_EINVAL;
  }
  char *printed = NULL;
  if (body) {
    printed = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (printed == NULL) return DT_ENOMEM;
  }
  dt_graph_req_t *r = dt_xmalloc(sizeof *r + prefix + plen + 1);
  memset(r, 0, sizeof *r);
  memcpy(r->url, g->calls_url, prefix);
  memcpy(r->url + prefix, path, plen + 1);
  r->rel = prefix;
  r->g = g;
  r->method = m;
  r->body = printed;
  r->body_len = printed ? strlen(printed) : 0;
  r->cb = cb;
  r->ud = ud;
  r->is_create = prefix == g->calls_url_len && plen == 0 && m[0] == 'P' && m[1] == 'O';
  r->deadline = uv_now(g->loop) + (uint64_t)g->retry_deadline_ms;
  dt_list_push_front(&g->reqs, &r->link);
  int rc = req_start(r);
  if (rc != 0) {
    r->wait = NULL;
    r->call = NULL;
    req_unlink(r);
    req_free(r);
    return rc;
  }
  if (out) *out = r;
  return 0;
}

int dt_graph_request(dt_graph_t *g, const char *method, const char *path, cJSON *body,
                     dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  if (g == NULL) {
    if (out) *out = NULL;
    cJSON_Delete(body);
    return DT_EINVAL;
  }
  return request_at(g, g->calls_url_len, method, path, body, cb, ud, out);
}

int dt_graph_request_base(dt_graph_t *g, const char *method, const char *path, cJSON *body,
                          dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  if (g == NULL || path == NULL || path[0] != '/') {
    if (out) *out = NULL;
    cJSON_Delete(body);
    return DT_EINVAL;
  }
  return request_at(g, g->base_len, method, path, body, cb, ud, out);
}

dt_graph_dialect_t dt_graph_dialect(const dt_graph_t *g) { return g->dialect; }

/* ---- typed functions ---- */

#define PATH_MAX_LEN (2 * DT_GRAPH_MAX_ID + 64)

static int call_path(char *buf, const char *call_id, const char *suffix) {
  if (!dt_graph_id_ok(call_id)) return DT_EINVAL;
  snprintf(buf, PATH_MAX_LEN, "/%s%s", call_id, suffix);
  return 0;
}

static int post_on_call(dt_graph_t *g, const char *call_id, const char *suffix, int body_rc, cJSON *body,
                        dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  char path[PATH_MAX_LEN];
  if (out) *out = NULL;
  if (body_rc != 0) return body_rc;
  int rc = call_path(path, call_id, suffix);
  if (rc != 0) {
    cJSON_Delete(body);
    return rc;
  }
  return dt_graph_request(g, "POST", path, body, cb, ud, out);
}

/* The actions whose body is {"clientContext": ...} or {}. */
static int post_context(dt_graph_t *g, const char *call_id, const char *suffix, const char *client_context,
                        dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_context_body(client_context, &body);
  return post_on_call(g, call_id, suffix, rc, body, cb, ud, out);
}

int dt_graph_create_call(dt_graph_t *g, const dt_graph_create_params_t *p, dt_graph_fn cb, void *ud,
                         dt_graph_req_t **out) {
  cJSON *body;
  if (out) *out = NULL;
  if (g == NULL) return DT_EINVAL;
  int rc = dt_graph_create_call_body(g->dialect, p, &body);
  if (rc != 0) return rc;
  return dt_graph_request(g, "POST", "", body, cb, ud, out);
}

static int simple(dt_graph_t *g, const char *method, const char *call_id, const char *suffix,
                  dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  char path[PATH_MAX_LEN];
  if (out) *out = NULL;
  int rc = call_path(path, call_id, suffix);
  if (rc != 0) return rc;
  return dt_graph_request(g, method, path, NULL, cb, ud, out);
}

int dt_graph_get_call(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  return simple(g, "GET", call_id, "", cb, ud, out);
}

int dt_graph_delete_call(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  return simple(g, "DELETE", call_id, "", cb, ud, out);
}

int dt_graph_answer(dt_graph_t *g, const char *call_id, const dt_graph_answer_params_t *p,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_answer_body(p, &body);
  return post_on_call(g, call_id, "/answer", rc, body, cb, ud, out);
}

int dt_graph_reject(dt_graph_t *g, const char *call_id, const char *reason, const char *callback_uri,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_reject_body(reason, callback_uri, &body);
  return post_on_call(g, call_id, "/reject", rc, body, cb, ud, out);
}

int dt_graph_redirect(dt_graph_t *g, const char *call_id, const dt_graph_redirect_params_t *p, dt_graph_fn cb,
                      void *ud, dt_graph_req_t **out) {
  cJSON *body;
  if (g == NULL) return DT_EINVAL;
  int rc = dt_graph_redirect_params_body(g->dialect, p, &body);
  return post_on_call(g, call_id, "/redirect", rc, body, cb, ud, out);
}

int dt_graph_transfer(dt_graph_t *g, const char *call_id, const dt_invitation_t *target,
                      const dt_identity_t *transferee, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  if (g == NULL) return DT_EINVAL;
  int rc = dt_graph_transfer_body(g->dialect, target, transferee, &body);
  return post_on_call(g, call_id, "/transfer", rc, body, cb, ud, out);
}

int dt_graph_play_prompt(dt_graph_t *g, const char *call_id, const dt_media_t *prompts, size_t n,
                         const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_play_prompt_body(prompts, n, client_context, &body);
  return post_on_call(g, call_id, "/playPrompt", rc, body, cb, ud, out);
}

int dt_graph_play_prompt_loop(dt_graph_t *g, const char *call_id, const dt_media_t *prompts, size_t n,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  if (g == NULL) return DT_EINVAL;
  int rc = dt_graph_play_prompt_loop_body(g->dialect, prompts, n, client_context, &body);
  return post_on_call(g, call_id, "/playPrompt", rc, body, cb, ud, out);
}

int dt_graph_record(dt_graph_t *g, const char *call_id, const dt_graph_record_params_t *p,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  if (g == NULL) return DT_EINVAL;
  int rc = dt_graph_record_body(p, &body);
  return post_on_call(g, call_id, g->dialect == DT_GRAPH_BETA ? "/record" : "/recordResponse", rc, body,
                      cb, ud, out);
}

int dt_graph_context_action(dt_graph_t *g, const char *call_id, dt_graph_context_action_t action,
                            const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  /* in the order of dt_graph_context_action_t */
  static const char *const paths[] = {"/subscribeToTone", "/cancelMediaProcessing", "/mute", "/unmute",
                                      "/participants/muteAll"};
  if ((unsigned)action >= sizeof paths / sizeof paths[0]) {
    if (out) *out = NULL;
    return DT_EINVAL;
  }
  return post_context(g, call_id, paths[action], client_context, cb, ud, out);
}

int dt_graph_send_dtmf(dt_graph_t *g, const char *call_id, const char *tones, int delay_ms,
                       const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_send_dtmf_body(tones, delay_ms, client_context, &body);
  return post_on_call(g, call_id, "/sendDtmfTones", rc, body, cb, ud, out);
}

int dt_graph_change_screen_sharing_role(dt_graph_t *g, const char *call_id, const char *role,
                                        dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_screen_sharing_role_body(role, &body);
  return post_on_call(g, call_id, "/changeScreenSharingRole", rc, body, cb, ud, out);
}

int dt_graph_update_metadata(dt_graph_t *g, const char *call_id, const char *metadata,
                             const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_update_metadata_body(metadata, client_context, &body);
  return post_on_call(g, call_id, "/updateMetadata", rc, body, cb, ud, out);
}

int dt_graph_update_recording_status(dt_graph_t *g, const char *call_id, const char *status,
                                     const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_recording_status_body(status, client_context, &body);
  return post_on_call(g, call_id, "/updateRecordingStatus", rc, body, cb, ud, out);
}

int dt_graph_keep_alive(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  /* "Do not supply a request body for this method." */
  return simple(g, "POST", call_id, "/keepAlive", cb, ud, out);
}

int dt_graph_list_participants(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud,
                               dt_graph_req_t **out) {
  return simple(g, "GET", call_id, "/participants", cb, ud, out);
}

/* method on /{call_id}/{collection}/{id}{suffix}: a participant or an operation. Takes body
   (deleted when an id is not fit for the path). */
static int member_request(dt_graph_t *g, const char *method, const char *call_id, const char *collection,
                          const char *id, const char *suffix, cJSON *body, dt_graph_fn cb, void *ud,
                          dt_graph_req_t **out) {
  char path[PATH_MAX_LEN];
  if (out) *out = NULL;
  if (!dt_graph_id_ok(call_id) || !dt_graph_id_ok(id)) {
    cJSON_Delete(body);
    return DT_EINVAL;
  }
  snprintf(path, sizeof path, "/%s/%s/%s%s", call_id, collection, id, suffix);
  return dt_graph_request(g, method, path, body, cb, ud, out);
}

int dt_graph_get_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                             dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  return member_request(g, "GET", call_id, "participants", participant_id, "", NULL, cb, ud, out);
}

int dt_graph_invite(dt_graph_t *g, const char *call_id, const dt_invitation_t *participants, size_t n,
                    const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body;
  int rc = dt_graph_invite_body(participants, n, client_context, &body);
  return post_on_call(g, call_id, "/participants/invite", rc, body, cb, ud, out);
}

/* POST a built body on a participant's action (body_rc != 0: the body was refused, nothing sent). */
static int post_on_participant(dt_graph_t *g, const char *call_id, const char *participant_id, const char *suffix,
                               int body_rc, cJSON *body, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  if (body_rc != 0) {
    if (out) *out = NULL;
    return body_rc;
  }
  return member_request(g, "POST", call_id, "participants", participant_id, suffix, body, cb, ud, out);
}

int dt_graph_mute_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body = NULL;
  int rc = dt_graph_context_body(client_context, &body);
  return post_on_participant(g, call_id, participant_id, "/mute", rc, body, cb, ud, out);
}

int dt_graph_remove_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                                dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  return member_request(g, "DELETE", call_id, "participants", participant_id, "", NULL, cb, ud, out);
}

int dt_graph_start_hold_music(dt_graph_t *g, const char *call_id, const char *participant_id, const char *prompt_uri,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  dt_media_t m = {.uri = prompt_uri};
  cJSON *body = NULL;
  int rc = dt_graph_start_hold_music_body(g->dialect, prompt_uri ? &m : NULL, client_context, &body);
  return post_on_participant(g, call_id, participant_id, "/startHoldMusic", rc, body, cb, ud, out);
}

int dt_graph_stop_hold_music(dt_graph_t *g, const char *call_id, const char *participant_id,
                             const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  cJSON *body = NULL;
  int rc = g->dialect == DT_GRAPH_V1 ? dt_graph_context_body(client_context, &body) : DT_EUNSUPPORTED;
  return post_on_participant(g, call_id, participant_id, "/stopHoldMusic", rc, body, cb, ud, out);
}

int dt_graph_get_operation(dt_graph_t *g, const char *call_id, const char *op_id,
                           dt_graph_fn cb, void *ud, dt_graph_req_t **out) {
  return member_request(g, "GET", call_id, "operations", op_id, "", NULL, cb, ud, out);
}
