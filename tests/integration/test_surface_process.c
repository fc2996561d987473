/*
 * test_surface_process.c — issue 12's new call surface through the real binaries, as
 * separate processes: `dialtone emulator` plays Graph, `dialtone run` is configured against
 * it as against Microsoft (graph.base_url, token_url, inbound.jwks_url, a client secret),
 * once per dialect (graph.dialect "v1.0" with base_url …/v1.0, "beta" with …/beta). One
 * emulator and one engine per dialect; the calls are placed through the emulator's HTTP
 * control API and routes choose the flow:
 *
 *  1. a policy-recording invite (route policy_recording = true) answered by a flow that
 *     reports call:recording_status("recording"): the emulator records it;
 *  2. a flow that creates an online meeting (dialtone.meetings.create), dials it by its
 *     join_url, and the leg waits call:wait_participant{count = 1} until the test makes a
 *     person join (POST /emulator/calls/{leg}/join); only then does it play;
 *  3. call:redirect{voicemail = {user = …}}: the emulator's redirect entry;
 *  4. a PSTN dial with graph.application_instance_id configured: the emulator places it and
 *     the call's source is the application instance;
 *  5. hold music, call:play(…, {loop = true, timeout = 1}): the call survives the timeout,
 *     the music is cancelled and the flow goes on (and its first prompt came after Graph
 *     reported the audio active: media readiness).
 *
 * No timing assertions; every wait is bounded (longer under DT_UNDER_VALGRIND).
 */
#include "harness/dt_test.h"
#include "harness/proc_harness.h"

#define INSTANCE "inst-surface-1"
#define PSTN_NUMBER "+15550142"

/* A bound for a wait: the test binary is ~20x slower under valgrind. */
static unsigned bound(unsigned ms) { return getenv("DT_UNDER_VALGRIND") ? ms * 6 : ms; }

static const char RECORDER_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local r = call:recording_status('recording')\n"
    "  dialtone.log('info', 'RECORDER', r, call.context.observed_participant_id ~= nil)\n"
    "end\n";

/* The incoming call creates a meeting and dials it by its link; the leg (same flow,
   outgoing) waits for a person before it speaks. */
static const char MEETING_FLOW[] =
    "return function(call)\n"
    "  if call.direction == 'incoming' then\n"
    "    call:answer()\n"
    "    local m = dialtone.meetings.create{organizer = 'organizer-1', subject = 'Surface'}\n"
    "    local leg = dialtone.dial{meeting = {join_url = m.join_url}, flow = 'meeting_host'}\n"
    "    dialtone.log('info', 'MEETING', m.id, leg.id)\n"
    "    return\n"
    "  end\n"
    "  dialtone.log('info', 'LEGUP', call.id)\n"
    "  local roster, why = call:wait_participant{count = 1, timeout = 300}\n"
    "  local users = {}\n"
    "  for _, p in ipairs(roster or {}) do if p.user then users[#users + 1] = p.user end end\n"
    "  dialtone.log('info', 'JOINED', roster and table.concat(users, ',') or why)\n"
    "  call:play('welcome')\n"
    "end\n";

static const char VOICEMAIL_FLOW[] =
    "return function(call)\n"
    "  call:redirect{voicemail = {user = 'bob-id'}}\n"
    "  dialtone.log('info', 'NOTREACHED')\n"
    "end\n";

static const char PSTN_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local leg = dialtone.dial{targets = {{phone = '" PSTN_NUMBER "'}}, flow = 'callee'}\n"
    "  dialtone.log('info', 'PSTNLEG', leg.id)\n"
    "end\n";

static const char CALLEE_FLOW[] =
    "return function(call)\n"
    "  dialtone.log('info', 'CALLEE', call.to)\n"
    "  call:play('goodbye')\n"
    "end\n";

static const char HOLD_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local r = call:play('welcome', {loop = true, timeout = 1})\n"
    "  dialtone.log('info', 'HOLD', r)\n"
    "  call:play('goodbye')\n"
    "end\n";

static const char MAIN_FLOW[] = "return function(call) call:reject{reason = 'busy'} end\n";

/* The engine's configuration against the emulator, in one dialect, with the application
   instance and the routes. */
