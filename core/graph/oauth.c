/*
 * oauth.c — OAuth 2.0 client-credentials token source (see oauth.h).
 *
 * Owns: the cached access token and its deadlines, at most one token request in flight,
 * and the waiters for it. Promises: many concurrent dt_oauth_get() calls cause exactly
 * one request; a token is refreshed ahead of expiry (refresh_margin_s before it runs out,
 * or at half its lifetime when that is shorter) while the old one keeps being served;
 * callbacks always run later on the loop; the secret and tokens are never logged (only
 * the token's length), and error descriptions from the endpoint are logged bounded.
 *
 * Waiters for a fetch need no handle (the HTTP completion runs them). A waiter served
 * from the cache gets a one-shot uv_timer_t so its callback runs later on the loop; such
 * a waiter is freed in the timer's close callback, so dt_oauth_source_free() stays
 * synchronous for the source itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/list.h"
#include "dialtone/log.h"
#include "dialtone/oauth.h"

#define DEFAULT_SCOPE "https://graph.microsoft.com/.default"
#define DEFAULT_MARGIN_S 300u
#define DEFAULT_TIMEOUT_MS 10000L
#define MAX_TOKEN_RESPONSE (64u * 1024u)
#define MAX_TOKEN_LEN (16u * 1024u)
/* Token endpoints that omit expires_in: assume an hour, as Entra ID issues. */
#define DEFAULT_EXPIRES_S 3600.0

enum { LIST_NONE = 0, LIST_FETCH, LIST_DEFERRED, LIST_DELIVERING };

struct dt_oauth_wait_s {
  dt_oauth_source_t *ts; /* NULL once finished */
  dt_oauth_fn cb;
  void *ud;
  dt_list_node_t link; /* in the source's list named by list */
  int list;
  bool finished; /* delivered or cancelled: the caller's handle is dead */
  bool timer_open;
  uv_timer_t timer; /* only for waiters served from the cache */
};

struct dt_oauth_source_s {
  uv_loop_t *loop;
  dt_http_client_t *http;
  char *token_url, *client_id, *client_secret, *scope;
  const dt_client_cert_t *client_cert; /* borrowed; NULL: the secret */
  unsigned margin_s;
  long timeout_ms;
  char *token;
  uint64_t refresh_at, expires_at; /* dt_now_ms() clock */
  dt_http_call_t *call;            /* the one request in flight */
  uint64_t call_started;
  unsigned fetch_count;
  char last_error[640]; /* why the last fetch failed, in words; "" after a success */
  bool quiet;
  dt_list_t fetch, deferred, delivering; /* of dt_oauth_wait_t.link, oldest first */
  bool dispatching, free_requested;
};

#define WAIT_OF(node) DT_LIST_ENTRY(node, dt_oauth_wait_t, link)

static dt_list_t *list_of(dt_oauth_source_t *ts, int which) {
  switch (which) {
    case LIST_FETCH: return &ts->fetch;
    case LIST_DEFERRED: return &ts->deferred;
    case LIST_DELIVERING: return &ts->delivering;
    default: return NULL;
  }
}

static void list_push(dt_oauth_source_t *ts, int which, dt_oauth_wait_t *w) {
  w->list = which;
  dt_list_push_back(list_of(ts, which), &w->link);
}

static void list_unlink(dt_oauth_wait_t *w) {
  if (w->ts == NULL || w->list == LIST_NONE) return;
  dt_list_remove(list_of(w->ts, w->list), &w->link);
  w->list = LIST_NONE;
}

static void wait_maybe_free(dt_oauth_wait_t *w) {
  if (w->finished && !w->timer_open) free(w);
}

static void on_wait_timer_closed(uv_handle_t *h) {
  dt_oauth_wait_t *w = h->data;
  w->timer_open = false;
  wait_maybe_free(w);
}

/* Marks w finished (detached from its source); the memory goes when the timer is closed. */
static void wait_finish(dt_oauth_wait_t *w) {
  list_unlink(w);
  w->ts = NULL;
  w->finished = true;
  if (w->timer_open && !uv_is_closing((uv_handle_t *)&w->timer))
    uv_close((uv_handle_t *)&w->timer, on_wait_timer_closed);
}

/* ---- form encoding ---- */

