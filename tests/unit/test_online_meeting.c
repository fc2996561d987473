/*
 * test_online_meeting.c — core/graph/online_meeting.c: the create request in both dialects
 * (v1.0 /users/{organizer}/onlineMeetings; beta /app/onlineMeetings with the organizer in the
 * body), the find path (the URL as an OData string, percent-encoded, quotes doubled), ISO 8601
 * times, the flow's view of a meeting, and refusals with a sentence.
 */
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/online_meeting.h"
#include "harness/dt_test.h"

#define URL "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22t-1%22%2c%22Oid%22%3a%22org-1%22%7d"

static char *printed(cJSON *b) {
  char *s = cJSON_PrintUnformatted(b);
  cJSON_Delete(b);
  return s;
}

DT_TEST(create_request_in_both_dialects) {
  const char *att[] = {"alice", "bob@contoso.com"};
  dt_online_meeting_params_t p = {.subject = "Standup", .start = "2026-12-03T18:00:00Z",
                                  .end = "2026-12-03T19:00:00+01:00", .organizer_id = "org-1",
                                  .attendees = att, .attendee_count = 2};
  char *path, err[200];
  cJSON *body;
  DT_ASSERT_EQ_INT(dt_online_meeting_create_request(DT_GRAPH_V1, &p, &path, &body, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "end must be after start"); /* 19:00+01:00 is 18:00Z */
  p.end = "2026-12-03T19:00:00.5Z";
  DT_ASSERT_EQ_INT(dt_online_meeting_create_request(DT_GRAPH_V1, &p, &path, &body, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(path, "/users/org-1/onlineMeetings");
  char *s = printed(body);
  DT_ASSERT_EQ_STR(s, "{\"startDateTime\":\"2026-12-03T18:00:00Z\",\"endDateTime\":\"2026-12-03T19:00:00.5Z\","
                      "\"subject\":\"Standup\",\"participants\":{\"attendees\":[{\"identity\":{\"user\":{\"id\":\"alice\"}}},"
                      "{\"identity\":{\"user\":{\"id\":\"bob@contoso.com\"}}}]}}");
  DT_FREE_ALL(path, s);
  dt_online_meeting_params_t q = {.organizer_id = "org-1"};
  DT_ASSERT_EQ_INT(dt_online_meeting_create_request(DT_GRAPH_BETA, &q, &path, &body, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(path, "/app/onlineMeetings");
  s = printed(body);
  DT_ASSERT_EQ_STR(s, "{\"participants\":{\"organizer\":{\"identity\":{\"user\":{\"id\":\"org-1\"}}}}}");
  DT_FREE_ALL(path, s);
}

DT_TEST(create_refusals) {
  char *path, err[200], big[1100];
  cJSON *body;
  memset(big, 's', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  const char *bad_att[] = {"a b"};
  static const char *const times[] = {"2026-12-03", "2026-13-03T18:00:00Z", "2026-12-03T18:00:00", "2026-12-03T18:00:00+1"};
  struct {
    dt_online_meeting_params_t p;
    const char *want;
  } cases[] = {
      {{.subject = "x"}, "organizer must be"},
      {{.organizer_id = "a/b"}, "organizer must be"},
      {{.organizer_id = "o", .subject = big}, "subject is longer"},
      {{.organizer_id = "o", .attendees = bad_att, .attendee_count = 1}, "attendee 1 is not a user id"},
      {{.organizer_id = "o", .attendees = bad_att, .attendee_count = 101}, "at most 100 attendees"},
      {{.organizer_id = "o", .end = "soon"}, "end must be an ISO 8601 time"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    DT_ASSERT_EQ_INT(dt_online_meeting_create_request(DT_GRAPH_V1, &cases[i].p, &path, &body, err, sizeof err), DT_EINVAL);
    DT_ASSERT(path == NULL && body == NULL);
    DT_ASSERT_CONTAINS(err, cases[i].want);
  }
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    long long t;
    DT_ASSERT(!dt_online_meeting_time(times[i], &t));
  }
  long long t;
  DT_ASSERT(dt_online_meeting_time("1970-01-02T00:00:00Z", &t) && t == 86400);
  DT_ASSERT_EQ_INT(dt_online_meeting_create_request(DT_GRAPH_V1, NULL, &path, &body, err, sizeof err), DT_EINVAL);
}

DT_TEST(find_path) {
  char *path, err[200];
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_V1, "org-1", "https://x.example/it's", &path, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(path, "/users/org-1/onlineMeetings?$filter=JoinWebUrl%20eq%20%27https%3A%2F%2Fx.example%2Fit%27%27s%27");
  free(path);
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_BETA, NULL, URL, &path, err, sizeof err), 0);
  DT_ASSERT(strncmp(path, "/app/onlineMeetings?$filter=JoinWebUrl%20eq%20%27https%3A%2F%2Fteams", 66) == 0);
  free(path);
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_V1, NULL, URL, &path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "give organizer");
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_BETA, NULL, "http://x", &path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_BETA, NULL, "", &path, err, sizeof err), DT_EINVAL);
  char *huge = malloc(DT_ONLINE_MEETING_MAX_URL + 10);
  memset(huge, 'a', DT_ONLINE_MEETING_MAX_URL + 9);
  memcpy(huge, "https://", 8);
  huge[DT_ONLINE_MEETING_MAX_URL + 9] = '\0';
  DT_ASSERT_EQ_INT(dt_online_meeting_find_path(DT_GRAPH_BETA, NULL, huge, &path, err, sizeof err), DT_EINVAL);
  DT_ASSERT(path == NULL);
  free(huge);
}

DT_TEST(the_flows_view) {
  cJSON *m = cJSON_Parse(
      "{\"id\":\"m-1\",\"joinWebUrl\":\"" URL "\",\"subject\":\"S\",\"startDateTime\":\"a\",\"endDateTime\":\"b\","
      "\"creationDateTime\":\"c\",\"chatInfo\":{\"threadId\":\"19:meeting_abc@thread.v2\",\"messageId\":\"0\","
      "\"replyChainMessageId\":null},\"participants\":{\"organizer\":{\"identity\":{\"user\":{\"id\":\"org-1\","
      "\"tenantId\":\"t-1\",\"displayName\":null}},\"upn\":\"o@x\"},\"attendees\":[{\"identity\":{\"user\":"
      "{\"id\":\"alice\",\"displayName\":\"Alice\"}}},{\"identity\":{\"phone\":{\"id\":\"+1\"}}}]}}");
  char *s = printed(dt_online_meeting_view(m));
  DT_ASSERT_EQ_STR(s, "{\"id\":\"m-1\",\"join_url\":\"" URL "\",\"subject\":\"S\",\"start_time\":\"a\",\"end_time\":\"b\","
                      "\"created_time\":\"c\",\"chat_info\":{\"thread_id\":\"19:meeting_abc@thread.v2\",\"message_id\":\"0\"},"
                      "\"organizer\":{\"id\":\"org-1\",\"tenant_id\":\"t-1\",\"upn\":\"o@x\"},"
                      "\"attendees\":[{\"id\":\"alice\",\"name\":\"Alice\"}],"
                      "\"meeting_info\":{\"organizer_id\":\"org-1\",\"tenant_id\":\"t-1\"}}");
  free(s);
  cJSON_Delete(m);
  DT_ASSERT(dt_online_meeting_view(NULL) == NULL);
  cJSON *empty = cJSON_Parse("{}");
  s = printed(dt_online_meeting_view(empty));
  DT_ASSERT_EQ_STR(s, "{}");
  free(s);
  cJSON_Delete(empty);
}

DT_TEST(requests_refuse_bad_arguments_without_a_callback) {
  DT_ASSERT_EQ_INT(dt_graph_create_online_meeting(NULL, NULL, NULL, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_find_online_meeting(NULL, "o", URL, NULL, NULL, NULL), DT_EINVAL);
}

DT_TEST_MAIN()
