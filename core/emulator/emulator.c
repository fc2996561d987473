/*
 * emulator.c — the emulator's lifecycle and front door: start/close, the request router,
 * the OAuth token endpoint, the OpenID configuration and JWKS, recordings, and the threaded
 * embedding the engine uses (the `dialtone emulator` command is src/cmd_emulator.c).
 *
 * It sits on top of the emulator's modules (emu_model.h lists them) and wires the two
 * hooks that go upward. Promises: dt_emulator_start returns with the server listening (or
 * an error and nothing left behind); dt_emulator_close frees everything once every handle has closed, then
 * calls done; no global state, so several emulators can share a process (and a loop).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "emu_calls.h"
#include "emu_control.h"
#include "emu_graph.h"
#include "emu_http.h"
#include "emu_identity.h"
#include "emu_media.h"
#include "emu_online_meetings.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_timeline.h"
#include "emu_tls.h"
#include "emu_util.h"

/* ------------------------------------------------------------------ OAuth, OpenID, JWKS */
static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Value of key in an application/x-www-form-urlencoded body, decoded; caller frees. */
static char *form_value(const char *body, size_t len, const char *key) {
  size_t kl = strlen(key);
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && body[end] != '&') end++;
    if (end - i > kl && memcmp(body + i, key, kl) == 0 && body[i + kl] == '=') {
      size_t vs = i + kl + 1;
      char *out = dt_xmalloc(end - vs + 1);
      size_t k = 0;
      for (size_t j = vs; j < end; j++) {
        if (body[j] == '+') out[k++] = ' ';
        else if (body[j] == '%' && j + 2 < end && hexval((unsigned char)body[j + 1]) >= 0 &&
                 hexval((unsigned char)body[j + 2]) >= 0) {
          out[k++] = (char)(hexval((unsigned char)body[j + 1]) * 16 + hexval((unsigned char)body[j + 2]));
          j += 2;
        } else out[k++] = body[j];
      }
      out[k] = '\0';
      return out;
    }
    i = end + 1;
  }
  return NULL;
}

static void aad_error(dt_http_request_t *req, int status, const char *error, const char *desc) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", error);
  cJSON_AddStringToObject(o, "error_description", desc);
  cJSON *codes = cJSON_AddArrayToObject(o, "error_codes");
  cJSON_AddItemToArray(codes, cJSON_CreateNumber(atoi(desc + 7)));
  char iso[32];
  dt__emu_iso_now(iso);
  cJSON_AddStringToObject(o, "timestamp", iso);
  dt__emu_respond_json(req, status, o, NULL);
}

static void issue_token(dt_emulator_t *emu, dt_http_request_t *req, const char *resource) {
  char *tok = dt__emu_token_issue_for(emu, resource, 3599);
  if (tok == NULL) {
    aad_error(req, 500, "temporarily_unavailable", "AADSTS90033: The emulator could not sign the token.");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "token_type", "Bearer");
  cJSON_AddNumberToObject(o, "expires_in", 3599);
  cJSON_AddNumberToObject(o, "ext_expires_in", 3599);
  cJSON_AddStringToObject(o, "access_token", tok);
  free(tok);
  dt__emu_respond_json(req, 200, o, NULL);
}

/* Certificate credentials (client_cert.h): the assertion must be signed with the key of the
   certificate registered for the app (--client-cert), addressed to this token endpoint as
   the client reached it (its origin and path), issued by and for the client_id, and within
   its time. Each refusal carries the identity platform's AADSTS code for that cause. */
