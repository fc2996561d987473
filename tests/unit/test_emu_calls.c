/* Unit tests of emu_calls.c: the call state machine (incoming → answer → established,
   reject, answer timeout, transfer to a busy target, an outgoing call answered, hang-ups)
   and the simulated caller's actions (keys, hang-up). An emulator runs on the test's loop
   with instant time; its bot is the fixture's server. */
#include "harness/emu_fixture.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_registry.h"
#include "emulator/emu_util.h"
#include "emulator/emu_sched.h"

static emu_call_t *incoming(ef_t *f) {
  cJSON *s = cJSON_CreateString("+15551230000");
  cJSON *from = dt__emu_identity_from_short(s);
  cJSON *to = cJSON_Parse("{\"application\":{\"id\":\"bot\"}}");
  emu_call_t *c = dt__emu_incoming(f->emu, from, to, f->bot_url, NULL, NULL, NULL);
  cJSON_Delete(s);
  cJSON_Delete(from);
  cJSON_Delete(to);
  return c;
}

static bool established(ef_t *f, emu_call_t *c) { return ef_wait_timeline(f, c->id, "\"kind\":\"state\",\"state\":\"established\""); }

DT_TEST(incoming_answered_then_hung_up_by_the_bot) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = incoming(&f);
  DT_ASSERT_EQ_INT(c->state, EMU_CS_INCOMING);
  DT_ASSERT(ef_wait_notes(&f, 1));
  DT_ASSERT_CONTAINS(f.notes[0], "\"changeType\":\"created\"");
  DT_ASSERT_CONTAINS(f.notes[0], "\"state\":\"incoming\"");
  dt__emu_answer(c, NULL);
  DT_ASSERT_EQ_INT(c->state, EMU_CS_ESTABLISHING);
  DT_ASSERT(established(&f, c));
  DT_ASSERT_EQ_INT(c->state, EMU_CS_ESTABLISHED);
  DT_ASSERT(dt__emu_participant_find(c, c->my_pid) != NULL); /* the bot is in the roster */
  dt__emu_hangup_by_bot(c);
  DT_ASSERT(c->ended);
  DT_ASSERT_EQ_STR(c->end_reason, "bot");
  DT_ASSERT(dt__emu_call_find_live(f.emu, c->id) == NULL);
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"ended\",\"by\":\"bot\"");
  free(t);
  ef_settle(&f);
  DT_ASSERT_CONTAINS(f.notes[f.nnotes - 1], "\"changeType\":\"deleted\"");
  ef_stop(&f);
}

DT_TEST(reject_busy_and_answer_timeout_end_the_call) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = incoming(&f);
  dt__emu_reject(c, "busy");
  DT_ASSERT(c->ended);
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"by\":\"reject\",\"code\":486");
  free(t);
  f.emu->cfg.answer_timeout_ms = 1; /* real ms */
  emu_call_t *d = incoming(&f);
  DT_ASSERT(ef_wait_timeline(&f, d->id, "\"kind\":\"answer_timeout\""));
  DT_ASSERT(d->ended);
  DT_ASSERT_EQ_STR(d->end_reason, "answer_timeout");
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_transfer_to_a_busy_target_falls_back_to_established) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  dt_emulator_party_t busy = {DT_EMULATOR_BUSY, -1, NULL};
  DT_ASSERT_EQ_INT(dt_emulator_set_party(f.emu, "bob", &busy, NULL, 0), 0);
  emu_call_t *c = incoming(&f);
  dt__emu_answer(c, NULL);
  DT_ASSERT(established(&f, c));
  cJSON *target = cJSON_Parse("{\"identity\":{\"user\":{\"id\":\"Bob\"}}}");
  dt__emu_transfer(c, target, NULL);
  cJSON_Delete(target);
  DT_ASSERT_EQ_INT(c->state, EMU_CS_TRANSFERRING);
  DT_ASSERT(ef_wait_timeline(&f, c->id, "\"outcome\":\"failed\",\"reason\":\"is busy\""));
  DT_ASSERT_EQ_INT(c->state, EMU_CS_ESTABLISHED);
  DT_ASSERT(!c->ended);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(an_outgoing_call_is_answered_by_default) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *body = cJSON_Parse("{\"targets\":[{\"identity\":{\"user\":{\"id\":\"carol\"}}}],"
                            "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}");
  emu_call_t *c = dt__emu_outgoing(f.emu, body, f.bot_url);
  DT_ASSERT_EQ_STR(dt__emu_json_str(c->res, "direction"), "outgoing");
  DT_ASSERT_EQ_STR(c->to_desc, "user:carol");
  DT_ASSERT(ef_wait_timeline(&f, c->id, "\"kind\":\"answered\",\"callee\":\"user:carol\""));
  DT_ASSERT_EQ_INT(c->state, EMU_CS_ESTABLISHED);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(c->participants), 2); /* callee and bot */
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(the_caller_presses_keys_and_hangs_up) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = incoming(&f);
  dt__emu_answer(c, NULL);
  DT_ASSERT(established(&f, c));
  c->tone_subscribed = true;
  dt__emu_caller_press(c, "12", 100);
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"tone\",\"tone\":\"1\""); /* the first key at once */
  DT_ASSERT(strstr(t, "\"tone\":\"2\"") == NULL);
  free(t);
  DT_ASSERT(ef_wait_timeline(&f, c->id, "\"kind\":\"tone\",\"tone\":\"2\""));
  DT_ASSERT_EQ_INT(c->tone_seq, 2);
  dt__emu_caller_hangup(c);
  DT_ASSERT(c->ended);
  DT_ASSERT_EQ_STR(c->end_reason, "remote");
  t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"caller_hangup\"");
  free(t);
  ef_settle(&f);
  ef_stop(&f);
}

