/*
 * ingress.c — the engine's HTTP routes (see ingress.h): authenticates and accepts Graph's
 * notifications, answers 202 before any flow runs, and hands the typed events to the call
 * registry; serves health, metrics, the active-call list and the prompt files.
 *
 * Key set: fetched at start (through the OpenID configuration or jwks_url). A request
 * that arrives before it is loaded, or whose kid is unknown, waits for one download (all
 * waiters share it: single flight). After a download the kid is either known or the
 * request is refused with 401; downloads for unknown kids are at least min_refresh_ms apart.
 *
 * Health: /healthz is JSON; "degraded" (still 200: the instance serves calls with what it
 * has) lists the reasons: the key set's last download failed, and what the engine's
 * health callback reports (token refresh, Graph). Refused notifications are logged with
 * their reason, at most one line a second per reason with a count (log_limit.h).
 *
 * Parse arena: each ingress lends notify.c's parser an arena (dt_notify_parse_arena), reset
 * when the events are freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/ingress.h"
#include "dialtone/jwt.h"
#include "dialtone/list.h"
#include "dialtone/log.h"
#include "dialtone/log_limit.h"
#include "dialtone/notify.h"

#define MAX_KEYSET_BYTES (1u << 20)
#define MAX_PROMPT_BYTES (32u << 20)

/* Graph reuses one token for many notifications until close to its expiry; verifying its
   RS256 signature once is enough (the dominant cost of a notification otherwise). */
#define TOKEN_CACHE 8

typedef struct {
  char *token;
  int64_t exp;
} cached_token_t;

typedef struct parked_s {
  dt_list_node_t link;              /* in ing->parked */
  dt_http_request_t *req;
} parked_t;

struct dt_ingress_s {
  dt_ingress_options_t o;
  char *callback_path, *prompts_dir, *jwks_url, *openid_config_url, *audience;
  char **issuers;
  size_t nissuers;
  dt_http_server_t *srv;
  dt_http_server_t *admin_srv; /* NULL without admin_listen */
  int servers_open;            /* close: freed when both are closed */
  char *admin_token;
  dt_log_limit_t refusals;         /* refused notifications: a line a second per reason */
  char keys_error[600];            /* why the last key set download failed; "" after a success */
  dt_calls_t *calls;
  dt_jwks_t *jwks;
  bool fetching, draining, closing;
  uint64_t last_fetch_ms;
  unsigned fetches;
  uint64_t accepted;
  dt_http_call_t *fetch_call;
  dt_list_t parked;                 /* notifications waiting for the key set, in arrival order */
  dt_done_t close_done;
  cached_token_t tokens[TOKEN_CACHE];
  unsigned next_token;
  dt_notify_arena_t arena;
};

