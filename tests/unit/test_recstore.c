/*
 * test_recstore.c — core/calls/recstore.c without a network: bad recordings are refused and
 * change nothing; a recording is journaled (0600, its location and sidecar fields) before
 * anything is fetched; a fetch that cannot connect is retried, not failed; close keeps the
 * journal entry and a new store resumes it; a cut-short journal write is dropped at resume.
 * (WAV parsing is core/util/wav.c's, tested in test_wav.)
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/error.h"
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
  /* the journal entry is on disk already, private to us */
  char *jpath = dt_xasprintf("%s/call-1.json", dt_recstore_journal_dir(f.st));
  struct stat sb;
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

DT_TEST_MAIN()
