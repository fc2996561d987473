/*
 * test_emulator_control_c.c — the emulator's typed control API (emulator.h "control API
 * in C"): each operation acts as its HTTP route does, a refused one changes nothing and
 * says why, dt_emulator_control (method + path) goes through the same route table, and
 * the threaded embedding takes its bot URL through a handoff instead of an HTTP request.
 */
#include "harness/dt_test.h"
#include "harness/emu_harness.h"
#include "dialtone/error.h"

static size_t call_count(dt_emulator_t *emu) {
  cJSON *r = dt_emulator_calls_json(emu);
  size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(r, "calls"));
  cJSON_Delete(r);
  return n;
}

DT_TEST(place_press_speak_hangup) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  cJSON *from = cJSON_Parse("{\"phone\":\"+15550001111\"}");
  cJSON *script = cJSON_Parse("[{\"on\":\"established\",\"after_ms\":10}]");
  dt_emulator_call_options_t o = {.from = from, .script = script};
  char id[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, &o, id, err, sizeof err), 0);
  cJSON_Delete(from);
  cJSON_Delete(script);
  /* the bot hears of it as of a call placed over HTTP */
  DT_ASSERT(h_wait_note(&h, id, "created", "incoming", NULL, 0) >= 0);
  cJSON *c = dt_emulator_call_json(h.emu, id);
  DT_ASSERT(c != NULL);
  DT_ASSERT_EQ_STR(h_json_str(c, "id"), id);
  DT_ASSERT_EQ_STR(h_json_str(c, "direction"), "incoming");
  DT_ASSERT_CONTAINS(h_json_str(c, "from"), "+15550001111");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(c, "script")), 1);
  cJSON_Delete(c);
  DT_ASSERT(h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "subscribeToTone", "{}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, id, "42", 100, err, sizeof err), 0);
  int k = h_wait_tone(&h, id, 0);
  DT_ASSERT(k >= 0);
  DT_ASSERT_CONTAINS(h.notes[k].body, "tone4");
  DT_ASSERT(h_wait_tone(&h, id, k + 1) >= 0);
  DT_ASSERT_EQ_INT(dt_emulator_speak(h.emu, id, 1500, err, sizeof err), 0);
  /* the timeline shows both, in order */
  cJSON *tl = dt_emulator_timeline_json(h.emu, id);
  DT_ASSERT(tl != NULL);
  int tones = 0, speech = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) {
    const char *kind = h_json_str(e, "kind");
    if (kind && strcmp(kind, "tone") == 0) tones++;
    if (kind && strcmp(kind, "speak") == 0) speech++;
  }
  cJSON_Delete(tl);
  DT_ASSERT_EQ_INT(tones, 2);
  DT_ASSERT(speech >= 1);
  DT_ASSERT_EQ_INT(dt_emulator_hangup(h.emu, id, err, sizeof err), 0);
  DT_ASSERT(h_wait_note(&h, id, "deleted", "terminated", NULL, 0) >= 0);
  /* an ended call refuses what needs a live one */
  err[0] = '\0';
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, id, "1", -1, err, sizeof err), DT_ESTATE);
  DT_ASSERT_CONTAINS(err, "has ended");
  DT_ASSERT_EQ_INT(dt_emulator_hangup(h.emu, id, NULL, 0), DT_ESTATE);
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, "no-such-call", "1", -1, err, sizeof err), DT_ENOENT);
  h_stop(&h);
}