static void respond_text(dt_http_request_t *req, int status, const char *text) {
  dt_http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void respond_json_error(dt_http_request_t *req, int status, const char *code, const char *msg) {
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  dt_http_respond(req, status, "application/json", b.data, b.len);
  dt_buf_free(&b);
}

/* ---------------------------------------------------------------- notifications */

static void accept_notifications(dt_ingress_t *ing, dt_http_request_t *req) {
  dt_event_list_t list;
  char err[256];
  int rc = dt_notify_parse_arena(&ing->arena, req->body, req->body_len, &list, err, sizeof err);
  if (rc == DT_ETOOBIG) {
    respond_json_error(req, 413, "payloadTooLarge", "notification body too large");
    return;
  }
  if (rc < 0) {
    dt_log(DT_LOG_WARN, NULL, "ingress: malformed notification from %s: %s", req->remote_addr, err);
    respond_json_error(req, 400, "badRequest", "malformed commsNotifications body");
    return;
  }
  /* Graph never waits on a flow: the answer goes first, the events are handled after. */
  dt_http_respond(req, 202, NULL, NULL, 0);
  ing->accepted++;
  if (ing->o.metrics) dt_metrics_add(ing->o.metrics, "dt_notifications_total", NULL, (double)list.count);
  if (ing->calls) dt_calls_dispatch(ing->calls, &list);
  dt_event_list_free(&list);
  dt_notify_arena_reset(&ing->arena);
}

static const char *bearer(dt_http_request_t *req) {
  const char *h = dt_http_request_header(req, "Authorization");
  if (!h || dt_strncasecmp(h, "Bearer ", 7) != 0) return NULL;
  h += 7;
  while (*h == ' ') h++;
  return *h ? h : NULL;
}

/* 0 = verified; DT_ENOENT = unknown kid; other = refused (err says why). */
static int verify(dt_ingress_t *ing, dt_http_request_t *req, char *err, size_t errlen) {
  const char *tok = bearer(req);
  if (!tok) return dt_seterr(err, errlen, DT_EAUTH, "no bearer token");
  int64_t now = dt_unix_time();
  for (unsigned i = 0; i < TOKEN_CACHE; i++)
    if (ing->tokens[i].token && now < ing->tokens[i].exp && strcmp(ing->tokens[i].token, tok) == 0) return 0;
  if (!ing->jwks) return dt_seterr(err, errlen, DT_ENOENT, "no key set loaded");
  dt_jwt_verify_options_t vo = {.issuers = (const char *const *)ing->issuers,
                                .issuer_count = ing->nissuers,
                                .audience = ing->audience};
  cJSON *claims = NULL;
  int rc = dt_jwt_verify(ing->jwks, tok, &vo, &claims, err, errlen);
  if (rc == 0) {
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (cJSON_IsNumber(exp) && strlen(tok) <= 16384) {
      cached_token_t *slot = &ing->tokens[ing->next_token++ % TOKEN_CACHE];
      free(slot->token);
      slot->token = dt_xstrdup(tok);
      slot->exp = (int64_t)exp->valuedouble;
    }
  }
  cJSON_Delete(claims);
  return rc;
}

static void fetch_keys(dt_ingress_t *ing);

static void log_refusal(dt_ingress_t *ing, dt_http_request_t *req, int status, const char *why, const char *when);

static void park(dt_ingress_t *ing, dt_http_request_t *req) {
  if (dt_list_count(&ing->parked) >= ing->o.max_parked) {
    log_refusal(ing, req, 503, "too many notifications waiting for the key set", "");
    respond_json_error(req, 503, "serviceUnavailable", "too many notifications waiting for the key set");
    return;
  }
  parked_t *p = dt_xcalloc(1, sizeof *p);
  p->req = req;
  dt_list_push_back(&ing->parked, &p->link);
  fetch_keys(ing);
}

/* One refused notification: counted, and logged with its reason (rate-limited per reason:
   anyone can send them at any rate). */
static void log_refusal(dt_ingress_t *ing, dt_http_request_t *req, int status, const char *why, const char *when) {
  if (ing->o.metrics) dt_metrics_inc(ing->o.metrics, "dt_notifications_refused_total", NULL);
  uint64_t n = 0;
  if (dt_log_limit_pass(&ing->refusals, why, dt_now_ms(), &n))
    dt_log(DT_LOG_WARN, NULL, "ingress: notification from %s refused%s (%d): %s (%llu such refusal%s since the last such line)",
           req->remote_addr, when, status, why, (unsigned long long)n, n == 1 ? "" : "s");
}

static void refuse(dt_ingress_t *ing, dt_http_request_t *req, const char *why) {
  log_refusal(ing, req, 401, why, "");
  respond_json_error(req, 401, "unauthorized", "missing or invalid bearer token");
}

static void on_notification(dt_ingress_t *ing, dt_http_request_t *req) {
  if (!ing->o.auth || req->user_data == ing) { /* user_data == ing: verified at the headers */
    accept_notifications(ing, req);
    return;
  }
  char err[256];
  int rc = verify(ing, req, err, sizeof err);
  if (rc == 0) {
    accept_notifications(ing, req);
  } else if (rc == DT_ENOENT && (ing->fetching || !ing->jwks ||
                                 dt_now_ms() - ing->last_fetch_ms >= ing->o.min_refresh_ms)) {
    park(ing, req); /* an unknown kid: the keys may have rotated */
  } else {
    refuse(ing, req, err);
  }
}

/* The key set download ended (keys may still be NULL): settle every waiting request. */
static void unpark_all(dt_ingress_t *ing) {
  dt_list_t batch = ing->parked; /* what parks from here on waits for the next key set */
  ing->parked = (dt_list_t){0};
  parked_t *p;
  while ((p = DT_LIST_ENTRY(dt_list_pop_front(&batch), parked_t, link)) != NULL) {
    char err[256];
    if (ing->closing) {
      respond_json_error(p->req, 503, "serviceUnavailable", "shutting down");
    } else if (!ing->jwks) {
      char why[700];
      snprintf(why, sizeof why, "no key set to verify it with: %s", ing->keys_error[0] ? ing->keys_error : "none loaded");
      log_refusal(ing, p->req, 503, why, "");
      respond_json_error(p->req, 503, "serviceUnavailable", "cannot verify notifications: no key set");
    } else if (verify(ing, p->req, err, sizeof err) == 0) {
      accept_notifications(ing, p->req);
    } else {
      refuse(ing, p->req, err);
    }
    free(p);
  }
}

static void keys_done(dt_ingress_t *ing) {
  ing->fetching = false;
  ing->fetch_call = NULL;
  ing->last_fetch_ms = dt_now_ms();
  unpark_all(ing);
}

/* A key set download failed: remembered for /healthz (the keys already loaded stay). */
static void keys_failed(dt_ingress_t *ing, const char *what, const char *url, const char *why) {
  char was[sizeof ing->keys_error];
  memcpy(was, ing->keys_error, sizeof was);
  snprintf(ing->keys_error, sizeof ing->keys_error, "%s %.250s: %.300s", what, url ? url : "", why);
  /* logged once; the periodic retries that fail the same way only at debug level */
  dt_log(strcmp(was, ing->keys_error) != 0 ? DT_LOG_ERROR : DT_LOG_DEBUG, NULL, "ingress: %s%s", ing->keys_error,
         ing->jwks ? " (the keys loaded before stay in use)" : " (notifications are refused until it loads)");
}

static void on_jwks(const dt_http_response_t *res, void *ud) {
  dt_ingress_t *ing = ud;
  char err[256];
  if (res->error == 0 && res->status == 200) {
    dt_jwks_t *k = NULL;
    if (dt_jwks_parse(res->body, res->body_len, &k, err, sizeof err) == 0) {
      dt_jwks_free(ing->jwks);
      ing->jwks = k;
      dt_log(ing->keys_error[0] ? DT_LOG_INFO : DT_LOG_DEBUG, NULL, "ingress: key set loaded from %s", ing->jwks_url);
      ing->keys_error[0] = '\0';
    } else {
      keys_failed(ing, "bad key set from", ing->jwks_url, err);
    }
  } else {
    keys_failed(ing, "cannot fetch the key set from", ing->jwks_url, dt_http_outcome(res, err, sizeof err));
  }
  keys_done(ing);
}

static void get_jwks(dt_ingress_t *ing) {
  dt_http_request_options_t r = {.method = "GET", .url = ing->jwks_url, .max_response_bytes = MAX_KEYSET_BYTES};
  int rc = dt_http_client_send(ing->o.http, &r, on_jwks, ing, &ing->fetch_call);
  if (rc != 0) {
    keys_failed(ing, "cannot start the key set download from", ing->jwks_url, dt_strerror(rc));
    keys_done(ing);
  }
}

static void on_openid(const dt_http_response_t *res, void *ud) {
  dt_ingress_t *ing = ud;
  ing->fetch_call = NULL;
  char *jwks_uri = NULL, *issuer = NULL, err[256];
  if (res->error != 0 || res->status != 200) {
    keys_failed(ing, "cannot fetch the OpenID configuration", ing->openid_config_url,
                dt_http_outcome(res, err, sizeof err));
  } else if (dt_openid_config_parse(res->body, res->body_len, &jwks_uri, &issuer, err, sizeof err) == 0) {
    free(ing->jwks_url);
    ing->jwks_url = jwks_uri;
    free(issuer);
    get_jwks(ing);
    return;
  } else {
    keys_failed(ing, "bad OpenID configuration", ing->openid_config_url, err);
  }
  keys_done(ing);
}

static void fetch_keys(dt_ingress_t *ing) {
  if (ing->fetching || ing->closing || !ing->o.auth) return;
  ing->fetching = true;
  ing->fetches++;
  if (ing->openid_config_url) {
    dt_http_request_options_t r = {.method = "GET", .url = ing->openid_config_url,
                                   .max_response_bytes = MAX_KEYSET_BYTES};
    int rc = dt_http_client_send(ing->o.http, &r, on_openid, ing, &ing->fetch_call);
    if (rc != 0) {
      keys_failed(ing, "cannot start the download of the OpenID configuration", ing->openid_config_url, dt_strerror(rc));
      keys_done(ing);
    }
  } else {
    get_jwks(ing);
  }
}

/* Headers complete, body not read yet: a notification without a valid token is refused
   now, so nothing an unauthenticated client sends is ever buffered. An unknown kid goes on
   (the keys may have rotated: the key set refresh decides), bounded by the body budget. */
static int on_headers(dt_http_request_t *req, void *ud) {
  dt_ingress_t *ing = ud;
  if (!ing->o.auth || ing->closing || strcmp(req->path, ing->callback_path) != 0 ||
      strcmp(req->method, "POST") != 0)
    return 0;
  char err[256];
  int rc = verify(ing, req, err, sizeof err);
  if (rc == 0) {
    req->user_data = ing;
    return 0;
  }
  if (rc == DT_ENOENT) return 0;
  dt_http_request_set_route(req, "callback");
  /* A flood of unauthenticated requests must not become a flood of log lines. */
  log_refusal(ing, req, 401, err, " before its body");
  return 401;
}

/* Compares a presented token with the admin token without a data-dependent early exit
   (the time taken says nothing about how much of it matched). */
static bool admin_token_matches(const char *presented, const char *want) {
  size_t lp = strlen(presented), lw = strlen(want);
  unsigned char diff = lp != lw;
  for (size_t i = 0; i < lw; i++) diff |= (unsigned char)(want[i] ^ (i < lp ? presented[i] : 0));
  return diff == 0;
}

/* The access_token=VALUE of the query (raw), for the dashboard's EventSource, which cannot
   send a header; copied into buf, NULL if absent. */
static const char *query_token(const dt_http_request_t *req, char *buf, size_t len) {
  for (const char *p = req->query; p && *p;) {
    size_t n = strcspn(p, "&");
    if (n > 13 && strncmp(p, "access_token=", 13) == 0 && n - 13 < len) {
      snprintf(buf, len, "%.*s", (int)(n - 13), p + 13);
      return buf;
    }
    p = p[n] ? p + n + 1 : NULL;
  }
  return NULL;
}

/* true = go on; false = answered 401. */
static bool admin_allowed(dt_ingress_t *ing, dt_http_request_t *req) {
  if (!ing->admin_token) return true;
  char qbuf[512];
  const char *tok = bearer(req);
  if (!tok) tok = query_token(req, qbuf, sizeof qbuf);
  if (tok && admin_token_matches(tok, ing->admin_token)) return true;
  if (ing->o.metrics) dt_metrics_inc(ing->o.metrics, "dt_admin_unauthorized_total", NULL);
  dt_log(DT_LOG_WARN, NULL, "ingress: %s %s from %s refused: %s admin token", req->method, req->path,
         req->remote_addr, tok ? "wrong" : "no");
  dt_http_header_t h[] = {{"Content-Type", "text/plain; charset=utf-8"}, {"WWW-Authenticate", "Bearer"}};
  dt_http_respond_ex(req, 401, h, 2, "unauthorized\n", 13);
  return false;
}

/* ---------------------------------------------------------------- other routes */

static bool prompt_name_ok(const char *p) {
  size_t n = strlen(p), slashes = 0;
  if (n < 5 || n > 200 || strcmp(p + n - 4, ".wav") != 0 || p[0] == '/' || p[0] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (ch == '/') {
      if (++slashes > 1 || p[i + 1] == '.' || p[i + 1] == '/') return false;
      continue;
    }
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-' || ch == '.'))
      return false;
  }
  return strstr(p, "..") == NULL;
}

static void serve_prompt(dt_ingress_t *ing, dt_http_request_t *req, const char *name) {
  if (!ing->prompts_dir || !prompt_name_ok(name)) {
    respond_text(req, 404, "not found\n");
    return;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", ing->prompts_dir, name);
  char *data = NULL;
  size_t len = 0;
  if (dt_read_file(path, MAX_PROMPT_BYTES, &data, &len) != 0) {
    respond_text(req, 404, "not found\n");
    return;
  }
  dt_http_header_t h[] = {{"Content-Type", "audio/wav"}, {"Cache-Control", "max-age=300"}};
  dt_http_respond_ex(req, 200, h, 2, data, len);
  free(data);
}

#define MAX_HEALTH_REASONS 8

/* {"status":"ok"} | {"status":"degraded","reasons":[...]} (200: a degraded instance still
   serves calls with the token and keys it has; balancers keep it, alerts fire on the
   body) | {"status":"draining"} (503: take it out). */
static void serve_health(dt_ingress_t *ing, dt_http_request_t *req) {
  cJSON *j = cJSON_CreateObject();
  int status = 200;
  if (ing->draining || ing->closing) {
    status = 503;
    cJSON_AddStringToObject(j, "status", "draining");
  } else {
    const char *reasons[MAX_HEALTH_REASONS];
    size_t n = 0;
    char keys[sizeof ing->keys_error + 32];
    /* (the first download under way is not a failure: notifications wait for it) */
    if (ing->o.auth && ing->keys_error[0]) {
      snprintf(keys, sizeof keys, "key set %s: %s", ing->jwks ? "stale" : "missing", ing->keys_error);
      reasons[n++] = keys;
    }
    if (ing->o.health) n += ing->o.health(ing->o.health_ud, reasons + n, MAX_HEALTH_REASONS - n);
    cJSON_AddStringToObject(j, "status", n ? "degraded" : "ok");
    if (n) {
      cJSON *arr = cJSON_AddArrayToObject(j, "reasons");
      for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(reasons[i]));
    }
  }
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "%s\n", text ? text : "{}");
  free(text);
  dt_http_respond(req, status, "application/json", b.data, b.len);
  dt_buf_free(&b);
}

