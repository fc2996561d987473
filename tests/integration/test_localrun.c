/*
 * test_localrun.c — the engine and the emulator in one process (localrun.h): a call placed
 * through dt_localrun_control runs flows/main.lua over real HTTP on loopback, the event
 * hook sees every timeline entry in order (the prompts of the flow among them), control
 * requests answer as the HTTP control API does, recordings land in the recordings
 * directory, and close frees everything (the temporary recordings directory included).
 * Calls started from C run the flow they name: dt_localrun_place_call routes an incoming
 * call to a named flow (not the default one), dt_localrun_dial makes the engine dial out
 * with the named flow on the new call, and an unknown flow name is refused with its name
 * and places nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "dialtone/tts.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"

typedef struct {
  cJSON *entries;   /* copies of what the hook saw */
  int ended;        /* "ended" entries */
  int closed;
} seen_t;

static void on_entry(const cJSON *e, void *ud) {
  seen_t *s = ud;
  cJSON_AddItemToArray(s->entries, cJSON_Duplicate(e, 1));
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "kind");
  if (cJSON_IsString(k) && strcmp(k->valuestring, "ended") == 0) s->ended++;
}

static void on_closed(void *ud) { ((seen_t *)ud)->closed = 1; }

static void on_tick(uv_timer_t *t) { (void)t; }

static char flows_dir[600];

static const char *source_flows(void) {
  const char *src = getenv("DT_SOURCE_DIR");
  snprintf(flows_dir, sizeof flows_dir, "%s/flows", src ? src : ".");
  return flows_dir;
}

typedef struct {
  uv_loop_t loop;
  uv_timer_t tick;   /* keeps UV_RUN_ONCE from blocking for long */
  dt_localrun_t *lr;
  seen_t seen;
} fx_t;

static int fx_start_in(fx_t *f, const char *flows, const char *recordings_dir, const char *cdr_path) {
  memset(f, 0, sizeof *f);
  dt_log_set_level(DT_LOG_WARN);
  uv_loop_init(&f->loop);
  uv_timer_init(&f->loop, &f->tick);
  uv_timer_start(&f->tick, on_tick, 5, 5);
  f->seen.entries = cJSON_CreateArray();
  dt_localrun_options_t o = {0};
  o.flows_dir = flows;
  o.recordings_dir = recordings_dir;
  o.cdr_path = cdr_path;
  char prompts[700];
  snprintf(prompts, sizeof prompts, "%s/prompts", source_flows()); /* the demo's recordings */
  o.prompts_dir = prompts;
  o.time_scale = 0;
  o.quiet = 1;
  char err[512];
  int rc = dt_localrun_start(&f->loop, &o, &f->lr, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "localrun: %s\n", err);
    return rc;
  }
  dt_localrun_on_event(f->lr, on_entry, &f->seen);
  /* notifications are authenticated: a call placed before the engine holds the emulator's
     key set would be refused (slow machines, valgrind) */
  for (uint64_t end = dt_now_ms() + 30000; !dt_engine_inbound_ready(dt_localrun_engine(f->lr)) && dt_now_ms() < end;)
    uv_run(&f->loop, UV_RUN_ONCE);
  return dt_engine_inbound_ready(dt_localrun_engine(f->lr)) ? 0 : DT_ETIMEDOUT;
}

static int fx_start(fx_t *f, const char *recordings_dir) {
  return fx_start_in(f, source_flows(), recordings_dir, NULL);
}

#define RUN_UNTIL(f, ms, cond) \
  for (uint64_t end__ = dt_now_ms() + (ms); !(cond) && dt_now_ms() < end__;) uv_run(&(f)->loop, UV_RUN_ONCE)

