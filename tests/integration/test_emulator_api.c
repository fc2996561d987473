/*
 * The emulator's REST edges: authentication, Graph-shaped errors for malformed and
 * wrong-state requests (and serving on afterwards), the in-call actions, both dialects,
 * the control API and its event stream, fault injection, the threaded embedding and the
 * `dialtone emulator` command.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "harness/emu_harness.h"
#include "harness/tls_testcert.h"
#include "dialtone/client_cert.h"
#include "cmd_emulator.h"

/* A Graph error body: {"error":{"code","message","innerError":{"date","request-id"}}}. */
static bool graph_error(const h_resp_t *r, int status, const char *code) {
  const cJSON *e = cJSON_GetObjectItem(r->json, "error");
  const cJSON *ie = cJSON_GetObjectItem(e, "innerError");
  bool ok = r->status == status && cJSON_IsString(cJSON_GetObjectItem(e, "code")) &&
            cJSON_IsString(cJSON_GetObjectItem(e, "message")) &&
            strlen(cJSON_GetObjectItem(e, "message")->valuestring) > 0 &&
            cJSON_IsString(cJSON_GetObjectItem(ie, "date")) && cJSON_IsString(cJSON_GetObjectItem(ie, "request-id")) &&
            r->content_type && strstr(r->content_type, "application/json");
  if (ok && code) ok = strcmp(cJSON_GetObjectItem(e, "code")->valuestring, code) == 0;
  if (!ok) fprintf(stderr, "  expected %d %s, got %d %s\n", status, code ? code : "", r->status, r->body ? r->body : "");
  return ok;
}

static bool expect_error(harness_t *h, const char *method, const char *path, const char *body, int status,
                         const char *code) {
  h_resp_t r = h_req(h, method, path, body, NULL, NULL);
  bool ok = graph_error(&r, status, code);
  h_resp_free(&r);
  return ok;
}

DT_TEST(token_endpoint_and_bearer_tokens) {
  harness_t h;
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.client_secret = "s3cret";
  o.app_id = "0efc74f7-41c3-47a4-8775-7259bfef4241";
  DT_ASSERT(h_start(&h, 0, &o));
  char path[128];
  snprintf(path, sizeof path, "/%s/oauth2/v2.0/token", dt_emulator_tenant_id(h.emu));
  const char *ct = "application/x-www-form-urlencoded";
  h_resp_t r = h_req(&h, "POST", path, "client_id=0efc74f7-41c3-47a4-8775-7259bfef4241&client_secret=wrong&grant_type=client_credentials", "", ct);
  DT_ASSERT_EQ_INT(r.status, 401);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "error"), "invalid_client");
  h_resp_free(&r);
  r = h_req(&h, "POST", path, "client_id=someone-else&client_secret=s3cret&grant_type=client_credentials", "", ct);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "error"), "unauthorized_client");
  h_resp_free(&r);
  r = h_req(&h, "POST", path, "client_id=0efc74f7-41c3-47a4-8775-7259bfef4241&client_secret=s3cret&grant_type=password", "", ct);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "error"), "unsupported_grant_type");
  h_resp_free(&r);
  r = h_req(&h, "POST", path,
            "client_id=0efc74f7-41c3-47a4-8775-7259bfef4241&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
            "&client_secret=s3cret&grant_type=client_credentials", "", ct);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "token_type"), "Bearer");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(r.json, "expires_in")->valuedouble, 3599);
  snprintf(h.token, sizeof h.token, "%s", h_json_str(r.json, "access_token"));
  h_resp_free(&r);
  /* Graph requests: none, a forged and a real token */
  r = h_req(&h, "POST", "/v1.0/communications/calls", "{}", "", NULL);
  DT_ASSERT(graph_error(&r, 401, "InvalidAuthenticationToken"));
  h_resp_free(&r);
  char forged[600];
  snprintf(forged, sizeof forged, "Bearer %.*sx", (int)strlen(h.token) - 1, h.token);
  r = h_req(&h, "GET", "/v1.0/communications/calls/abc", NULL, forged, NULL);
  DT_ASSERT(graph_error(&r, 401, "InvalidAuthenticationToken"));
  h_resp_free(&r);
  r = h_req(&h, "GET", "/v1.0/communications/calls/abc", NULL, NULL, NULL);
  DT_ASSERT(graph_error(&r, 404, "8522"));
  h_resp_free(&r);
  /* the OpenID configuration points at the JWKS; the JWKS has the signing key */
  dt_jwks_t *set = h_fetch_jwks(&h);
  DT_ASSERT(set != NULL);
  dt_jwks_free(set);
  h_stop(&h);
}