DT_TEST(refusals_change_nothing) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  /* calls */
  cJSON *bad = cJSON_Parse("[1,2]");
  dt_emulator_call_options_t o = {.from = bad};
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, &o, id, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "\"from\"");
  o = (dt_emulator_call_options_t){.script = bad};
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, &o, id, err, sizeof err), DT_EINVAL);
  o = (dt_emulator_call_options_t){.modalities = bad};
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, &o, id, err, sizeof err), DT_EINVAL);
  o = (dt_emulator_call_options_t){.bot_url = "ftp://x"};
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, &o, id, err, sizeof err), DT_EINVAL);
  cJSON_Delete(bad);
  DT_ASSERT_EQ_INT(call_count(h.emu), 0);
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, "nope", "1x", -1, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, "nope", "1", 60001, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_speak(h.emu, "nope", 0, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_hangup(h.emu, "nope", err, sizeof err), DT_ENOENT);
  /* bot URL */
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(h.emu, "not a url", err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_STR(dt_emulator_bot_url(h.emu), h.bot_url);
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(h.emu, NULL, err, sizeof err), 0);
  DT_ASSERT(dt_emulator_bot_url(h.emu) == NULL);
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, NULL, id, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "no bot URL");
  DT_ASSERT_EQ_INT(dt_emulator_set_bot_url(h.emu, h.bot_url, err, sizeof err), 0);
  /* settings: one bad field and nothing changes */
  dt_emulator_config_t before, cfg, after;
  dt_emulator_get_config(h.emu, &before);
  cfg = before;
  cfg.default_prompt_ms = 1234;
  cfg.history = 0;
  DT_ASSERT_EQ_INT(dt_emulator_set_config(h.emu, &cfg, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "history");
  dt_emulator_get_config(h.emu, &after);
  DT_ASSERT_EQ_INT(after.default_prompt_ms, before.default_prompt_ms);
  cfg.history = 10;
  DT_ASSERT_EQ_INT(dt_emulator_set_config(h.emu, &cfg, err, sizeof err), 0);
  dt_emulator_get_config(h.emu, &after);
  DT_ASSERT_EQ_INT(after.default_prompt_ms, 1234);
  DT_ASSERT_EQ_INT(after.history, 10);
  /* faults */
  dt_emulator_faults_t f = {0}, got;
  f.drop_notifications = 0.5;
  f.graph_status = 302;
  DT_ASSERT_EQ_INT(dt_emulator_set_faults(h.emu, &f, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "graph_status");
  dt_emulator_get_faults(h.emu, &got);
  DT_ASSERT(got.drop_notifications == 0);
  f.graph_status = 503;
  DT_ASSERT_EQ_INT(dt_emulator_set_faults(h.emu, &f, err, sizeof err), 0);
  dt_emulator_get_faults(h.emu, &got);
  DT_ASSERT_EQ_INT(got.graph_status, 503);
  /* parties */
  dt_emulator_party_t p = {(dt_emulator_behaviour_t)9, -1, NULL};
  DT_ASSERT_EQ_INT(dt_emulator_set_party(h.emu, "Agent-7", &p, err, sizeof err), DT_EINVAL);
  p.behaviour = DT_EMULATOR_BUSY;
  DT_ASSERT_EQ_INT(dt_emulator_set_party(h.emu, "", &p, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_set_party(h.emu, "Agent-7", &p, err, sizeof err), 0);
  cJSON *parties = dt_emulator_parties_json(h.emu);
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(parties, "parties"), 0);
  DT_ASSERT_EQ_STR(h_json_str(first, "id"), "agent-7");
  DT_ASSERT_EQ_STR(h_json_str(first, "behaviour"), "busy");
  cJSON_Delete(parties);
  /* reset forgets parties and faults, keeps settings and the bot URL */
  dt_emulator_reset(h.emu);
  dt_emulator_get_faults(h.emu, &got);
  DT_ASSERT_EQ_INT(got.graph_status, 0);
  parties = dt_emulator_parties_json(h.emu);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(parties, "parties")), 0);
  cJSON_Delete(parties);
  DT_ASSERT_EQ_STR(dt_emulator_bot_url(h.emu), h.bot_url);
  dt_emulator_stats_t st;
  dt_emulator_get_stats(h.emu, &st);
  DT_ASSERT_EQ_INT(st.active_calls, 0);
  h_stop(&h);
}

/* dt_emulator_control and the HTTP routes are one route table over the typed API. */
DT_TEST(method_and_path_adapter) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  char *resp = NULL;
  size_t len = 0;
  const char *body = "{\"from\":{\"user\":\"u-1\"}}";
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "POST", "/emulator/calls/", body, strlen(body), &resp, &len), 201);
  cJSON *j = cJSON_Parse(resp);
  DT_ASSERT(cJSON_IsString(cJSON_GetObjectItem(j, "id")));
  char id[64];
  snprintf(id, sizeof id, "%s", h_json_str(j, "id"));
  cJSON_Delete(j);
  free(resp);
  DT_ASSERT_EQ_INT(call_count(h.emu), 1);
  char path[160];
  snprintf(path, sizeof path, "/calls/%s/tones", id);
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "POST", path, "{\"tones\":\"9z\"}", 14, &resp, NULL), 400);
  DT_ASSERT_CONTAINS(resp, "tones");
  free(resp);
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "GET", "/events", NULL, 0, NULL, NULL), 400);
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "GET", "calls", NULL, 0, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "PATCH", "/config", NULL, 0, NULL, NULL), 405);
  DT_ASSERT_EQ_INT(dt_emulator_control(h.emu, "POST", "/config?x=1", "{\"bot_url\":\"https://b.example/cb\"}", 34,
                                       NULL, NULL),
                   200);
  DT_ASSERT_EQ_STR(dt_emulator_bot_url(h.emu), "https://b.example/cb");
  /* the same over HTTP */
  h_resp_t r = h_req(&h, "POST", "/emulator/bot", "{\"url\":\"ftp://no\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/config", NULL, "", NULL);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "bot_url"), "https://b.example/cb");
  h_resp_free(&r);
  h_stop(&h);
}

/* The threaded embedding (`dialtone run` without credentials) gets its bot URL through a
   handoff to its own thread: no HTTP request to itself. */