static void form_append(dt_buf_t *b, const char *key, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  if (b->len) dt_buf_append(b, "&", 1);
  dt_buf_append(b, key, strlen(key));
  dt_buf_append(b, "=", 1);
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    unsigned char ch = *p;
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      dt_buf_append(b, p, 1);
    } else {
      char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      dt_buf_append(b, esc, 3);
    }
  }
}

/* ---- fetching ---- */

static void deliver_all(dt_oauth_source_t *ts, int err, const char *token);
static void source_destroy(dt_oauth_source_t *ts);

/* Parses a token endpoint answer. On success *token is a fresh copy. */
/* A failed fetch is logged once; the same failure again (health checks retry) at debug. */
static void log_failure(dt_oauth_source_t *ts, const char *was) {
  dt_log(!ts->quiet && strcmp(was, ts->last_error) != 0 ? DT_LOG_WARN : DT_LOG_DEBUG, NULL, "oauth: %s",
         ts->last_error);
}

static int parse_token_response(dt_oauth_source_t *ts, const dt_http_response_t *res, char **token,
                                double *expires_in) {
  char was[sizeof ts->last_error];
  memcpy(was, ts->last_error, sizeof was);
  if (res->error != 0) {
    snprintf(ts->last_error, sizeof ts->last_error, "token endpoint %.200s: %.400s", ts->token_url,
             res->error_message && *res->error_message ? res->error_message : dt_strerror(res->error));
    log_failure(ts, was);
    return res->error;
  }
  cJSON *json = cJSON_ParseWithLength(res->body, res->body_len);
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(json, "error");
  if (res->status < 200 || res->status > 299 || cJSON_IsString(err)) {
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(json, "error_description");
    /* Entra ID's error_description starts with its AADSTS code: both go to the operator. */
    snprintf(ts->last_error, sizeof ts->last_error, "token endpoint %.200s answered HTTP %d: %.100s: %.300s",
             ts->token_url, res->status, cJSON_IsString(err) ? err->valuestring : "(no error code)",
             cJSON_IsString(desc) ? desc->valuestring : "(no description)");
    log_failure(ts, was);
    bool has_error = cJSON_IsString(err);
    cJSON_Delete(json);
    if (has_error || res->status == 400 || res->status == 401 || res->status == 403)
      return DT_EAUTH;
    return DT_EHTTP;
  }
  const cJSON *at = cJSON_GetObjectItemCaseSensitive(json, "access_token");
  if (!cJSON_IsString(at) || at->valuestring[0] == '\0' || strlen(at->valuestring) > MAX_TOKEN_LEN) {
    snprintf(ts->last_error, sizeof ts->last_error,
             "token endpoint %.200s answered HTTP %d without a usable access_token", ts->token_url, res->status);
    log_failure(ts, was);
    cJSON_Delete(json);
    return DT_EPARSE;
  }
  /* Entra ID's v1 endpoint sends expires_in as a string, v2 as a number. */
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(json, "expires_in");
  double secs = DEFAULT_EXPIRES_S;
  if (cJSON_IsNumber(exp)) secs = exp->valuedouble;
  else if (cJSON_IsString(exp)) secs = strtod(exp->valuestring, NULL);
  if (!(secs >= 0) || secs > 366.0 * 86400) secs = DEFAULT_EXPIRES_S;
  *token = dt_xstrdup(at->valuestring);
  *expires_in = secs;
  cJSON_Delete(json);
  return 0;
}

static void on_token_response(const dt_http_response_t *res, void *ud) {
  dt_oauth_source_t *ts = ud;
  ts->call = NULL;
  char *token = NULL;
  double secs = 0;
  int err = parse_token_response(ts, res, &token, &secs);
  if (err == 0) {
    /* Deadlines count from when the request was sent: the token cannot be younger. */
    double life_ms = secs * 1000.0;
    double margin_ms = ts->margin_s * 1000.0;
    double refresh_ms = life_ms > 2 * margin_ms ? life_ms - margin_ms : life_ms / 2;
    free(ts->token);
    ts->token = token;
    ts->expires_at = ts->call_started + (uint64_t)life_ms;
    ts->refresh_at = ts->call_started + (uint64_t)refresh_ms;
    if (ts->last_error[0]) dt_log_info("oauth: token fetched again from %s", ts->token_url);
    ts->last_error[0] = '\0';
    dt_log_debug("oauth: token fetched (%zu chars, expires in %.0f s)", strlen(token), secs);
  }
  /* Waiters get their own copy: a callback may invalidate the cache under us. */
  char *copy = token ? dt_xstrdup(token) : NULL;
  deliver_all(ts, err, copy);
  free(copy);
}