DT_TEST(errors_have_graph_shape_and_serving_goes_on) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  const char *calls = "/v1.0/communications/calls";
  DT_ASSERT(expect_error(&h, "POST", calls, "{\"callbackUri\": \"http://x\", ", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", calls, "[1,2]", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", calls, "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}]}", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", calls, "{\"callbackUri\":\"http://127.0.0.1:1/cb\"}", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", calls, "{\"callbackUri\":\"http://127.0.0.1:1/cb\",\"targets\":[{\"identity\":{}}]}", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "GET", calls, NULL, 405, "methodNotAllowed"));
  DT_ASSERT(expect_error(&h, "GET", "/v1.0/communications/calls/00000000-0000-0000-0000-000000000000", NULL, 404, "8522"));
  DT_ASSERT(expect_error(&h, "POST", "/v1.0/communications/calls/nope/answer", "{}", 404, "8522"));
  DT_ASSERT(expect_error(&h, "GET", "/v1.0/nothing/here", NULL, 404, "itemNotFound"));

  char *id = h_place(&h, NULL);
  DT_ASSERT(id != NULL);
  DT_ASSERT(h_wait_note(&h, id, "created", NULL, NULL, 0) >= 0);
  char p[256];
  /* wrong state: media before the call is established */
  snprintf(p, sizeof p, "%s/%s/playPrompt", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{\"prompts\":[{\"mediaInfo\":{\"uri\":\"http://x/a.wav\"}}]}", 400, "8501"));
  snprintf(p, sizeof p, "%s/%s/transfer", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{\"transferTarget\":{\"identity\":{\"user\":{\"id\":\"u\"}}}}", 400, "8501"));
  /* answer needs mediaConfig */
  snprintf(p, sizeof p, "%s/%s/answer", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{\"callbackUri\":\"http://127.0.0.1:1/x\"}", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", p, "{\"callbackUri\":\"ftp://x\",\"mediaConfig\":{}}", 400, "BadRequest"));
  DT_ASSERT(h_answer(&h, id));
  /* wrong state: answer, reject and redirect an established call */
  char body[512];
  snprintf(body, sizeof body, "{\"callbackUri\":\"%s\",\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}", h.bot_url);
  DT_ASSERT(expect_error(&h, "POST", p, body, 400, "8501"));
  snprintf(p, sizeof p, "%s/%s/reject", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{\"reason\":\"busy\"}", 400, "8501"));
  snprintf(p, sizeof p, "%s/%s/transfer", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{}", 400, "BadRequest"));
  snprintf(p, sizeof p, "%s/%s/playPrompt", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{\"prompts\":\"no\"}", 400, "BadRequest"));
  DT_ASSERT(expect_error(&h, "POST", p, "not json", 400, "BadRequest"));
  char longcc[400];
  memset(longcc, 'x', 300);
  longcc[300] = '\0';
  snprintf(body, sizeof body, "{\"clientContext\":\"%s\",\"prompts\":[{\"mediaInfo\":{\"uri\":\"http://x/a.wav\"}}]}", longcc);
  DT_ASSERT(expect_error(&h, "POST", p, body, 400, "BadRequest"));
  snprintf(p, sizeof p, "%s/%s/dance", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{}", 400, "BadRequest"));
  snprintf(p, sizeof p, "%s/%s", calls, id);
  DT_ASSERT(expect_error(&h, "PUT", p, "{}", 405, "methodNotAllowed"));
  snprintf(p, sizeof p, "%s/%s/operations/11111111-2222-3333-4444-555555555555", calls, id);
  DT_ASSERT(expect_error(&h, "GET", p, NULL, 404, "itemNotFound"));
  snprintf(p, sizeof p, "%s/%s/record", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p, "{}", 400, "BadRequest")); /* record is beta only */
  snprintf(p, sizeof p, "%s/%s/participants/invite", calls, id);
  DT_ASSERT(expect_error(&h, "POST", p,
                         "{\"participants\":[{\"identity\":{\"user\":{\"id\":\"1\"}}},{\"identity\":{\"user\":{\"id\":\"2\"}}},"
                         "{\"identity\":{\"user\":{\"id\":\"3\"}}},{\"identity\":{\"user\":{\"id\":\"4\"}}},"
                         "{\"identity\":{\"user\":{\"id\":\"5\"}}},{\"identity\":{\"user\":{\"id\":\"6\"}}}]}",
                         400, "BadRequest"));
  snprintf(p, sizeof p, "%s/%s/participants/nobody", calls, id);
  DT_ASSERT(expect_error(&h, "GET", p, NULL, 404, "itemNotFound"));

  /* the emulator keeps serving: the same call works, in both dialects and spellings */
  char *pb = h_prompt_body(&h, "still_here", 100, NULL);
  snprintf(p, sizeof p, "/beta/app/calls/%s/microsoft.graph.playPrompt", id);
  h_resp_t r = h_req(&h, "POST", p, pb, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT(r.location && strstr(r.location, "/beta/app/calls/"));
  h_resp_free(&r);
  snprintf(p, sizeof p, "/communications/calls/%s/playPrompt", id);
  r = h_req(&h, "POST", p, pb, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  snprintf(p, sizeof p, "/beta/communications/calls/%s/record", id);
  r = h_req(&h, "POST", p, "{\"maxRecordDurationInSeconds\":1}", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  free(pb);
  DT_ASSERT(h_wait_note(&h, id, "deleted", NULL, "recordOperation", 0) >= 0);
  /* ids are matched the way Graph writes them too: upper case, no dashes */
  char upper[64];
  dt__emu_id_upper(id, upper, sizeof upper);
  snprintf(p, sizeof p, "/beta/app/calls/%s", upper);
  r = h_req(&h, "GET", p, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "id"), id);
  DT_ASSERT_CONTAINS(h_json_str(r.json, "@odata.context"), "/beta/$metadata#app/calls/$entity");
  h_resp_free(&r);
  char *id2 = h_place(&h, NULL);
  DT_ASSERT(id2 && h_answer(&h, id2));
  /* every request, refused ones included, is in the call's timeline with its status */
  cJSON *tl = h_timeline(&h, id);
  int refused = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) {
    if (strcmp(h_json_str(e, "kind"), "request") == 0 && cJSON_GetObjectItem(e, "status")->valuedouble >= 400) refused++;
  }
  DT_ASSERT(refused >= 14);
  cJSON_Delete(tl);
  free(id);
  free(id2);
  h_stop(&h);
}

DT_TEST(in_call_actions_and_participants) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, "{\"from\":{\"user\":{\"id\":\"caller-1\",\"displayName\":\"Caller\"}}}");
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "mute", "{\"clientContext\":\"m\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.muteParticipantOperation");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "completed");
  h_resp_free(&r);
  char p[256];
  snprintf(p, sizeof p, "/v1.0/communications/calls/%s/participants", id);
  r = h_req(&h, "GET", p, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  const cJSON *list = cJSON_GetObjectItem(r.json, "value");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(list), 2);
  char caller_pid[64] = "";
  const cJSON *pp;
  int muted = 0;
  cJSON_ArrayForEach(pp, list) {
    if (cJSON_IsTrue(cJSON_GetObjectItem(pp, "isMuted"))) muted++;
    const cJSON *user = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pp, "info"), "identity"), "user");
    if (user) snprintf(caller_pid, sizeof caller_pid, "%s", h_json_str(pp, "id"));
  }
  DT_ASSERT_EQ_INT(muted, 1);
  DT_ASSERT(caller_pid[0] != '\0');
  h_resp_free(&r);
  r = h_action(&h, id, "unmute", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.unmuteParticipantOperation");
  h_resp_free(&r);
  r = h_action(&h, id, "changeScreenSharingRole", "{\"role\":\"viewer\"}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  r = h_action(&h, id, "changeScreenSharingRole", "{\"role\":\"director\"}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_action(&h, id, "updateMetadata", "{\"metadata\":\"base64==\",\"clientContext\":\"md\"}");
  DT_ASSERT_EQ_INT(r.status, 202);
  DT_ASSERT(r.location && strstr(r.location, "/operations/"));
  h_resp_free(&r);
  r = h_action(&h, id, "updateRecordingStatus", "{\"status\":\"recording\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_action(&h, id, "keepAlive", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  snprintf(p, sizeof p, "/v1.0/communications/calls/%s/participants/%s", id, caller_pid);
  r = h_req(&h, "GET", p, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.participant");
  h_resp_free(&r);
  snprintf(p, sizeof p, "/v1.0/communications/calls/%s/participants/%s/mute", id, caller_pid);
  r = h_req(&h, "POST", p, "{\"clientContext\":\"pm\"}", NULL, NULL);
  /* server mute of another participant is a group-call action: refused in a 1:1 call */
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(h_json_str(cJSON_GetObjectItem(r.json, "error"), "message"), "group calls and meetings");
  h_resp_free(&r);
  /* muteAll is beta-only: v1.0 has no such segment */
  snprintf(p, sizeof p, "/v1.0/communications/calls/%s/participants/muteAll", id);
  r = h_req(&h, "POST", p, "{\"clientContext\":\"all\"}", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(r.json, "error"), "code"), "BadRequest");
  h_resp_free(&r);
  snprintf(p, sizeof p, "/beta/app/calls/%s/participants/muteAll", id);
  r = h_req(&h, "POST", p, "{\"clientContext\":\"all\"}", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.muteParticipantsOperation");
  h_resp_free(&r);
  /* removing the other party of a peer-to-peer call ends it */
  snprintf(p, sizeof p, "/v1.0/communications/calls/%s/participants/%s", id, caller_pid);
  r = h_req(&h, "DELETE", p, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 204);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, id, "deleted", "terminated", NULL, 0) >= 0);
  /* P2P: no roster notifications were sent */
  for (int k = 0; k < h.nnotes; k++) DT_ASSERT(!strstr(h_note_resource(&h.notes[k]), "/participants"));
  free(id);
  h_stop(&h);
}

DT_TEST(control_api) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "GET", "/emulator/config", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "bot_url"), h.bot_url);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(r.json, "time_scale")->valuedouble, 0);
  DT_ASSERT_CONTAINS(h_json_str(r.json, "token_url"), "/oauth2/v2.0/token");
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/config", "{\"time_scale\":-1}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/config", "{\"default_prompt_ms\":1500,\"ring_timeout_ms\":5000}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(r.json, "default_prompt_ms")->valuedouble, 1500);
  h_resp_free(&r);
  /* scripts are validated */
  r = h_req(&h, "POST", "/emulator/calls", "{\"script\":[{\"on\":\"ring\"}]}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(r.body, "\\\"on\\\"");
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/calls", "{\"script\":[{\"tones\":\"12x\"}]}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/calls", "{\"script\":[{\"sing\":true}]}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(r.body, "sing");
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/calls", "{\"from\":42}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  char *a = h_place(&h, "{\"from\":\"+15550001111\",\"to\":{\"phone\":\"+18005550100\"}}");
  char *b = h_place(&h, "{\"from\":{\"user\":\"alice\"}}");
  DT_ASSERT(a && b);
  r = h_req(&h, "GET", "/emulator/calls", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  const cJSON *calls = cJSON_GetObjectItem(r.json, "calls");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(calls), 2);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetArrayItem(calls, 0), "id"), a);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetArrayItem(calls, 0), "from"), "phone:+15550001111");
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetArrayItem(calls, 0), "to"), "phone:+18005550100");
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetArrayItem(calls, 1), "from"), "user:alice");
  h_resp_free(&r);
  char p[256];
  snprintf(p, sizeof p, "/emulator/calls/%s", b);
  r = h_req(&h, "GET", p, NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "state"), "incoming");
  DT_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(r.json, "participants")));
  h_resp_free(&r);
  snprintf(p, sizeof p, "/emulator/calls/%s/speak", b);
  r = h_req(&h, "POST", p, "{\"seconds\":0}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "POST", p, "{\"seconds\":1.5}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  /* parties */
  r = h_req(&h, "PUT", "/emulator/parties/Agent-9", "{\"behaviour\":\"sing\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "PUT", "/emulator/parties/Agent-9", "{\"behaviour\":\"noanswer\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/parties", NULL, "", NULL);
  DT_ASSERT_CONTAINS(r.body, "\"id\":\"agent-9\"");
  DT_ASSERT_CONTAINS(r.body, "\"behaviour\":\"noanswer\"");
  h_resp_free(&r);
  r = h_req(&h, "DELETE", "/emulator/parties/agent-9", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 204);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/parties", NULL, "", NULL);
  DT_ASSERT(strstr(r.body, "agent-9") == NULL);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/stats", NULL, "", NULL);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(r.json, "active_calls")->valuedouble, 2);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/nothing", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  h_resp_free(&r);
  /* reset: the calls are gone without a word to the bot */
  int before = h.nnotes;
  r = h_req(&h, "POST", "/emulator/reset", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_req(&h, "GET", p, NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  h_resp_free(&r);
  h_settle(&h, 100);
  DT_ASSERT_EQ_INT(h.nnotes, before);
  /* without a bot URL an incoming call cannot be placed */
  r = h_req(&h, "POST", "/emulator/config", "{\"bot_url\":null}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/calls", "{}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(r.body, "bot");
  h_resp_free(&r);
  char body[256];
  snprintf(body, sizeof body, "{\"url\":\"%s\"}", h.bot_url);
  r = h_req(&h, "POST", "/emulator/bot", body, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  char *c = h_place(&h, NULL);
  DT_ASSERT(c != NULL);
  DT_ASSERT(h_wait_note(&h, c, "created", NULL, NULL, 0) >= 0);
  free(a);
  free(b);
  free(c);
  h_stop(&h);
}

/* ---- GET /emulator/events through a raw socket (the stream never ends) ---- */
typedef struct {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  dt_buf_t in;
  bool connected;
} sse_client_t;

static void sse_alloc(uv_handle_t *hd, size_t sz, uv_buf_t *buf) {
  (void)hd;
  buf->base = malloc(sz);
  buf->len = sz;
}
static void sse_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sse_client_t *c = s->data;
  if (n > 0) dt_buf_append(&c->in, buf->base, (size_t)n);
  free(buf->base);
}
static void sse_written(uv_write_t *w, int st) { (void)w; (void)st; }
static void sse_connected(uv_connect_t *cr, int st) {
  sse_client_t *c = cr->data;
  if (st != 0) return;
  c->connected = true;
  static char req[] = "GET /emulator/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
  uv_buf_t b = uv_buf_init(req, sizeof req - 1);
  uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, sse_written);
  uv_read_start((uv_stream_t *)&c->tcp, sse_alloc, sse_read);
}
static bool sse_has(harness_t *h, void *arg) {
  (void)h;
  const char **w = arg;
  sse_client_t *c = (sse_client_t *)w[0];
  return c->in.data && strstr(c->in.data, w[1]) != NULL;
}

DT_TEST(event_stream) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  if (h.tls_dir[0]) { /* this test speaks raw HTTP/1.1 over TCP: the plain-HTTP run covers it */
    h_stop(&h);
    return;
  }
  DT_ASSERT(h_get_token(&h));
  sse_client_t c = {0};
  uv_tcp_init(&h.loop, &c.tcp);
  c.tcp.data = &c;
  c.conn.data = &c;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", dt_emulator_port(h.emu), &addr);
  uv_tcp_connect(&c.conn, &c.tcp, (const struct sockaddr *)&addr, sse_connected);
  const char *w1[] = {(const char *)&c, "text/event-stream"};
  DT_ASSERT(h_run_until(&h, sse_has, w1, 5000));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id != NULL);
  char needle[128];
  snprintf(needle, sizeof needle, "\"call\":\"%s\"", id);
  const char *w2[] = {(const char *)&c, needle};
  DT_ASSERT(h_run_until(&h, sse_has, w2, 5000));
  const char *w3[] = {(const char *)&c, "\"kind\":\"incoming\""};
  DT_ASSERT(h_run_until(&h, sse_has, w3, 5000));
  DT_ASSERT_CONTAINS(c.in.data, "event: timeline\ndata: {");
  uv_close((uv_handle_t *)&c.tcp, NULL);
  h_settle(&h, 50);
  /* the emulator noticed the listener went away and goes on */
  char *id2 = h_place(&h, NULL);
  DT_ASSERT(id2 != NULL);
  dt_buf_free(&c.in);
  free(id);
  free(id2);
  h_stop(&h);
}

DT_TEST(fault_injection) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "POST", "/emulator/faults", "{\"graph_status\":503,\"graph_status_count\":1,\"retry_after_s\":2}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/v1.0/communications/calls/x", NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 503);
  DT_ASSERT_EQ_STR(r.retry_after, "2");
  h_resp_free(&r);
  r = h_req(&h, "GET", "/v1.0/communications/calls/x", NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/faults", "{\"melt\":true}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  /* PascalCase enums and establishing/established swapped */
  r = h_req(&h, "POST", "/emulator/faults", "{\"pascal_case\":true,\"swap_answer_notifications\":true}", "", NULL);
  h_resp_free(&r);
  char *id = h_place(&h, NULL);
  DT_ASSERT(id != NULL);
  DT_ASSERT(h_wait_note(&h, id, "Created", "Incoming", NULL, 0) >= 0);
  char body[512];
  snprintf(body, sizeof body, "{\"callbackUri\":\"%s\",\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}", h.bot_url);
  r = h_action(&h, id, "answer", body);
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int e1 = h_wait_note(&h, id, "Updated", "Established", NULL, 0);
  int e2 = h_wait_note(&h, id, "Updated", "Establishing", NULL, 0);
  DT_ASSERT(e1 >= 0 && e2 > e1);
  /* duplicates, then drops */
  r = h_req(&h, "POST", "/emulator/faults", "{\"duplicate_notifications\":1}", "", NULL);
  h_resp_free(&r);
  r = h_action(&h, id, "subscribeToTone", NULL);
  h_resp_free(&r);
  char p[256];
  snprintf(p, sizeof p, "/emulator/calls/%s/tones", id);
  r = h_req(&h, "POST", p, "{\"tones\":\"7\"}", "", NULL);
  h_resp_free(&r);
  int t1 = h_wait_tone(&h, id, 0);
  int t2 = h_wait_tone(&h, id, t1 + 1);
  DT_ASSERT(t1 >= 0 && t2 > t1);
  DT_ASSERT_EQ_STR(h.notes[t1].body, h.notes[t2].body);
  r = h_req(&h, "POST", "/emulator/faults", "{\"drop_notifications\":1}", "", NULL);
  h_resp_free(&r);
  int before = h.nnotes;
  r = h_req(&h, "POST", p, "{\"tones\":\"8\"}", "", NULL);
  h_resp_free(&r);
  h_settle(&h, 150);
  DT_ASSERT_EQ_INT(h.nnotes, before);
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "fault_dropped", NULL, NULL) != NULL);
  cJSON_Delete(tl);
  /* operations that never complete */
  r = h_req(&h, "POST", "/emulator/faults", "{\"ops_never_complete\":true}", "", NULL);
  h_resp_free(&r);
  char *pb = h_prompt_body(&h, "lost", 100, NULL);
  r = h_action(&h, id, "playPrompt", pb);
  free(pb);
  DT_ASSERT_EQ_INT(r.status, 200);
  char loc[512];
  snprintf(loc, sizeof loc, "%s", r.location);
  h_resp_free(&r);
  h_settle(&h, 150);
  DT_ASSERT_EQ_INT(h.nnotes, before);
  /* ... but polling the operation tells it is done, as the engine's deadline logic expects */
  r = h_req(&h, "GET", loc, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "completed");
  h_resp_free(&r);
  r = h_req(&h, "DELETE", "/emulator/faults", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

DT_TEST(threaded_embedding_next_to_another_emulator) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.time_scale = 0;
  o.bot_url = h.bot_url;
  o.quiet = 1;
  o.key_pem = h_key_pem();
  dt_emulator_thread_t *t = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_emulator_thread_start(&o, &t, err, sizeof err), 0);
  DT_ASSERT(strcmp(dt_emulator_thread_url(t), h.emu_url) != 0);
  DT_ASSERT_EQ_STR(dt_emulator_thread_app_id(t), DT_EMULATOR_DEFAULT_APP_ID);
  /* talk to the threaded one */
  char saved[128];
  snprintf(saved, sizeof saved, "%s", h.emu_url);
  snprintf(h.emu_url, sizeof h.emu_url, "%s", dt_emulator_thread_url(t));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "keepAlive", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  /* its tokens mean nothing to the other emulator */
  snprintf(h.emu_url, sizeof h.emu_url, "%s", saved);
  r = h_req(&h, "GET", "/v1.0/communications/calls/x", NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 401);
  h_resp_free(&r);
  dt_emulator_thread_stop(t);
  /* a port that is taken fails cleanly */
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", dt_emulator_port(h.emu));
  o.listen = listen;
  DT_ASSERT(dt_emulator_thread_start(&o, &t, err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "listen");
  free(id);
  h_stop(&h);
}

DT_TEST(command_line) {
  char *bad_args[] = {"dialtone", "emulator", "--frobnicate", NULL};
  DT_ASSERT_EQ_INT(dt_cmd_emulator_main(3, bad_args), 2);
  char *bad_scale[] = {"dialtone", "emulator", "--time-scale", "fast", NULL};
  DT_ASSERT_EQ_INT(dt_cmd_emulator_main(4, bad_scale), 2);
  char *bad_roles[] = {"dialtone", "emulator", "--listen", "127.0.0.1:0", "--roles", "Calls.Initiate.All,Mail.Send", NULL};
  DT_ASSERT_EQ_INT(dt_cmd_emulator_main(6, bad_roles), 2);
  char *half_tls[] = {"dialtone", "emulator", "--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent.pem", NULL};
  DT_ASSERT_EQ_INT(dt_cmd_emulator_main(6, half_tls), 2);
  int fds[2];
  DT_ASSERT(pipe(fds) == 0);
  fflush(stdout);
  pid_t pid = fork();
  DT_ASSERT(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    char *args[] = {"dialtone", "emulator", "--listen", "127.0.0.1:0", "--time-scale=0", "--quiet", NULL};
    _exit(dt_cmd_emulator_main(6, args));
  }
  close(fds[1]);
  char line[256] = "";
  size_t n = 0;
  while (n + 1 < sizeof line) {
    ssize_t k = read(fds[0], line + n, 1);
    if (k <= 0 || line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  DT_ASSERT(strncmp(line, "http://127.0.0.1:", 17) == 0);
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  char url[300];
  snprintf(url, sizeof url, "%s/emulator/health", line);
  h_resp_t r = h_req(&h, "GET", url, NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  h_stop(&h);
  kill(pid, SIGTERM);
  int status = 0;
  DT_ASSERT(waitpid(pid, &status, 0) == pid);
  DT_ASSERT(WIFEXITED(status));
  DT_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
  close(fds[0]);
}

/* Certificate credentials at the token endpoint: an assertion signed with the registered
   certificate's key gets a token; each other kind is refused invalid_client with the
   identity platform's code for its cause. */
static h_resp_t post_assertion(harness_t *h, const char *type, const char *assertion, const char *extra) {
  char path[256];
  snprintf(path, sizeof path, "/%s/oauth2/v2.0/token", dt_emulator_tenant_id(h->emu));
  char *form = dt_xasprintf("client_id=%s&scope=https%%3A%%2F%%2Fgraph.microsoft.com%%2F.default"
                            "&grant_type=client_credentials&client_assertion_type=%s&client_assertion=%s%s",
                            dt_emulator_app_id(h->emu), type, assertion, extra ? extra : "");
  h_resp_t r = h_req(h, "POST", path, form, "", "application/x-www-form-urlencoded");
  free(form);
  return r;
}

static const char *aad_description(const h_resp_t *r) { return h_json_str(r->json, "error_description"); }

DT_TEST(token_endpoint_takes_client_assertions) {
  dt_testcert_t reg, other;
  DT_ASSERT(dt_testcert_create(&reg) == 0);
  DT_ASSERT(dt_testcert_create(&other) == 0);
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.client_cert_file = reg.cert_file;
  o.client_secret = "the-secret";
  harness_t h;
  DT_ASSERT(h_start(&h, 0, &o));
  dt_client_cert_t *app = NULL, *stranger = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_client_cert_load(reg.cert_file, reg.key_file, &app, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_load(other.cert_file, other.key_file, &stranger, err, sizeof err), 0);
  char aud[300];
  snprintf(aud, sizeof aud, "%s/%s/oauth2/v2.0/token", h.emu_url, dt_emulator_tenant_id(h.emu));
  const char *type = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
  char *good = NULL, *foreign = NULL, *elsewhere = NULL, *stale = NULL, *other_app = NULL;
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, dt_emulator_app_id(h.emu), aud, 0, &good), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(stranger, dt_emulator_app_id(h.emu), aud, 0, &foreign), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, dt_emulator_app_id(h.emu), "https://login.example/t/oauth2/v2.0/token", 0,
                                            &elsewhere), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, dt_emulator_app_id(h.emu), aud, dt_unix_time() - 3600, &stale), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, "another-app", aud, 0, &other_app), 0);

  h_resp_t r = post_assertion(&h, type, good, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT(cJSON_IsString(cJSON_GetObjectItem(r.json, "access_token")));
  DT_ASSERT_EQ_STR(h_json_str(r.json, "token_type"), "Bearer");
  h_resp_free(&r);
  struct {
    const char *assertion;
    const char *code;
  } refused[] = {{foreign, "AADSTS700027"}, {elsewhere, "AADSTS50013"}, {stale, "AADSTS700024"},
                 {other_app, "AADSTS700021"}, {"not.a.jwt", "AADSTS50027"}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(refused); i++) {
    r = post_assertion(&h, type, refused[i].assertion, NULL);
    DT_ASSERT_EQ_INT(r.status, 401);
    DT_ASSERT_EQ_STR(h_json_str(r.json, "error"), "invalid_client");
    DT_ASSERT_MSG(strncmp(aad_description(&r), refused[i].code, strlen(refused[i].code)) == 0, "case %zu: %s", i,
                  aad_description(&r));
    h_resp_free(&r);
  }
  /* the wrong assertion type, and a secret beside the assertion */
  r = post_assertion(&h, "password", good, NULL);
  DT_ASSERT_EQ_INT(r.status, 401);
  DT_ASSERT_CONTAINS(aad_description(&r), "client_assertion_type");
  h_resp_free(&r);
  r = post_assertion(&h, type, good, "&client_secret=the-secret");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "error"), "invalid_request");
  h_resp_free(&r);
  DT_FREE_ALL(good, foreign, elsewhere, stale, other_app);
  dt_client_cert_free(app);
  dt_client_cert_free(stranger);
  h_stop(&h);
  /* without a registered certificate every assertion is refused */
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT_EQ_INT(dt_client_cert_load(reg.cert_file, reg.key_file, &app, err, sizeof err), 0);
  snprintf(aud, sizeof aud, "%s/%s/oauth2/v2.0/token", h.emu_url, dt_emulator_tenant_id(h.emu));
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, dt_emulator_app_id(h.emu), aud, 0, &good), 0);
  r = post_assertion(&h, type, good, NULL);
  DT_ASSERT_EQ_INT(r.status, 401);
  DT_ASSERT_CONTAINS(aad_description(&r), "--client-cert");
  h_resp_free(&r);
  free(good);
  dt_client_cert_free(app);
  h_stop(&h);
  dt_testcert_remove(&reg);
  dt_testcert_remove(&other);
}

DT_TEST_MAIN()