/* Graph's 45-minute rule runs on the simulated clock: a keepAlive at 30 simulated minutes
   keeps the call past 45; 45 minutes after the last one the call ends as Graph ends it. */
DT_TEST(keepalive_rule_runs_on_the_simulated_clock) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  f.emu->keepalive_sim = true; /* as dt_emulator_options_t.keepalive_simulated sets it */
  dt__emu_sched_set_manual(&f.emu->sim, true);
  emu_call_t *c = incoming(&f);
  dt__emu_answer(c, NULL);
  while (dt__emu_sched_next_due(&f.emu->sim, NULL) == 0 && c->state != EMU_CS_ESTABLISHED &&
         dt__emu_sched_now(&f.emu->sim) < 60000)
    dt__emu_sched_next(&f.emu->sim);
  DT_ASSERT(established(&f, c));
  uint64_t t0 = dt__emu_sched_now(&f.emu->sim);
  DT_ASSERT(c->keepalive_timer != NULL);
  DT_ASSERT(c->keepalive_timer->due <= t0 + 45ULL * 60 * 1000);
  DT_ASSERT(c->keepalive_timer->lazy); /* an owner waiting on the bot does not jump to it */
  uint64_t act = 0;
  DT_ASSERT(dt__emu_sched_next_active_due(&f.emu->sim, &act) != 0 || act < c->keepalive_timer->due);
  dt__emu_sched_advance(&f.emu->sim, 30ULL * 60 * 1000);
  DT_ASSERT(!c->ended);
  dt__emu_keepalive(c); /* what POST .../keepAlive does */
  dt__emu_sched_advance(&f.emu->sim, 30ULL * 60 * 1000); /* 60 min: 30 after the keepAlive */
  DT_ASSERT(!c->ended);
  char *id = dt_xstrdup(c->id);
  dt__emu_sched_advance(&f.emu->sim, 16ULL * 60 * 1000); /* 76 min: 46 after it */
  DT_ASSERT(dt__emu_call_find_live(f.emu, id) == NULL);
  char *t = ef_timeline(&f, id);
  DT_ASSERT_CONTAINS(t, "inactivity");
  free(t);
  free(id);
  dt__emu_sched_set_manual(&f.emu->sim, false);
  ef_settle(&f);
  DT_ASSERT_CONTAINS(f.notes[f.nnotes - 1], "\"changeType\":\"deleted\"");
  ef_stop(&f);
}

/* Leaving manual mode moves the rule back to real time: a free-running instant clock would
   otherwise end every idle call at once (a test's teardown drains its calls that way). */
DT_TEST(leaving_manual_mode_puts_the_keepalive_rule_on_real_time) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  f.emu->keepalive_sim = true;
  dt_emulator_set_clock_manual(f.emu, true);
  emu_call_t *c = incoming(&f);
  DT_ASSERT(c->keepalive_timer && c->keepalive_timer->sched == &f.emu->sim);
  dt_emulator_set_clock_manual(f.emu, false);
  DT_ASSERT(!f.emu->keepalive_sim);
  DT_ASSERT(c->keepalive_timer && c->keepalive_timer->sched == &f.emu->real);
  DT_ASSERT(!c->ended);
  dt__emu_reject(c, "busy");
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
