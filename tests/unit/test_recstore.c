/*
 * test_recstore.c — core/calls/recstore.c without a network: bad recordings are refused and
 * change nothing; a recording is journaled (0600, its location and sidecar fields) before
 * anything is fetched; a fetch that cannot connect is retried, not failed; close keeps the
 * journal entry and a new store resumes it; a cut-short journal write is dropped at resume.
 * The disk work runs in libuv's thread pool: with the pool held busy, the loop keeps
 * running (a timer keeps firing), nothing is fetched before the journal entry is written
 * and nothing is reported stored before the .wav and sidecar are; a close while a write is
 * in flight waits for it and neither leaks nor touches freed memory.
 * (WAV parsing is core/util/wav.c's, tested in test_wav.)
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/recstore.h"
#include "harness/loop.h"
#include "harness/dt_test.h"

typedef struct {
  uv_loop_t loop;
  dt_http_client_t *http;
  dt_recstore_t *st;
  char dir[64];
  int called;
} fx_t;

static void fx_open(fx_t *f) {
  uv_loop_init(&f->loop);
  dt_http_client_new(&f->loop, &(dt_http_client_options_t){0}, &f->http);
  dt_recstore_options_t o = {.loop = &f->loop, .http = f->http, .dir = f->dir, .backoff_ms = 20, .backoff_max_ms = 40};
  dt_recstore_new(&o, &f->st);
}

static void fx_close(fx_t *f) {
  int done = 0;
  dt_recstore_close(f->st, on_done_flag, &done);
  run_until(&f->loop, &done, 5);
  dt_http_client_close(f->http, NULL, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_loop_close(&f->loop);
}

static void on_stored(const dt_recstore_result_t *res, void *ud) {
  (void)res;
  ((fx_t *)ud)->called++;
}

static void rm_tree(const char *dir) {
  char *cmd = dt_xasprintf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "  cannot remove %s\n", dir);
  free(cmd);
}

DT_TEST(a_recording_is_journaled_before_its_fetch_and_resumed) {
  fx_t f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/dt_recstore_XXXXXX");
  DT_ASSERT(mkdtemp(f.dir) != NULL);
  fx_open(&f);
  dt_recording_t bad = {.name = "../x", .location = "http://127.0.0.1:9/r"};
  DT_ASSERT_EQ_INT(dt_recstore_add(f.st, &bad, on_stored, &f, NULL), DT_EINVAL);
  bad.name = ".hidden";
  DT_ASSERT_EQ_INT(dt_recstore_add(f.st, &bad, on_stored, &f, NULL), DT_EINVAL);
  bad.name = "ok";
  bad.location = NULL;
  DT_ASSERT_EQ_INT(dt_recstore_add(f.st, &bad, on_stored, &f, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(f.st), 0);
  dt_recording_t rec = {.name = "call-1", .location = "http://127.0.0.1:9/rec", .token = "secret",
                        .call_id = "c1", .flow = "main", .reason = "max_duration"};
  DT_ASSERT_EQ_INT(dt_recstore_add(f.st, &rec, on_stored, &f, NULL), 0);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(f.st), 1);
  /* the journal entry is on disk soon (written in the thread pool), private to us */
  char *jpath = dt_xasprintf("%s/call-1.json", dt_recstore_journal_dir(f.st));
  struct stat sb;
  for (int i = 0; i < 500 && stat(jpath, &sb) != 0; i++) run_for(&f.loop, 10);
  DT_ASSERT_EQ_INT(stat(jpath, &sb), 0);
  DT_ASSERT_EQ_INT(sb.st_mode & 0777, 0600);
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(jpath, 1 << 16, &text, &len), 0);
  cJSON *j = cJSON_Parse(text);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "location")->valuestring, "http://127.0.0.1:9/rec");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "reason")->valuestring, "max_duration");
  cJSON_Delete(j);
  free(text);
  /* a fetch that cannot connect is retried: nothing is reported, nothing stored */
  run_for(&f.loop, 200);
  DT_ASSERT_EQ_INT(f.called, 0);
  DT_ASSERT_EQ_INT((int)dt_recstore_failed(f.st), 0);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(f.st), 1);
  fx_close(&f);
  DT_ASSERT_EQ_INT(f.called, 0);
  DT_ASSERT_EQ_INT(stat(jpath, &sb), 0); /* kept for the next start */
  /* a write cut short by a crash is no entry */
  char *tmp = dt_xasprintf("%s/.journal/call-2.json.tmp.123", f.dir);
  FILE *fp = fopen(tmp, "w");
  DT_ASSERT(fp != NULL);
  fputs("{\"name\":", fp);
  fclose(fp);
  fx_t g = {0};
  memcpy(g.dir, f.dir, sizeof g.dir);
  fx_open(&g);
  DT_ASSERT_EQ_INT(dt_recstore_resume(g.st), 1);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(g.st), 1);
  DT_ASSERT(access(tmp, F_OK) != 0);
  fx_close(&g);
  free(tmp);
  free(jpath);
  rm_tree(f.dir);
}

