/*
 * emu_identity.c — the emulator as the Microsoft identity platform for app-only Graph.
 *
 * Owns: the access tokens the token endpoint issues (RS256 JWTs signed with the emulator's
 * key, shaped as the platform's v1.0 app-only Graph tokens: aud, iss
 * "https://sts.windows.net/{tenant}/", tid, appid/azp, roles, iat/nbf/exp, oid/sub, ver),
 * their verification on Graph requests (signature, time, audience, issuer), the app's
 * granted application permissions and Graph's 403 for a request without the one it needs,
 * and the discovery documents MSAL reads: /{tenant}/v2.0/.well-known/openid-configuration,
 * /common/discovery/instance and /{tenant}/discovery/v2.0/keys.
 * Promises: a token verifies only with this emulator's key; the last verified token is
 * cached (string, roles, expiry) so a bot's stream of requests costs one RSA check.
 */
#include "emu_identity.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "emu_http.h"
#include "emu_util.h"

#define GRAPH_AUDIENCE "https://graph.microsoft.com"
#define GRAPH_APP_ID "00000003-0000-0000-c000-000000000000"

const char *const dt__emu_role_names[EMU_ROLE_COUNT] = {
    "Calls.AccessMedia.All",       "Calls.Initiate.All",          "Calls.InitiateGroupCall.All",
    "Calls.JoinGroupCall.All",     "Calls.JoinGroupCallAsGuest.All", "OnlineMeetings.ReadWrite.All",
};

static int role_bit(const char *name, size_t len) {
  for (int i = 0; i < EMU_ROLE_COUNT; i++)
    if (strlen(dt__emu_role_names[i]) == len && dt_strncasecmp(dt__emu_role_names[i], name, len) == 0) return i;
  return -1;
}

int dt__emu_roles_parse(const char *text, unsigned *out, char *err, size_t errlen) {
  if (text == NULL || text[0] == '\0') {
    *out = EMU_ROLES_ALL;
    return 0;
  }
  if (dt_strcasecmp(text, "none") == 0) {
    *out = 0;
    return 0;
  }
  unsigned bits = 0;
  const char *p = text;
  while (*p) {
    while (*p == ',' || *p == ' ') p++;
    const char *s = p;
    while (*p && *p != ',' && *p != ' ') p++;
    if (p == s) break;
    int b = role_bit(s, (size_t)(p - s));
    if (b < 0)
      return dt_seterr(err, errlen, DT_EINVAL,
                       "unknown Graph application permission '%.*s' (known: Calls.AccessMedia.All, "
                       "Calls.Initiate.All, Calls.InitiateGroupCall.All, Calls.JoinGroupCall.All, "
                       "Calls.JoinGroupCallAsGuest.All, OnlineMeetings.ReadWrite.All, or none)",
                       (int)(p - s > 80 ? 80 : p - s), s);
    bits |= 1u << b;
  }
  *out = bits;
  return 0;
}

/* ------------------------------------------------------------------ tokens */
static char *issuer(const dt_emulator_t *emu) { return dt_xasprintf("https://sts.windows.net/%s/", emu->tenant_id); }

