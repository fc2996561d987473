/*
 * test_emu_online_meetings.c — core/emulator/emu_online_meetings.c over HTTP: create (201, the
 * onlineMeeting with a joinWebUrl meeting_link.c reads), get by JoinWebUrl filter ({"value":[m]}
 * or []), get and delete by id, in v1.0 (/users/{id}) and beta (/app, organizer in the body);
 * Graph's refusals (401 without a token, 400 for bad bodies, times and filters, 404 for /app in
 * v1.0 and unknown ids, 405 for other methods); a call that joins by the link is attached to
 * the meeting's thread.
 */
#include <string.h>
#include "harness/emu_fixture.h"
#include "emulator/emu_identity.h"
#include "dialtone/meeting_link.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_online_meetings.h"
#include "emulator/emu_util.h"

static const char *jstr(const cJSON *o, const char *k) { return dt__emu_json_str(o, k); }

/* The filter path for a join URL (percent-encoded, as the engine sends it). */
static char *filter_path(const char *prefix, const char *url) {
  char *enc = dt_xmalloc(strlen(url) * 3 + 1), *o = enc;
  for (const char *p = url; *p; p++) o += sprintf(o, strchr("-_.~", *p) || (*p >= '0' && *p <= '9') ||
                                                  ((*p | 32) >= 'a' && (*p | 32) <= 'z') ? "%c" : "%%%02X", (unsigned char)*p);
  char *path = dt_xasprintf("%s?$filter=JoinWebUrl%%20eq%%20'%s'", prefix, enc);
  free(enc);
  return path;
}