/* Closes localrun and the loop; returns 1 when everything closed cleanly. */
static int fx_stop(fx_t *f) {
  int ok = 1;
  if (f->lr) {
    dt_localrun_close(f->lr, on_closed, &f->seen);
    RUN_UNTIL(f, 30000, f->seen.closed);
    ok = f->seen.closed;
  }
  uv_close((uv_handle_t *)&f->tick, NULL);
  /* bounded: a handle left open is a failure, not a hang */
  uint64_t end = dt_now_ms() + 10000;
  while (uv_run(&f->loop, UV_RUN_NOWAIT) != 0 && dt_now_ms() < end) {
  }
  if (uv_loop_close(&f->loop) != 0) ok = 0;
  cJSON_Delete(f->seen.entries);
  return ok;
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Places a call with the given script; returns its id (static buffer) or NULL. */
static const char *place(fx_t *f, const char *script) {
  static char id[128];
  char *body = dt_xasprintf("{\"from\":{\"phone\":\"+15551230000\"},\"script\":%s}", script);
  cJSON *r = NULL;
  int st = dt_localrun_control(f->lr, "POST", "/calls", body, &r);
  free(body);
  const char *v = str(r, "id");
  snprintf(id, sizeof id, "%s", v ? v : "");
  cJSON_Delete(r);
  return st == 201 && id[0] ? id : NULL;
}

/* The names of the prompt entries the hook saw, space-separated. */
static void prompt_names(const cJSON *entries, char *out, size_t outlen) {
  out[0] = '\0';
  const cJSON *e;
  cJSON_ArrayForEach(e, entries) {
    if (strcmp(str(e, "kind"), "prompt") != 0) continue;
    size_t l = strlen(out);
    snprintf(out + l, outlen - l, "%s%s", l ? " " : "", str(e, "name") ? str(e, "name") : "?");
  }
}

DT_TEST(call_through_main_flow_and_hook_order) {
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start(&f, NULL), 0);
  char recdir[512];
  snprintf(recdir, sizeof recdir, "%s", dt_localrun_recordings_dir(f.lr));
  struct stat st;
  DT_ASSERT(stat(recdir, &st) == 0 && S_ISDIR(st.st_mode));
  /* 3 = order number: 4 2 # is read back, then the caller hangs up at the menu */
  const char *id = place(&f, "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"3\"},"
                             "{\"on\":\"prompt\",\"match\":\"enter_digits\",\"after_ms\":500,\"tones\":\"42#\"},"
                             "{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":300,\"hangup\":true}]");
  DT_ASSERT(id != NULL);
  char call_id[128];
  snprintf(call_id, sizeof call_id, "%s", id);
  RUN_UNTIL(&f, 30000, f.seen.ended > 0);
  DT_ASSERT_EQ_INT(f.seen.ended, 1);

  char names[1024];
  prompt_names(f.seen.entries, names, sizeof names);
  /* order_thanks has no recording: its transcript is spoken, a prompt named after the speech */
  char speech[DT_TTS_NAME_LEN], want[512];
  dt_tts_cache_name("Thank you. We will text you when your plumber is on the way.", "en-us", DT_TTS_RATE_DEFAULT, speech);
  snprintf(want, sizeof want, "welcome main_menu enter_digits you_entered digit_4 digit_2 %.*s main_menu",
           (int)strlen(speech) - 4, speech);
  DT_ASSERT_EQ_STR(names, want);

  /* every entry in sequence order, all of this call, and the keys as pressed */
  double last = -1;
  char keys[16] = "";
  const cJSON *e;
  cJSON_ArrayForEach(e, f.seen.entries) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    DT_ASSERT(cJSON_IsNumber(seq) && seq->valuedouble > last);
    last = seq->valuedouble;
    DT_ASSERT_EQ_STR(str(e, "call"), call_id);
    if (strcmp(str(e, "kind"), "tone") == 0 && strlen(keys) < sizeof keys - 1)
      keys[strlen(keys)] = str(e, "tone")[0];
  }
  DT_ASSERT_EQ_STR(keys, "342#");

  /* the hook saw exactly what the timeline API returns, in the same order */
  char path[256];
  snprintf(path, sizeof path, "/calls/%s/timeline", call_id);
  cJSON *tl = NULL;
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", path, NULL, &tl), 200);
  const cJSON *entries = cJSON_GetObjectItemCaseSensitive(tl, "entries");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(entries), cJSON_GetArraySize(f.seen.entries));
  for (int i = 0; i < cJSON_GetArraySize(entries); i++) {
    const cJSON *a = cJSON_GetArrayItem(entries, i), *b = cJSON_GetArrayItem(f.seen.entries, i);
    if (!cJSON_Compare(a, b, 1)) {
      cJSON_Delete(tl);
      DT_FAIL("entry %d differs between the hook and the timeline", i);
    }
  }
  DT_ASSERT_EQ_STR(str(cJSON_GetArrayItem(entries, cJSON_GetArraySize(entries) - 1), "by"), "remote");
  cJSON_Delete(tl);

  /* the engine saw the call end */
  RUN_UNTIL(&f, 10000, dt_engine_active_calls(dt_localrun_engine(f.lr)) == 0);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(dt_localrun_engine(f.lr)), 0);
  DT_ASSERT(fx_stop(&f));
  DT_ASSERT_MSG(stat(recdir, &st) != 0, "the temporary recordings directory %s is still there", recdir);
}