static int start_fetch(dt_oauth_source_t *ts) {
  if (ts->call) return 0;
  dt_buf_t form = {0};
  form_append(&form, "client_id", ts->client_id);
  if (ts->client_cert) {
    /* a fresh assertion per request: it lives 10 minutes and carries a unique jti */
    char *assertion = NULL;
    int arc = dt_client_cert_assertion(ts->client_cert, ts->client_id, ts->token_url, 0, &assertion);
    if (arc != 0) {
      dt_buf_free(&form);
      dt_log_warn("oauth: cannot sign a client assertion: %s", dt_strerror(arc));
      return arc;
    }
    form_append(&form, "client_assertion_type", DT_CLIENT_ASSERTION_TYPE);
    form_append(&form, "client_assertion", assertion);
    free(assertion);
  } else {
    form_append(&form, "client_secret", ts->client_secret);
  }
  form_append(&form, "scope", ts->scope);
  form_append(&form, "grant_type", "client_credentials");
  static const dt_http_header_t headers[] = {
      {"Content-Type", "application/x-www-form-urlencoded"},
      {"Accept", "application/json"},
  };
  dt_http_request_options_t req = {
      .method = "POST",
      .url = ts->token_url,
      .headers = headers,
      .header_count = DT_ARRAY_SIZE(headers),
      .body = form.data,
      .body_len = form.len,
      .timeout_ms = ts->timeout_ms,
      .max_response_bytes = MAX_TOKEN_RESPONSE,
  };
  ts->call_started = dt_now_ms();
  int rc = dt_http_client_send(ts->http, &req, on_token_response, ts, &ts->call);
  explicit_bzero(form.data, form.len); /* the form holds the secret */
  dt_buf_free(&form);
  if (rc != 0) {
    ts->call = NULL;
    char was[sizeof ts->last_error];
    memcpy(was, ts->last_error, sizeof was);
    snprintf(ts->last_error, sizeof ts->last_error, "cannot send the token request to %.200s: %s", ts->token_url,
             dt_strerror(rc));
    log_failure(ts, was);
    return rc;
  }
  ts->fetch_count++;
  return 0;
}

/* Calls every fetch waiter. Callbacks may get, cancel, invalidate or free the source. */
static void deliver_all(dt_oauth_source_t *ts, int err, const char *token) {
  while (ts->fetch.head) {
    dt_oauth_wait_t *w = WAIT_OF(ts->fetch.head);
    list_unlink(w);
    list_push(ts, LIST_DELIVERING, w);
  }
  ts->dispatching = true;
  while (ts->delivering.head) {
    dt_oauth_wait_t *w = WAIT_OF(ts->delivering.head);
    dt_oauth_fn cb = w->cb;
    void *ud = w->ud;
    wait_finish(w);
    wait_maybe_free(w);
    cb(err, err == 0 ? token : NULL, ud);
  }
  ts->dispatching = false;
  if (ts->free_requested) source_destroy(ts);
}

static void on_deferred(uv_timer_t *t) {
  dt_oauth_wait_t *w = t->data;
  dt_oauth_source_t *ts = w->ts;
  list_unlink(w);
  if (ts->token && dt_now_ms() < ts->expires_at) {
    dt_oauth_fn cb = w->cb;
    void *ud = w->ud;
    char *copy = dt_xstrdup(ts->token);
    wait_finish(w); /* closes the timer; w is freed in its close callback */
    cb(0, copy, ud);
    explicit_bzero(copy, strlen(copy));
    free(copy);
    return;
  }
  /* Invalidated (or expired) since the get: wait for a fresh one instead. */
  int rc = start_fetch(ts);
  if (rc == 0) {
    list_push(ts, LIST_FETCH, w);
    return;
  }
  dt_oauth_fn cb = w->cb;
  void *ud = w->ud;
  wait_finish(w);
  cb(rc, NULL, ud);
}

/* ---- public API ---- */