char *dt__emu_token_issue_for(dt_emulator_t *emu, const char *resource, int64_t lifetime_s) {
  int64_t now = dt_unix_time();
  char *iss = issuer(emu);
  char uti[23];
  dt__emu_random_token(uti, sizeof uti);
  /* the app's service principal object id: one per emulator app */
  static const char oid[] = "5e7f0b1a-c0de-4d1a-8100-d1a170e00000";
  cJSON *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "aud", resource && resource[0] ? resource : GRAPH_AUDIENCE);
  cJSON_AddStringToObject(c, "iss", iss);
  cJSON_AddNumberToObject(c, "iat", (double)now);
  cJSON_AddNumberToObject(c, "nbf", (double)now);
  cJSON_AddNumberToObject(c, "exp", (double)(now + lifetime_s));
  cJSON_AddStringToObject(c, "aio", "E2ZgYDg4dialtoneEmulatorAA==");
  cJSON_AddStringToObject(c, "app_displayname", "dialtone emulator app");
  cJSON_AddStringToObject(c, "appid", emu->app_id);
  cJSON_AddStringToObject(c, "appidacr", emu->client_cert ? "2" : "1");
  cJSON_AddStringToObject(c, "azp", emu->app_id);
  cJSON_AddStringToObject(c, "idp", iss);
  cJSON_AddStringToObject(c, "idtyp", "app");
  cJSON_AddStringToObject(c, "oid", oid);
  cJSON_AddStringToObject(c, "rh", "0.emulator.");
  cJSON *roles = cJSON_AddArrayToObject(c, "roles");
  for (int i = 0; i < EMU_ROLE_COUNT; i++)
    if (emu->roles & (1u << i)) cJSON_AddItemToArray(roles, cJSON_CreateString(dt__emu_role_names[i]));
  cJSON_AddStringToObject(c, "sub", oid);
  cJSON_AddStringToObject(c, "tenant_region_scope", "EU");
  cJSON_AddStringToObject(c, "tid", emu->tenant_id);
  cJSON_AddStringToObject(c, "uti", uti);
  cJSON_AddStringToObject(c, "ver", "1.0");
  char *tok = NULL;
  if (dt_jwt_sign(emu->key, c, &tok) != 0) tok = NULL;
  cJSON_Delete(c);
  free(iss);
  return tok;
}

char *dt__emu_token_issue(dt_emulator_t *emu, int64_t lifetime_s) {
  return dt__emu_token_issue_for(emu, NULL, lifetime_s);
}

int dt__emu_token_check(dt_emulator_t *emu, const char *token, unsigned *roles, char *why, size_t whylen) {
  if (token == NULL || token[0] == '\0') return dt_seterr(why, whylen, DT_EAUTH, "the token is empty");
  if (emu->tok_cache && strcmp(emu->tok_cache, token) == 0 && emu->tok_cache_exp > dt_unix_time()) {
    *roles = emu->tok_cache_roles;
    return 0;
  }
  if (emu->jwks == NULL) return dt_seterr(why, whylen, DT_EAUTH, "the emulator has no signing keys");
  char *iss = issuer(emu);
  const char *issuers[] = {iss};
  dt_jwt_verify_options_t vo = {.issuers = issuers, .issuer_count = 1, .audience = GRAPH_AUDIENCE};
  cJSON *claims = NULL;
  int rc = dt_jwt_verify(emu->jwks, token, &vo, &claims, why, whylen);
  if (rc != 0) {
    /* Graph also takes its application id as the audience */
    vo.audience = GRAPH_APP_ID;
    char why2[8];
    if (dt_jwt_verify(emu->jwks, token, &vo, &claims, why2, sizeof why2) == 0) rc = 0;
  }
  free(iss);
  if (rc != 0) return DT_EAUTH;
  unsigned bits = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(claims, "roles")) {
    if (!cJSON_IsString(r)) continue;
    int b = role_bit(r->valuestring, strlen(r->valuestring));
    if (b >= 0) bits |= 1u << b;
  }
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
  free(emu->tok_cache);
  emu->tok_cache = strlen(token) < 16384 ? dt_xstrdup(token) : NULL;
  emu->tok_cache_exp = cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0;
  emu->tok_cache_roles = bits;
  cJSON_Delete(claims);
  *roles = bits;
  return 0;
}

bool dt__emu_token_valid(dt_emulator_t *emu, const char *token) {
  unsigned roles;
  char why[160];
  return dt__emu_token_check(emu, token, &roles, why, sizeof why) == 0;
}

