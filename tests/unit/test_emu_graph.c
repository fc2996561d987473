/* Unit tests of emu_graph.c, the Graph calls REST surface, over HTTP: the bearer token,
   Graph's error shapes (400 BadRequest, 400 8501, 404 8522, 405), creating and reading a
   call, an action answered with its operation and Location, injected Graph faults, and
   each request in the call's timeline with its status. */
#include "harness/emu_fixture.h"
#include "emulator/emu_identity.h"
#include "emulator/emu_util.h"

static const char *code_of(const ef_resp_t *r) {
  const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "code");
  return cJSON_IsString(c) ? c->valuestring : "";
}

DT_TEST(requests_need_a_token_and_get_graphs_errors) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  ef_resp_t r = ef_http(&f, "GET", "/v1.0/communications/calls/x", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 401);
  DT_ASSERT_EQ_STR(code_of(&r), "InvalidAuthenticationToken");
  ef_resp_free(&r);
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *auth = dt_xasprintf("Bearer %s", tok);
  r = ef_http(&f, "GET", "/v1.0/communications/calls/0fe0623f-d628-42ed-b4bd-8ac290072cc5", auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  DT_ASSERT_EQ_STR(code_of(&r), "8522");
  ef_resp_free(&r);
  r = ef_http(&f, "POST", "/v1.0/communications/calls", auth, "{not json");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(code_of(&r), "BadRequest");
  ef_resp_free(&r);
  r = ef_http(&f, "POST", "/v1.0/communications/calls", auth, "{\"targets\":[]}");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(r.body, "callbackUri");
  ef_resp_free(&r);
  r = ef_http(&f, "PUT", "/v1.0/communications/calls", auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 405);
  ef_resp_free(&r);
  dt_emulator_faults_t fl = {0};
  fl.graph_status = 429;
  fl.graph_status_count = 1;
  fl.retry_after_s = 7;
  dt_emulator_set_faults(f.emu, &fl, NULL, 0);
  r = ef_http(&f, "GET", "/v1.0/communications/calls/x", auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 429);
  DT_ASSERT_EQ_STR(code_of(&r), "TooManyRequests");
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/v1.0/communications/calls/x", auth, NULL); /* the count is spent */
  DT_ASSERT_EQ_INT(r.status, 404);
  ef_resp_free(&r);
  free(auth);
  free(tok);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_call_is_created_read_and_acted_on) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *auth = dt_xasprintf("Bearer %s", tok);
  char *body = dt_xasprintf("{\"callbackUri\":\"%s\",\"targets\":[{\"identity\":{\"user\":{\"id\":\"carol\"}}}],"
                            "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}",
                            f.bot_url);
  ef_resp_t r = ef_http(&f, "POST", "/v1.0/communications/calls", auth, body);
  DT_ASSERT_EQ_INT(r.status, 201);
  char id[64];
  snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "state")->valuestring, "establishing");
  DT_ASSERT_CONTAINS(cJSON_GetObjectItem(r.json, "@odata.context")->valuestring, "/v1.0/$metadata#communications/calls/$entity");
  DT_ASSERT(r.location && strstr(r.location, id));
  ef_resp_free(&r);
  char path[160];
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/answer", id);
  r = ef_http(&f, "POST", path, auth, "{\"mediaConfig\":{}}"); /* not an incoming call */
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(code_of(&r), "8501");
  ef_resp_free(&r);
  DT_ASSERT(ef_wait_timeline(&f, id, "\"kind\":\"answered\""));
  snprintf(path, sizeof path, "/beta/app/calls/%s/microsoft.graph.subscribeToTone", id);
  r = ef_http(&f, "POST", path, auth, "{\"clientContext\":\"c1\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "status")->valuestring, "completed");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "clientContext")->valuestring, "c1");
  DT_ASSERT(r.location && strstr(r.location, "/beta/app/calls/") && strstr(r.location, "/operations/"));
  ef_resp_free(&r);
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s", id);
  r = ef_http(&f, "GET", path, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "state")->valuestring, "established");
  ef_resp_free(&r);
  r = ef_http(&f, "DELETE", path, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 204);
  ef_resp_free(&r);
  char *t = ef_timeline(&f, id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"request\",\"method\":\"POST\"");
  DT_ASSERT_CONTAINS(t, "\"action\":\"answer\",\"status\":400");
  DT_ASSERT_CONTAINS(t, "\"action\":\"subscribeToTone\",\"status\":200");
  DT_ASSERT_CONTAINS(t, "\"action\":\"delete\",\"status\":204");
  free(t);
  free(body);
  free(auth);
  free(tok);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