int dt_oauth_source_new(uv_loop_t *loop, dt_http_client_t *http, const dt_oauth_options_t *opts,
                        dt_oauth_source_t **out) {
  if (out) *out = NULL;
  if (loop == NULL || http == NULL || opts == NULL || out == NULL) return DT_EINVAL;
  if (opts->token_url == NULL || *opts->token_url == '\0' || opts->client_id == NULL ||
      *opts->client_id == '\0' || (opts->client_secret == NULL && opts->client_cert == NULL))
    return DT_EINVAL;
  dt_oauth_source_t *ts = dt_xcalloc(1, sizeof *ts);
  ts->loop = loop;
  ts->http = http;
  ts->token_url = dt_xstrdup(opts->token_url);
  ts->client_id = dt_xstrdup(opts->client_id);
  ts->client_secret = dt_xstrdup(opts->client_cert ? "" : opts->client_secret);
  ts->client_cert = opts->client_cert;
  ts->scope = dt_xstrdup(opts->scope && *opts->scope ? opts->scope : DEFAULT_SCOPE);
  ts->margin_s = opts->refresh_margin_s ? opts->refresh_margin_s : DEFAULT_MARGIN_S;
  ts->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  ts->quiet = opts->quiet;
  *out = ts;
  return 0;
}

const char *dt_oauth_cached(dt_oauth_source_t *ts) {
  if (ts == NULL || ts->token == NULL || dt_now_ms() >= ts->refresh_at) return NULL;
  return ts->token;
}

int dt_oauth_get(dt_oauth_source_t *ts, dt_oauth_fn cb, void *ud, dt_oauth_wait_t **out_wait) {
  if (out_wait) *out_wait = NULL;
  if (ts == NULL || cb == NULL) return DT_EINVAL;
  if (ts->free_requested) return DT_ECLOSED;
  uint64_t now = dt_now_ms();
  dt_oauth_wait_t *w = dt_xcalloc(1, sizeof *w);
  w->ts = ts;
  w->cb = cb;
  w->ud = ud;
  if (ts->token && now < ts->expires_at) {
    /* Still valid: serve it, and refresh in the background once inside the margin. A
       failed background refresh is not this caller's problem; the next get retries. */
    if (now >= ts->refresh_at) (void)start_fetch(ts);
    uv_timer_init(ts->loop, &w->timer);
    w->timer.data = w;
    w->timer_open = true;
    uv_timer_start(&w->timer, on_deferred, 0, 0);
    list_push(ts, LIST_DEFERRED, w);
  } else {
    int rc = start_fetch(ts);
    if (rc != 0) {
      free(w);
      return rc;
    }
    list_push(ts, LIST_FETCH, w);
  }
  if (out_wait) *out_wait = w;
  return 0;
}

void dt_oauth_wait_cancel(dt_oauth_wait_t *w) {
  if (w == NULL || w->finished) return;
  wait_finish(w);
  wait_maybe_free(w);
}

void dt_oauth_invalidate(dt_oauth_source_t *ts) {
  if (ts == NULL || ts->token == NULL) return;
  explicit_bzero(ts->token, strlen(ts->token));
  free(ts->token);
  ts->token = NULL;
  ts->refresh_at = ts->expires_at = 0;
}

unsigned dt_oauth_fetch_count(const dt_oauth_source_t *ts) { return ts ? ts->fetch_count : 0; }
const char *dt_oauth_last_error(const dt_oauth_source_t *ts) {
  return ts && ts->last_error[0] ? ts->last_error : NULL;
}

static void cancel_list(dt_list_t *l) {
  while (l->head) {
    dt_oauth_wait_t *w = WAIT_OF(l->head);
    wait_finish(w);
    wait_maybe_free(w);
  }
}

static void source_destroy(dt_oauth_source_t *ts) {
  dt_oauth_invalidate(ts);
  explicit_bzero(ts->client_secret, strlen(ts->client_secret));
  DT_FREE_ALL(ts->token_url, ts->client_id, ts->client_secret, ts->scope);
  free(ts);
}

void dt_oauth_source_free(dt_oauth_source_t *ts) {
  if (ts == NULL || ts->free_requested) return;
  ts->free_requested = true;
  if (ts->call) {
    dt_http_call_cancel(ts->call);
    ts->call = NULL;
  }
  cancel_list(&ts->fetch);
  cancel_list(&ts->deferred);
  cancel_list(&ts->delivering);
  if (!ts->dispatching) source_destroy(ts);
}