/* admin: this request came in on the admin listener. */
static void route(dt_ingress_t *ing, dt_http_request_t *req, bool admin) {
  const char *m = req->method, *p = req->path;
  bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
  /* With a separate admin listener, each listener serves only its own routes. */
  bool public_routes = !admin, admin_routes = admin || !ing->admin_srv;
  if (public_routes && strcmp(p, ing->callback_path) == 0) {
    dt_http_request_set_route(req, "callback");
    if (strcmp(m, "POST") != 0) goto not_allowed;
    if (ing->closing) {
      respond_json_error(req, 503, "serviceUnavailable", "shutting down");
      return;
    }
    on_notification(ing, req);
    return;
  }
  if (strcmp(p, "/healthz") == 0) {
    dt_http_request_set_route(req, "/healthz");
    if (!get) goto not_allowed;
    serve_health(ing, req);
    return;
  }
  /* the admin snapshots: /metrics (Prometheus text) and /calls (the live calls as JSON) */
  bool metrics = strcmp(p, "/metrics") == 0;
  if (admin_routes && (metrics || strcmp(p, "/calls") == 0)) {
    dt_http_request_set_route(req, metrics ? "/metrics" : "/calls");
    if (!get) goto not_allowed;
    if (!admin_allowed(ing, req)) return;
    dt_buf_t b = {0};
    if (metrics) {
      if (ing->o.metrics) dt_metrics_render(ing->o.metrics, &b);
    } else if (ing->calls) {
      dt_calls_render_json(ing->calls, &b);
    } else {
      dt_buf_append(&b, "[]", 2);
    }
    dt_http_respond(req, 200, metrics ? "text/plain; version=0.0.4" : "application/json", b.data ? b.data : "", b.len);
    dt_buf_free(&b);
    return;
  }
  /* the live view's routes (/events, /dashboard, ...: the engine's admin_route hook), on the
     admin listener only: never on the public one, even without admin.listen */
  if (admin && ing->o.admin_route && ing->o.admin_route(ing, req, ing->o.admin_route_ud)) return;
  if (public_routes && strncmp(p, "/prompts/", 9) == 0) {
    dt_http_request_set_route(req, "/prompts");
    if (!get) goto not_allowed;
    serve_prompt(ing, req, p + 9);
    return;
  }
  dt_http_request_set_route(req, "other");
  respond_text(req, 404, "not found\n");
  return;
not_allowed:
  respond_text(req, 405, "method not allowed\n");
}

