/*
 * test_localrun.c — the engine and the emulator in one process (localrun.h): a call placed
 * through dt_localrun_control runs flows/main.lua over real HTTP on loopback, the event
 * hook sees every timeline entry in order (the prompts of the flow among them), control
 * requests answer as the HTTP control API does, recordings land in the recordings
 * directory, and close frees everything (the temporary recordings directory included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dt_test.h"
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

static int fx_start(fx_t *f, const char *recordings_dir) {
  memset(f, 0, sizeof *f);
  dt_log_set_level(DT_LOG_WARN);
  uv_loop_init(&f->loop);
  uv_timer_init(&f->loop, &f->tick);
  uv_timer_start(&f->tick, on_tick, 5, 5);
  f->seen.entries = cJSON_CreateArray();
  dt_localrun_options_t o = {0};
  o.flows_dir = source_flows();
  o.recordings_dir = recordings_dir;
  o.time_scale = 0;
  o.quiet = 1;
  char err[512];
  int rc = dt_localrun_start(&f->loop, &o, &f->lr, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "localrun: %s\n", err);
    return rc;
  }
  dt_localrun_on_event(f->lr, on_entry, &f->seen);
  return 0;
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
  DT_ASSERT_EQ_STR(names, "welcome main_menu enter_digits you_entered digit_4 digit_2 main_menu");

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
