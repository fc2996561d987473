/*
 * test_hostile_cdr.c — no CDR is lost or corrupted, and the CDR says what happened
 * (issue 10, point 5).
 *
 * A full disk for real: the engine's CDR path is a symlink to /dev/full (every write is
 * ENOSPC). Calls end; their records must be kept (dt_cdr_spooled, the failures counted in
 * /metrics, one log line for the episode). Then the symlink is pointed at a real file, as an
 * operator fixing the disk would: the retry timer reopens the path and every record appears
 * exactly once, whole lines, in the order the calls ended, and later calls follow them.
 *
 * And a caller who hangs up while the transfer target is still ringing: the outcome is
 * "hangup" (not "transferred"), the transfer entry's result "hangup".
 *
 * Recordings get the same scrutiny: when the sidecar cannot be written, no .wav is left
 * without it, no temporary file stays, the journal entry stays, the failure is counted
 * (dt_recordings_write_errors_total), and once the disk is fixed the retry stores both.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/files.h"

/* The call ids in the CDR file, in file order, into ids (each line must be a JSON object). */
static int cdr_ids(char ids[][128], int max, bool *whole) {
  char *text = NULL;
  size_t len = 0;
  *whole = true;
  if (dt_read_file(H.cdr_path, 64 << 20, &text, &len) != 0) return 0;
  if (len && text[len - 1] != '\n') *whole = false;
  int n = 0;
  for (char *line = text; line < text + len;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    const char *id = h_str(j, "call_id");
    if (!id) *whole = false;
    else if (n < max) snprintf(ids[n++], 128, "%s", id);
    cJSON_Delete(j);
    line = nl ? nl + 1 : text + len;
  }
  free(text);
  return n;
}

static double metric(const char *name) { return dt_metrics_get(dt_engine_metrics(H.engine), name, NULL); }

