/*
 * test_meetings_lua.c — lua/meetings_lua.c: dialtone.meetings.create/get exist, belong to a
 * call's flow (refused elsewhere, and where the flow cannot wait), and check their arguments
 * before anything starts, naming the option. Their requests and results run end to end in
 * tests/flows/meetings_test.lua and meetings_beta_test.lua (test_flowtest).
 */
#include "call_handle.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"
#include "meetings_lua.h"

#define in_flow rtf_in_flow

DT_TEST(meetings_belong_to_a_flow_and_check_their_arguments) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  lua_newtable(L);
  dt__meetings_lua_open(L);
  lua_setglobal(L, "d");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.meetings.create{organizer = 'o'}"),
                     "dialtone.meetings.create can only be used from a call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.meetings.get{join_url = 'https://x'}"),
                     "dialtone.meetings.get can only be used from a call's flow");
  dt_call_t c;
  rtf_call(&c, "call-3", "main");
  static const struct {
    const char *code, *want;
  } CASES[] = {
      {"d.meetings.create{organiser = 'o'}", "dialtone.meetings.create: unknown option 'organiser'"},
      {"d.meetings.create{subject = 'x'}", "organizer is required"},
      {"d.meetings.create{organizer = 'a/b'}", "organizer must be the organizer's user id"},
      {"d.meetings.create{organizer = 'o', start_time = 'noon'}", "start must be an ISO 8601 time"},
      {"d.meetings.create{organizer = 'o', start_time = '2026-12-03T18:00:00Z', end_time = '2026-12-03T17:00:00Z'}",
       "end must be after start"},
      {"d.meetings.create{organizer = 'o', attendees = 'alice'}", "attendees must be a list of user ids"},
      {"d.meetings.create{organizer = 'o', attendees = {1}}", "attendee 1 must be a user id"},
      {"d.meetings.create{organizer = 'o', subject = string.rep('s', 1025)}", "subject must be a string of 1 to 1024"},
      {"d.meetings.get{}", "dialtone.meetings.get: join_url is required"},
      {"d.meetings.get{join_url = 'https://example.com/x'}", "cannot read join_url"},
      {"d.meetings.get{join_url = 'https://teams.microsoft.com/meet/123', owner = 'o'}", "unknown option 'owner'"},
      /* good arguments reach the call, which has ended in this fixture */
      {"d.meetings.create{organizer = 'o', subject = 'S', attendees = {'a', 'b'}}", "the call has ended"},
      {"d.meetings.get{join_url = 'https://teams.microsoft.com/meet/123?p=x'}", "the call has ended"},
  };
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) DT_ASSERT_CONTAINS(in_flow(&f, &c, CASES[i].code), CASES[i].want);
  rtf_close(&f);
}

DT_TEST_MAIN()