static const char *assertion_refusal(dt_emulator_t *emu, dt_http_request_t *req, const char *type,
                                     const char *assertion, const char *client_id, char *why, size_t whylen) {
  if (type == NULL || strcmp(type, DT_CLIENT_ASSERTION_TYPE) != 0)
    return "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.";
  if (assertion == NULL || assertion[0] == '\0')
    return "AADSTS900144: The request body must contain the following parameter: 'client_assertion'.";
  if (emu->client_cert == NULL)
    return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on "
           "application (start the emulator with --client-cert).";
  char *origin = dt__emu_origin(emu, req);
  char *audience = dt_xasprintf("%s%s", origin, req->path);
  free(origin);
  dt_assertion_result_t r = dt_client_cert_check(emu->client_cert, assertion, client_id, audience, 0, why, whylen);
  free(audience);
  switch (r) {
  case DT_ASSERTION_OK: return NULL;
  case DT_ASSERTION_UNKNOWN_CERT:
    return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on "
           "application.";
  case DT_ASSERTION_BAD_SIGNATURE: return "AADSTS700027: Client assertion contains an invalid signature.";
  case DT_ASSERTION_EXPIRED: return "AADSTS700024: Client assertion is not within its valid time range.";
  case DT_ASSERTION_WRONG_AUDIENCE:
    return "AADSTS50013: Assertion audience claim does not match the required value (the token endpoint's URL).";
  case DT_ASSERTION_WRONG_CLIENT:
    return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.";
  case DT_ASSERTION_MALFORMED: break;
  }
  return "AADSTS50027: JWT token is invalid or malformed.";
}

/* A client-credentials scope: one "{resource}/.default" (MSAL may add openid, profile and
   offline_access, which are ignored). The resource becomes the token's audience. */
static bool scope_resource(const char *scope, char **resource) {
  const char *p = scope;
  while (*p) {
    while (*p == ' ') p++;
    const char *s = p;
    while (*p && *p != ' ') p++;
    size_t n = (size_t)(p - s);
    if (n == 0) break;
    if (n > 9 && memcmp(s + n - 9, "/.default", 9) == 0) {
      if (*resource) return false; /* two resources */
      *resource = dt_xstrndup(s, n - 9);
    } else if (!((n == 6 && memcmp(s, "openid", 6) == 0) || (n == 7 && memcmp(s, "profile", 7) == 0) ||
                 (n == 14 && memcmp(s, "offline_access", 14) == 0))) {
      return false;
    }
  }
  return *resource != NULL;
}