static int log_count(const char *needle) {
  fflush(H.log);
  int n = 0;
  for (const char *p = H.log_text; p && (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

/* Places a call and waits (bounded) until the engine has finished with it. */
static bool run_call_to_end(char id[128], size_t before) {
  if (h_place_call(&H, NULL, id) != 201) return false;
  H_UNTIL(&H, 20000, metric("dt_cdr_spooled") + (double)dt_engine_cdr_count(H.engine) > (double)before);
  return metric("dt_cdr_spooled") + (double)dt_engine_cdr_count(H.engine) > (double)before;
}

H_TEST(a_full_disk_loses_no_record_and_every_record_is_written_once_in_order, .time_scale = 0) {
  /* restart the engine with its CDR path on /dev/full */
  DT_ASSERT(h_close_engine(&H));
  char real[192], tmp[192];
  snprintf(real, sizeof real, "%s/cdr-real.jsonl", H.dir);
  snprintf(tmp, sizeof tmp, "%s/cdr-link.tmp", H.dir);
  unlink(H.cdr_path);
  DT_ASSERT_EQ_INT(symlink("/dev/full", H.cdr_path), 0);
  DT_ASSERT_EQ_INT(h__engine_start(&H), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() call:play('welcome') end"), 0);

  enum { FULL_CALLS = 3 };
  char ids[FULL_CALLS + 1][128];
  for (int i = 0; i < FULL_CALLS; i++) DT_ASSERT(run_call_to_end(ids[i], (size_t)i));
  DT_ASSERT(metric("dt_cdr_spooled") == FULL_CALLS);
  DT_ASSERT(metric("dt_cdr_write_failures_total") >= 1);
  DT_ASSERT_EQ_INT((int)dt_engine_cdr_count(H.engine), 0);
  DT_ASSERT_EQ_INT(log_count("CDR: cannot write to"), 1); /* once per episode */
  DT_ASSERT(log_count("No space left on device") >= 1);
  /* /metrics says so too */
  char url[128], *body = NULL;
  snprintf(url, sizeof url, "%s/metrics", H.engine_url);
  DT_ASSERT_EQ_INT(h_http(&H, "GET", url, NULL, &body), 200);
  DT_ASSERT_CONTAINS(body, "dt_cdr_spooled 3");
  DT_ASSERT_CONTAINS(body, "dt_cdr_write_failures_total");
  free(body);

  /* the operator frees the disk: the path now leads to a real file */
  DT_ASSERT_EQ_INT(symlink(real, tmp), 0);
  DT_ASSERT_EQ_INT(rename(tmp, H.cdr_path), 0);
  H_UNTIL(&H, 30000, dt_engine_cdr_count(H.engine) == FULL_CALLS);
  DT_ASSERT_EQ_INT((int)dt_engine_cdr_count(H.engine), FULL_CALLS);
  DT_ASSERT(metric("dt_cdr_spooled") == 0);
  DT_ASSERT_EQ_INT(log_count("again; the 3 records kept meanwhile are written"), 1);
  /* a later call follows them */
  DT_ASSERT(run_call_to_end(ids[FULL_CALLS], FULL_CALLS));
  H_UNTIL(&H, 5000, dt_engine_cdr_count(H.engine) == FULL_CALLS + 1);

  char got[8][128];
  bool whole = false;
  int n = cdr_ids(got, 8, &whole);
  DT_ASSERT(whole);
  DT_ASSERT_EQ_INT(n, FULL_CALLS + 1);
  for (int i = 0; i < n && i <= FULL_CALLS; i++) DT_ASSERT(h_same_id(got[i], ids[i]));
}

/* The engine stops while the disk is still full: the log says how many records are where. */
H_TEST(records_still_kept_at_shutdown_are_accounted_for_in_the_log, .time_scale = 0) {
  DT_ASSERT(h_close_engine(&H));
  unlink(H.cdr_path);
  DT_ASSERT_EQ_INT(symlink("/dev/full", H.cdr_path), 0);
  DT_ASSERT_EQ_INT(h__engine_start(&H), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() end"), 0);
  char id[128];
  DT_ASSERT(run_call_to_end(id, 0));
  DT_ASSERT(h_close_engine(&H));
  DT_ASSERT_EQ_INT(log_count("CDR: 1 record could not be written to"), 1);
  DT_ASSERT_EQ_INT(log_count("CDR: record not written to"), 1);
  char needle[200];
  snprintf(needle, sizeof needle, "\"call_id\":\"%.100s\"", id);
  DT_ASSERT(log_count(needle) >= 1); /* the record itself is in the log */
}

H_TEST(a_caller_hanging_up_while_the_transfer_target_rings_is_a_hangup, .time_scale = 1) {
  DT_ASSERT_EQ_INT(h_control(&H, "PUT", "parties/slow-plumber", "{\"behaviour\":\"noanswer\"}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:transfer{target = {user = 'slow-plumber'}}\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  /* the target is ringing: the emulator saw the transfer request */
  H_UNTIL(&H, 20000, h_count_requests(&H, id, "transfer") == 1);
  DT_ASSERT_EQ_INT(h_count_requests(&H, id, "transfer"), 1);
  DT_ASSERT_EQ_INT(h_hangup(&H, id), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(tr), 1);
  DT_ASSERT_EQ_STR(h_str(cJSON_GetArrayItem(tr, 0), "target"), "user:slow-plumber");
  DT_ASSERT_EQ_STR(h_str(cJSON_GetArrayItem(tr, 0), "result"), "hangup");
  cJSON_Delete(cdr);
}

/* Files under dir whose names contain needle. */
static int files_with(const char *dir, const char *needle) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) n += strstr(de->d_name, needle) != NULL;
  closedir(d);
  return n;
}

H_TEST(a_sidecar_that_cannot_be_written_leaves_no_half_stored_recording, .time_scale = 0, .op_timeout_s = 1) {
  /* downloads fail until the fault is cleared, so the sidecar's path can be blocked first */
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"recording_status\":503,\"recording_status_count\":100000}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  pcall(call.record, call, {max_duration = 10, max_silence = 1, initial_silence = 3})\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"record\",\"speak_s\":2}]", id);
  DT_ASSERT(cdr != NULL);
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  char wav[512], side[512], journal[300];
  snprintf(wav, sizeof wav, "%s", cJSON_GetArrayItem(recs, 0)->valuestring);
  cJSON_Delete(cdr);
  snprintf(side, sizeof side, "%.*s.json", (int)(strlen(wav) - 4), wav);
  snprintf(journal, sizeof journal, "%s/.journal", H.rec_dir);
  /* a directory where the sidecar must go: its rename fails (as a full disk would) */
  DT_ASSERT_EQ_INT(mkdir(side, 0755), 0);
  DT_ASSERT_EQ_INT(h_control(&H, "DELETE", "faults", NULL), 200);
  dt_metrics_t *m = dt_engine_metrics(H.engine);
  H_UNTIL(&H, 40000, dt_metrics_get(m, "dt_recordings_write_errors_total", NULL) >= 1);
  DT_ASSERT(dt_metrics_get(m, "dt_recordings_write_errors_total", NULL) >= 1);
  DT_ASSERT(!is_file(wav));                         /* no .wav without its sidecar */
  DT_ASSERT_EQ_INT(files_with(H.rec_dir, ".tmp."), 0); /* no temporary file left */
  DT_ASSERT_EQ_INT(files_with(journal, ".json"), 1);   /* the journal entry stays */
  DT_ASSERT(h_log_has(&H, "or its sidecar"));
  /* the operator fixes it: the retry stores both and the journal entry goes */
  DT_ASSERT_EQ_INT(rmdir(side), 0);
  H_UNTIL(&H, 60000, is_file(wav) && is_file(side) && files_with(journal, ".json") == 0);
  DT_ASSERT(is_file(wav));
  DT_ASSERT(is_file(side));
  DT_ASSERT_EQ_INT(files_with(journal, ".json"), 0);
}

DT_TEST_MAIN()
