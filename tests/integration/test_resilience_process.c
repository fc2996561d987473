/*
 * test_resilience_process.c — the real binary under real process events (issue 6): a
 * separately started `dialtone emulator` plays Graph and `dialtone run` is configured
 * against it as it would be against Microsoft (graph.base_url, token_url,
 * inbound.jwks_url, a client secret).
 *
 *  - SIGKILL while recordings are still being fetched (the emulator's recording downloads
 *    fail on purpose), restart: every recording ends up on disk with its sidecar;
 *  - SIGTERM drains: a call in progress finishes its flow (outcome completed; its keys
 *    still arrive during the drain), a call placed during the drain is rejected busy, a
 *    call still running at the drain timeout is hung up (outcome drained); exit code 0;
 *  - the client secret and bearer tokens never reach the log, even at debug level;
 *  - SIGHUP reloads the HTTPS certificate: new connections get the renewed one, a broken
 *    file leaves the current one in use.
 */
#include <dirent.h>
#include "harness/dt_test.h"
#include "harness/proc_harness.h"
#include "harness/files.h"
#include "harness/tls_testcert.h"

static const char RECORD_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local r = call:record{max_duration = 10, max_silence = 1, initial_silence = 3}\n"
    "  dialtone.log('info', 'RECORDED', r.file)\n"
    "end\n";

#define NREC 3

DT_TEST(sigkill_with_recordings_pending_then_restart_stores_them) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng, eng2;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  /* every recording download fails until the fault is cleared */
  DT_ASSERT_EQ_INT(p_control(&env, "POST", "faults", "{\"recording_status\":503}"), 200);
  DT_ASSERT(p_write_flow(&env, "main", RECORD_FLOW) == 0);
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  char ids[NREC][128];
  for (int i = 0; i < NREC; i++)
    DT_ASSERT_EQ_INT(p_place_call(&env, "\"script\":[{\"on\":\"record\",\"speak_s\":2}]", ids[i]), 201);
  /* pending: journaled, and each download tried at least once */
  P_UNTIL(30000, count_files(env.journal, ".json") == NREC && p_emu_stat(&env, "recording_requests") >= NREC);
  DT_ASSERT_EQ_INT(count_files(env.journal, ".json"), NREC);
  DT_ASSERT(p_emu_stat(&env, "recording_requests") >= NREC);
  DT_ASSERT_EQ_INT(p_emu_stat(&env, "recording_downloads"), 0);

  p_kill(&eng, SIGKILL);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 10000), -1);
  DT_ASSERT_EQ_INT(count_files(env.recordings, ".wav"), 0);
  DT_ASSERT_EQ_INT(count_files(env.journal, ".json"), NREC);

  DT_ASSERT_EQ_INT(p_control(&env, "DELETE", "faults", NULL), 200);
  DT_ASSERT(p_start_engine(&env, &eng2, "engine") == 0);
  P_UNTIL(30000, count_files(env.recordings, ".wav") == NREC && count_files(env.recordings, ".json") == NREC &&
                     count_files(env.journal, ".json") == 0);
  DT_ASSERT_EQ_INT(count_files(env.recordings, ".wav"), NREC);
  DT_ASSERT_EQ_INT(count_files(env.recordings, ".json"), NREC);
  DT_ASSERT_EQ_INT(count_files(env.journal, ".json"), 0);
  DT_ASSERT(p_file_has(eng2.err, "resumed from"));

  /* each sidecar names one of the calls, each call has one, each WAV is a WAV */
  int matched[NREC] = {0};
  DIR *d = opendir(env.recordings);
  DT_ASSERT(d != NULL);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", env.recordings, de->d_name);
    char *text = p_slurp(path);
    cJSON *side = cJSON_Parse(text ? text : "");
    free(text);
    for (int i = 0; i < NREC; i++)
      if (p_same_id(p_str(side, "call_id"), ids[i])) matched[i]++;
    const char *file = p_str(side, "file");
    char *wav = file ? p_slurp(file) : NULL;
    bool riff = wav && memcmp(wav, "RIFF", 4) == 0;
    free(wav);
    cJSON_Delete(side);
    if (!riff) {
      closedir(d);
      DT_FAIL("%s does not name a WAV file", path);
    }
  }
  closedir(d);
  for (int i = 0; i < NREC; i++) DT_ASSERT_EQ_INT(matched[i], 1);

  p_kill(&eng2, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng2, 30000), 0);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
}

/* A: keeps running until its caller presses 1 (during the drain), then finishes.
   B: never finishes on its own. */