DT_TEST(control_answers_like_the_http_api) {
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start(&f, NULL), 0);
  cJSON *r = NULL;
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", "/health", NULL, &r), 200);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
  cJSON_Delete(r);
  /* the bot URL is the engine's callback */
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", "/emulator/config", NULL, &r), 200);
  DT_ASSERT_EQ_STR(str(r, "bot_url"), dt_engine_callback_url(dt_localrun_engine(f.lr)));
  cJSON_Delete(r);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", "/calls/nope", NULL, &r), 404);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(r, "error") != NULL);
  cJSON_Delete(r);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "POST", "/calls", "{\"script\":[{\"on\":\"never\"}]}", &r), 400);
  DT_ASSERT_CONTAINS(str(cJSON_GetObjectItemCaseSensitive(r, "error"), "message"), "\"on\" must be");
  cJSON_Delete(r);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "POST", "/calls", "{not json", NULL), 400);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "DELETE", "/stats", NULL, NULL), 405);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", "/events", NULL, NULL), 400);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "PUT", "/parties/someone", "{\"behaviour\":\"busy\"}", &r), 200);
  DT_ASSERT_EQ_STR(str(r, "behaviour"), "busy");
  cJSON_Delete(r);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "DELETE", "/parties/someone", NULL, &r), 204);
  DT_ASSERT(r == NULL);
  DT_ASSERT_EQ_INT(dt_localrun_control(f.lr, "GET", "calls", NULL, NULL), DT_EINVAL);
  DT_ASSERT(fx_stop(&f));
}

/* A voicemail lands in the given recordings directory as a WAV, and stays after close. */
DT_TEST(voicemail_recorded_into_given_dir) {
  char dir[] = "/tmp/dt_localrun_rec_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start(&f, dir), 0);
  DT_ASSERT_EQ_STR(dt_localrun_recordings_dir(f.lr), dir);
  const char *id = place(&f, "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"1\"},"
                             "{\"on\":\"record\",\"speak_s\":2},"
                             "{\"after_ms\":2500,\"tones\":\"#\"}]");
  DT_ASSERT(id != NULL);
  RUN_UNTIL(&f, 30000, f.seen.ended > 0);
  char names[1024];
  prompt_names(f.seen.entries, names, sizeof names);
  DT_ASSERT_EQ_STR(names, "welcome main_menu voicemail_intro voicemail_saved goodbye");
  DT_ASSERT(fx_stop(&f));
  /* one WAV file in the directory */
  char cmd[256];
  snprintf(cmd, sizeof cmd, "ls %s/*.wav 2>/dev/null | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  DT_ASSERT(p != NULL);
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  DT_ASSERT_EQ_INT(n, 1);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

/* ---- calls started from C run the flow they name ---- */

/* A flows directory with two flows: main says welcome, other says goodbye (both hang up). */
static char named_dir[64], cdr_file[128];

static int write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  if (fp == NULL) return -1;
  fputs(text, fp);
  return fclose(fp);
}

static const char *named_flows(void) {
  snprintf(named_dir, sizeof named_dir, "/tmp/dt_localrun_flows_XXXXXX");
  if (mkdtemp(named_dir) == NULL) return NULL;
  char p[128];
  const char *body = "return function(call)\n"
                     "  if call.direction == 'incoming' then call:answer() end\n"
                     "  call:play('%s')\n"
                     "  call:hangup()\n"
                     "end\n";
  char text[256];
  snprintf(p, sizeof p, "%s/main.lua", named_dir);
  snprintf(text, sizeof text, body, "welcome");
  if (write_text(p, text) != 0) return NULL;
  snprintf(p, sizeof p, "%s/other.lua", named_dir);
  snprintf(text, sizeof text, body, "goodbye");
  if (write_text(p, text) != 0) return NULL;
  snprintf(cdr_file, sizeof cdr_file, "%s/cdr.jsonl", named_dir);
  return named_dir;
}

static void remove_named_flows(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", named_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", named_dir);
}

