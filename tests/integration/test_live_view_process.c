/*
 * test_live_view_process.c — the live view through the real binaries (issue 14 point 4):
 * `dialtone emulator` plays Graph, `dialtone run` serves its admin listener with a token.
 * A call placed through the emulator's control API runs a menu; the test reads GET /events
 * as a plain TCP client (no browser) and checks:
 *  - the events of the call arrive in order: started < answered < prompt < key < ended,
 *    with the flow, the keys so far and the outcome, and "id:" sequence numbers;
 *  - filters: ?types=key,ended sees only those; ?flow=other sees nothing of it; a bad
 *    filter is 400; without the token 401;
 *  - GET /calls shows the call's current step (prompt, digits so far, time in state, tags);
 *  - GET /cdrs?limit= returns the call's record, /flows the flow and its version,
 *    /dashboard the embedded page; a SIGHUP reload is an event.
 * No timed assertions: every wait is for a condition, bounded.
 */
#include "harness/dt_test.h"
#include "harness/live_fixture.h"
#include "harness/sse_client.h"

static unsigned bound(unsigned ms) { return getenv("DT_UNDER_VALGRIND") ? ms * 6 : ms; }

DT_TEST(events_calls_cdrs_dashboard) {
  live_fixture_t f;
  DT_ASSERT(live_start(&f) == 0);
  char *body = NULL;
  /* auth: the admin token is required on every live-view route */
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/events", f.admin_port);
  DT_ASSERT_EQ_INT(p_http("GET", url, NULL, NULL), 401);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/dashboard", f.admin_port);
  DT_ASSERT_EQ_INT(p_http("GET", url, NULL, NULL), 401);
  DT_ASSERT_EQ_INT(live_get(&f, "/events?types=nonsense", NULL), 400);

  sse_t all, keys, other;
  DT_ASSERT(sse_open(&all, f.admin_port, "/events", "Bearer " LIVE_TOKEN) == 0);
  DT_ASSERT(sse_open(&keys, f.admin_port, "/events?types=key,ended", "Bearer " LIVE_TOKEN) == 0);
  DT_ASSERT(sse_open(&other, f.admin_port, "/events?flow=other", "Bearer " LIVE_TOKEN) == 0);
  DT_ASSERT(sse_wait(&all, ": dialtone events", bound(10000)));
  DT_ASSERT(sse_has(&all, "text/event-stream"));
  DT_ASSERT(sse_wait(&keys, ": dialtone events", bound(10000)));
  DT_ASSERT(sse_wait(&other, ": dialtone events", bound(10000)));

  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&f.env, NULL, id), 201);
  DT_ASSERT(sse_wait(&all, "event: prompt", bound(20000)));
  DT_ASSERT(sse_has(&all, "main_menu"));
  DT_ASSERT(sse_has(&all, "event: tags") && sse_has(&all, "\"tags\":{\"menu\":\"main\"}"));

  /* the current step while the menu waits: the flow, a step with prompt/digits/time, tags */
  DT_ASSERT_EQ_INT(live_get(&f, "/calls", &body), 200);
  DT_ASSERT_CONTAINS(body, "\"flow\":\"main\"");
  DT_ASSERT_CONTAINS(body, "\"step\":{\"prompt\":");
  DT_ASSERT_CONTAINS(body, "\"in_state_s\":");
  DT_ASSERT_CONTAINS(body, "\"tags\":{\"menu\":\"main\"}");
  DT_ASSERT_CONTAINS(body, "\"waiting\":\"gather\"");
  free(body);

  DT_ASSERT_EQ_INT(live_press(&f, id, "1"), 200);
  DT_ASSERT(sse_wait(&all, "\"keys\":\"1\"", bound(20000)));
  DT_ASSERT_EQ_INT(live_get(&f, "/calls", &body), 200);
  DT_ASSERT_CONTAINS(body, "\"digits\":\"1\"");
  free(body);
  DT_ASSERT_EQ_INT(live_press(&f, id, "2#"), 200);
  DT_ASSERT(sse_wait(&all, "event: ended", bound(30000)));
  DT_ASSERT(sse_has(&all, "\"keys\":\"12#\""));
  DT_ASSERT(sse_has(&all, "\"outcome\":\"completed\""));
  DT_ASSERT(sse_has(&all, "id: 1\n"));
  /* the order of one call's events */
  long started = sse_pos(&all, "event: started"), answered = sse_pos(&all, "event: answered");
  long prompt = sse_pos(&all, "event: prompt"), key = sse_pos(&all, "event: key"), ended = sse_pos(&all, "event: ended");
  DT_ASSERT_MSG(started >= 0 && started < answered && answered < prompt && prompt < key && key < ended,
                "order: started %ld answered %ld prompt %ld key %ld ended %ld\n%s", started, answered, prompt, key,
                ended, all.text.data);
  /* filters */
  DT_ASSERT(sse_wait(&keys, "event: ended", bound(20000)));
  DT_ASSERT(sse_has(&keys, "event: key"));
  DT_ASSERT(!sse_has(&keys, "event: started") && !sse_has(&keys, "event: prompt"));
  sse_pump(&other, 200);
  DT_ASSERT(!sse_has(&other, "event: "));

  /* a stream for this call only, replaying from the start: the same events again */
  char target[300];
  snprintf(target, sizeof target, "/events?since=0&call=%s&types=started,ended", id);
  sse_t one;
  DT_ASSERT(sse_open(&one, f.admin_port, target, "Bearer " LIVE_TOKEN) == 0);
  DT_ASSERT(sse_wait(&one, "event: ended", bound(10000)));
  DT_ASSERT(sse_has(&one, "event: started") && !sse_has(&one, "event: key"));
  sse_close(&one);

  /* the CDR, the flows, the page */
  for (uint64_t end = dt_now_ms() + bound(20000); p_cdr_lines(&f.env) < 1 && dt_now_ms() < end;) p_sleep_ms(20);
  DT_ASSERT_EQ_INT(live_get(&f, "/cdrs?limit=5", &body), 200);
  cJSON *cdrs = cJSON_Parse(body);
  DT_ASSERT_MSG(cJSON_IsArray(cdrs) && cJSON_GetArraySize(cdrs) == 1, "%s", body);
  DT_ASSERT(p_same_id(p_str(cJSON_GetArrayItem(cdrs, 0), "call_id"), id));
  cJSON_Delete(cdrs);
  free(body);
  DT_ASSERT_EQ_INT(live_get(&f, "/flows", &body), 200);
  DT_ASSERT_CONTAINS(body, "{\"name\":\"main\",\"version\":1}");
  free(body);
  DT_ASSERT_EQ_INT(live_get(&f, "/dashboard", &body), 200);
  DT_ASSERT_CONTAINS(body, "EventSource");
  free(body);

  /* a reload is an event too */
  p_kill(&f.eng, SIGHUP);
  DT_ASSERT(sse_wait(&all, "event: reload", bound(20000)));
  DT_ASSERT(sse_has(&all, "\"why\":\"requested\""));

  /* the streams end with the engine */
  p_kill(&f.eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&f.eng, bound(30000)), 0);
  sse_close(&all);
  sse_close(&keys);
  sse_close(&other);
  p_env_free(&f.env);
}

DT_TEST_MAIN()