bool dt__emu_graph_admit(dt_emulator_t *emu, dt_http_request_t *req) {
  emu->n_requests++;
  emu->req_roles = 0;
  dt_http_request_set_route(req, "/graph");
  emu_faults_t *f = &emu->faults;
  if (f->graph_hang) return false; /* never answered: the server frees it when the connection goes */
  int st = dt__emu_fault_take(&f->graph_status, &f->graph_status_count);
  if (st) {
    const char *code = st == 429 ? "TooManyRequests" : st == 503 ? "serviceNotAvailable" : "generalException";
    dt__emu_respond_fault(req, st, f->retry_after_s, code);
    return false;
  }
  const char *h = dt_http_request_header(req, "Authorization");
  if (h == NULL || h[0] == '\0') {
    dt__emu_respond_error(req, 401, "InvalidAuthenticationToken", "Access token is empty.");
    return false;
  }
  char why[200] = "";
  if (dt_strncasecmp(h, "Bearer ", 7) != 0 || dt__emu_token_check(emu, h + 7, &emu->req_roles, why, sizeof why) != 0) {
    dt__emu_respond_error(req, 401, "InvalidAuthenticationToken",
                          "Access token validation failure. Invalid audience, signature or lifetime (%s); get a "
                          "token from the emulator's token endpoint.",
                          why[0] ? why : "not a bearer token");
    return false;
  }
  return true;
}

bool dt__emu_permit(dt_emulator_t *emu, dt_http_request_t *req, unsigned any_of) {
  if (emu->req_roles & any_of) return true;
  char need[256] = "", have[256] = "";
  for (int i = 0; i < EMU_ROLE_COUNT; i++) {
    if (any_of & (1u << i))
      snprintf(need + strlen(need), sizeof need - strlen(need), "%s'%s'", need[0] ? ", " : "", dt__emu_role_names[i]);
    if (emu->req_roles & (1u << i))
      snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? " " : "", dt__emu_role_names[i]);
  }
  dt__emu_respond_error(req, 403, "Forbidden",
                        "Missing role permissions on the request. API requires one of %s. Roles on the request '%s'.",
                        need, have);
  return false;
}