DT_TEST(thread_bot_url) {
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.quiet = 1;
  o.key_pem = h_key_pem();
  dt_emulator_thread_t *t = NULL;
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_emulator_thread_start(&o, &t, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_emulator_thread_set_bot_url(t, "gopher://x", err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "bot_url");
  DT_ASSERT_EQ_INT(dt_emulator_thread_set_bot_url(t, "http://127.0.0.1:9/api/calls", err, sizeof err), 0);
  /* read it back over the emulator's own HTTP control API from another loop */
  harness_t h;
  memset(&h, 0, sizeof h);
  DT_ASSERT_EQ_INT(uv_loop_init(&h.loop), 0);
  uv_timer_init(&h.loop, &h.tick);
  dt_http_client_options_t co = {0};
  DT_ASSERT_EQ_INT(dt_http_client_new(&h.loop, &co, &h.http), 0);
  snprintf(h.emu_url, sizeof h.emu_url, "%s", dt_emulator_thread_url(t));
  h_resp_t r = h_req(&h, "GET", "/emulator/config", NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "bot_url"), "http://127.0.0.1:9/api/calls");
  h_resp_free(&r);
  int closed = 0;
  dt_http_client_close(h.http, h_set_flag, &closed);
  while (!closed) uv_run(&h.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&h.tick, NULL);
  uv_run(&h.loop, UV_RUN_DEFAULT);
  uv_loop_close(&h.loop);
  dt_emulator_thread_stop(t);
}

static int tone_entries(dt_emulator_t *emu, const char *id) {
  cJSON *tl = dt_emulator_timeline_json(emu, id);
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) {
    const char *kind = h_json_str(e, "kind");
    if (kind && strcmp(kind, "tone") == 0) n++;
  }
  cJSON_Delete(tl);
  return n;
}

static bool emulator_idle(harness_t *h, void *arg) {
  (void)arg;
  return !dt_emulator_busy(h->emu);
}

/* The explicit clock: in manual mode simulated time stands still however long the loop
   runs, and moves only by clock_next (one instant) or clock_advance (exactly N ms). */
DT_TEST(manual_clock) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  DT_ASSERT_EQ_INT(dt_emulator_place_call(h.emu, NULL, id, err, sizeof err), 0);
  DT_ASSERT(h_wait_note(&h, id, "created", "incoming", NULL, 0) >= 0);
  DT_ASSERT(h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "subscribeToTone", "{}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  DT_ASSERT(h_run_until(&h, emulator_idle, NULL, 10000));
  DT_ASSERT_EQ_INT(dt_emulator_clock_next(h.emu), DT_ESTATE); /* not manual yet */
  dt_emulator_set_clock_manual(h.emu, true);
  uint64_t t0 = dt_emulator_clock_now(h.emu), due = 0;
  DT_ASSERT_EQ_INT(dt_emulator_press(h.emu, id, "123", 1000, err, sizeof err), 0);
  DT_ASSERT(dt_emulator_busy(h.emu)); /* the first key's notification is on its way */
  DT_ASSERT_EQ_INT(dt_emulator_clock_next_due(h.emu, &due), 0);
  DT_ASSERT_EQ_INT(due, t0 + 1000);
  h_settle(&h, 100);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(h.emu), t0); /* the loop ran; the clock did not */
  DT_ASSERT_EQ_INT(tone_entries(h.emu, id), 1);
  DT_ASSERT(h_run_until(&h, emulator_idle, NULL, 10000));
  DT_ASSERT_EQ_INT(dt_emulator_clock_next(h.emu), 1);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(h.emu), t0 + 1000);
  DT_ASSERT_EQ_INT(tone_entries(h.emu, id), 2);
  /* exactly N ms later, running what is due on the way */
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(h.emu, 5000), 1);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(h.emu), t0 + 6000);
  DT_ASSERT_EQ_INT(tone_entries(h.emu, id), 3);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(h.emu, 250), 0);
  DT_ASSERT_EQ_INT(dt_emulator_clock_now(h.emu), t0 + 6250);
  /* the timeline's simulated time is the clock's */
  cJSON *tl = dt_emulator_timeline_json(h.emu, id);
  const cJSON *e, *last_tone = NULL;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) if (strcmp(h_json_str(e, "kind"), "tone") == 0) last_tone = e;
  DT_ASSERT(last_tone != NULL);
  double first_t = 0;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) if (strcmp(h_json_str(e, "kind"), "tone") == 0) {
    first_t = cJSON_GetObjectItem(e, "t_ms")->valuedouble;
    break;
  }
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(last_tone, "t_ms")->valuedouble - first_t, 2000);
  cJSON_Delete(tl);
  /* back to running by itself (time scale 0: at once) */
  dt_emulator_set_clock_manual(h.emu, false);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(h.emu, 1), DT_ESTATE);
  h_stop(&h);
}

DT_TEST_MAIN()