/* The prompt names the hook saw for one call, space-separated. */
static void prompts_of(const cJSON *entries, const char *call, char *out, size_t outlen) {
  out[0] = '\0';
  const cJSON *e;
  cJSON_ArrayForEach(e, entries) {
    if (strcmp(str(e, "kind"), "prompt") != 0 || strcmp(str(e, "call"), call) != 0) continue;
    size_t l = strlen(out);
    snprintf(out + l, outlen - l, "%s%s", l ? " " : "", str(e, "name") ? str(e, "name") : "?");
  }
}

/* The CDR line of one call (a parsed copy the caller frees), or NULL. */
static cJSON *cdr_of(const char *call) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(cdr_file, 1 << 20, &text, &len) != 0) return NULL;
  cJSON *found = NULL;
  for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n")) {
    cJSON *r = cJSON_Parse(line);
    if (r && str(r, "call_id") && strcmp(str(r, "call_id"), call) == 0) found = r;
    else cJSON_Delete(r);
  }
  free(text);
  return found;
}

static size_t emulator_calls(fx_t *f) {
  cJSON *r = dt_emulator_calls_json(dt_localrun_emulator(f->lr));
  size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "calls"));
  cJSON_Delete(r);
  return n;
}

DT_TEST(a_call_placed_to_a_named_flow_runs_that_flow) {
  const char *flows = named_flows();
  DT_ASSERT(flows != NULL);
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start_in(&f, flows, NULL, cdr_file), 0);
  char named[DT_EMULATOR_CALL_ID_LEN], routed[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  DT_ASSERT_EQ_INT(dt_localrun_place_call(f.lr, "other", NULL, named, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(err, "");
  /* no flow named: the routes decide (the default flow, main) */
  DT_ASSERT_EQ_INT(dt_localrun_place_call(f.lr, NULL, NULL, routed, err, sizeof err), 0);
  RUN_UNTIL(&f, 30000, f.seen.ended >= 2);
  DT_ASSERT_EQ_INT(f.seen.ended, 2);
  char names[256];
  prompts_of(f.seen.entries, named, names, sizeof names);
  DT_ASSERT_EQ_STR(names, "goodbye");
  prompts_of(f.seen.entries, routed, names, sizeof names);
  DT_ASSERT_EQ_STR(names, "welcome");
  /* the CDRs name the flow each call ran */
  RUN_UNTIL(&f, 10000, dt_engine_cdr_count(dt_localrun_engine(f.lr)) >= 2);
  cJSON *a = cdr_of(named), *b = cdr_of(routed);
  DT_ASSERT(a != NULL && b != NULL);
  DT_ASSERT_EQ_STR(str(a, "flow"), "other");
  DT_ASSERT_EQ_STR(str(a, "direction"), "incoming");
  DT_ASSERT_EQ_STR(str(b, "flow"), "main");
  cJSON_Delete(a);
  cJSON_Delete(b);
  DT_ASSERT(fx_stop(&f));
  remove_named_flows();
}

DT_TEST(a_dial_from_c_runs_the_named_flow) {
  const char *flows = named_flows();
  DT_ASSERT(flows != NULL);
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start_in(&f, flows, NULL, cdr_file), 0);
  dt_invitation_t to = {.identity = {.kind = "phone", .id = "+15550142"}};
  /* a call to a phone number comes from an application instance (Graph refuses it otherwise) */
  dt_identity_t instance = {.kind = "applicationInstance", .id = "localrun-instance"};
  dt_graph_create_params_t p = {.targets = &to, .target_count = 1, .source = &instance};
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_localrun_dial(f.lr, "other", &p, err, sizeof err), 0);
  RUN_UNTIL(&f, 30000, f.seen.ended >= 1);
  DT_ASSERT_EQ_INT(f.seen.ended, 1);
  /* one call, outgoing, to the target, running other (nothing placed an incoming call) */
  const cJSON *first = cJSON_GetArrayItem(f.seen.entries, 0);
  DT_ASSERT_EQ_STR(str(first, "kind"), "outgoing");
  DT_ASSERT_CONTAINS(str(first, "to"), "+15550142");
  char id[128];
  snprintf(id, sizeof id, "%s", str(first, "call"));
  char names[256];
  prompts_of(f.seen.entries, id, names, sizeof names);
  DT_ASSERT_EQ_STR(names, "goodbye");
  DT_ASSERT_EQ_INT(emulator_calls(&f), 1);
  RUN_UNTIL(&f, 10000, dt_engine_cdr_count(dt_localrun_engine(f.lr)) >= 1);
  cJSON *r = cdr_of(id);
  DT_ASSERT(r != NULL);
  DT_ASSERT_EQ_STR(str(r, "flow"), "other");
  DT_ASSERT_EQ_STR(str(r, "direction"), "outgoing");
  DT_ASSERT_EQ_STR(str(r, "to"), "+15550142");
  cJSON_Delete(r);
  DT_ASSERT(fx_stop(&f));
  remove_named_flows();
}

