/* Unit tests of emu_api.c, the typed control API: each operation validates everything
   before it changes anything (and says why), acts on live calls only, and the views,
   settings, faults, parties, reset, stats and the manual clock behave as emulator.h says. */
#include "harness/emu_fixture.h"
#include "dialtone/error.h"
#include "emulator/emu_api.h"

DT_TEST(calls_are_placed_pressed_spoken_and_hung_up_through_the_api) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256];
  cJSON *bad = cJSON_CreateNumber(1);
  dt_emulator_call_options_t o = {0};
  o.from = bad;
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, &o, id, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "\"from\"");
  DT_ASSERT_EQ_STR(id, "");
  cJSON_Delete(bad);
  cJSON *script = cJSON_Parse("[{\"on\":\"dial\"}]");
  o.from = NULL;
  o.script = script;
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, &o, id, err, sizeof err), DT_EINVAL);
  cJSON_Delete(script);
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(f.emu, "gopher://x", err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(f.emu, NULL, err, sizeof err), 0);
  DT_ASSERT(dt_emulator_bot_url(f.emu) == NULL);
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, NULL, id, err, sizeof err), DT_EINVAL); /* no bot URL */
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(f.emu, f.bot_url, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, NULL, id, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(strlen(id), 36);
  DT_ASSERT_EQ_INT(dt_emulator_press(f.emu, id, "9z", -1, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_press(f.emu, id, "1", 60001, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_press(f.emu, "nope", "1", -1, err, sizeof err), DT_ENOENT);
  DT_ASSERT_EQ_INT(dt_emulator_press(f.emu, id, "1", -1, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_emulator_speak(f.emu, id, 0, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_speak(f.emu, id, 1500, err, sizeof err), 0);
  cJSON *tl = dt_emulator_timeline_json(f.emu, id);
  char *t = cJSON_PrintUnformatted(tl);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"tone\",\"tone\":\"1\",\"ignored\":\"call not established\"");
  DT_ASSERT_CONTAINS(t, "\"kind\":\"speak\",\"ms\":1500");
  free(t);
  cJSON_Delete(tl);
  DT_ASSERT_EQ_INT(dt_emulator_hangup(f.emu, id, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_emulator_hangup(f.emu, id, err, sizeof err), DT_ESTATE);
  DT_ASSERT_EQ_INT(dt_emulator_press(f.emu, id, "1", -1, err, sizeof err), DT_ESTATE);
  cJSON *one = dt_emulator_call_json(f.emu, id);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(one, "ended")));
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(one, "ended_by")->valuestring, "remote");
  cJSON_Delete(one);
  DT_ASSERT(dt_emulator_call_json(f.emu, "nope") == NULL);
  DT_ASSERT(dt_emulator_timeline_json(f.emu, "nope") == NULL);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(settings_faults_parties_reset_and_stats) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char err[256];
  dt_emulator_config_t c;
  dt_emulator_get_config(f.emu, &c);
  DT_ASSERT_EQ_INT(c.default_prompt_ms, 2000);
  dt_emulator_config_t bad = c;
  bad.default_prompt_ms = 1500;
  bad.history = 0; /* one bad field: nothing changes */
  DT_ASSERT_EQ_INT(dt_emulator_set_config(f.emu, &bad, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "history");
  dt_emulator_get_config(f.emu, &c);
  DT_ASSERT_EQ_INT(c.default_prompt_ms, 2000);
  c.default_prompt_ms = 1500;
  c.time_scale = 2;
  DT_ASSERT_EQ_INT(dt_emulator_set_config(f.emu, &c, err, sizeof err), 0);
  cJSON *cfg = dt_emulator_config_json(f.emu);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cfg, "default_prompt_ms")->valuedouble, 1500);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cfg, "time_scale")->valuedouble, 2);
  cJSON_Delete(cfg);
  dt_emulator_set_time_scale(f.emu, 0);
  dt_emulator_faults_t fl = {0};
  fl.graph_status = 200; /* not 400..599 */
  DT_ASSERT_EQ_INT(dt_emulator_set_faults(f.emu, &fl, err, sizeof err), DT_EINVAL);
  fl.graph_status = 503;
  fl.graph_status_count = 2;
  DT_ASSERT_EQ_INT(dt_emulator_set_faults(f.emu, &fl, err, sizeof err), 0);
  dt_emulator_faults_t got;
  dt_emulator_get_faults(f.emu, &got);
  DT_ASSERT_EQ_INT(got.graph_status, 503);
  dt_emulator_party_t p = {DT_EMULATOR_NOANSWER, 10, NULL};
  DT_ASSERT_EQ_INT(dt_emulator_set_party(f.emu, "", &p, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_set_party(f.emu, "Dave", &p, err, sizeof err), 0);
  cJSON *parties = dt_emulator_parties_json(f.emu);
  char *t = cJSON_PrintUnformatted(parties);
  DT_ASSERT_CONTAINS(t, "{\"id\":\"dave\",\"behaviour\":\"noanswer\",\"answer_delay_ms\":10,\"script\":[]}");
  free(t);
  cJSON_Delete(parties);
  char id[DT_EMULATOR_CALL_ID_LEN];
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, NULL, id, err, sizeof err), 0);
  dt_emulator_stats_t s;
  dt_emulator_get_stats(f.emu, &s);
  DT_ASSERT_EQ_INT(s.active_calls, 1);
  DT_ASSERT_EQ_INT(s.calls_total, 1);
  dt_emulator_reset(f.emu); /* calls, parties and faults go; settings stay */
  dt_emulator_get_stats(f.emu, &s);
  DT_ASSERT_EQ_INT(s.active_calls, 0);
  cJSON *calls = dt_emulator_calls_json(f.emu);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(calls, "calls")), 0);
  cJSON_Delete(calls);
  dt_emulator_get_faults(f.emu, &got);
  DT_ASSERT_EQ_INT(got.graph_status, 0);
  parties = dt_emulator_parties_json(f.emu);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(parties, "parties")), 0);
  cJSON_Delete(parties);
  dt_emulator_get_config(f.emu, &c);
  DT_ASSERT_EQ_INT(c.default_prompt_ms, 1500);
  DT_ASSERT_EQ_INT(dt_emulator_remove_party(f.emu, "dave"), 0);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(the_manual_clock) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  DT_ASSERT_EQ_INT(dt_emulator_clock_next(f.emu), DT_ESTATE);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(f.emu, 10), DT_ESTATE);
  dt_emulator_set_clock_manual(f.emu, true);
  uint64_t t0 = dt_emulator_clock_now(f.emu), due = 0;
  DT_ASSERT_EQ_INT(dt_emulator_clock_next_due(f.emu, &due), DT_ENOENT);
  char id[DT_EMULATOR_CALL_ID_LEN];
  DT_ASSERT_EQ_INT(dt_emulator_place_call(f.emu, NULL, id, NULL, 0), 0);
  DT_ASSERT_EQ_INT(dt_emulator_speak(f.emu, id, 700, NULL, 0), 0);
  DT_ASSERT_EQ_INT(dt_emulator_clock_next_due(f.emu, &due), 0);
  DT_ASSERT_EQ_INT(due, t0 + 700); /* the speech ends */
  DT_ASSERT_EQ_INT(dt_emulator_clock_next(f.emu), 1);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(f.emu), t0 + 700);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(f.emu, 300), 0);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(f.emu), t0 + 1000);
  DT_ASSERT(dt_emulator_busy(f.emu)); /* the incoming notification is on its way */
  ef_settle(&f);
  DT_ASSERT(!dt_emulator_busy(f.emu));
  ef_stop(&f);
}