static void handler(dt_http_request_t *req, void *ud) { route(ud, req, false); }
static void admin_handler(dt_http_request_t *req, void *ud) { route(ud, req, true); }

/* ---------------------------------------------------------------- life */

int dt_ingress_start(const dt_ingress_options_t *opts, dt_ingress_t **out, char *err, size_t errlen) {
  if (opts->auth && (!opts->http || !opts->audience || (!opts->jwks_url && !opts->openid_config_url)))
    return dt_seterr(err, errlen, DT_ECONFIG, "inbound authentication needs a key set URL and an audience");
  dt_ingress_t *ing = dt_xcalloc(1, sizeof *ing);
  ing->o = *opts;
  if (!ing->o.max_parked) ing->o.max_parked = 4096;
  if (!ing->o.min_refresh_ms) ing->o.min_refresh_ms = 5000;
  ing->callback_path = dt_xstrdup(opts->callback_path ? opts->callback_path : "/api/calls");
  ing->prompts_dir = opts->prompts_dir ? dt_xstrdup(opts->prompts_dir) : NULL;
  ing->jwks_url = opts->jwks_url ? dt_xstrdup(opts->jwks_url) : NULL;
  ing->openid_config_url = opts->openid_config_url ? dt_xstrdup(opts->openid_config_url) : NULL;
  ing->audience = opts->audience ? dt_xstrdup(opts->audience) : NULL;
  static const char *const default_issuers[] = {"https://api.botframework.com", "https://graph.microsoft.com"};
  const char *const *iss = opts->issuer_count ? opts->issuers : default_issuers;
  ing->nissuers = opts->issuer_count ? opts->issuer_count : 2;
  ing->issuers = dt_xcalloc(ing->nissuers, sizeof *ing->issuers);
  for (size_t i = 0; i < ing->nissuers; i++) ing->issuers[i] = dt_xstrdup(iss[i]);
  ing->admin_token = opts->admin_token && *opts->admin_token ? dt_xstrdup(opts->admin_token) : NULL;
  ing->o.admin_token = NULL; /* only the private copy is kept */
  ing->o.admin_listen = NULL;
  dt_http_server_options_t so = {.listen = opts->listen,
                                 .handler = handler,
                                 .handler_ud = ing,
                                 .on_headers = on_headers,
                                 .max_header_bytes = opts->max_header_bytes,
                                 .max_body_bytes = opts->max_body_bytes,
                                 .max_connections = opts->max_connections,
                                 .max_connections_per_ip = opts->max_connections_per_ip,
                                 .header_timeout_ms = opts->header_timeout_ms,
                                 .idle_timeout_ms = opts->idle_timeout_ms,
                                 .request_timeout_ms = opts->request_timeout_ms,
                                 .max_body_total_bytes = opts->max_body_total_bytes,
                                 .tls_cert_file = opts->tls_cert_file,
                                 .tls_key_file = opts->tls_key_file,
                                 .metrics = opts->metrics};
  int rc = dt_http_server_start(opts->loop, &so, &ing->srv, err, errlen);
  if (rc == 0) ing->servers_open++;
  if (rc == 0 && opts->admin_listen && *opts->admin_listen) {
    /* Plain HTTP, small limits: operators and scrapers on a private address. */
    dt_http_server_options_t ao = {.listen = opts->admin_listen,
                                   .handler = admin_handler,
                                   .handler_ud = ing,
                                   .max_body_bytes = 64 * 1024,
                                   .max_body_total_bytes = 1024 * 1024,
                                   .max_connections = 256,
                                   .header_timeout_ms = opts->header_timeout_ms,
                                   .metrics = opts->metrics};
    char aerr[256];
    rc = dt_http_server_start(opts->loop, &ao, &ing->admin_srv, aerr, sizeof aerr);
    if (rc < 0) dt_seterr(err, errlen, rc, "admin listener: %s", aerr);
    else ing->servers_open++;
  }
  if (rc < 0) {
    ing->closing = true;
    dt_ingress_close(ing, NULL, NULL);
    return rc;
  }
  if (opts->auth) fetch_keys(ing);
  else dt_log(DT_LOG_WARN, NULL, "ingress: inbound authentication is disabled; anyone can post notifications");
  if (opts->metrics) {
    dt_metrics_describe(opts->metrics, "dt_notifications_total", "counter", "Notifications accepted.");
    dt_metrics_describe(opts->metrics, "dt_notifications_refused_total", "counter",
                        "Notification requests refused for authentication.");
    dt_metrics_describe(opts->metrics, "dt_admin_unauthorized_total", "counter",
                        "Admin requests (/metrics, /calls) refused for a missing or wrong admin token.");
  }
  *out = ing;
  return 0;
}

