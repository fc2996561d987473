/*
 * test_flows_work_process.c — issue 13's flow API through the real binaries (and, at the end,
 * `dialtone run` against `dialtone emulator --tls`, issue 15): `dialtone run`
 * (configured as against Graph, with flow_settings) and a separate `dialtone emulator`, over
 * loopback HTTP. One flow uses each new piece, and the test reads the outcome where an
 * operator would: the CDR's tags, the emulator's timeline, the engine's log.
 *
 *  - dialtone.http to a real local backend (the emulator's own control API, GET
 *    /emulator/config: a JSON answer over real HTTP), its status and JSON in the tags;
 *  - dialtone.settings (flow_settings) naming that backend;
 *  - dialtone.hours in a real IANA zone and dialtone.now against os.time;
 *  - call:gather{pattern =, invalid =, retries =}: a wrong entry plays `invalid` and asks
 *    again, the right one is kept;
 *  - call:say_digits and call:say: speech synthesised by espeak-ng in the engine, served at
 *    /prompts/_tts/ and played by the emulator (tts-… prompts in the timeline);
 *  - call:tag: in the CDR line and in the call's log lines.
 */
#include "harness/dt_test.h"
#include "harness/proc_harness.h"

static const char FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local r = dialtone.http{url = dialtone.settings.backend .. '/emulator/config', timeout = 10}\n"
    "  call:tag{backend_status = r.status, app = r.json and r.json.app_id or 'none'}\n"
    "  local hours = dialtone.hours{tz = 'America/New_York', daily = '00:00-24:00'}\n"
    "  call:tag{open = hours:open() and 'yes' or 'no',\n"
    "           clock = math.abs(dialtone.now() - os.time()) < 5 and 'ok' or 'off'}\n"
    "  local d = call:gather{prompt = 'main_menu', max = 3, timeout = 60, terminators = '#',\n"
    "                        pattern = '^%d%d%d$', invalid = 'invalid', retries = 2}\n"
    "  call:tag{entered = d or 'none'}\n"
    "  call:say_digits(d or '0')\n"
    "  call:say('Thank you, the process test is done.')\n"
    "  dialtone.log('info', 'FLOW DONE')\n"
    "end\n";

static int prompts_named(const cJSON *tl, const char *name) { return p_count(tl, "prompt", "name", name); }

/* Prompts whose name starts with "tts-" (speech). */
static int speech_prompts(const cJSON *tl) {
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, tl) {
    const char *k = p_str(it, "kind"), *name = p_str(it, "name");
    if (k && strcmp(k, "prompt") == 0 && name && strncmp(name, "tts-", 4) == 0) n++;
  }
  return n;
}

static bool timeline_has(p_env_t *env, const char *id, const char *prompt, int count) {
  cJSON *tl = p_timeline(env, id);
  bool ok = prompts_named(tl, prompt) >= count;
  cJSON_Delete(tl);
  return ok;
}

DT_TEST(http_settings_hours_gather_speech_and_tags_through_the_binaries) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_flow(&env, "main", FLOW) == 0);
  char extra[400];
  snprintf(extra, sizeof extra, "flow_settings = {backend = \"%s\"},", env.emu_url);
  DT_ASSERT(p_write_config(&env, extra) == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id), 201);
  P_UNTIL(30000, timeline_has(&env, id, "main_menu", 1));
  DT_ASSERT(timeline_has(&env, id, "main_menu", 1));
  char path[256];
  snprintf(path, sizeof path, "calls/%s/tones", id);
  DT_ASSERT_EQ_INT(p_control(&env, "POST", path, "{\"tones\":\"12#\"}"), 200); /* two digits: invalid */
  P_UNTIL(30000, timeline_has(&env, id, "main_menu", 2));
  DT_ASSERT(timeline_has(&env, id, "invalid", 1));
  DT_ASSERT_EQ_INT(p_control(&env, "POST", path, "{\"tones\":\"427\"}"), 200);
  P_UNTIL(60000, p_file_has(eng.err, "FLOW DONE"));
  DT_ASSERT(p_file_has(eng.err, "FLOW DONE"));
  /* the call's log lines carry its tags (searchable) */
  DT_ASSERT(p_file_has(eng.err, "entered=427"));
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 60000), 0);

  cJSON *cdr = p_cdr(&env, id);
  DT_ASSERT(cdr != NULL);
  const cJSON *tags = cJSON_GetObjectItemCaseSensitive(cdr, "tags");
  DT_ASSERT(cJSON_IsObject(tags));
  DT_ASSERT_EQ_INT((int)cJSON_GetObjectItemCaseSensitive(tags, "backend_status")->valuedouble, 200);
  DT_ASSERT_EQ_STR(p_str(tags, "app"), env.app_id);
  DT_ASSERT_EQ_STR(p_str(tags, "open"), "yes");
  DT_ASSERT_EQ_STR(p_str(tags, "clock"), "ok");
  DT_ASSERT_EQ_STR(p_str(tags, "entered"), "427");
  cJSON_Delete(cdr);
  /* the read-back and the sentence were synthesised and played by the emulator */
  cJSON *tl = p_timeline(&env, id);
  int spoken = speech_prompts(tl);
  bool digit_prompts = prompts_named(tl, "digit_4") == 1 && prompts_named(tl, "digit_2") == 1;
  cJSON_Delete(tl);
  /* flows/prompts has digit_N recordings: say_digits plays them; the sentence is speech */
  DT_ASSERT(digit_prompts);
  DT_ASSERT(spoken >= 1);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
}

/* `dialtone run` pointed at the emulator over HTTPS, as it would be at Graph (issue 15):
   `dialtone emulator --tls` with its local CA, and graph.ca_file trusting that CA; the start-up
   check, the token (a JWT), the key set and every Graph request go over TLS, and a call runs. */
DT_TEST(dialtone_run_against_the_emulator_over_https) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char tls_dir[200], ca[260];
  snprintf(tls_dir, sizeof tls_dir, "%s/emulator-ca", env.dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  p_proc_t emu, eng;
  char extra[400];
  snprintf(extra, sizeof extra, "--time-scale 0 --tls --tls-dir %s", tls_dir);
  p_ca_file = ca;
  DT_ASSERT(p_start_emulator(&env, &emu, extra) == 0);
  DT_ASSERT(strncmp(env.emu_url, "https://", 8) == 0);
  DT_ASSERT(p_write_flow(&env, "main", "return function(call) call:answer() call:play('main_menu') "
                                       "dialtone.log('info', 'TLS FLOW DONE') end\n") == 0);
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  /* graph.ca_file goes inside the harness's graph table */
  char *text = p_slurp(env.config);
  DT_ASSERT(text != NULL);
  char *at = strstr(text, "graph = {");
  DT_ASSERT(at != NULL);
  at += strlen("graph = {");
  char *with = dt_xasprintf("%.*sca_file = \"%s\", %s", (int)(at - text), text, ca, at);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(env.config, with, strlen(with)), 0);
  DT_FREE_ALL(text, with);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  DT_ASSERT(p_file_has(eng.err, "preflight"));
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id), 201);
  P_UNTIL(30000, p_file_has(eng.err, "TLS FLOW DONE"));
  DT_ASSERT(p_file_has(eng.err, "TLS FLOW DONE"));
  cJSON *tl = p_timeline(&env, id);
  DT_ASSERT_EQ_INT(p_count(tl, "request", "action", "answer"), 1);
  DT_ASSERT(prompts_named(tl, "main_menu") == 1);
  cJSON_Delete(tl);
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_ca_file = NULL;
  p_env_free(&env);
}

DT_TEST_MAIN()