static int write_config(p_env_t *e, bool beta) {
  dt_buf_t b = {0};
  dt_buf_appendf(&b,
                 "return {\n"
                 "  listen = \"127.0.0.1:0\",\n"
                 "  flows = \"%s\",\n"
                 "  prompts = {dir = \"%s/flows/prompts\"},\n"
                 "  recordings = \"%s\",\n"
                 "  cdr = \"%s\",\n"
                 "  graph = {base_url = \"%s/%s\", dialect = \"%s\", tenant_id = \"%s\", client_id = \"%s\",\n"
                 "           client_secret = \"%s\", token_url = \"%s/%s/oauth2/v2.0/token\",\n"
                 "           application_instance_id = \"" INSTANCE "\", application_instance_name = \"Front desk\"},\n"
                 "  inbound = {jwks_url = \"%s/discovery/keys\"},\n"
                 "  log = {level = \"debug\"},\n"
                 "  limits = {drain_timeout_s = 2, op_timeout_s = 30},\n"
                 "  routes = {\n"
                 "    {policy_recording = true, flow = \"recorder\"},\n"
                 "    {subject = \"meeting*\", flow = \"meeting_host\"},\n"
                 "    {subject = \"voicemail*\", flow = \"voicemail\"},\n"
                 "    {subject = \"pstn*\", flow = \"pstn\"},\n"
                 "    {subject = \"hold*\", flow = \"hold\"},\n"
                 "    default = \"main\",\n"
                 "  },\n"
                 "}\n",
                 e->flows, p_source_dir(), e->recordings, e->cdr, e->emu_url, beta ? "beta" : "v1.0",
                 beta ? "beta" : "v1.0", e->tenant_id, e->app_id, e->secret, e->emu_url, e->tenant_id, e->emu_url);
  int rc = dt_write_file_atomic(e->config, b.data, b.len);
  dt_buf_free(&b);
  return rc;
}

/* The first word (and the second, when b is given) after the first " TAG " in the file. */
static bool logged(const char *path, const char *tag, char a[128], char b[128]) {
  char *text = p_slurp(path);
  char needle[64];
  snprintf(needle, sizeof needle, " %s ", tag);
  const char *p = text ? strstr(text, needle) : NULL;
  bool ok = false;
  if (p) ok = b ? sscanf(p + strlen(needle), "%127s %127s", a, b) == 2 : sscanf(p + strlen(needle), "%127s", a) == 1;
  free(text);
  return ok;
}

static cJSON *wait_cdr(p_env_t *e, const char *id) {
  cJSON *cdr = NULL;
  P_UNTIL(bound(30000), (cdr = p_cdr(e, id)) != NULL);
  return cdr;
}

/* The first timeline entry of kind whose field equals value (NULL: any entry of kind). */
static const cJSON *entry(const cJSON *tl, const char *kind, const char *field, const char *value) {
  const cJSON *it;
  cJSON_ArrayForEach(it, tl) {
    const char *k = p_str(it, "kind");
    if (!k || strcmp(k, kind) != 0) continue;
    if (field && (!p_str(it, field) || strcmp(p_str(it, field), value) != 0)) continue;
    return it;
  }
  return NULL;
}

static double seq_of(const cJSON *e) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "seq");
  return cJSON_IsNumber(s) ? s->valuedouble : -1;
}

/* GET /emulator/calls/{id} */
static cJSON *emu_call(p_env_t *e, const char *id) {
  char url[512];
  snprintf(url, sizeof url, "%s/emulator/calls/%s", e->emu_url, id);
  return p_http_json("GET", url, NULL, NULL);
}

/* 1. policy recording, routed on the invite's context */
static void case_policy_recording(p_env_t *e, p_proc_t *eng) {
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(e, "\"policy_recording\":true,\"from\":{\"user\":\"obs-1\"}", id), 201);
  cJSON *cdr = wait_cdr(e, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "recorder");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
  DT_ASSERT(p_file_has(eng->err, "RECORDER completed true"));
  cJSON *tl = p_timeline(e, id);
  DT_ASSERT_EQ_INT(p_count(tl, "request", "action", "updateRecordingStatus"), 1);
  DT_ASSERT_EQ_INT(p_count(tl, "recording_status", "status", "recording"), 1);
  DT_ASSERT_EQ_INT(p_count(tl, "operation", "type", "updateRecordingStatusOperation"), 1);
  cJSON_Delete(tl);
  cJSON *call = emu_call(e, id);
  DT_ASSERT_EQ_STR(p_str(call, "recording_status"), "recording");
  cJSON_Delete(call);
}

