/* Unit tests of emu_script.c: caller scripts parse, copy and render, and the cursor runs
   each step on its trigger at the right simulated time, handing it to emu->script_act. */
#include "harness/dt_test.h"
#include "dialtone/error.h"
#include "emulator/emu_sched.h"
#include "emulator/emu_script.h"
#include "emulator/emu_timeline.h"

DT_TEST(scripts_parse_and_reject) {
  cJSON *a = cJSON_Parse("[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"2\"},"
                         "{\"on\":\"record\",\"speak_s\":3},{\"after_ms\":5000,\"hangup\":true}]");
  emu_script_t s;
  char err[160];
  DT_ASSERT_EQ_INT(dt__emu_script_parse(a, &s, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(s.n, 3);
  DT_ASSERT_EQ_INT(s.steps[0].on, EMU_ON_PROMPT);
  DT_ASSERT_EQ_STR(s.steps[0].match, "main_menu");
  DT_ASSERT_EQ_STR(s.steps[0].tones, "2");
  DT_ASSERT_EQ_INT(s.steps[1].speak_ms, 3000);
  DT_ASSERT_EQ_INT(s.steps[2].on, EMU_ON_NONE);
  DT_ASSERT_EQ_INT(s.steps[2].after_ms, 5000);
  DT_ASSERT(s.steps[2].hangup);
  emu_script_t copy;
  dt__emu_script_copy(&copy, &s);
  cJSON *back = dt__emu_script_json(&copy);
  char *txt = cJSON_PrintUnformatted(back);
  DT_ASSERT_CONTAINS(txt, "\"match\":\"main_menu\"");
  DT_ASSERT_CONTAINS(txt, "\"speak_ms\":3000");
  free(txt);
  cJSON_Delete(back);
  dt__emu_script_free(&copy);
  dt__emu_script_free(&s);
  cJSON_Delete(a);
  const char *bad[] = {"{}", "[1]", "[{\"on\":\"dial\"}]", "[{\"tones\":\"9z\"}]", "[{\"speak_s\":-1}]",
                       "[{\"after_ms\":\"soon\"}]", "[{\"hangup\":1}]", "[{\"wave\":true}]"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    cJSON *b = cJSON_Parse(bad[i]);
    err[0] = '\0';
    DT_ASSERT_MSG(dt__emu_script_parse(b, &s, err, sizeof err) == DT_EINVAL, "accepted %s", bad[i]);
    DT_ASSERT(err[0] != '\0');
    cJSON_Delete(b);
  }
}

static char acted[128];
static void record_act(emu_call_t *c, const emu_step_t *st, uint64_t at) {
  size_t n = strlen(acted);
  snprintf(acted + n, sizeof acted - n, "[%s@%llu]", st->tones ? st->tones : (st->hangup ? "hangup" : "-"),
           (unsigned long long)(at - c->created_sim));
}

DT_TEST(cursor_runs_steps_on_their_triggers) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_emulator_t emu;
  memset(&emu, 0, sizeof emu);
  dt__emu_sched_init(&emu.sim, &emu, &loop, false, 0);
  dt__emu_sched_set_manual(&emu.sim, true);
  emu.script_act = record_act;
  emu_call_t c;
  memset(&c, 0, sizeof c);
  c.emu = &emu;
  snprintf(c.id, sizeof c.id, "call-1");
  c.created_sim = dt__emu_sched_now(&emu.sim);
  cJSON *a = cJSON_Parse("[{\"after_ms\":100,\"tones\":\"1\"},{\"on\":\"prompt\",\"match\":\"menu\",\"after_ms\":50,"
                         "\"tones\":\"2\"},{\"on\":\"record\",\"hangup\":true}]");
  char err[160];
  DT_ASSERT_EQ_INT(dt__emu_script_parse(a, &c.script, err, sizeof err), 0);
  cJSON_Delete(a);
  acted[0] = '\0';
  dt__emu_script_start(&c);
  DT_ASSERT_EQ_INT(dt__emu_sched_advance(&emu.sim, 100), 1);
  DT_ASSERT_EQ_STR(acted, "[1@100]");
  DT_ASSERT(c.step_waiting); /* step 2 waits for a prompt */
  /* the wrong trigger and a prompt that does not match change nothing */
  dt__emu_script_trigger(&c, EMU_ON_RECORD, NULL, NULL, dt__emu_sched_now(&emu.sim));
  dt__emu_script_trigger(&c, EMU_ON_PROMPT, "goodbye", "http://x/goodbye.wav", dt__emu_sched_now(&emu.sim));
  DT_ASSERT_EQ_INT(dt__emu_sched_advance(&emu.sim, 1000), 0);
  dt__emu_script_trigger(&c, EMU_ON_PROMPT, "main_menu", "http://x/main_menu.wav", dt__emu_sched_now(&emu.sim));
  DT_ASSERT_EQ_INT(dt__emu_sched_advance(&emu.sim, 50), 1);
  DT_ASSERT_EQ_STR(acted, "[1@100][2@1150]");
  dt__emu_script_trigger(&c, EMU_ON_RECORD, NULL, NULL, dt__emu_sched_now(&emu.sim));
  DT_ASSERT_EQ_INT(dt__emu_sched_next(&emu.sim), 1);
  DT_ASSERT_EQ_STR(acted, "[1@100][2@1150][hangup@1150]");
  DT_ASSERT_EQ_INT(c.step, 3);
  /* each step is in the timeline */
  size_t len = 0;
  char *text = dt__emu_timeline_text(&c, &len);
  DT_ASSERT_CONTAINS(text, "\"kind\":\"script_step\",\"step\":3");
  free(text);
  dt__emu_timeline_free(&c.tl);
  dt__emu_script_free(&c.script);
  dt__emu_sched_close(&emu.sim, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

DT_TEST_MAIN()
