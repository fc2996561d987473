/* Unit tests of emu_identity.c: access tokens are RS256 JWTs shaped as the identity
   platform's app-only Graph tokens and verify against the JWKS the emulator publishes;
   Graph refuses a forged, expired, foreign-audience or opaque token with 401 and a request
   without the needed application permission with 403; the roles option; the discovery
   documents MSAL reads (v2.0 OpenID metadata, instance discovery, keys). */
#include "harness/emu_fixture.h"
#include "dialtone/error.h"
#include "emulator/emu_identity.h"

static const char *code_of(const ef_resp_t *r) {
  const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code");
  return cJSON_IsString(c) ? c->valuestring : "";
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

DT_TEST(roles_parse) {
  unsigned r = 0;
  char err[256];
  DT_ASSERT_EQ_INT(dt__emu_roles_parse(NULL, &r, err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)r, EMU_ROLES_ALL);
  DT_ASSERT_EQ_INT(dt__emu_roles_parse("none", &r, err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)r, 0);
  DT_ASSERT_EQ_INT(dt__emu_roles_parse("Calls.Initiate.All, calls.accessmedia.all", &r, err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)r, EMU_ROLE_CALLS_INITIATE | EMU_ROLE_CALLS_ACCESS_MEDIA);
  DT_ASSERT_EQ_INT(dt__emu_roles_parse("Calls.Initiate.All,Mail.Read", &r, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "Mail.Read");
}

DT_TEST(access_tokens_are_graph_jwts_that_verify_against_the_published_keys) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  ef_resp_t r = ef_http(&f, "POST", "/t1/oauth2/v2.0/token", NULL,
                        "grant_type=client_credentials&client_id=" DT_EMULATOR_DEFAULT_APP_ID
                        "&client_secret=s&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");
  DT_ASSERT_EQ_INT(r.status, 200);
  char *tok = dt_xstrdup(str(r.json, "access_token"));
  ef_resp_free(&r);
  /* the keys come from the OpenID metadata's jwks_uri */
  r = ef_http(&f, "GET", "/" DT_EMULATOR_DEFAULT_TENANT_ID "/v2.0/.well-known/openid-configuration", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  const char *jwks_uri = str(r.json, "jwks_uri");
  DT_ASSERT_CONTAINS(jwks_uri, "/" DT_EMULATOR_DEFAULT_TENANT_ID "/discovery/v2.0/keys");
  DT_ASSERT_CONTAINS(str(r.json, "token_endpoint"), "/" DT_EMULATOR_DEFAULT_TENANT_ID "/oauth2/v2.0/token");
  DT_ASSERT_CONTAINS(str(r.json, "authorization_endpoint"), "/oauth2/v2.0/authorize");
  DT_ASSERT_CONTAINS(str(r.json, "issuer"), "/" DT_EMULATOR_DEFAULT_TENANT_ID "/v2.0");
  char *keys_path = dt_xstrdup(strstr(jwks_uri + 8, "/"));
  ef_resp_free(&r);
  r = ef_http(&f, "GET", keys_path, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  dt_jwks_t *jwks = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_jwks_parse(r.body, strlen(r.body), &jwks, err, sizeof err), 0);
  ef_resp_free(&r);
  const char *iss[] = {"https://sts.windows.net/" DT_EMULATOR_DEFAULT_TENANT_ID "/"};
  dt_jwt_verify_options_t vo = {.issuers = iss, .issuer_count = 1, .audience = "https://graph.microsoft.com"};
  cJSON *claims = NULL;
  DT_ASSERT_EQ_INT(dt_jwt_verify(jwks, tok, &vo, &claims, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(str(claims, "appid"), DT_EMULATOR_DEFAULT_APP_ID);
  DT_ASSERT_EQ_STR(str(claims, "azp"), DT_EMULATOR_DEFAULT_APP_ID);
  DT_ASSERT_EQ_STR(str(claims, "tid"), DT_EMULATOR_DEFAULT_TENANT_ID);
  DT_ASSERT_EQ_STR(str(claims, "ver"), "1.0");
  DT_ASSERT(str(claims, "oid")[0] && strcmp(str(claims, "oid"), str(claims, "sub")) == 0);
  const cJSON *roles = cJSON_GetObjectItem(claims, "roles");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(roles), 6);
  char *rs = cJSON_PrintUnformatted(roles);
  DT_ASSERT_CONTAINS(rs, "\"Calls.Initiate.All\"");
  DT_ASSERT_CONTAINS(rs, "\"Calls.AccessMedia.All\"");
  DT_ASSERT_CONTAINS(rs, "\"OnlineMeetings.ReadWrite.All\"");
  free(rs);
  const cJSON *exp = cJSON_GetObjectItem(claims, "exp"), *iat = cJSON_GetObjectItem(claims, "iat");
  DT_ASSERT(cJSON_IsNumber(exp) && cJSON_IsNumber(iat) && exp->valuedouble - iat->valuedouble == 3599);
  DT_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(claims, "nbf")));
  cJSON_Delete(claims);
  /* the header names the key */
  const char *dot = strchr(tok, '.');
  unsigned char *hdr = NULL;
  size_t hl = 0;
  DT_ASSERT_EQ_INT(dt_base64url_decode(tok, (size_t)(dot - tok), &hdr, &hl), 0);
  cJSON *h = cJSON_ParseWithLength((const char *)hdr, hl);
  DT_ASSERT_EQ_STR(str(h, "alg"), "RS256");
  DT_ASSERT(dt_jwks_has_kid(jwks, str(h, "kid")));
  cJSON_Delete(h);
  free(hdr);
  dt_jwks_free(jwks);
  /* Graph accepts it */
  char *auth = dt_xasprintf("Bearer %s", tok);
  r = ef_http(&f, "GET", "/v1.0/communications/calls/0fe0623f-d628-42ed-b4bd-8ac290072cc5", auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  ef_resp_free(&r);
  free(auth);
  /* a bad scope is the platform's invalid_scope */
  r = ef_http(&f, "POST", "/t1/oauth2/v2.0/token", NULL,
              "grant_type=client_credentials&client_id=" DT_EMULATOR_DEFAULT_APP_ID "&scope=Calls.Initiate.All");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(str(r.json, "error"), "invalid_scope");
  DT_ASSERT_CONTAINS(str(r.json, "error_description"), "AADSTS1002012");
  ef_resp_free(&r);
  free(keys_path);
  free(tok);
  ef_settle(&f);
  ef_stop(&f);
}

static int graph_status(ef_t *f, const char *token, const char *method, const char *path, const char *body,
                        char *code, size_t cl) {
  char *auth = dt_xasprintf("Bearer %s", token);
  ef_resp_t r = ef_http(f, method, path, auth, body);
  snprintf(code, cl, "%s", code_of(&r));
  int st = r.status;
  ef_resp_free(&r);
  free(auth);
  return st;
}

DT_TEST(graph_takes_only_tokens_that_verify) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char code[64];
  const char *path = "/v1.0/communications/calls/0fe0623f-d628-42ed-b4bd-8ac290072cc5";
  char *good = dt__emu_token_issue(f.emu, 60);
  DT_ASSERT_EQ_INT(graph_status(&f, good, "GET", path, NULL, code, sizeof code), 404);
  /* a tampered signature */
  char *bad = dt_xstrdup(good);
  size_t n = strlen(bad);
  bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
  DT_ASSERT_EQ_INT(graph_status(&f, bad, "GET", path, NULL, code, sizeof code), 401);
  DT_ASSERT_EQ_STR(code, "InvalidAuthenticationToken");
  /* expired beyond the clock skew */
  char *old = dt__emu_token_issue(f.emu, -3600);
  DT_ASSERT_EQ_INT(graph_status(&f, old, "GET", path, NULL, code, sizeof code), 401);
  /* another audience */
  char *other = dt__emu_token_issue_for(f.emu, "api://someone-else", 60);
  DT_ASSERT_EQ_INT(graph_status(&f, other, "GET", path, NULL, code, sizeof code), 401);
  /* the old opaque shape */
  DT_ASSERT_EQ_INT(graph_status(&f, "eyJ0eXAiOiJkdGVtdSJ9.99999999999.abcd", "GET", path, NULL, code, sizeof code), 401);
  DT_ASSERT(!dt__emu_token_valid(f.emu, NULL));
  DT_ASSERT(dt__emu_token_valid(f.emu, good));
  DT_FREE_ALL(good, bad, old, other);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_request_without_the_needed_permission_gets_403) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char code[64];
  f.emu->roles = EMU_ROLE_CALLS_INITIATE; /* no media, no meetings */
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *body = dt_xasprintf("{\"callbackUri\":\"%s\",\"targets\":[{\"identity\":{\"user\":{\"id\":\"carol\"}}}],"
                            "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}",
                            f.bot_url);
  char *auth = dt_xasprintf("Bearer %s", tok);
  ef_resp_t r = ef_http(&f, "POST", "/v1.0/communications/calls", auth, body);
  DT_ASSERT_EQ_INT(r.status, 201);
  char path[200];
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/recordResponse", cJSON_GetObjectItem(r.json, "id")->valuestring);
  ef_resp_free(&r);
  DT_ASSERT_EQ_INT(graph_status(&f, tok, "POST", path, "{}", code, sizeof code), 403);
  DT_ASSERT_EQ_STR(code, "Forbidden");
  r = ef_http(&f, "POST", path, auth, "{}");
  DT_ASSERT_CONTAINS(r.body, "Calls.AccessMedia.All");
  ef_resp_free(&r);
  strcpy(strrchr(path, '/'), "/subscribeToTone");
  DT_ASSERT_EQ_INT(graph_status(&f, tok, "POST", path, "{}", code, sizeof code), 403);
  DT_ASSERT_EQ_INT(graph_status(&f, tok, "GET", "/v1.0/communications/onlineMeetings", NULL, code, sizeof code), 403);
  /* joining a meeting needs JoinGroupCall(AsGuest) */
  DT_ASSERT_EQ_INT(graph_status(&f, tok, "POST", "/v1.0/communications/calls",
                                "{\"meetingInfo\":{},\"callbackUri\":\"https://bot.example/cb\"}", code, sizeof code),
                   403);
  free(tok);
  /* with no calling permission at all, even reading a call is refused */
  f.emu->roles = EMU_ROLE_ONLINE_MEETINGS_RW;
  tok = dt__emu_token_issue(f.emu, 60);
  DT_ASSERT_EQ_INT(graph_status(&f, tok, "POST", "/v1.0/communications/calls", body, code, sizeof code), 403);
  DT_FREE_ALL(tok, body, auth);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(discovery_documents) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  ef_resp_t r = ef_http(&f, "GET",
                        "/common/discovery/instance?api-version=1.1&authorization_endpoint="
                        "https://x/common/oauth2/v2.0/authorize",
                        NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_CONTAINS(str(r.json, "tenant_discovery_endpoint"), "/v2.0/.well-known/openid-configuration");
  const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "metadata"), 0);
  DT_ASSERT_CONTAINS(str(m, "preferred_network"), "127.0.0.1:");
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/common/v2.0/.well-known/openid-configuration", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_CONTAINS(str(r.json, "issuer"), "{tenantid}/v2.0");
  DT_ASSERT_CONTAINS(str(r.json, "token_endpoint"), "/common/oauth2/v2.0/token");
  ef_resp_free(&r);
  r = ef_http(&f, "POST", "/common/v2.0/.well-known/openid-configuration", NULL, "{}");
  DT_ASSERT_EQ_INT(r.status, 405);
  ef_resp_free(&r);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
