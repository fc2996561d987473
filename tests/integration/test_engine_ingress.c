/*
 * test_engine_ingress.c — the engine's HTTP routes over loopback: notification
 * authentication (missing, forged and unknown-kid tokens; the single-flight key set
 * refresh), status codes for bad input, /healthz, /metrics, /calls, /prompts (and path
 * traversal), routing of incoming calls, and draining.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "dialtone/jwt.h"

static int get(const char *path, char **body) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", H.engine_url, path);
  return h_request(&H, "GET", url, NULL, 0, NULL, 0, body);
}

static int post_notification(const char *auth, const char *body, size_t len) {
  char url[256];
  snprintf(url, sizeof url, "%s/api/calls", H.engine_url);
  dt_http_header_t hd[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  return h_request(&H, "POST", url, hd, auth ? 2 : 1, body, len, NULL);
}

static const char INCOMING[] =
    "{\"value\":[{\"changeType\":\"created\",\"resourceUrl\":\"/communications/calls/forged-call-1\","
    "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"incoming\",\"direction\":\"incoming\"}}]}";

H_TEST(health_metrics_404_405) {
  char *body = NULL;
  DT_ASSERT_EQ_INT(get("/healthz", &body), 200);
  DT_ASSERT_EQ_STR(body, "{\"status\":\"ok\"}\n");
  free(body);
  DT_ASSERT_EQ_INT(get("/metrics", &body), 200);
  DT_ASSERT_CONTAINS(body, "dt_calls_active");
  free(body);
  DT_ASSERT_EQ_INT(get("/no/such/thing", NULL), 404);
  DT_ASSERT_EQ_INT(get("/api/calls", NULL), 405);
  char url[256];
  snprintf(url, sizeof url, "%s/healthz", H.engine_url);
  DT_ASSERT_EQ_INT(h_request(&H, "POST", url, NULL, 0, "x", 1, NULL), 405);
}

H_TEST(prompts_are_served_without_path_traversal) {
  char *body = NULL, *file = NULL;
  size_t flen = 0;
  char path[600];
  snprintf(path, sizeof path, "%s/welcome.wav", H.prompts_dir);
  DT_ASSERT_EQ_INT(dt_read_file(path, 64 << 20, &file, &flen), 0);
  char url[256];
  snprintf(url, sizeof url, "%s/prompts/welcome.wav", H.engine_url);
  h_resp_t x = {0};
  dt_http_request_options_t r = {.method = "GET", .url = url, .timeout_ms = 10000};
  DT_ASSERT_EQ_INT(dt_http_client_send(H.http, &r, h__resp_cb, &x, NULL), 0);
  H_UNTIL(&H, 10000, x.done);
  DT_ASSERT_EQ_INT(x.status, 200);
  free(x.body);
  free(file);
  DT_ASSERT_EQ_INT(get("/prompts/../CMakeLists.txt", NULL), 404);
  DT_ASSERT_EQ_INT(get("/prompts/%2e%2e/CMakeLists.txt", NULL), 404);
  DT_ASSERT_EQ_INT(get("/prompts/..%2fwelcome.wav", NULL), 404);
  DT_ASSERT_EQ_INT(get("/prompts/welcome.txt", NULL), 404);
  DT_ASSERT_EQ_INT(get("/prompts/nope.wav", &body), 404);
  free(body);
}

/* No token, a forged token: 401 and nothing else happens (no call starts). */
H_TEST(unauthenticated_notifications_are_refused) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() call:sleep(5) end"), 0);
  H_UNTIL(&H, 5000, dt_engine_jwks_fetches(H.engine) >= 1 && get("/healthz", NULL) == 200);
  DT_ASSERT_EQ_INT(post_notification(NULL, INCOMING, strlen(INCOMING)), 401);
  DT_ASSERT_EQ_INT(post_notification("Bearer not.a.jwt", INCOMING, strlen(INCOMING)), 401);
  DT_ASSERT_EQ_INT(post_notification("Basic dXNlcjpwYXNz", INCOMING, strlen(INCOMING)), 401);
  for (int i = 0; i < 20; i++) h_tick(&H);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
}

