/*
 * test_call_roster.c — core/calls/call_roster.c: roster notifications become the call's live
 * roster; participants() answers from it at once; wait_participant (joined, left, count)
 * finishes at once when already true, on the roster that makes it true, or at its timeout
 * ("timeout", no error); bad arguments are refused before anything starts.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

/* A roster notification: bot plus the people given as "id:user" pairs. */
static void roster(call_fx_t *f, const char *call_id, const char *people) {
  char *json = dt_xasprintf(
      "{\"value\":[{\"changeType\":\"updated\",\"resource\":\"/app/calls/%s/participants\",\"resourceData\":["
      "{\"id\":\"bot\",\"info\":{\"identity\":{\"application\":{\"id\":\"app\",\"displayName\":\"Bot\"}}}}%s]}]}",
      call_id, people);
  DT_ASSERT_EQ_INT(fx_notify(f, json), 0);
  free(json);
}

#define ALICE ",{\"id\":\"p-a\",\"info\":{\"identity\":{\"user\":{\"id\":\"alice\",\"displayName\":\"Alice\"}}}}"
#define GUEST ",{\"id\":\"p-g\",\"info\":{\"identity\":{\"guest\":{\"id\":\"g1\",\"displayName\":\"Visitor\"}}}}"

DT_TEST(roster_waits_and_the_live_list) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-1", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  fx_state(&f, "call-1", "established");
  /* refusals */
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_JOINED, NULL, 0, 1000), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_COUNT, NULL, 0, 1000), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_participant_get(c, ""), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_participant_action(c, DT_PACT_MUTE, NULL, NULL), DT_EINVAL);
  /* a count not reached yet: waits; the roster that reaches it finishes the wait */
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_COUNT, NULL, 2, 60000), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_ROSTER);
  roster(&f, "call-1", ALICE);
  DT_ASSERT_EQ_INT(f.results, 0);
  roster(&f, "call-1", ALICE GUEST);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_STR(f.last.reason, "count");
  /* participants(): at once, from the roster */
  DT_ASSERT_EQ_INT(dt_call_participants(c), 1);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(c->result.json), 3);
  /* joined, already true: at once, by name, any case */
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_JOINED, "visitor", 0, 60000), 1);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(c->result.json, "id")->valuestring, "p-g");
  /* left: when the roster no longer has them */
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_LEFT, "alice", 0, 60000), 0);
  roster(&f, "call-1", GUEST);
  DT_ASSERT_EQ_INT(f.results, 2);
  DT_ASSERT_EQ_STR(f.last.reason, "left");
  /* the timeout: reason "timeout", no error */
  DT_ASSERT_EQ_INT(dt_call_wait_participant(c, DT_ROSTER_JOINED, "nobody", 0, 5), 0);
  FX_UNTIL(&f, 5000, f.results == 3);
  DT_ASSERT_EQ_STR(f.last.reason, "timeout");
  DT_ASSERT_EQ_INT(f.last.err, 0);
  free(fx_close(&f));
}

DT_TEST_MAIN()
