/*
 * test_call_meetings.c — core/calls/call_meetings.c against a stand-in Graph: create answers
 * the flow's view of the meeting; a lookup finds it ("completed") or finds nothing
 * ("not_found", no json); Graph's 403 (no application access policy) and 404 (unknown user)
 * fail the wait with Graph's status and leave the call live (a 404 here is not the call's
 * end); bad arguments are refused before anything starts.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/online_meeting.h"
#include "harness/dt_test.h"

#define URL "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22t-1%22%2c%22Oid%22%3a%22org-1%22%7d"
#define MEETING                                                                                          \
  "{\"id\":\"m-1\",\"joinWebUrl\":\"" URL "\",\"subject\":\"Standup\",\"chatInfo\":{\"threadId\":"        \
  "\"19:meeting_abc@thread.v2\",\"messageId\":\"0\"},\"participants\":{\"organizer\":{\"identity\":"     \
  "{\"user\":{\"id\":\"org-1\",\"tenantId\":\"t-1\"}}},\"attendees\":[]}}"

static char last_request[512];

static void on_graph(dt_http_request_t *req, void *ud) {
  (void)ud;
  snprintf(last_request, sizeof last_request, "%s %s?%s", req->method, req->path, req->query);
  const char *body = MEETING;
  int status = strcmp(req->method, "POST") == 0 ? 201 : 200;
  if (strstr(req->path, "/users/nopolicy/")) {
    status = 403;
    body = "{\"error\":{\"code\":\"Forbidden\",\"message\":\"No application access policy found for this app.\"}}";
  } else if (strstr(req->path, "/users/ghost/")) {
    status = 404;
    body = "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"User not found.\"}}";
  } else if (status == 200) {
    body = strstr(req->query, "meeting_abc") ? "{\"value\":[" MEETING "]}" : "{\"value\":[]}";
  }
  dt_http_respond(req, status, "application/json", body, strlen(body));
}

DT_TEST(create_find_and_graph_refusals) {
  int port = fx_free_port();
  snprintf(fx_graph_url, sizeof fx_graph_url, "http://127.0.0.1:%d/v1.0", port);
  call_fx_t f;
  fx_open(&f, NULL, false);
  char listen[64], err[256];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  dt_http_server_t *srv = NULL;
  DT_ASSERT_EQ_INT(dt_http_server_start(&f.loop, &(dt_http_server_options_t){.listen = listen, .handler = on_graph},
                                        &srv, err, sizeof err), 0);
  fx_incoming(&f, "call-1", "u", "app");
  fx_state(&f, "call-1", "established");
  dt_call_t *c = dt_calls_find(f.reg, "call-1");

  /* refused before anything starts */
  DT_ASSERT_EQ_INT(dt_call_meeting_create(c, &(dt_online_meeting_params_t){.subject = "x"}), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_meeting_find(c, NULL, URL), DT_EINVAL); /* v1.0 needs the organizer */
  DT_ASSERT_EQ_INT(f.results, 0);

  /* create: the flow's view */
  DT_ASSERT_EQ_INT(dt_call_meeting_create(c, &(dt_online_meeting_params_t){.organizer_id = "org-1", .subject = "Standup"}), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_MEETING);
  FX_UNTIL(&f, 5000, f.results == 1);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_STR(last_request, "POST /v1.0/users/org-1/onlineMeetings?");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c->result.json, "id")->valuestring, "m-1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c->result.json, "join_url")->valuestring, URL);

  /* find: found, then nothing */
  DT_ASSERT_EQ_INT(dt_call_meeting_find(c, "org-1", URL), 0);
  FX_UNTIL(&f, 5000, f.results == 2);
  DT_ASSERT_EQ_STR(f.last_reason, "completed");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c->result.json, "subject")->valuestring, "Standup");
  DT_ASSERT_CONTAINS(last_request, "GET /v1.0/users/org-1/onlineMeetings?$filter=JoinWebUrl%20eq%20%27https%3");
  DT_ASSERT_CONTAINS(last_request, "meeting_abc");
  DT_ASSERT_EQ_INT(dt_call_meeting_find(c, "org-1", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_zzz%40thread.v2/0"), 0);
  FX_UNTIL(&f, 5000, f.results == 3);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_STR(f.last_reason, "not_found");
  DT_ASSERT(c->result.json == NULL);

  /* Graph's refusals: an error with Graph's status; the call lives on */
  DT_ASSERT_EQ_INT(dt_call_meeting_create(c, &(dt_online_meeting_params_t){.organizer_id = "nopolicy"}), 0);
  FX_UNTIL(&f, 5000, f.results == 4);
  DT_ASSERT_EQ_INT(f.last.err, DT_EGRAPH);
  DT_ASSERT_EQ_INT(f.last.http_status, 403);
  DT_ASSERT(strstr(f.last_message, "application access policy") != NULL);
  DT_ASSERT_EQ_INT(dt_call_meeting_find(c, "ghost", URL), 0);
  FX_UNTIL(&f, 5000, f.results == 5);
  DT_ASSERT_EQ_INT(f.last.http_status, 404);
  DT_ASSERT(dt_calls_find(f.reg, "call-1") == c);
  DT_ASSERT(c->state != DT_CALL_STATE_TERMINATED);

  dt_http_server_close(srv, NULL, NULL);
  free(fx_close(&f));
}

DT_TEST_MAIN()