/* POST /faults and POST /emulator/config bodies: one table per struct names every field, its
   range and its type; a bad body changes nothing and names the field. */
static int faults_from(const char *json, dt_emulator_faults_t *fl, char *err) {
  cJSON *j = cJSON_Parse(json);
  int rc = dt__emu_faults_from_json(j, fl, err, 256);
  cJSON_Delete(j);
  return rc;
}

static int config_from(const char *json, dt_emulator_config_t *c, char *err) {
  cJSON *j = cJSON_Parse(json);
  int rc = dt__emu_config_from_json(j, c, err, 256);
  cJSON_Delete(j);
  return rc;
}

DT_TEST(faults_and_settings_are_parsed_and_rendered_by_their_tables) {
  char err[256];
  dt_emulator_faults_t fl = {0};
  fl.graph_status = 503;
  DT_ASSERT_EQ_INT(faults_from("{\"melt\":true}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "unknown fault \"melt\"");
  DT_ASSERT_EQ_INT(faults_from("{\"graph_status\":700}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "bad value for fault \"graph_status\"");
  DT_ASSERT_EQ_INT(faults_from("{\"graph_hang\":1}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_INT(faults_from("{\"drop_notifications\":1.5}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_INT(faults_from("{\"delay_ms\":3600001}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_INT(faults_from("{\"retry_after_s\":\"2\"}", &fl, err), DT_EINVAL);
  DT_ASSERT_EQ_INT(fl.graph_status, 503); /* refused: untouched */
  DT_ASSERT_EQ_INT(faults_from("{\"recording_status\":404,\"delay_ms\":250,\"media_delay_ms\":3600000,"
                               "\"retry_after_s\":2,\"graph_hang\":true,\"drop_notifications\":0.25}",
                               &fl, err),
                   0);
  DT_ASSERT_EQ_INT(fl.graph_status, 0); /* not named: off */
  DT_ASSERT_EQ_INT(fl.recording_status, 404);
  DT_ASSERT_EQ_INT(fl.delay_ms, 250);
  DT_ASSERT_EQ_INT(fl.media_delay_ms, 3600000);
  DT_ASSERT_EQ_INT(fl.retry_after_s, 2);
  DT_ASSERT(fl.graph_hang && !fl.recording_hang);
  DT_ASSERT(fl.drop_notifications == 0.25);
  cJSON *view = dt__emu_faults_json(&fl);
  char *t = cJSON_PrintUnformatted(view);
  DT_ASSERT_CONTAINS(t, "{\"drop_notifications\":0.25,\"duplicate_notifications\":0,\"delay_notifications\":0,"
                        "\"delay_ms\":250,\"reorder_notifications\":0,\"graph_status\":0,");
  DT_ASSERT_CONTAINS(t, "\"graph_hang\":true,\"ops_never_complete\":false,");
  DT_ASSERT_CONTAINS(t, "\"recording_status\":404,");
  DT_ASSERT_CONTAINS(t, "\"media_delay_ms\":3600000}");
  free(t);
  cJSON_Delete(view);

  dt_emulator_config_t c = {.time_scale = 1, .default_prompt_ms = 2000, .answer_timeout_ms = 15000,
                            .ring_timeout_ms = 60000, .answer_delay_ms = 2000, .history = 1000};
  DT_ASSERT_EQ_INT(config_from("{\"default_prompt_ms\":5,\"history\":0}", &c, err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "\"history\" must be a number from 1 to 1000000");
  DT_ASSERT_EQ_INT(config_from("{\"time_scale\":\"fast\"}", &c, err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "\"time_scale\" must be a number from 0 to 1000");
  DT_ASSERT_EQ_INT(config_from("{\"answer_timeout_ms\":0}", &c, err), DT_EINVAL);
  DT_ASSERT_EQ_INT(config_from("{\"strict\":1}", &c, err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "\"strict\" must be true or false");
  DT_ASSERT_EQ_INT(c.default_prompt_ms, 2000); /* refused: untouched */
  DT_ASSERT_EQ_INT(config_from("{\"time_scale\":0.5,\"history\":7,\"strict\":true,\"answer_delay_ms\":0}", &c, err), 0);
  DT_ASSERT(c.time_scale == 0.5);
  DT_ASSERT_EQ_INT(c.history, 7);
  DT_ASSERT(c.strict);
  DT_ASSERT_EQ_INT(c.answer_delay_ms, 0);
  DT_ASSERT_EQ_INT(c.ring_timeout_ms, 60000); /* not named: as it was */
}

DT_TEST_MAIN()