static char *rogue_token(const char *kid) {
  dt_jwt_key_t *key = NULL;
  if (dt_jwt_key_generate(kid, 2048, &key) != 0) return NULL;
  cJSON *c = cJSON_CreateObject();
  int64_t now = dt_unix_time();
  cJSON_AddStringToObject(c, "iss", "https://api.botframework.com");
  cJSON_AddStringToObject(c, "aud", dt_emulator_app_id(H.emu));
  cJSON_AddStringToObject(c, "tid", dt_emulator_tenant_id(H.emu));
  cJSON_AddNumberToObject(c, "nbf", (double)(now - 10));
  cJSON_AddNumberToObject(c, "exp", (double)(now + 300));
  char *tok = NULL;
  dt_jwt_sign(key, c, &tok);
  cJSON_Delete(c);
  dt_jwt_key_free(key);
  return tok;
}

/* A token whose kid the key set does not have: one key set download for any number of
   such requests at once, then 401; right after, no second download. */
H_TEST(unknown_kid_refreshes_the_key_set_once, .min_refresh_ms = 300) {
  char *tok = rogue_token("rogue-kid");
  DT_ASSERT(tok != NULL);
  H_UNTIL(&H, 5000, dt_engine_inbound_ready(H.engine));
  DT_ASSERT(dt_engine_inbound_ready(H.engine));
  char auth[4096];
  snprintf(auth, sizeof auth, "Bearer %s", tok);
  free(tok);
  uv_sleep(400); /* past the minimum interval since the start-up download */
  unsigned before = dt_engine_jwks_fetches(H.engine);
  char url[256];
  snprintf(url, sizeof url, "%s/api/calls", H.engine_url);
  dt_http_header_t hd[2] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  dt_http_request_options_t r = {.method = "POST", .url = url, .headers = hd, .header_count = 2,
                                 .body = INCOMING, .body_len = strlen(INCOMING), .timeout_ms = 10000};
  h_resp_t a = {0}, b = {0};
  DT_ASSERT_EQ_INT(dt_http_client_send(H.http, &r, h__resp_cb, &a, NULL), 0);
  DT_ASSERT_EQ_INT(dt_http_client_send(H.http, &r, h__resp_cb, &b, NULL), 0);
  H_UNTIL(&H, 10000, a.done && b.done);
  free(a.body);
  free(b.body);
  DT_ASSERT_EQ_INT(a.status, 401);
  DT_ASSERT_EQ_INT(b.status, 401);
  DT_ASSERT_EQ_INT(dt_engine_jwks_fetches(H.engine), before + 1);
  DT_ASSERT_EQ_INT(post_notification(auth, INCOMING, strlen(INCOMING)), 401);
  DT_ASSERT_EQ_INT(dt_engine_jwks_fetches(H.engine), before + 1);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
}

H_TEST(bad_bodies_get_400_and_413, .no_auth = true, .max_body_bytes = 4096) {
  DT_ASSERT_EQ_INT(post_notification(NULL, "not json", 8), 400);
  DT_ASSERT_EQ_INT(post_notification(NULL, "{\"value\":7}", 11), 400);
  DT_ASSERT_EQ_INT(post_notification(NULL, "{\"value\":[]}", 12), 202);
  char *big = malloc(8192);
  memset(big, ' ', 8192);
  memcpy(big, "{\"value\":[]}", 12);
  DT_ASSERT_EQ_INT(post_notification(NULL, big, 8192), 413);
  free(big);
  char url[256];
  snprintf(url, sizeof url, "%s/healthz", H.engine_url);
  char *huge = malloc(20 * 1024);
  memset(huge, 'a', 20 * 1024 - 1);
  huge[20 * 1024 - 1] = '\0';
  dt_http_header_t hd = {"X-Big", huge};
  DT_ASSERT_EQ_INT(h_request(&H, "GET", url, &hd, 1, NULL, 0, NULL), 431);
  free(huge);
}