static void token_endpoint(dt_emulator_t *emu, dt_http_request_t *req) {
  dt_http_request_set_route(req, "/oauth2/v2.0/token");
  if (strcmp(req->method, "POST") != 0) {
    aad_error(req, 405, "invalid_request", "AADSTS90056: The token endpoint only accepts POST.");
    return;
  }
  char *grant = form_value(req->body, req->body_len, "grant_type");
  char *cid = form_value(req->body, req->body_len, "client_id");
  char *secret = form_value(req->body, req->body_len, "client_secret");
  char *atype = form_value(req->body, req->body_len, "client_assertion_type");
  char *assertion = form_value(req->body, req->body_len, "client_assertion");
  char *scope = form_value(req->body, req->body_len, "scope");
  char *resource = NULL;
  bool scope_ok = scope == NULL || scope_resource(scope, &resource);
  char why[256] = "";
  const char *refused = NULL;
  if (cid == NULL || cid[0] == '\0') {
    aad_error(req, 400, "invalid_request",
              "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
  } else if (grant == NULL || strcmp(grant, "client_credentials") != 0) {
    aad_error(req, 400, "unsupported_grant_type",
              "AADSTS70003: The app requested an unsupported grant type; the emulator issues "
              "client_credentials tokens only.");
  } else if (dt_strcasecmp(cid, emu->app_id) != 0) {
    aad_error(req, 400, "unauthorized_client",
              "AADSTS700016: Application with the given client_id was not found; the emulator's app "
              "id is set with --app-id.");
  } else if (!scope_ok) {
    aad_error(req, 400, "invalid_scope",
              "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have "
              "a scope value with /.default suffixed to the resource identifier (application ID URI).");
  } else if (secret && (atype || assertion)) {
    aad_error(req, 400, "invalid_request",
              "AADSTS90014: Send either client_secret or client_assertion, not both.");
  } else if (atype || assertion) {
    refused = assertion_refusal(emu, req, atype, assertion, cid, why, sizeof why);
    if (refused) {
      char *desc = why[0] ? dt_xasprintf("%s (%s)", refused, why) : dt_xstrdup(refused);
      aad_error(req, 401, "invalid_client", desc);
      free(desc);
    } else {
      issue_token(emu, req, resource);
    }
  } else if (emu->client_secret && (secret == NULL || strcmp(secret, emu->client_secret) != 0)) {
    aad_error(req, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  } else {
    issue_token(emu, req, resource);
  }
  DT_FREE_ALL(grant, cid, secret, atype, assertion, scope, resource);
}

static void openid_config(dt_emulator_t *emu, dt_http_request_t *req) {
  dt_http_request_set_route(req, "/.well-known/openid-configuration");
  char *origin = dt__emu_origin(emu, req);
  char *jwks = dt_xasprintf("%s/discovery/keys", origin);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "issuer", "https://api.botframework.com");
  cJSON_AddStringToObject(o, "authorization_endpoint", "https://invalid.botframework.com");
  cJSON_AddStringToObject(o, "jwks_uri", jwks);
  cJSON *a = cJSON_AddArrayToObject(o, "id_token_signing_alg_values_supported");
  cJSON_AddItemToArray(a, cJSON_CreateString("RS256"));
  cJSON *m = cJSON_AddArrayToObject(o, "token_endpoint_auth_methods_supported");
  cJSON_AddItemToArray(m, cJSON_CreateString("private_key_jwt"));
  free(jwks);
  free(origin);
  dt__emu_respond_json(req, 200, o, NULL);
}

/* ------------------------------------------------------------------ recordings */
static void recording_get(dt_emulator_t *emu, dt_http_request_t *req, const char *id) {
  dt_http_request_set_route(req, "/recordings");
  if (strcmp(req->method, "GET") != 0) {
    dt__emu_respond_error(req, 405, "methodNotAllowed", "Recordings are read with GET.");
    return;
  }
  emu->n_rec_requests++;
  emu_faults_t *f = &emu->faults;
  if (f->recording_hang) return; /* never answered: the server frees it when the connection goes */
  int st = dt__emu_fault_take(&f->recording_status, &f->recording_status_count);
  if (st) {
    dt__emu_respond_fault(req, st, f->retry_after_s, "generalException");
    return;
  }
  const emu_recording_t *r = dt__emu_recording_find(emu, id);
  if (r == NULL) {
    dt__emu_respond_error(req, 404, "itemNotFound", "Recording not found.");
    return;
  }
  const char *h = dt_http_request_header(req, "Authorization");
  if (h == NULL || dt_strncasecmp(h, "Bearer ", 7) != 0 || strcmp(h + 7, r->token) != 0) {
    dt__emu_respond_error(req, 401, "InvalidAuthenticationToken",
                          "A recording needs \"Authorization: Bearer <recordingAccessToken>\".");
    return;
  }
  char *wav = NULL;
  size_t len = 0;
  dt__emu_wav_build(r->duration_ms, r->seg, r->nseg, &wav, &len);
  dt_http_header_t hh[] = {{"Content-Type", "application/octet-stream"}};
  dt_http_respond_ex(req, 200, hh, 1, wav, len);
  emu->n_rec_served++;
  free(wav);
}

/* ------------------------------------------------------------------ the router */
static void index_page(dt_emulator_t *emu, dt_http_request_t *req) {
  char *origin = dt__emu_origin(emu, req);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", "dialtone Graph calls emulator");
  char *s;
  s = dt_xasprintf("%s/v1.0/communications/calls", origin);
  cJSON_AddStringToObject(o, "calls", s);
  free(s);
  s = dt_xasprintf("%s/%s/oauth2/v2.0/token", origin, emu->tenant_id);
  cJSON_AddStringToObject(o, "token_endpoint", s);
  free(s);
  s = dt_xasprintf("%s/.well-known/openid-configuration", origin);
  cJSON_AddStringToObject(o, "openid_configuration", s);
  free(s);
  s = dt_xasprintf("%s/emulator", origin);
  cJSON_AddStringToObject(o, "control", s);
  free(s);
  cJSON_AddStringToObject(o, "app_id", emu->app_id);
  cJSON_AddStringToObject(o, "tenant_id", emu->tenant_id);
  free(origin);
  dt__emu_respond_json(req, 200, o, NULL);
}

static void on_request(dt_http_request_t *req, void *ud) {
  dt_emulator_t *emu = ud;
  if (emu->closing) {
    dt__emu_respond_error(req, 503, "serviceNotAvailable", "The emulator is shutting down.");
    return;
  }
  char path[1024];
  size_t pl = strlen(req->path);
  if (pl >= sizeof path) {
    dt__emu_respond_error(req, 414, "BadRequest", "Path too long.");
    return;
  }
  memcpy(path, req->path, pl + 1);
  while (pl > 1 && path[pl - 1] == '/') path[--pl] = '\0';
  const char *rest = NULL;
  if (strcmp(path, "/") == 0) {
    index_page(emu, req);
    return;
  }
  if (strcmp(path, "/.well-known/openid-configuration") == 0 ||
      strcmp(path, "/v1/.well-known/OpenIdConfiguration") == 0) {
    openid_config(emu, req);
    return;
  }
  if (strcmp(path, "/discovery/keys") == 0) {
    dt_http_request_set_route(req, "/discovery/keys");
    dt_http_header_t h[] = {{"Content-Type", "application/json"}};
    dt_http_respond_ex(req, 200, h, 1, emu->jwks_json, strlen(emu->jwks_json));
    return;
  }
  if (dt__emu_identity_route(emu, req, path)) return;
  if (dt__emu_path_under(path, "/emulator", &rest)) {
    dt__emu_control(emu, req, rest);
    return;
  }
  if (strncmp(path, "/recordings/", 12) == 0) {
    recording_get(emu, req, path + 12);
    return;
  }
  /* /{tenant}/oauth2/v2.0/token */
  const char *slash = strchr(path + 1, '/');
  if (slash && (strcmp(slash, "/oauth2/v2.0/token") == 0 || strcmp(slash, "/oauth2/token") == 0)) {
    token_endpoint(emu, req);
    return;
  }
  const char *p = path;
  const char *base = "";
  if (dt__emu_path_under(p, "/v1.0", &rest)) {
    base = "/v1.0";
    p = rest;
  } else if (dt__emu_path_under(p, "/beta", &rest)) {
    base = "/beta";
    p = rest;
  }
  if (dt__emu_path_under(p, "/communications/calls", &rest)) {
    dt__emu_graph(emu, req, base, "/communications/calls", rest);
    return;
  }
  if (dt__emu_path_under(p, "/app/calls", &rest)) {
    dt__emu_graph(emu, req, base, "/app/calls", rest);
    return;
  }
  if (dt_strncasecmp(p, "/applications/", 14) == 0) {
    const char *q = strchr(p + 14, '/');
    if (q && dt__emu_path_under(q, "/calls", &rest)) {
      dt__emu_graph(emu, req, base, "/app/calls", rest);
      return;
    }
  }
  if (dt__emu_online_meetings(emu, req, base, p)) return;
  dt__emu_respond_error(req, 404, "itemNotFound", "Resource not found: %s", req->path);
}

/* ------------------------------------------------------------------ lifecycle */
void dt_emulator_options_init(dt_emulator_options_t *o) {
  memset(o, 0, sizeof *o);
  o->listen = "127.0.0.1:0";
  o->time_scale = 1.0;
}

static char *opt_dup(const char *s, const char *def) { return dt_xstrdup(s && s[0] ? s : def); }

static void emu_free(dt_emulator_t *emu) {
  DT_FREE_ALL(emu->url, emu->bot_url, emu->app_id, emu->tenant_id, emu->client_secret, emu->recordings_dir,
              emu->jwks_json, emu->jwt, emu->tok_cache, emu->ca_file);
  dt_jwks_free(emu->jwks);
  if (emu->key) dt_jwt_key_free(emu->key);
  dt_client_cert_free(emu->client_cert);
  dt__emu_online_meetings_clear(emu);
  dt_free_then_done(emu, emu->close_done); /* set only by dt_emulator_close */
}

/* The certificate and key the server uses with tls: the given pair, or one the local CA
   makes in tls_dir (a new directory under /tmp when none is named). */
static int tls_files(dt_emulator_t *emu, const dt_emulator_options_t *opts, char **cert, char **key, char *err,
                     size_t errlen) {
  bool given_cert = opts->tls_cert_file && opts->tls_cert_file[0], given_key = opts->tls_key_file && opts->tls_key_file[0];
  if (given_cert != given_key) return dt_seterr(err, errlen, DT_EINVAL, "--tls-cert and --tls-key go together");
  if (given_cert) {
    *cert = dt_xstrdup(opts->tls_cert_file);
    *key = dt_xstrdup(opts->tls_key_file);
    return 0;
  }
  char dir[420];
  if (opts->tls_dir && opts->tls_dir[0]) {
    snprintf(dir, sizeof dir, "%s", opts->tls_dir);
  } else {
    snprintf(dir, sizeof dir, "/tmp/dialtone-emulator-tls-XXXXXX");
    if (mkdtemp(dir) == NULL) return dt_seterr(err, errlen, DT_EIO, "cannot create a directory under /tmp");
  }
  const char *hosts[EMU_TLS_MAX_HOSTS + 1];
  size_t nh = 0;
  char names[1024];
  snprintf(names, sizeof names, "%s", opts->tls_hosts ? opts->tls_hosts : "");
  for (char *save = NULL, *t = strtok_r(names, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
    if (nh == EMU_TLS_MAX_HOSTS + 1) break;
    hosts[nh++] = t;
  }
  int rc = dt__emu_tls_create(dir, hosts, nh, opts->key_bits, err, errlen);
  if (rc != 0) return rc;
  emu->ca_file = dt_xasprintf("%s/ca.pem", dir);
  *cert = dt_xasprintf("%s/server.pem", dir);
  *key = dt_xasprintf("%s/server-key.pem", dir);
  return 0;
}

int dt_emulator_start(uv_loop_t *loop, const dt_emulator_options_t *opts, dt_emulator_t **out,
                      char *err, size_t errlen) {
  dt_emulator_options_t defaults;
  if (opts == NULL) {
    dt_emulator_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->time_scale < 0 || opts->time_scale > 1000)
    return dt_seterr(err, errlen, DT_EINVAL, "time_scale must be between 0 and 1000");
  if (opts->bot_url && opts->bot_url[0] && dt_strncasecmp(opts->bot_url, "http://", 7) != 0 &&
      dt_strncasecmp(opts->bot_url, "https://", 8) != 0)
    return dt_seterr(err, errlen, DT_EINVAL, "bot URL must start with http:// or https://: %s", opts->bot_url);
  dt_emulator_t *emu = dt_xcalloc(1, sizeof *emu);
  emu->loop = loop;
  emu->metrics = opts->metrics;
  emu->quiet = opts->quiet != 0;
  emu->bot_url = opts->bot_url && opts->bot_url[0] ? dt_xstrdup(opts->bot_url) : NULL;
  emu->app_id = opt_dup(opts->app_id, DT_EMULATOR_DEFAULT_APP_ID);
  emu->tenant_id = opt_dup(opts->tenant_id, DT_EMULATOR_DEFAULT_TENANT_ID);
  emu->client_secret = opts->client_secret ? dt_xstrdup(opts->client_secret) : NULL;
  emu->recordings_dir = opts->recordings_dir && opts->recordings_dir[0] ? dt_xstrdup(opts->recordings_dir) : NULL;
  emu->cfg.time_scale = opts->time_scale;
  emu->cfg.default_prompt_ms = opts->default_prompt_ms > 0 ? opts->default_prompt_ms : 2000;
  emu->fetch_remote_prompts = opts->fetch_remote_prompts != 0;
  emu->cfg.strict = opts->strict != 0;
  emu->keepalive_sim = opts->keepalive_simulated != 0;
  emu->cfg.answer_timeout_ms = opts->answer_timeout_ms > 0 ? opts->answer_timeout_ms : 15000;
  emu->cfg.ring_timeout_ms = opts->ring_timeout_ms > 0 ? opts->ring_timeout_ms : 60000;
  emu->cfg.answer_delay_ms = opts->answer_delay_ms > 0 ? opts->answer_delay_ms : opts->answer_delay_ms < 0 ? 0 : 2000;
  emu->cfg.history = opts->history > 0 ? opts->history : 1000;
  dt_random_bytes(&emu->rng, sizeof emu->rng);
  emu->rng |= 1;

  char kid[28];
  dt__emu_random_token(kid, sizeof kid);
  int rc = opts->key_pem ? dt_jwt_key_from_pem(kid, opts->key_pem, strlen(opts->key_pem), &emu->key)
                         : dt_jwt_key_generate(kid, opts->key_bits ? opts->key_bits : 2048, &emu->key);
  if (rc != 0) {
    emu_free(emu);
    return dt_seterr(err, errlen, rc, "cannot generate the notification signing key: %s", dt_strerror(rc));
  }
  emu->jwks_json = dt_jwt_key_jwks_json(emu->key);
  if ((rc = dt_jwks_parse(emu->jwks_json, strlen(emu->jwks_json), &emu->jwks, err, errlen)) != 0 ||
      (rc = dt__emu_roles_parse(opts->roles, &emu->roles, err, errlen)) != 0) {
    emu_free(emu);
    return rc;
  }
  if (opts->client_cert_file && opts->client_cert_file[0] &&
      (rc = dt_client_cert_load(opts->client_cert_file, NULL, &emu->client_cert, err, errlen)) != 0) {
    emu_free(emu);
    return rc;
  }

  char *cert = NULL, *key = NULL;
  if (opts->tls && (rc = tls_files(emu, opts, &cert, &key, err, errlen)) != 0) {
    emu_free(emu);
    return rc;
  }
  dt_http_server_options_t so = {0};
  so.tls_cert_file = cert;
  so.tls_key_file = key;
  so.listen = opts->listen && opts->listen[0] ? opts->listen : "127.0.0.1:0";
  so.handler = on_request;
  so.handler_ud = emu;
  so.max_body_bytes = 1u << 20;
  so.metrics = opts->metrics;
  char serr[256] = "";
  rc = dt_http_server_start(loop, &so, &emu->srv, serr, sizeof serr);
  DT_FREE_ALL(cert, key);
  if (rc != 0) {
    emu_free(emu);
    return dt_seterr(err, errlen, rc, "cannot listen on %s: %s", so.listen, serr[0] ? serr : dt_strerror(rc));
  }
  emu->port = dt_http_server_port(emu->srv);
  /* the URL others use: a wildcard address is reached through loopback */
  char host[256];
  const char *l = so.listen;
  const char *colon = strrchr(l, ':');
  size_t hl = colon ? (size_t)(colon - l) : 0;
  if (hl >= sizeof host) hl = sizeof host - 1;
  memcpy(host, l, hl);
  host[hl] = '\0';
  if (hl == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0) snprintf(host, sizeof host, "127.0.0.1");
  else if (strcmp(host, "[::]") == 0) snprintf(host, sizeof host, "[::1]");
  emu->url = dt_xasprintf("%s://%s:%d", opts->tls ? "https" : "http", host, emu->port);

  dt_http_client_options_t co = {0};
  co.metrics = opts->metrics;
  co.insecure_tls = true; /* bots under test often run self-signed HTTPS */
  rc = dt_http_client_new(loop, &co, &emu->http);
  if (rc != 0) {
    /* the server is already listening: close it properly, then free */
    emu->closing = true;
    dt_http_server_close(emu->srv, NULL, NULL);
    emu_free(emu);
    return dt_seterr(err, errlen, rc, "cannot create the HTTP client");
  }
  dt__emu_sched_init(&emu->sim, emu, loop, false, emu->cfg.time_scale);
  dt__emu_sched_init(&emu->real, emu, loop, true, 1.0);
  /* the two calls that go up the modules (emu_model.h): a firing event holds its call, and
     a due script step is done by the caller */
  emu->sim.ref = emu->real.ref = dt__emu_call_ref;
  emu->sim.unref = emu->real.unref = dt__emu_call_unref;
  emu->script_act = dt__emu_caller_act;
  uv_idle_init(loop, &emu->hook_idle);
  emu->hook_idle.data = emu;
  if (!emu->quiet) dt_log_info("emulator: Graph calls emulator listening on %s (time scale %g)", emu->url, emu->cfg.time_scale);
  *out = emu;
  return 0;
}

const char *dt_emulator_url(const dt_emulator_t *emu) { return emu->url; }
int dt_emulator_port(const dt_emulator_t *emu) { return emu->port; }
const char *dt_emulator_app_id(const dt_emulator_t *emu) { return emu->app_id; }
const char *dt_emulator_tenant_id(const dt_emulator_t *emu) { return emu->tenant_id; }
const char *dt_emulator_ca_file(const dt_emulator_t *emu) { return emu->ca_file; }

static void teardown(dt_emulator_t *emu) {
  emu_inflight_t *f;
  while ((f = DT_LIST_ENTRY(dt_list_pop_front(&emu->inflight), emu_inflight_t, link)) != NULL) f->free_fn(f);
  size_t n = 0;
  void **vals = dt_hashmap_values(&emu->calls, &n);
  for (size_t i = 0; i < n; i++) dt__emu_call_free(vals[i]);
  free(vals);
  dt_hashmap_clear(&emu->calls, NULL);
  dt_hashmap_clear(&emu->prompts, dt__emu_prompt_cache_free);
  dt_hashmap_clear(&emu->recordings, dt__emu_recording_free);
  dt_hashmap_clear(&emu->parties, dt__emu_party_free);
  for (size_t i = 0; i < emu->hook_n; i++) cJSON_Delete(emu->hook_q[i]);
  free(emu->hook_q);
  emu_free(emu);
}

static void on_part_closed(void *ud) {
  dt_emulator_t *emu = ud;
  if (--emu->close_pending == 0) teardown(emu);
}

static void on_timer_closed(uv_handle_t *h) {
  dt__emu_sched_t *s = h->data;
  on_part_closed(s->emu);
}

static void on_idle_closed(uv_handle_t *h) { on_part_closed(h->data); }

void dt_emulator_close(dt_emulator_t *emu, void (*done)(void *ud), void *ud) {
  if (emu == NULL || emu->closing) return;
  emu->closing = true;
  emu->close_done = (dt_done_t){done, ud};
  emu->close_pending = 5;
  emu->event_fn = NULL;
  dt__emu_events_close_all(emu);
  uv_close((uv_handle_t *)&emu->hook_idle, on_idle_closed);
  /* calls are freed in teardown regardless of references; events go now */
  dt__emu_sched_close(&emu->sim, on_timer_closed);
  dt__emu_sched_close(&emu->real, on_timer_closed);
  dt_http_server_close(emu->srv, on_part_closed, emu);
  dt_http_client_close(emu->http, on_part_closed, emu);
}

void dt_emulator_on_probe(dt_emulator_t *emu, dt_emulator_probe_fn fn, void *ud) {
  if (emu == NULL) return;
  emu->probe_fn = fn;
  emu->probe_ud = ud;
}

/* ------------------------------------------------------------------ threaded embedding */
struct dt_emulator_thread_s {
  uv_thread_t tid;
  uv_loop_t loop;
  uv_async_t stop;
  uv_async_t bot;            /* dt_emulator_thread_set_bot_url's handoff */
  uv_mutex_t mu;
  uv_cond_t cv;
  bool ready;
  /* one bot URL change at a time, guarded by mu: the caller waits for bot_done */
  bool bot_busy, bot_done;
  const char *bot_url;
  int bot_rc;
  char bot_err[256];
  int rc;
  char err[256];
  const dt_emulator_options_t *opts;
  dt_emulator_t *emu;
  char *url, *app_id, *tenant_id;
};

static void thread_emu_closed(void *ud) { (void)ud; }

static void thread_on_stop(uv_async_t *a) {
  dt_emulator_thread_t *t = a->data;
  dt_emulator_close(t->emu, thread_emu_closed, t);
  uv_close((uv_handle_t *)&t->stop, NULL);
  uv_close((uv_handle_t *)&t->bot, NULL);
}

/* On the emulator's thread: applies the URL the caller left under mu and wakes it. */
static void thread_on_bot(uv_async_t *a) {
  dt_emulator_thread_t *t = a->data;
  uv_mutex_lock(&t->mu);
  if (t->bot_busy && !t->bot_done) {
    t->bot_rc = dt_emulator_set_bot_url(t->emu, t->bot_url, t->bot_err, sizeof t->bot_err);
    t->bot_done = true;
    uv_cond_broadcast(&t->cv);
  }
  uv_mutex_unlock(&t->mu);
}

int dt_emulator_thread_set_bot_url(dt_emulator_thread_t *t, const char *url, char *err, size_t errlen) {
  if (t == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no emulator thread");
  uv_mutex_lock(&t->mu);
  while (t->bot_busy) uv_cond_wait(&t->cv, &t->mu);
  t->bot_busy = true;
  t->bot_done = false;
  t->bot_url = url;
  t->bot_err[0] = '\0';
  uv_mutex_unlock(&t->mu);
  uv_async_send(&t->bot);
  uv_mutex_lock(&t->mu);
  while (!t->bot_done) uv_cond_wait(&t->cv, &t->mu);
  int rc = t->bot_rc;
  if (rc != 0) dt_seterr(err, errlen, rc, "%s", t->bot_err);
  t->bot_busy = false;
  t->bot_url = NULL;
  uv_cond_broadcast(&t->cv);
  uv_mutex_unlock(&t->mu);
  return rc;
}

static void thread_main(void *arg) {
  dt_emulator_thread_t *t = arg;
  int rc = dt_emulator_start(&t->loop, t->opts, &t->emu, t->err, sizeof t->err);
  uv_mutex_lock(&t->mu);
  t->rc = rc;
  if (rc == 0) {
    t->url = dt_xstrdup(dt_emulator_url(t->emu));
    t->app_id = dt_xstrdup(t->emu->app_id);
    t->tenant_id = dt_xstrdup(t->emu->tenant_id);
  }
  t->ready = true;
  uv_cond_signal(&t->cv);
  uv_mutex_unlock(&t->mu);
  if (rc != 0) {
    uv_close((uv_handle_t *)&t->stop, NULL);
    uv_close((uv_handle_t *)&t->bot, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return;
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
}

int dt_emulator_thread_start(const dt_emulator_options_t *opts, dt_emulator_thread_t **out,
                             char *err, size_t errlen) {
  dt_emulator_thread_t *t = dt_xcalloc(1, sizeof *t);
  t->opts = opts;
  if (uv_loop_init(&t->loop) != 0) {
    free(t);
    return dt_seterr(err, errlen, DT_EIO, "cannot create the emulator's loop");
  }
  uv_async_init(&t->loop, &t->stop, thread_on_stop);
  t->stop.data = t;
  uv_async_init(&t->loop, &t->bot, thread_on_bot);
  t->bot.data = t;
  uv_mutex_init(&t->mu);
  uv_cond_init(&t->cv);
  if (uv_thread_create(&t->tid, thread_main, t) != 0) {
    uv_close((uv_handle_t *)&t->stop, NULL);
    uv_close((uv_handle_t *)&t->bot, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    uv_mutex_destroy(&t->mu);
    uv_cond_destroy(&t->cv);
    free(t);
    return dt_seterr(err, errlen, DT_EIO, "cannot start the emulator's thread");
  }
  uv_mutex_lock(&t->mu);
  while (!t->ready) uv_cond_wait(&t->cv, &t->mu);
  uv_mutex_unlock(&t->mu);
  t->opts = NULL;
  if (t->rc != 0) {
    int rc = t->rc;
    dt_seterr(err, errlen, rc, "%s", t->err);
    uv_thread_join(&t->tid);
    uv_loop_close(&t->loop);
    uv_mutex_destroy(&t->mu);
    uv_cond_destroy(&t->cv);
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

const char *dt_emulator_thread_url(const dt_emulator_thread_t *t) { return t->url; }
const char *dt_emulator_thread_app_id(const dt_emulator_thread_t *t) { return t->app_id; }
const char *dt_emulator_thread_tenant_id(const dt_emulator_thread_t *t) { return t->tenant_id; }

void dt_emulator_thread_stop(dt_emulator_thread_t *t) {
  if (t == NULL) return;
  uv_async_send(&t->stop);
  uv_thread_join(&t->tid);
  uv_loop_close(&t->loop);
  uv_mutex_destroy(&t->mu);
  uv_cond_destroy(&t->cv);
  DT_FREE_ALL(t->url, t->app_id, t->tenant_id);
  free(t);
}