/* ---- holding libuv's thread pool busy: blockers wait until released */

#define BLOCKERS 128 /* more than the pool's threads: those queued behind them wait too */
typedef struct {
  uv_mutex_t mu;
  uv_cond_t cv;
  uintptr_t held, released; /* generations: a blocker of generation g waits until released >= g */
  int queued, finished;
} pool_hold_t;

static pool_hold_t HOLD;

static void hold_work(uv_work_t *w) {
  uintptr_t gen = (uintptr_t)w->data;
  uv_mutex_lock(&HOLD.mu);
  while (HOLD.released < gen) uv_cond_wait(&HOLD.cv, &HOLD.mu);
  uv_mutex_unlock(&HOLD.mu);
}

static void hold_done(uv_work_t *w, int status) {
  (void)status;
  free(w);
  HOLD.finished++;
}

static void pool_hold(uv_loop_t *loop) {
  static bool init;
  if (!init) {
    uv_mutex_init(&HOLD.mu);
    uv_cond_init(&HOLD.cv);
    init = true;
  }
  uv_mutex_lock(&HOLD.mu);
  uintptr_t gen = ++HOLD.held;
  uv_mutex_unlock(&HOLD.mu);
  for (int i = 0; i < BLOCKERS; i++) {
    uv_work_t *w = dt_xcalloc(1, sizeof *w);
    w->data = (void *)gen;
    uv_queue_work(loop, w, hold_work, hold_done);
    HOLD.queued++;
  }
}

static void pool_release(void) {
  uv_mutex_lock(&HOLD.mu);
  HOLD.released = HOLD.held;
  uv_cond_broadcast(&HOLD.cv);
  uv_mutex_unlock(&HOLD.mu);
}

/* ---- a recording server on the store's loop */

typedef struct {
  fx_t f;
  dt_http_server_t *srv;
  int port, hits;
  bool hold_on_request; /* hold the pool before answering */
  int ticks;
  dt_recstore_result_t last;
  char last_path[256];
} srv_fx_t;

static char WAV[44 + 16000];

static void make_wav(void) {
  memset(WAV, 0, sizeof WAV);
  memcpy(WAV, "RIFF", 4);
  uint32_t v = sizeof WAV - 8;
  memcpy(WAV + 4, &v, 4);
  memcpy(WAV + 8, "WAVEfmt ", 8);
  v = 16;
  memcpy(WAV + 16, &v, 4);
  uint16_t fmt = 1, ch = 1, align = 2, bits = 16;
  uint32_t rate = 8000, byterate = 16000;
  memcpy(WAV + 20, &fmt, 2);
  memcpy(WAV + 22, &ch, 2);
  memcpy(WAV + 24, &rate, 4);
  memcpy(WAV + 28, &byterate, 4);
  memcpy(WAV + 32, &align, 2);
  memcpy(WAV + 34, &bits, 2);
  memcpy(WAV + 36, "data", 4);
  v = 16000;
  memcpy(WAV + 40, &v, 4);
}