static const char DRAIN_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local d = call:gather{max = 1, timeout = 120}\n"
    "  if d == '1' then\n"
    "    call:sleep(0.5)\n"
    "    dialtone.log('info', 'FINISHED', call.id)\n"
    "    return\n"
    "  end\n"
    "  call:gather{max = 1, timeout = 120}\n"
    "end\n";

static int engine_health(p_env_t *e) {
  char url[300];
  snprintf(url, sizeof url, "%.*s/healthz", (int)(strstr(e->callback, "/api/calls") - e->callback), e->callback);
  return p_http("GET", url, NULL, NULL);
}

DT_TEST(sigterm_drains_running_calls_and_exits_0) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_flow(&env, "main", DRAIN_FLOW) == 0);
  DT_ASSERT(p_write_config(&env, "limits = {drain_timeout_s = 3, op_timeout_s = 10},") == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  char a[128], b[128], c[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, a), 201);
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, b), 201);
  /* both are parked in their gather */
  bool parked = false;
  for (uint64_t end = dt_now_ms() + 20000; !parked && dt_now_ms() < end; p_sleep_ms(50)) {
    cJSON *ta = p_timeline(&env, a), *tb = p_timeline(&env, b);
    parked = p_count(ta, "request", "action", "subscribeToTone") == 1 &&
             p_count(tb, "request", "action", "subscribeToTone") == 1;
    cJSON_Delete(ta);
    cJSON_Delete(tb);
  }
  DT_ASSERT(parked);
  DT_ASSERT_EQ_INT(engine_health(&env), 200);

  p_kill(&eng, SIGTERM);
  P_UNTIL(10000, engine_health(&env) == 503);
  DT_ASSERT_EQ_INT(engine_health(&env), 503);
  /* a new call during the drain is refused busy */
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, c), 201);
  /* A's caller presses 1: the notification is still taken, the flow finishes */
  char path[256];
  snprintf(path, sizeof path, "calls/%s/tones", a);
  DT_ASSERT_EQ_INT(p_control(&env, "POST", path, "{\"tones\":\"1\"}"), 200);

  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  cJSON *ca = p_cdr(&env, a), *cb = p_cdr(&env, b), *cc = p_cdr(&env, c);
  DT_ASSERT(ca != NULL && cb != NULL && cc != NULL);
  DT_ASSERT_EQ_STR(p_str(ca, "outcome"), "completed");
  DT_ASSERT_EQ_STR(p_str(cb, "outcome"), "drained");
  DT_ASSERT_EQ_STR(p_str(cc, "outcome"), "rejected");
  DT_ASSERT_EQ_STR(p_str(cc, "error"), "draining");
  const cJSON *digits = cJSON_GetObjectItemCaseSensitive(ca, "digits");
  DT_ASSERT(cJSON_GetArraySize(digits) == 1 && strcmp(cJSON_GetArrayItem(digits, 0)->valuestring, "1") == 0);
  cJSON_Delete(ca);
  cJSON_Delete(cb);
  cJSON_Delete(cc);
  DT_ASSERT(p_file_has(eng.err, "FINISHED"));
  DT_ASSERT(p_file_has(eng.err, "hanging up"));
  /* the emulator saw: C rejected busy, B hung up with a DELETE, A hung up by its flow's end */
  cJSON *tc = p_timeline(&env, c), *tb = p_timeline(&env, b), *ta = p_timeline(&env, a);
  DT_ASSERT_EQ_INT(p_count(tc, "request", "action", "reject"), 1);
  DT_ASSERT_EQ_INT(p_count(tc, "reject", "reason", "busy"), 1);
  DT_ASSERT_EQ_INT(p_count(tc, "request", "action", "answer"), 0);
  DT_ASSERT_EQ_INT(p_count(tb, "request", "method", "DELETE"), 1);
  DT_ASSERT_EQ_INT(p_count(ta, "request", "method", "DELETE"), 1);
  cJSON_Delete(ta);
  cJSON_Delete(tb);
  cJSON_Delete(tc);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
}

/* At debug level, with a call that answers, plays, records (a recording token) and ends:
   neither the client secret nor any bearer token appears in the engine's output, and
   --print-config masks the secret. */
