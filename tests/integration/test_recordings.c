/*
 * test_recordings.c — recordings are never lost (issue 6): each recording Graph reports is
 * journaled before it is fetched, fetched with retries, stored with its sidecar even when
 * the call is gone, resumed from the journal by the next engine, and a download that
 * fails for good leaves a sidecar that says so. The engine runs against the emulator,
 * whose recording faults (recording_status) make the downloads fail on purpose.
 */
#include <dirent.h>
#include <sys/stat.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/files.h"

#define REC_TEST(name) H_TEST(name, .time_scale = 0)

static const char RECORD_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local ok, r = pcall(call.record, call, {max_duration = 10, max_silence = 1, initial_silence = 3})\n"
    "  if ok then dialtone.log('info', 'RESULT', r.reason, r.file, r.duration > 0)\n"
    "  else dialtone.log('info', 'FAILED', r.code, r.graph_code, tostring(r.message)) end\n"
    "end\n";

static const char SPEAK[] = "\"script\":[{\"on\":\"record\",\"speak_s\":2}]";

static const char *journal_dir(void) {
  static char p[256];
  snprintf(p, sizeof p, "%s/.journal", H.rec_dir);
  return p;
}

static cJSON *stats(void) {
  char url[256];
  snprintf(url, sizeof url, "%s/emulator/stats", H.emu_url);
  return h_http_json(&H, "GET", url, NULL, NULL);
}

static int stat_num(const char *key) {
  cJSON *s = stats();
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
  int n = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
  cJSON_Delete(s);
  return n;
}

/* The sidecar of a .wav path (caller frees), or NULL. */
static cJSON *sidecar_of(const char *wav) {
  char path[600], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%.*s.json", (int)(strlen(wav) - 4), wav);
  if (dt_read_file(path, 1 << 20, &text, &len) != 0) return NULL;
  cJSON *j = cJSON_Parse(text);
  free(text);
  return j;
}

/* The first (only) entry of the journal, its text (caller frees), or NULL. */
static char *journal_entry(char *name_out, size_t cap) {
  DIR *d = opendir(journal_dir());
  if (!d) return NULL;
  struct dirent *de;
  char *text = NULL;
  while ((de = readdir(d)) != NULL && !text) {
    if (de->d_name[0] == '.' || !strstr(de->d_name, ".json")) continue;
    char p[600];
    size_t len;
    snprintf(p, sizeof p, "%s/%s", journal_dir(), de->d_name);
    if (dt_read_file(p, 1 << 20, &text, &len) != 0) text = NULL;
    if (name_out) snprintf(name_out, cap, "%s", p);
  }
  closedir(d);
  return text;
}

/* Two failed downloads (503), the third works: the flow gets its file, the sidecar counts
   the attempts, the journal is empty again. */
REC_TEST(download_is_retried_until_stored) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"recording_status\":503,\"recording_status_count\":2}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", RECORD_FLOW), 0);
  char id[128];
  cJSON *cdr = h_run_call(SPEAK, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  DT_ASSERT(h_log_has(&H, "RESULT max_silence"));
  DT_ASSERT(h_log_has(&H, "true"));
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  const char *wav = cJSON_GetArrayItem(recs, 0)->valuestring;
  DT_ASSERT(is_file(wav));
  cJSON *side = sidecar_of(wav);
  DT_ASSERT(side != NULL);
  DT_ASSERT(h_same_id(h_str(side, "call_id"), id));
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(side, "attempts")->valuedouble, 3);
  DT_ASSERT(h_str(side, "error") == NULL);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(side, "token") == NULL);
  cJSON_Delete(side);
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(stat_num("recording_requests"), 3);
  DT_ASSERT_EQ_INT(stat_num("recording_downloads"), 1);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 0);
  DT_ASSERT(h_log_has(&H, "retrying in"));
}

/* The caller hangs up while the download keeps failing: the call ends (its CDR already
   lists the file), the download goes on, and once the fault clears the recording and its
   sidecar are on disk. The journal entry holds the token, readable by its owner only, and
   the token never reaches the log. */