static void serve(dt_http_request_t *req, void *ud) {
  srv_fx_t *s = ud;
  s->hits++;
  if (s->hold_on_request) pool_hold(&s->f.loop);
  dt_http_respond(req, 200, "audio/wav", WAV, sizeof WAV);
}

static void on_stored_keep(const dt_recstore_result_t *res, void *ud) {
  srv_fx_t *s = ud;
  s->f.called++;
  s->last = *res;
  snprintf(s->last_path, sizeof s->last_path, "%s", res->path ? res->path : "");
  s->last.path = s->last_path;
}

static void tick(uv_timer_t *t) { ((srv_fx_t *)t->data)->ticks++; }

static bool srv_open(srv_fx_t *s) {
  make_wav();
  snprintf(s->f.dir, sizeof s->f.dir, "/tmp/dt_recstore_XXXXXX");
  if (!mkdtemp(s->f.dir)) return false;
  fx_open(&s->f);
  dt_http_server_options_t o = {.listen = "127.0.0.1:0", .handler = serve, .handler_ud = s};
  char err[256];
  if (dt_http_server_start(&s->f.loop, &o, &s->srv, err, sizeof err) != 0) return false;
  s->port = dt_http_server_port(s->srv);
  return true;
}

static void srv_close(srv_fx_t *s) {
  dt_http_server_close(s->srv, NULL, NULL);
  fx_close(&s->f);
  rm_tree(s->f.dir);
}

static bool exists(const char *dir, const char *file) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  return access(p, F_OK) == 0;
}

DT_TEST(the_disk_work_runs_off_the_loop_in_order) {
  srv_fx_t s = {0};
  DT_ASSERT(srv_open(&s));
  uv_timer_t t;
  uv_timer_init(&s.f.loop, &t);
  t.data = &s;
  uv_timer_start(&t, tick, 5, 5);
  char loc[128];
  snprintf(loc, sizeof loc, "http://127.0.0.1:%d/rec", s.port);
  dt_recording_t rec = {.name = "r1", .location = loc, .token = "tok", .call_id = "c1"};
  /* the pool is busy: the journal entry cannot be written, so nothing is fetched, and the
     loop runs on */
  pool_hold(&s.f.loop);
  DT_ASSERT_EQ_INT(dt_recstore_add(s.f.st, &rec, on_stored_keep, &s, NULL), 0);
  run_for(&s.f.loop, 200);
  DT_ASSERT(s.ticks >= 10);
  DT_ASSERT_EQ_INT(s.hits, 0);
  DT_ASSERT(!exists(dt_recstore_journal_dir(s.f.st), "r1.json"));
  /* released: the entry is written, then fetched; the server holds the pool again as it
     answers, so the .wav and sidecar cannot be written yet: not reported, journal kept */
  s.hold_on_request = true;
  pool_release();
  for (int i = 0; i < 300 && s.hits == 0; i++) run_for(&s.f.loop, 10);
  DT_ASSERT_EQ_INT(s.hits, 1);
  DT_ASSERT(exists(dt_recstore_journal_dir(s.f.st), "r1.json"));
  int before = s.ticks;
  run_for(&s.f.loop, 300);
  DT_ASSERT(s.ticks - before >= 10);
  DT_ASSERT_EQ_INT(s.f.called, 0);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(s.f.st), 1);
  DT_ASSERT(!exists(s.f.dir, "r1.wav"));
  DT_ASSERT(!exists(s.f.dir, "r1.json"));
  DT_ASSERT(exists(dt_recstore_journal_dir(s.f.st), "r1.json"));
  /* released: stored, and only then reported, with the journal entry gone */
  pool_release();
  DT_ASSERT(run_until(&s.f.loop, &s.f.called, 5));
  DT_ASSERT_EQ_INT(s.last.err, 0);
  DT_ASSERT_EQ_INT((int)s.last.bytes, (int)sizeof WAV);
  DT_ASSERT(s.last.duration > 0.99 && s.last.duration < 1.01);
  DT_ASSERT(exists(s.f.dir, "r1.wav"));
  DT_ASSERT(exists(s.f.dir, "r1.json"));
  DT_ASSERT(!exists(dt_recstore_journal_dir(s.f.st), "r1.json"));
  DT_ASSERT_EQ_INT((int)dt_recstore_stored(s.f.st), 1);
  DT_ASSERT_EQ_INT((int)dt_recstore_pending(s.f.st), 0);
  uv_close((uv_handle_t *)&t, NULL);
  srv_close(&s);
  DT_ASSERT_EQ_INT(HOLD.finished, HOLD.queued);
}