/* 2. create a meeting, dial it by its link, wait for a person, then speak */
static void case_meeting(p_env_t *e, p_proc_t *eng) {
  char id[128], mid[128] = "", leg[128] = "", up[128] = "";
  DT_ASSERT_EQ_INT(p_place_call(e, "\"subject\":\"meeting surface\"", id), 201);
  P_UNTIL(bound(30000), logged(eng->err, "MEETING", mid, leg));
  DT_ASSERT_MSG(logged(eng->err, "MEETING", mid, leg), "the meeting flow did not dial (%s)", eng->err);
  /* the leg's flow runs: it is in the meeting, waiting for a person */
  P_UNTIL(bound(30000), logged(eng->err, "LEGUP", up, NULL));
  DT_ASSERT(logged(eng->err, "LEGUP", up, NULL));
  DT_ASSERT(p_same_id(up, leg));
  cJSON *tl = p_timeline(e, leg);
  const cJSON *out = entry(tl, "outgoing", NULL, NULL);
  DT_ASSERT(out != NULL);
  DT_ASSERT_EQ_STR(p_str(out, "online_meeting"), mid); /* the link named the meeting created */
  DT_ASSERT_EQ_INT(p_count(tl, "prompt", "name", "welcome"), 0);
  cJSON_Delete(tl);
  DT_ASSERT(!p_file_has(eng->err, "JOINED"));
  char path[256];
  snprintf(path, sizeof path, "calls/%s/join", leg);
  DT_ASSERT_EQ_INT(p_control(e, "POST", path, "{\"user\":\"alice\",\"name\":\"Alice\"}"), 200);
  cJSON *cdr = wait_cdr(e, leg);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "direction"), "outgoing");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
  DT_ASSERT(p_file_has(eng->err, "JOINED alice"));
  tl = p_timeline(e, leg);
  const cJSON *joined = entry(tl, "participant_joined", "identity", "user");
  const cJSON *played = entry(tl, "prompt", "name", "welcome");
  DT_ASSERT(joined != NULL && played != NULL);
  DT_ASSERT(seq_of(joined) < seq_of(played)); /* it spoke once the person was there */
  cJSON_Delete(tl);
  cdr = wait_cdr(e, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "meeting_host");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
}

/* 3. redirect to a user's voicemail */
static void case_voicemail(p_env_t *e, p_proc_t *eng) {
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(e, "\"subject\":\"voicemail please\"", id), 201);
  cJSON *cdr = wait_cdr(e, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "voicemail");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "redirected");
  cJSON_Delete(cdr);
  DT_ASSERT(!p_file_has(eng->err, "NOTREACHED"));
  cJSON *tl = NULL;
  P_UNTIL(bound(20000), (cJSON_Delete(tl), tl = p_timeline(e, id), entry(tl, "ended", NULL, NULL) != NULL));
  DT_ASSERT_EQ_INT(p_count(tl, "request", "action", "redirect"), 1);
  const cJSON *rd = entry(tl, "redirect", NULL, NULL);
  DT_ASSERT(rd != NULL);
  DT_ASSERT_EQ_STR(p_str(rd, "connected"), "user:bob-id");
  const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rd, "targets"), 0);
  DT_ASSERT_EQ_STR(p_str(t0, "endpoint"), "voicemail");
  DT_ASSERT_EQ_STR(p_str(t0, "outcome"), "voicemail");
  DT_ASSERT_EQ_STR(p_str(entry(tl, "ended", NULL, NULL), "message"), "Call redirected to voicemail.");
  cJSON_Delete(tl);
}

/* 4. a dial to a phone number carries the configured application instance */
static void case_pstn(p_env_t *e, p_proc_t *eng) {
  char id[128], leg[128] = "";
  DT_ASSERT_EQ_INT(p_place_call(e, "\"subject\":\"pstn out\"", id), 201);
  P_UNTIL(bound(30000), logged(eng->err, "PSTNLEG", leg, NULL));
  DT_ASSERT_MSG(logged(eng->err, "PSTNLEG", leg, NULL), "the PSTN dial did not go out (%s)", eng->err);
  cJSON *cdr = wait_cdr(e, leg);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "callee");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
  DT_ASSERT(p_file_has(eng->err, "CALLEE " PSTN_NUMBER));
  cJSON *call = emu_call(e, leg);
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(call, "resource");
  const cJSON *ai = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "source"), "identity"),
      "applicationInstance");
  DT_ASSERT_EQ_STR(p_str(ai, "id"), INSTANCE);
  DT_ASSERT_EQ_STR(p_str(ai, "displayName"), "Front desk");
  DT_ASSERT_EQ_STR(p_str(res, "tenantId"), e->tenant_id);
  cJSON_Delete(call);
  cJSON *tl = p_timeline(e, leg);
  DT_ASSERT(entry(tl, "outgoing", NULL, NULL) != NULL);
  DT_ASSERT_EQ_INT(p_count(tl, "state", "state", "established"), 1);
  DT_ASSERT_EQ_INT(p_count(tl, "prompt", "name", "goodbye"), 1);
  cJSON_Delete(tl);
  cdr = wait_cdr(e, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "pstn");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
}