void dt_ingress_set_calls(dt_ingress_t *ing, dt_calls_t *calls) { ing->calls = calls; }
bool dt_ingress_admin_allowed(dt_ingress_t *ing, dt_http_request_t *req) { return admin_allowed(ing, req); }
int dt_ingress_port(const dt_ingress_t *ing) { return ing->srv ? dt_http_server_port(ing->srv) : 0; }
int dt_ingress_admin_port(const dt_ingress_t *ing) {
  return ing->admin_srv ? dt_http_server_port(ing->admin_srv) : 0;
}
void dt_ingress_set_draining(dt_ingress_t *ing, bool d) { ing->draining = d; }
int dt_ingress_reload_tls(dt_ingress_t *ing, char *err, size_t errlen) {
  return dt_http_server_reload_tls(ing->srv, err, errlen);
}
unsigned dt_ingress_jwks_fetches(const dt_ingress_t *ing) { return ing->fetches; }
uint64_t dt_ingress_accepted(const dt_ingress_t *ing) { return ing->accepted; }
bool dt_ingress_keys_ready(const dt_ingress_t *ing) { return !ing->o.auth || ing->jwks != NULL; }
void dt_ingress_refresh_keys(dt_ingress_t *ing) { fetch_keys(ing); }
const char *dt_ingress_keys_error(const dt_ingress_t *ing) { return ing->keys_error[0] ? ing->keys_error : NULL; }