/* ------------------------------------------------------------------ discovery documents */
static void add_strings(cJSON *o, const char *name, const char *const *v, size_t n) {
  cJSON *a = cJSON_AddArrayToObject(o, name);
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* GET /{tenant}/v2.0/.well-known/openid-configuration, as the platform publishes it, every
   endpoint at the emulator's own origin (the tenant as the client named it). */
static void openid_v2(dt_emulator_t *emu, dt_http_request_t *req, const char *tenant, size_t tl) {
  dt_http_request_set_route(req, "/{tenant}/v2.0/.well-known/openid-configuration");
  char *o = dt__emu_origin(emu, req);
  char t[128];
  snprintf(t, sizeof t, "%.*s", (int)(tl < sizeof t ? tl : sizeof t - 1), tenant);
  bool generic = dt_strcasecmp(t, "common") == 0 || dt_strcasecmp(t, "organizations") == 0;
  cJSON *d = cJSON_CreateObject();
  char *s;
#define ADDF(name, ...)                                                                                       \
  do {                                                                                                        \
    s = dt_xasprintf(__VA_ARGS__);                                                                            \
    cJSON_AddStringToObject(d, name, s);                                                                      \
    free(s);                                                                                                  \
  } while (0)
  ADDF("token_endpoint", "%s/%s/oauth2/v2.0/token", o, t);
  static const char *const auth_methods[] = {"client_secret_post", "private_key_jwt", "client_secret_basic"};
  add_strings(d, "token_endpoint_auth_methods_supported", auth_methods, 3);
  ADDF("jwks_uri", "%s/%s/discovery/v2.0/keys", o, t);
  static const char *const modes[] = {"query", "fragment", "form_post"};
  add_strings(d, "response_modes_supported", modes, 3);
  static const char *const subjects[] = {"pairwise"};
  add_strings(d, "subject_types_supported", subjects, 1);
  static const char *const algs[] = {"RS256"};
  add_strings(d, "id_token_signing_alg_values_supported", algs, 1);
  static const char *const rtypes[] = {"code", "id_token", "code id_token", "id_token token"};
  add_strings(d, "response_types_supported", rtypes, 4);
  static const char *const scopes[] = {"openid", "profile", "email", "offline_access"};
  add_strings(d, "scopes_supported", scopes, 4);
  ADDF("issuer", "%s/%s/v2.0", o, generic ? "{tenantid}" : emu->tenant_id);
  cJSON_AddBoolToObject(d, "request_uri_parameter_supported", false);
  ADDF("userinfo_endpoint", "%s/oidc/userinfo", o);
  ADDF("authorization_endpoint", "%s/%s/oauth2/v2.0/authorize", o, t);
  ADDF("device_authorization_endpoint", "%s/%s/oauth2/v2.0/devicecode", o, t);
  cJSON_AddBoolToObject(d, "http_logout_supported", true);
  cJSON_AddBoolToObject(d, "frontchannel_logout_supported", true);
  ADDF("end_session_endpoint", "%s/%s/oauth2/v2.0/logout", o, t);
  static const char *const claims[] = {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                                       "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                       "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"};
  add_strings(d, "claims_supported", claims, sizeof claims / sizeof claims[0]);
  ADDF("kerberos_endpoint", "%s/%s/kerberos", o, t);
  cJSON_AddStringToObject(d, "tenant_region_scope", "EU");
  cJSON_AddStringToObject(d, "cloud_instance_name", "microsoftonline.com");
  cJSON_AddStringToObject(d, "cloud_graph_host_name", "graph.windows.net");
  cJSON_AddStringToObject(d, "msgraph_host", "graph.microsoft.com");
  cJSON_AddStringToObject(d, "rbac_url", "https://pas.windows.net");
#undef ADDF
  free(o);
  dt__emu_respond_json(req, 200, d, NULL);
}

/* GET /common/discovery/instance?api-version=1.1&authorization_endpoint=...: MSAL's instance
   discovery; the emulator is its own (only) cloud instance. */
static void instance_discovery(dt_emulator_t *emu, dt_http_request_t *req) {
  dt_http_request_set_route(req, "/common/discovery/instance");
  char *o = dt__emu_origin(emu, req);
  const char *host = strstr(o, "://") ? strstr(o, "://") + 3 : o;
  cJSON *d = cJSON_CreateObject();
  char *s = dt_xasprintf("%s/%s/v2.0/.well-known/openid-configuration", o, emu->tenant_id);
  cJSON_AddStringToObject(d, "tenant_discovery_endpoint", s);
  free(s);
  cJSON_AddStringToObject(d, "api-version", "1.1");
  cJSON *md = cJSON_AddArrayToObject(d, "metadata");
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "preferred_network", host);
  cJSON_AddStringToObject(m, "preferred_cache", host);
  add_strings(m, "aliases", &host, 1);
  cJSON_AddItemToArray(md, m);
  dt__emu_respond_json(req, 200, d, NULL);
  free(o);
}

bool dt__emu_identity_route(dt_emulator_t *emu, dt_http_request_t *req, const char *path) {
  if (path[0] != '/') return false;
  const char *tenant = path + 1;
  const char *slash = strchr(tenant, '/');
  if (slash == NULL || slash == tenant) return false;
  size_t tl = (size_t)(slash - tenant);
  if (tl > 100) return false;
  bool get = strcmp(req->method, "GET") == 0;
  if (strcmp(slash, "/v2.0/.well-known/openid-configuration") == 0) {
    if (get) openid_v2(emu, req, tenant, tl);
    else dt__emu_respond_error(req, 405, "methodNotAllowed", "%s is not allowed on %s.", req->method, req->path);
    return true;
  }
  if (strcmp(slash, "/discovery/v2.0/keys") == 0 || strcmp(slash, "/discovery/keys") == 0) {
    dt_http_request_set_route(req, "/{tenant}/discovery/v2.0/keys");
    dt_http_header_t h[] = {{"Content-Type", "application/json"}};
    dt_http_respond_ex(req, 200, h, 1, emu->jwks_json, strlen(emu->jwks_json));
    return true;
  }
  if (tl == 6 && memcmp(tenant, "common", 6) == 0 && strcmp(slash, "/discovery/instance") == 0) {
    instance_discovery(emu, req);
    return true;
  }
  return false;
}