DT_TEST(secrets_never_reach_the_log) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng, pc;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_flow(&env, "main",
                         "return function(call)\n"
                         "  call:answer()\n"
                         "  call:play('welcome')\n"
                         "  local r = call:record{max_duration = 5, max_silence = 1}\n"
                         "  dialtone.log('info', 'RECORDED', r.file)\n"
                         "end\n") == 0);
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, "\"script\":[{\"on\":\"record\",\"speak_s\":1}]", id), 201);
  cJSON *cdr = NULL;
  P_UNTIL(30000, (cdr = p_cdr(&env, id)) != NULL);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_STR(p_str(cdr, "outcome"), "completed");
  cJSON_Delete(cdr);
  DT_ASSERT(p_file_has(eng.err, "RECORDED"));
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  DT_ASSERT(p_file_has(eng.err, "DEBUG") || p_file_has(eng.err, "debug")); /* debug logging was on */
  char *log = p_slurp(eng.err), *out = p_slurp(eng.out);
  DT_ASSERT(log != NULL);
  bool leaked = strstr(log, env.secret) || (out && strstr(out, env.secret));
  bool bearer = strstr(log, "Bearer ") || strstr(log, "access_token") || strstr(log, "recordingAccessToken\":\"") ||
                (out && strstr(out, "Bearer "));
  free(log);
  free(out);
  DT_ASSERT_MSG(!leaked, "the client secret is in the log (%s)", eng.err);
  DT_ASSERT_MSG(!bearer, "a bearer token is in the log (%s)", eng.err);

  const char *args[] = {"--config", env.config, "run", "--print-config", NULL};
  DT_ASSERT(p_spawn(&env, &pc, "print-config", args) == 0);
  DT_ASSERT_EQ_INT(p_wait_exit(&pc, 20000), 0);
  DT_ASSERT(p_file_has(pc.out, "client_secret"));
  DT_ASSERT(!p_file_has(pc.out, env.secret));
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
}

/* curl's exit status for GET url trusting only ca (0 = verified and answered 2xx). */
static int curl_with_ca(const char *ca, const char *url) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "curl -sS -f -o /dev/null --max-time 10 --cacert '%s' '%s' 2>/dev/null", ca, url);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_in_file(const char *path, const char *needle) {
  char *text = p_slurp(path);
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  free(text);
  return n;
}

static int copy_pem(const char *from, const char *to) {
  char *data = p_slurp(from);
  int rc = data ? dt_write_file_atomic(to, data, strlen(data)) : -1;
  free(data);
  return rc;
}

DT_TEST(sighup_reloads_the_tls_certificate) {
  if (system("command -v curl >/dev/null 2>&1") != 0) {
    printf("  (curl not installed: skipped)\n");
    return;
  }
  dt_testcert_t first, renewed;
  DT_ASSERT(dt_testcert_create(&first) == 0);
  DT_ASSERT(dt_testcert_create(&renewed) == 0);
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char cert[300], key[300];
  snprintf(cert, sizeof cert, "%s/ingress-cert.pem", env.dir);
  snprintf(key, sizeof key, "%s/ingress-key.pem", env.dir);
  DT_ASSERT_EQ_INT(copy_pem(first.cert_file, cert), 0);
  DT_ASSERT_EQ_INT(copy_pem(first.key_file, key), 0);
  p_proc_t emu, eng;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_flow(&env, "main", "return function(call) call:answer() end\n") == 0);
  char extra[700];
  snprintf(extra, sizeof extra, "tls = {cert = \"%s\", key = \"%s\"},", cert, key);
  DT_ASSERT(p_write_config(&env, extra) == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  DT_ASSERT(strncmp(env.callback, "https://", 8) == 0);
  char url[300];
  snprintf(url, sizeof url, "%.*s/healthz", (int)(strstr(env.callback, "/api/calls") - env.callback), env.callback);
  DT_ASSERT_EQ_INT(curl_with_ca(first.cert_file, url), 0);

  /* the certificate is renewed on disk, then SIGHUP */
  DT_ASSERT_EQ_INT(copy_pem(renewed.cert_file, cert), 0);
  DT_ASSERT_EQ_INT(copy_pem(renewed.key_file, key), 0);
  p_kill(&eng, SIGHUP);
  P_UNTIL(20000, count_in_file(eng.err, "TLS certificate and key reloaded") == 1);
  DT_ASSERT_EQ_INT(count_in_file(eng.err, "TLS certificate and key reloaded"), 1);
  DT_ASSERT_EQ_INT(curl_with_ca(renewed.cert_file, url), 0);
  DT_ASSERT(curl_with_ca(first.cert_file, url) != 0); /* the old certificate is no longer served */

  /* a broken file: the error says so, the renewed certificate stays in use */
  DT_ASSERT_EQ_INT(dt_write_file_atomic(cert, "garbage\n", 8), 0);
  p_kill(&eng, SIGHUP);
  P_UNTIL(20000, p_file_has(eng.err, "TLS certificate not reloaded"));
  DT_ASSERT(p_file_has(eng.err, "TLS certificate not reloaded, the old one stays in use"));
  DT_ASSERT_EQ_INT(curl_with_ca(renewed.cert_file, url), 0);
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
  dt_testcert_remove(&first);
  dt_testcert_remove(&renewed);
}

DT_TEST_MAIN()