static void ingress_free(dt_ingress_t *ing) {
  dt_jwks_free(ing->jwks);
  free(ing->arena.base);
  for (unsigned i = 0; i < TOKEN_CACHE; i++) free(ing->tokens[i].token);
  for (size_t i = 0; i < ing->nissuers; i++) free(ing->issuers[i]);
  DT_FREE_ALL(ing->issuers, ing->callback_path, ing->prompts_dir, ing->jwks_url, ing->openid_config_url, ing->audience,
              ing->admin_token);
  dt_free_then_done(ing, ing->close_done);
}

static void server_closed(void *ud) {
  dt_ingress_t *ing = ud;
  if (--ing->servers_open == 0) ingress_free(ing);
}

void dt_ingress_close(dt_ingress_t *ing, void (*done)(void *ud), void *ud) {
  ing->closing = true;
  ing->close_done = (dt_done_t){done, ud};
  if (ing->fetch_call) {
    dt_http_call_cancel(ing->fetch_call);
    ing->fetch_call = NULL;
  }
  ing->fetching = false;
  unpark_all(ing);
  ing->calls = NULL;
  if (ing->servers_open == 0) {
    ingress_free(ing);
    return;
  }
  /* Both close callbacks come from the loop later, so neither frees ing before the other starts. */
  if (ing->srv) dt_http_server_close(ing->srv, server_closed, ing);
  if (ing->admin_srv) dt_http_server_close(ing->admin_srv, server_closed, ing);
}
