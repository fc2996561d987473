/*
 * test_ingress_security.c — inbound notification authentication end to end (issue 6):
 * tokens signed by the wrong key under the right kid, expired tokens, unsigned tokens
 * (alg "none"), and tokens for another audience or issuer are refused with 401, and
 * nothing reaches Graph: the emulator's request counter and the engine's calls do not
 * move. A correctly signed token, the control, does move them. (Missing, malformed and
 * unknown-kid tokens are covered by test_engine_ingress.c.) And HTTPS ingress, the
 * production setting: the engine derives an https:// callback and whole calls run over it.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/tls_testcert.h"
#include "dialtone/jwt.h"

static char *g_pem;

/* The emulator's signing key, made once, so the test can sign tokens the engine trusts. */
static const char *emulator_pem(void) {
  if (!g_pem) {
    dt_jwt_key_t *k = NULL;
    if (dt_jwt_key_generate("setup", 2048, &k) != 0) return NULL;
    dt_jwt_key_to_pem(k, &g_pem);
    dt_jwt_key_free(k);
  }
  return g_pem;
}

/* The kid the emulator publishes (its JWKS). */
static void emulator_kid(char kid[64]) {
  char url[256];
  snprintf(url, sizeof url, "%s/discovery/keys", H.emu_url);
  cJSON *j = h_http_json(&H, "GET", url, NULL, NULL);
  const cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "keys"), 0);
  snprintf(kid, 64, "%s", h_str(k0, "kid") ? h_str(k0, "kid") : "");
  cJSON_Delete(j);
}

static int requests_total(void) {
  char url[256];
  snprintf(url, sizeof url, "%s/emulator/stats", H.emu_url);
  cJSON *j = h_http_json(&H, "GET", url, NULL, NULL);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "requests_total");
  int n = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
  cJSON_Delete(j);
  return n;
}

typedef struct {
  const char *iss, *aud;
  int64_t nbf_off, exp_off; /* seconds from now */
} claims_t;

static cJSON *make_claims(const claims_t *c) {
  int64_t now = dt_unix_time();
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "iss", c->iss ? c->iss : "https://api.botframework.com");
  cJSON_AddStringToObject(o, "aud", c->aud ? c->aud : dt_emulator_app_id(H.emu));
  cJSON_AddStringToObject(o, "tid", dt_emulator_tenant_id(H.emu));
  cJSON_AddNumberToObject(o, "nbf", (double)(now + c->nbf_off));
  cJSON_AddNumberToObject(o, "exp", (double)(now + c->exp_off));
  return o;
}

/* Signs the claims with the PEM key (the emulator's, or a rogue one) under kid. */
static char *sign(const char *pem, const char *kid, const claims_t *c) {
  dt_jwt_key_t *k = NULL;
  if (pem) dt_jwt_key_from_pem(kid, pem, strlen(pem), &k);
  else dt_jwt_key_generate(kid, 2048, &k);
  if (!k) return NULL;
  cJSON *cl = make_claims(c);
  char *tok = NULL;
  dt_jwt_sign(k, cl, &tok);
  cJSON_Delete(cl);
  dt_jwt_key_free(k);
  return tok;
}

/* alg "none", no signature. */
static char *unsigned_token(const char *kid, const claims_t *c) {
  char hdr[160];
  snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
  cJSON *cl = make_claims(c);
  char *payload = cJSON_PrintUnformatted(cl);
  cJSON_Delete(cl);
  char *h64 = dt_base64url_encode(hdr, strlen(hdr)), *p64 = dt_base64url_encode(payload, strlen(payload));
  char *tok = dt_xasprintf("%s.%s.", h64, p64);
  free(h64);
  free(p64);
  free(payload);
  return tok;
}

/* A real incoming call's "created" notification, as the emulator would send it. */
static char *incoming_body(const char *call_id) {
  return dt_xasprintf(
      "{\"value\":[{\"changeType\":\"created\",\"resourceUrl\":\"/communications/calls/%s\","
      "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"incoming\","
      "\"direction\":\"incoming\",\"source\":{\"identity\":{\"phone\":{\"id\":\"+15550001111\"}}}}}]}",
      call_id);
}