DT_TEST(an_unknown_flow_is_refused_and_nothing_is_placed) {
  const char *flows = named_flows();
  DT_ASSERT(flows != NULL);
  fx_t f;
  DT_ASSERT_EQ_INT(fx_start_in(&f, flows, NULL, cdr_file), 0);
  char id[DT_EMULATOR_CALL_ID_LEN] = "x", err[256] = "";
  DT_ASSERT_EQ_INT(dt_localrun_place_call(f.lr, "nope", NULL, id, err, sizeof err), DT_ENOENT);
  DT_ASSERT_EQ_STR(err, "no flow named 'nope'");
  DT_ASSERT_EQ_STR(id, "");
  dt_invitation_t to = {.identity = {.kind = "phone", .id = "+15550142"}};
  dt_graph_create_params_t p = {.targets = &to, .target_count = 1};
  err[0] = '\0';
  DT_ASSERT_EQ_INT(dt_localrun_dial(f.lr, "nope", &p, err, sizeof err), DT_ENOENT);
  DT_ASSERT_EQ_STR(err, "no flow named 'nope'");
  /* a dial with nobody to call is refused too */
  dt_graph_create_params_t none = {0};
  DT_ASSERT_EQ_INT(dt_localrun_dial(f.lr, "other", &none, err, sizeof err), DT_EINVAL);
  /* give anything that was sent time to arrive: nothing was */
  RUN_UNTIL(&f, 300, 0);
  DT_ASSERT_EQ_INT(emulator_calls(&f), 0);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(f.seen.entries), 0);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(dt_localrun_engine(f.lr)), 0);
  DT_ASSERT(fx_stop(&f));
  remove_named_flows();
}

DT_TEST(missing_flows_dir_is_an_error) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_localrun_options_t o = {0};
  o.flows_dir = "/nonexistent/flows";
  dt_localrun_t *lr = NULL;
  char err[256] = "";
  DT_ASSERT(dt_localrun_start(&loop, &o, &lr, err, sizeof err) < 0);
  DT_ASSERT(lr == NULL);
  DT_ASSERT_CONTAINS(err, "/nonexistent/flows");
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

DT_TEST_MAIN()