REC_TEST(recording_outlives_its_call) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"recording_status\":503}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", RECORD_FLOW), 0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, SPEAK, id), 201);
  H_UNTIL(&H, 20000, count_files(journal_dir(), ".json") == 1 && stat_num("recording_requests") >= 1);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 1);
  char jpath[600];
  char *entry = journal_entry(jpath, sizeof jpath);
  DT_ASSERT(entry != NULL);
  cJSON *je = cJSON_Parse(entry);
  free(entry);
  const char *token = h_str(je, "token");
  DT_ASSERT(token != NULL && strlen(token) > 8);
  struct stat sb;
  DT_ASSERT(stat(jpath, &sb) == 0 && (sb.st_mode & 0077) == 0);
  DT_ASSERT_EQ_INT(h_hangup(&H, id), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  char wav[600];
  snprintf(wav, sizeof wav, "%s", cJSON_GetArrayItem(recs, 0)->valuestring);
  cJSON_Delete(cdr);
  DT_ASSERT(!is_file(wav));
  DT_ASSERT_EQ_INT(h_control(&H, "DELETE", "faults", NULL), 200);
  H_UNTIL(&H, 20000, is_file(wav) && count_files(journal_dir(), ".json") == 0);
  DT_ASSERT(is_file(wav));
  cJSON *side = sidecar_of(wav);
  DT_ASSERT(side != NULL);
  DT_ASSERT(h_same_id(h_str(side, "call_id"), id));
  DT_ASSERT_EQ_STR(h_str(side, "flow"), "main");
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(side, "attempts")->valuedouble >= 2);
  cJSON_Delete(side);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 0);
  DT_ASSERT(!h_log_has(&H, token));
  cJSON_Delete(je);
}

/* The engine stops while a download is failing: the journal entry stays (no .wav yet);
   the next engine on the same directory resumes it and stores the recording. */
REC_TEST(next_engine_resumes_the_journal) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"recording_status\":500}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", RECORD_FLOW), 0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, SPEAK, id), 201);
  H_UNTIL(&H, 20000, count_files(journal_dir(), ".json") == 1 && stat_num("recording_requests") >= 1);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 1);
  DT_ASSERT(h_close_engine(&H));
  DT_ASSERT(h_has_cdr(&H, id)); /* drained with its CDR */
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 1);
  DT_ASSERT_EQ_INT(count_files(H.rec_dir, ".wav"), 0);
  DT_ASSERT_EQ_INT(h_control(&H, "DELETE", "faults", NULL), 200);
  DT_ASSERT_EQ_INT(h_restart_engine(&H), 0);
  H_UNTIL(&H, 20000, count_files(H.rec_dir, ".wav") == 1 && count_files(journal_dir(), ".json") == 0);
  DT_ASSERT_EQ_INT(count_files(H.rec_dir, ".wav"), 1);
  DT_ASSERT_EQ_INT(count_files(H.rec_dir, ".json"), 1);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 0);
  DT_ASSERT(h_log_has(&H, "resuming its download from the journal"));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  cJSON *side = sidecar_of(cJSON_GetArrayItem(recs, 0)->valuestring);
  cJSON_Delete(cdr);
  DT_ASSERT(side != NULL);
  DT_ASSERT(h_same_id(h_str(side, "call_id"), id));
  cJSON_Delete(side);
}

/* A 404 will not get better: the flow gets a recordingDownload error at once, the sidecar
   records the failure, nothing stays in the journal. */
REC_TEST(permanent_failure_is_recorded) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"recording_status\":404}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", RECORD_FLOW), 0);
  char id[128];
  cJSON *cdr = h_run_call(SPEAK, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_log_has(&H, "FAILED io recordingDownload"));
  DT_ASSERT_EQ_INT(stat_num("recording_requests"), 1);
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  const char *wav = cJSON_GetArrayItem(recs, 0)->valuestring;
  DT_ASSERT(!is_file(wav));
  cJSON *side = sidecar_of(wav);
  DT_ASSERT(side != NULL);
  DT_ASSERT_CONTAINS(h_str(side, "error"), "HTTP 404");
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(side, "file")));
  cJSON_Delete(side);
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(count_files(journal_dir(), ".json"), 0);
}

DT_TEST_MAIN()