/* GET /calls shows a call parked in a gather: its flow, version, state and wait. */
H_TEST(calls_lists_active_calls) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() call:gather{max = 1, timeout = 30} end"), 0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  cJSON *calls = NULL;
  const cJSON *c0 = NULL;
  for (uint64_t end = dt_now_ms() + 10000; dt_now_ms() < end;) {
    char *body = NULL;
    get("/calls", &body);
    cJSON_Delete(calls);
    calls = cJSON_Parse(body ? body : "");
    free(body);
    c0 = cJSON_GetArrayItem(calls, 0);
    if (c0 && h_str(c0, "waiting") && strcmp(h_str(c0, "waiting"), "gather") == 0) break;
    h_tick(&H);
  }
  DT_ASSERT(c0 != NULL);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(calls), 1);
  DT_ASSERT(h_same_id(h_str(c0, "id"), id));
  DT_ASSERT_EQ_STR(h_str(c0, "flow"), "main");
  DT_ASSERT_EQ_STR(h_str(c0, "state"), "established");
  DT_ASSERT_EQ_STR(h_str(c0, "waiting"), "gather");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(c0, "flow_version")->valueint, 1);
  DT_ASSERT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(c0, "age_s")));
  cJSON_Delete(calls);
}

/* Incoming calls are routed on the called identity; others go to the default flow. */
static const dt_route_t ROUTES[] = {{.match = "+18005550199", .flow = "sales"}, {.match = "support-app-id", .flow = "support"}};
H_TEST(routes_pick_the_flow, .routes = ROUTES, .route_count = 2) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) dialtone.log('info', 'FLOW main') end"), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "sales", "return function(call) dialtone.log('info', 'FLOW sales', call.to) end"), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "support", "return function(call) dialtone.log('info', 'FLOW support') end"), 0);
  char a[128], b[128], c[128];
  cJSON *cdr = h_run_call("\"to\":{\"phone\":\"+18005550199\"}", a);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "sales");
  cJSON_Delete(cdr);
  cdr = h_run_call("\"to\":{\"application\":\"support-app-id\"}", b);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "support");
  cJSON_Delete(cdr);
  cdr = h_run_call(NULL, c);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "main");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "FLOW sales +18005550199"));
  DT_ASSERT(h_log_has(&H, "FLOW support"));
  DT_ASSERT(h_log_has(&H, "FLOW main"));
}

/* A call routed to a flow that does not exist ends at once (rejected), with the error. */
H_TEST(missing_flow_rejects_the_call) {
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  DT_ASSERT_CONTAINS(h_str(cdr, "error"), "flow \"main\" could not start");
  cJSON_Delete(cdr);
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "reject"), 1);
  cJSON_Delete(tl);
}

/* Beyond limits.max_calls, incoming calls are rejected "busy" without running a flow. */
H_TEST(calls_beyond_max_calls_are_rejected, .max_calls = 1) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() call:gather{max = 1, timeout = 30} end"), 0);
  char a[128], b[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a), 201);
  H_UNTIL(&H, 10000, h_count_requests(&H, a, "subscribeToTone") == 1);
  cJSON *cdr = h_run_call(NULL, b);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "rejected"));
  DT_ASSERT_EQ_STR(h_str(cdr, "error"), "too many calls");
  cJSON_Delete(cdr);
  cJSON *tl = h_timeline(&H, b);
  DT_ASSERT_EQ_INT(h_count(tl, "reject", "reason", "busy"), 1);
  cJSON_Delete(tl);
  DT_ASSERT(!h_has_cdr(&H, a));
}

/* Closing the engine drains: active calls are hung up (outcome drained), their flows see
   the hangup, their CDRs are written. */
H_TEST(close_drains_active_calls) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:on_hangup(function(c, o) dialtone.log('info', 'DRAINED', o) end)\n"
                          "  call:gather{max = 1, timeout = 60}\n"
                          "end\n"),
                   0);
  char a[128], b[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a), 201);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, b), 201);
  H_UNTIL(&H, 10000, h_count_requests(&H, a, "subscribeToTone") == 1 && h_count_requests(&H, b, "subscribeToTone") == 1);
  DT_ASSERT(h_close_engine(&H));
  cJSON *ca = h_cdr(&H, a), *cb = h_cdr(&H, b);
  DT_ASSERT(ca != NULL && cb != NULL);
  DT_ASSERT(h_outcome_is(ca, "drained"));
  DT_ASSERT(h_outcome_is(cb, "drained"));
  cJSON_Delete(ca);
  cJSON_Delete(cb);
  DT_ASSERT(h_log_has(&H, "DRAINED hangup"));
}

DT_TEST_MAIN()