DT_TEST(a_close_while_the_disk_work_runs_waits_for_it) {
  srv_fx_t s = {0};
  DT_ASSERT(srv_open(&s));
  char loc[128];
  snprintf(loc, sizeof loc, "http://127.0.0.1:%d/rec", s.port);
  /* closed while the .wav is being written (the pool held as the server answers) */
  s.hold_on_request = true;
  dt_recording_t rec = {.name = "r2", .location = loc, .call_id = "c2"};
  DT_ASSERT_EQ_INT(dt_recstore_add(s.f.st, &rec, on_stored_keep, &s, NULL), 0);
  for (int i = 0; i < 300 && s.hits == 0; i++) run_for(&s.f.loop, 10);
  DT_ASSERT_EQ_INT(s.hits, 1);
  /* the response arrives; its write waits behind the blockers */
  for (int i = 0; i < 300 && dt_http_client_pending(s.f.http) > 0; i++) run_for(&s.f.loop, 10);
  DT_ASSERT_EQ_INT((int)dt_http_client_pending(s.f.http), 0);
  int done = 0;
  dt_recstore_close(s.f.st, on_done_flag, &done);
  run_for(&s.f.loop, 200);
  DT_ASSERT_EQ_INT(done, 0); /* the write is still in flight: the store is not freed */
  pool_release();
  DT_ASSERT(run_until(&s.f.loop, &done, 5));
  DT_ASSERT_EQ_INT(s.f.called, 0); /* close forgot the caller */
  /* the write completed in order: both files, no journal entry, no temporary file */
  DT_ASSERT(exists(s.f.dir, "r2.wav"));
  DT_ASSERT(exists(s.f.dir, "r2.json"));
  char jdir[128];
  snprintf(jdir, sizeof jdir, "%s/.journal", s.f.dir);
  DT_ASSERT(!exists(jdir, "r2.json"));
  /* and closed while the journal entry is being written: it stays for the next start */
  dt_recstore_options_t o = {.loop = &s.f.loop, .http = s.f.http, .dir = s.f.dir};
  DT_ASSERT_EQ_INT(dt_recstore_new(&o, &s.f.st), 0);
  pool_hold(&s.f.loop);
  rec.name = "r3";
  DT_ASSERT_EQ_INT(dt_recstore_add(s.f.st, &rec, on_stored_keep, &s, NULL), 0);
  int done2 = 0;
  dt_recstore_close(s.f.st, on_done_flag, &done2);
  run_for(&s.f.loop, 100);
  DT_ASSERT_EQ_INT(done2, 0);
  pool_release();
  DT_ASSERT(run_until(&s.f.loop, &done2, 5));
  DT_ASSERT(exists(jdir, "r3.json"));
  DT_ASSERT_EQ_INT(s.hits, 1); /* never fetched */
  DT_ASSERT_EQ_INT(s.f.called, 0);
  dt_http_server_close(s.srv, NULL, NULL);
  dt_http_client_close(s.f.http, NULL, NULL);
  uv_run(&s.f.loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(HOLD.finished, HOLD.queued);
  uv_loop_close(&s.f.loop);
  rm_tree(s.f.dir);
}

DT_TEST_MAIN()
