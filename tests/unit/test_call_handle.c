/*
 * test_call_handle.c — the call handle (lua/call_handle.c) as Lua sees it: read-only
 * fields, a hidden metatable, one handle per call, and a handle that outlives its call.
 */
#include "call_handle.h"
#include "dialtone/call_incoming.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

static void push_handle(rt_fixture_t *f, dt_call_t *c, const char *global) {
  dt__call_handle_push(f->rt->L, f->rt, c);
  lua_setglobal(f->rt->L, global);
}

DT_TEST(the_handle_shows_the_call_read_only) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-1", "main");
  push_handle(&f, &c, "h");
  push_handle(&f, &c, "h2");
  const char *e = rtf_eval(&f, "assert(h.id == 'call-1' and h.flow == 'main' and h.direction == 'incoming')\n"
                               "assert(h.ended == true and h.buffered_digits == '' and h.dialed_by == nil)\n"
                               "assert(tostring(h) == 'call call-1')\n"
                               "assert(rawequal(h, h2), 'one handle per call')\n"
                               "assert(getmetatable(h) == 'locked')\n"
                               "assert(type(h.play) == 'function')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h.id = 'x'"), "call handles are read-only");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "return h.nosuch"), "call has no field or method 'nosuch'");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "setmetatable(h, {})"), "table expected");
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

/* call.subject, called, chat, meeting, context: the incoming call's view, a fresh table per
   read (a flow changing it changes nothing), nil for what Graph did not send. */
DT_TEST(the_handle_shows_what_graph_said_about_the_incoming_call) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-4", "main");
  cJSON *rd = cJSON_Parse("{\"subject\":\"Review\",\"targets\":[{\"identity\":{\"applicationInstance\":{\"id\":\"ai\"}}}],"
                          "\"incomingContext\":{\"observedParticipantId\":\"p-1\",\"transferor\":{\"user\":"
                          "{\"id\":\"u-1\",\"displayName\":\"Ann\"}}}}");
  c.incoming = dt_incoming_view(rd);
  cJSON_Delete(rd);
  push_handle(&f, &c, "h");
  const char *e = rtf_eval(&f, "assert(h.subject == 'Review' and h.called.application_instance == 'ai')\n"
                               "assert(h.context.observed_participant_id == 'p-1')\n"
                               "assert(h.context.transferor.user == 'u-1' and h.context.transferor.name == 'Ann')\n"
                               "assert(h.meeting == nil and h.chat == nil and h.context.on_behalf_of == nil)\n"
                               "local t = h.context; t.observed_participant_id = 'x'\n"
                               "assert(h.context.observed_participant_id == 'p-1', 'a fresh table each read')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:recording_status('paused')"),
                     "call:recording_status: status must be \"recording\", \"notRecording\" or \"failed\", got 'paused'");
  dt_runtime_on_release(&c, f.rt);
  cJSON_Delete(c.incoming);
  rtf_call(&c, "call-5", "main"); /* an outgoing call, or one from before: no view at all */
  push_handle(&f, &c, "o");
  e = rtf_eval(&f, "assert(o.subject == nil and o.called == nil and o.context == nil)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST(a_handle_outlives_its_call) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-3", "main");
  push_handle(&f, &c, "h");
  dt_runtime_on_release(&c, f.rt); /* forgets the handle */
  const char *e = rtf_eval(&f, "assert(h.id == nil and h.state == 'terminated' and h.ended)\n"
                               "assert(tostring(h) == 'call (ended)')\n"
                               "h:hangup() -- nothing to do");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:play('welcome')"), "hangup: the call has ended");
  rtf_close(&f);
}

DT_TEST(set_string_skips_null) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  int top = lua_gettop(L);
  lua_newtable(L);
  dt__call_handle_set_string(L, "a", "x");
  dt__call_handle_set_string(L, "b", NULL);
  DT_ASSERT_EQ_INT(lua_gettop(L), top + 1);
  DT_ASSERT_EQ_INT(lua_getfield(L, -1, "a"), LUA_TSTRING);
  DT_ASSERT_EQ_STR(lua_tostring(L, -1), "x");
  DT_ASSERT_EQ_INT(lua_getfield(L, -2, "b"), LUA_TNIL);
  lua_settop(L, top);
  rtf_close(&f);
}

DT_TEST_MAIN()