/* 5. hold music until its timeout, then the flow goes on */
static void case_hold(p_env_t *e, p_proc_t *eng, bool beta) {
  /* prompts take simulated time here: at time scale 0 v1.0's replayed music would spin
     (each round ends at once) and fill the call's timeline */
  DT_ASSERT_EQ_INT(p_control(e, "POST", "config", "{\"time_scale\":0.05}"), 200);
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(e, "\"subject\":\"hold me\"", id), 201);
  cJSON *cdr = wait_cdr(e, id);
  DT_ASSERT_EQ_INT(p_control(e, "POST", "config", "{\"time_scale\":0}"), 200);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "flow"), "hold");
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
  DT_ASSERT(p_file_has(eng->err, "HOLD timeout"));
  cJSON *tl = p_timeline(e, id);
  DT_ASSERT_EQ_INT(p_count(tl, "request", "action", "cancelMediaProcessing"), 1);
  DT_ASSERT(p_count(tl, "prompt", "name", "welcome") >= 1);
  DT_ASSERT_EQ_INT(p_count(tl, "prompt", "name", "goodbye"), 1);
  int plays = p_count(tl, "request", "action", "playPrompt");
  if (beta) DT_ASSERT_EQ_INT(plays, 2); /* one looping playPrompt, then goodbye */
  else DT_ASSERT(plays >= 2);           /* the engine replays the music each round */
  const cJSON *cancel = entry(tl, "request", "action", "cancelMediaProcessing");
  const cJSON *bye = entry(tl, "prompt", "name", "goodbye");
  DT_ASSERT(seq_of(cancel) < seq_of(bye)); /* the music stopped before the flow went on */
  /* media readiness: the first prompt went out after Graph said the audio is active */
  const cJSON *active = entry(tl, "notification", "summary", "media active");
  const cJSON *first = entry(tl, "prompt", NULL, NULL);
  DT_ASSERT(active != NULL && first != NULL);
  DT_ASSERT(seq_of(active) < seq_of(first));
  DT_ASSERT(entry(tl, "ended", "by", "bot") != NULL);
  cJSON_Delete(tl);
}

static void run_dialect(bool beta) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  bool started = p_start_emulator(&env, &emu, "--time-scale 0") == 0;
  started = started && p_write_flow(&env, "main", MAIN_FLOW) == 0 && p_write_flow(&env, "recorder", RECORDER_FLOW) == 0 &&
            p_write_flow(&env, "meeting_host", MEETING_FLOW) == 0 && p_write_flow(&env, "voicemail", VOICEMAIL_FLOW) == 0 &&
            p_write_flow(&env, "pstn", PSTN_FLOW) == 0 && p_write_flow(&env, "callee", CALLEE_FLOW) == 0 &&
            p_write_flow(&env, "hold", HOLD_FLOW) == 0 && write_config(&env, beta) == 0;
  started = started && p_start_engine(&env, &eng, "engine") == 0;
  if (!started) {
    p_env_free(&env);
    DT_FAIL("could not start the emulator and the engine (%s dialect)", beta ? "beta" : "v1.0");
  }
  const char *failed = NULL;
#define RUN(name, step)                     \
  if (!failed) {                            \
    step;                                   \
    if (dt_test_failed_flag) failed = name; \
  }
  RUN("policy recording", case_policy_recording(&env, &eng));
  RUN("meeting by join_url", case_meeting(&env, &eng));
  RUN("redirect to voicemail", case_voicemail(&env, &eng));
  RUN("PSTN dial", case_pstn(&env, &eng));
  RUN("hold music", case_hold(&env, &eng, beta));
#undef RUN
  if (!failed) {
    p_kill(&eng, SIGTERM);
    int st = p_wait_exit(&eng, bound(30000));
    if (st != 0) failed = "engine exit";
  }
  if (failed) {
    char *log = p_slurp(eng.err);
    size_t n = log ? strlen(log) : 0;
    fprintf(stderr, "  %s dialect: %s failed; the engine's log ends:\n%s\n", beta ? "beta" : "v1.0", failed,
            log ? log + (n > 6000 ? n - 6000 : 0) : "(none)");
    free(log);
  }
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, bound(10000));
  p_env_free(&env);
  DT_ASSERT_MSG(!failed, "%s", failed ? failed : "");
}

DT_TEST(surface_through_the_processes_v1_0) { run_dialect(false); }
DT_TEST(surface_through_the_processes_beta) { run_dialect(true); }

DT_TEST_MAIN()