static int post_with(const char *token, const char *body) {
  char url[256], auth[8192];
  snprintf(url, sizeof url, "%s/api/calls", H.engine_url);
  snprintf(auth, sizeof auth, "Bearer %s", token);
  dt_http_header_t hd[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  return h_request(&H, "POST", url, hd, 2, body, strlen(body), NULL);
}

DT_TEST(forged_expired_and_unsigned_tokens_reach_nothing) {
  const char *pem = emulator_pem();
  DT_ASSERT(pem != NULL);
  h_options_t o = {.time_scale = 0, .emulator_key_pem = pem};
  DT_ASSERT(h_start(&H, &o) == 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() call:hangup() end"), 0);
  H_UNTIL(&H, 10000, dt_engine_inbound_ready(H.engine));
  DT_ASSERT(dt_engine_inbound_ready(H.engine));
  char kid[64];
  emulator_kid(kid);
  DT_ASSERT(kid[0] != '\0');
  char *body = incoming_body("sec-call-1");
  int before = requests_total();
  DT_ASSERT(before >= 0);

  struct {
    const char *what;
    char *token;
  } bad[] = {
      {"forged (right kid, wrong key)", sign(NULL, kid, &(claims_t){.exp_off = 300})},
      {"expired an hour ago", sign(pem, kid, &(claims_t){.nbf_off = -7200, .exp_off = -3600})},
      {"not valid for an hour", sign(pem, kid, &(claims_t){.nbf_off = 3600, .exp_off = 7200})},
      {"unsigned (alg none)", unsigned_token(kid, &(claims_t){.exp_off = 300})},
      {"another audience", sign(pem, kid, &(claims_t){.aud = "someone-else", .exp_off = 300})},
      {"another issuer", sign(pem, kid, &(claims_t){.iss = "https://evil.example", .exp_off = 300})},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    DT_ASSERT_MSG(bad[i].token != NULL, "could not make the %s token", bad[i].what);
    int st = post_with(bad[i].token, body);
    DT_ASSERT_MSG(st == 401, "%s: status %d, expected 401", bad[i].what, st);
  }
  for (int i = 0; i < 40; i++) h_tick(&H);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
  DT_ASSERT_EQ_INT(requests_total(), before);
  DT_ASSERT_EQ_INT(dt_engine_cdr_count(H.engine), 0);
  DT_ASSERT(h_log_has(&H, "refused"));

  /* the control: the same body with a good token is accepted and the engine acts on it */
  char *good = sign(pem, kid, &(claims_t){.exp_off = 300});
  DT_ASSERT_EQ_INT(post_with(good, body), 202);
  H_UNTIL(&H, 10000, requests_total() > before);
  DT_ASSERT(requests_total() > before);
  /* no token, bad or good, ever reaches the log */
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    DT_ASSERT(!h_log_has(&H, bad[i].token));
    free(bad[i].token);
  }
  DT_ASSERT(!h_log_has(&H, good));
  free(good);
  free(body);
  h_stop(&H);
  free(g_pem);
  g_pem = NULL;
}

/* HTTPS ingress: callbacks are https://, Graph's (the emulator's) notifications arrive over
   TLS, a whole call runs; plain HTTP on the TLS port is not a notification. */
DT_TEST(https_ingress_runs_whole_calls) {
  dt_testcert_t tc;
  DT_ASSERT(dt_testcert_create(&tc) == 0);
  h_options_t o = {.time_scale = 0, .tls_cert = tc.cert_file, .tls_key = tc.key_file};
  DT_ASSERT(h_start(&H, &o) == 0);
  DT_ASSERT_EQ_INT(strncmp(dt_engine_callback_url(H.engine), "https://", 8), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d = call:gather{prompt = 'main_menu', max = 2, timeout = 5}\n"
                          "  dialtone.log('info', 'DIGITS', d)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"tones\":\"42\"}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "DIGITS 42"));
  DT_ASSERT(dt_engine_jwks_fetches(H.engine) >= 1);
  char *body = incoming_body("plain-http-call");
  DT_ASSERT(post_with("whatever", body) != 202); /* H.engine_url is http:// */
  free(body);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
  h_stop(&H);
  dt_testcert_remove(&tc);
}

DT_TEST_MAIN()