DT_TEST(create_find_get_delete_in_v1) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *auth = dt_xasprintf("Bearer %s", tok);
  ef_resp_t r = ef_http(&f, "POST", "/v1.0/users/org-1/onlineMeetings", NULL, "{}");
  DT_ASSERT_EQ_INT(r.status, 401);
  ef_resp_free(&r);
  r = ef_http(&f, "POST", "/v1.0/users/org-1/onlineMeetings", auth,
              "{\"subject\":\"Standup\",\"startDateTime\":\"2026-12-03T18:00:00Z\",\"endDateTime\":\"2026-12-03T18:30:00+00:00\","
              "\"participants\":{\"attendees\":[{\"identity\":{\"user\":{\"id\":\"alice\"}}}]}}");
  DT_ASSERT_EQ_INT(r.status, 201);
  const cJSON *m = r.json;
  DT_ASSERT_EQ_STR(jstr(m, "subject"), "Standup");
  DT_ASSERT_EQ_STR(jstr(m, "startDateTime"), "2026-12-03T18:00:00Z");
  DT_ASSERT_CONTAINS(jstr(m, "@odata.context"), "/v1.0/$metadata#users('org-1')/onlineMeetings/$entity");
  const cJSON *org = dt__emu_json_get(dt__emu_json_get(m, "participants"), "organizer");
  DT_ASSERT_EQ_STR(jstr(dt__emu_json_get(dt__emu_json_get(org, "identity"), "user"), "id"), "org-1");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(dt__emu_json_get(dt__emu_json_get(m, "participants"), "attendees")), 1);
  /* the link reads back as the meeting's chat and organizer */
  dt_meeting_link_t link;
  char err[200];
  DT_ASSERT_EQ_INT(dt_meeting_link_parse(jstr(m, "joinWebUrl"), &link, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(link.thread_id, jstr(dt__emu_json_get(m, "chatInfo"), "threadId"));
  DT_ASSERT_EQ_STR(link.organizer_id, "org-1");
  char *url = dt_xstrdup(jstr(m, "joinWebUrl")), *id = dt_xstrdup(jstr(m, "id"));
  char *thread = dt_xstrdup(link.thread_id);
  ef_resp_free(&r);

  /* found by its join URL under its organizer, not under another user */
  char *path = filter_path("/v1.0/users/org-1/onlineMeetings", url);
  r = ef_http(&f, "GET", path, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(dt__emu_json_get(r.json, "value")), 1);
  DT_ASSERT_EQ_STR(jstr(cJSON_GetArrayItem(dt__emu_json_get(r.json, "value"), 0), "id"), id);
  ef_resp_free(&r);
  free(path);
  path = filter_path("/v1.0/users/someone-else/onlineMeetings", url);
  r = ef_http(&f, "GET", path, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(dt__emu_json_get(r.json, "value")), 0);
  ef_resp_free(&r);
  free(path);

  /* a dial by the link joins the meeting's thread */
  char *body = dt_xasprintf("{\"chatInfo\":{\"threadId\":\"%s\",\"messageId\":\"0\"},\"meetingInfo\":{\"@odata.type\":"
                            "\"#microsoft.graph.organizerMeetingInfo\",\"organizer\":{\"user\":{\"id\":\"org-1\"}}},"
                            "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}", thread);
  emu_call_t *c = dt__emu_outgoing(f.emu, cJSON_Parse(body), f.bot_url);
  DT_ASSERT(ef_wait_timeline(&f, c->id, "\"online_meeting\""));
  DT_ASSERT(dt__emu_online_meeting_by_thread(f.emu, thread) == dt__emu_online_meeting_find(f.emu, url, NULL));
  free(body);

  /* by id; delete; then 404 */
  char *item = dt_xasprintf("/v1.0/users/org-1/onlineMeetings/%s", id);
  r = ef_http(&f, "GET", item, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  ef_resp_free(&r);
  r = ef_http(&f, "PATCH", item, auth, "{}");
  DT_ASSERT_EQ_INT(r.status, 405);
  ef_resp_free(&r);
  r = ef_http(&f, "DELETE", item, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 204);
  ef_resp_free(&r);
  r = ef_http(&f, "GET", item, auth, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  DT_ASSERT_EQ_STR(jstr(dt__emu_json_get(r.json, "error"), "code"), "itemNotFound");
  ef_resp_free(&r);
  DT_FREE_ALL(url, id, thread, item, tok, auth);
  ef_stop(&f);
}

DT_TEST(refusals_and_the_beta_app_path) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *auth = dt_xasprintf("Bearer %s", tok);
  static const struct {
    const char *method, *path, *body;
    int status;
  } CASES[] = {
      {"POST", "/v1.0/users/o/onlineMeetings", "{not json", 400},
      {"POST", "/v1.0/users/o/onlineMeetings", "{\"startDateTime\":\"tomorrow\"}", 400},
      {"POST", "/v1.0/users/o/onlineMeetings",
       "{\"startDateTime\":\"2026-12-03T18:00:00Z\",\"endDateTime\":\"2026-12-03T17:00:00Z\"}", 400},
      {"POST", "/v1.0/users/o/onlineMeetings", "{\"subject\":5}", 400},
      {"POST", "/v1.0/users/o/onlineMeetings", "{\"participants\":{\"attendees\":[{}]}}", 400},
      {"GET", "/v1.0/users/o/onlineMeetings", NULL, 400},                                   /* no filter */
      {"GET", "/v1.0/users/o/onlineMeetings?$filter=subject%20eq%20'x'", NULL, 400},       /* not JoinWebUrl */
      {"GET", "/v1.0/users/o/onlineMeetings?$filter=JoinWebUrl%20eq%20'x", NULL, 400},     /* unclosed */
      {"POST", "/v1.0/app/onlineMeetings", "{}", 404},                                     /* v1.0 has no /app */
      {"POST", "/v1.0/communications/onlineMeetings", "{}", 405},
      {"PUT", "/v1.0/users/o/onlineMeetings", "{}", 405},
      {"POST", "/beta/app/onlineMeetings", "{\"subject\":\"no organizer\"}", 400},
      {"POST", "/beta/app/onlineMeetings",
       "{\"participants\":{\"organizer\":{\"identity\":{\"user\":{\"id\":\"a\\\"b\"}}}}}", 400},
      {"GET", "/v1.0/users/o/onlineMeetings/nope", NULL, 404},
      {"GET", "/v1.0/users/o/onlineMeetings?$filter=JoinWebUrl%20eq%20'https%3A%2F%2Fx%2Fit''s'", NULL, 200},
  };
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    ef_resp_t r = ef_http(&f, CASES[i].method, CASES[i].path, auth, CASES[i].body);
    DT_ASSERT_MSG(r.status == CASES[i].status, "%s %s: %d, want %d", CASES[i].method, CASES[i].path, r.status,
                  CASES[i].status);
    if (r.status >= 400) DT_ASSERT(jstr(dt__emu_json_get(r.json, "error"), "code") != NULL);
    ef_resp_free(&r);
  }
  /* beta: the bot era's /app path, the organizer from the body; found there by URL */
  ef_resp_t r = ef_http(&f, "POST", "/beta/app/onlineMeetings", auth,
                        "{\"participants\":{\"organizer\":{\"identity\":{\"user\":{\"id\":\"org-b\"}}}}}");
  DT_ASSERT_EQ_INT(r.status, 201);
  DT_ASSERT_CONTAINS(jstr(r.json, "joinWebUrl"), "%22Oid%22%3a%22org-b%22");
  DT_ASSERT(dt__emu_json_get(r.json, "endDateTime") != NULL); /* an hour after the start by default */
  char *path = filter_path("/beta/app/onlineMeetings", jstr(r.json, "joinWebUrl"));
  ef_resp_free(&r);
  r = ef_http(&f, "GET", path, auth, NULL);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(dt__emu_json_get(r.json, "value")), 1);
  ef_resp_free(&r);
  free(path);
  dt_emulator_reset(f.emu); /* forgets them */
  DT_ASSERT(f.emu->online_meetings == NULL);
  DT_FREE_ALL(tok, auth);
  ef_stop(&f);
}

DT_TEST_MAIN()
