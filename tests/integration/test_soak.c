/*
 * test_soak.c — the soak (issue 6): the real `dialtone run` against a separate
 * `dialtone emulator` holds DT_SOAK_CALLS concurrent calls through flows/main.lua for
 * DT_SOAK_SECONDS with faults switched on (duplicated, reordered and delayed
 * notifications, bursts of 503 and 429 answers, failing recording downloads) and callers
 * hanging up at random moments; then it checks:
 *   - no lost call: every call placed has its CDR;
 *   - no crash: the engine ran throughout and exits 0 on SIGTERM;
 *   - no leaked memory: the engine's RSS, sampled every 2 s and printed, is steady after
 *     the warm-up (sustained growth across the run fails);
 *   - every recording a CDR lists is on disk with its sidecar, and the journal is empty.
 * Defaults (the ctest case): 60 s, 500 calls, emulator time scale 0.5. Longer:
 *   tests/soak/soak.sh 600 2000     (DT_SOAK_SECONDS, DT_SOAK_CALLS, DT_SOAK_TIME_SCALE)
 * Under valgrind (DT_UNDER_VALGRIND) only the driver is slower: 20 s, 100 calls.
 */
#include <dirent.h>
#include "harness/dt_test.h"
#include "harness/proc_harness.h"
#include "harness/demo_paths.h"
#include "harness/files.h"

/* The fault sets the soak cycles through, 10 s each (POST replaces the set in force). */
#define BASE_FAULTS "\"duplicate_notifications\":0.05,\"reorder_notifications\":0.05,\"delay_notifications\":0.02,\"delay_ms\":200"
static const char *const FAULTS[4] = {
    "{" BASE_FAULTS "}",
    "{" BASE_FAULTS ",\"graph_status\":503,\"graph_status_count\":5}",
    "{" BASE_FAULTS ",\"recording_status\":503,\"recording_status_count\":3}",
    "{" BASE_FAULTS ",\"graph_status\":429,\"graph_status_count\":3,\"retry_after_s\":1}",
};

/* ---- placed calls, by id (open addressing) ---- */
typedef struct {
  char id[64];
  bool used, done;
  uint64_t hangup_at; /* 0 = the caller does not hang up early */
} slot_t;

static slot_t *g_slots;
static size_t g_cap;

static uint64_t hash_id(const char *k) {
  uint64_t h = 1469598103934665603ULL;
  for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ULL;
  return h;
}

static slot_t *slot_find(const char *id, bool add) {
  char key[300];
  if (strlen(id) >= 64) return NULL;
  dt_graph_id_key(id, key);
  for (size_t i = hash_id(key) & (g_cap - 1);; i = (i + 1) & (g_cap - 1)) {
    if (!g_slots[i].used) {
      if (!add) return NULL;
      g_slots[i].used = true;
      memcpy(g_slots[i].id, key, strlen(key) + 1); /* shorter than id (checked above) */
      return &g_slots[i];
    }
    if (strcmp(g_slots[i].id, key) == 0) return &g_slots[i];
  }
}

/* ---- a kept-alive curl handle for the control API ---- */
static CURL *g_curl;
static dt_buf_t g_body;

static size_t sink(char *p, size_t s, size_t n, void *ud) {
  dt_buf_append(ud, p, s * n);
  return s * n;
}

static int post(const char *url, const char *body) {
  if (!g_curl) g_curl = curl_easy_init();
  static struct curl_slist *hdr;
  if (!hdr) hdr = curl_slist_append(NULL, "Content-Type: application/json");
  dt_buf_reset(&g_body);
  curl_easy_setopt(g_curl, CURLOPT_URL, url);
  curl_easy_setopt(g_curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(g_curl, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(g_curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(g_curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(g_curl, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(g_curl, CURLOPT_WRITEDATA, &g_body);
  long st = 0;
  if (curl_easy_perform(g_curl) == CURLE_OK) curl_easy_getinfo(g_curl, CURLINFO_RESPONSE_CODE, &st);
  return (int)st;
}

/* ---- CDRs, read as the file grows ---- */
typedef struct {
  long off;
  size_t lines, matched, outcomes[9];
  dt_buf_t partial;
  cJSON *recordings; /* every recording path listed */
} cdr_reader_t;

static const char *const OUTCOMES[9] = {"completed", "hangup", "error", "rejected", "redirected",
                                        "transferred", "unanswered", "drained", "other"};

static void cdr_poll(const char *path, cdr_reader_t *r) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  fseek(f, r->off, SEEK_SET);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    r->off += (long)n;
    dt_buf_append(&r->partial, buf, n);
  }
  fclose(f);
  char *start = r->partial.data;
  char *end = start ? start + r->partial.len : NULL;
  char *nl;
  while (start && start < end && (nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
    *nl = '\0';
    cJSON *j = cJSON_Parse(start);
    r->lines++;
    const char *id = p_str(j, "call_id"), *o = p_str(j, "outcome");
    slot_t *s = id ? slot_find(id, false) : NULL;
    if (s && !s->done) {
      s->done = true;
      r->matched++;
    }
    size_t k = 0;
    while (k < 8 && !(o && strcmp(o, OUTCOMES[k]) == 0)) k++;
    r->outcomes[k]++;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(j, "recordings"))
      if (cJSON_IsString(rec)) cJSON_AddItemToArray(r->recordings, cJSON_CreateString(rec->valuestring));
    cJSON_Delete(j);
    start = nl + 1;
  }
  size_t left = start && start < end ? (size_t)(end - start) : 0;
  if (left) memmove(r->partial.data, start, left);
  r->partial.len = left;
}

static double median(long *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
      long t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n ? (double)v[n / 2] : 0;
}

static int env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v && atoi(v) > 0 ? atoi(v) : def;
}

DT_TEST(soak_concurrent_calls_with_faults) {
  bool vg = getenv("DT_UNDER_VALGRIND") != NULL;
  int seconds = env_int("DT_SOAK_SECONDS", vg ? 20 : 60);
  int target = env_int("DT_SOAK_CALLS", vg ? 100 : 500);
  const char *scale = getenv("DT_SOAK_TIME_SCALE") ? getenv("DT_SOAK_TIME_SCALE") : "0.5";
  printf("soak: %d s, %d concurrent calls, emulator time scale %s\n", seconds, target, scale);
  fflush(stdout);
  g_cap = 1;
  while (g_cap < (size_t)target * (size_t)seconds * 2 + 1024) g_cap <<= 1;
  g_slots = calloc(g_cap, sizeof *g_slots);
  DT_ASSERT(g_slots != NULL);

  /* An ASan build parks freed memory in a 256 MB quarantine, which reads as growth: keep
     the children's small (the driver's own options were read when it started). */
  const char *asan = getenv("ASAN_OPTIONS");
  char *asan2 = dt_xasprintf("%s%squarantine_size_mb=4:thread_local_quarantine_size_kb=64", asan ? asan : "",
                             asan && asan[0] ? ":" : "");
  setenv("ASAN_OPTIONS", asan2, 1);
  free(asan2);
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  char eargs[64];
  snprintf(eargs, sizeof eargs, "--time-scale %s", scale);
  DT_ASSERT(p_start_emulator(&env, &emu, eargs) == 0);
  snprintf(env.flows, sizeof env.flows, "%s/flows", p_source_dir());
  DT_ASSERT(p_write_config(&env, "limits = {drain_timeout_s = 10, op_timeout_s = 30}, log = {level = \"info\"},") == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);

  char calls_url[256], faults_url[256];
  snprintf(calls_url, sizeof calls_url, "%s/emulator/calls", env.emu_url);
  snprintf(faults_url, sizeof faults_url, "%s/emulator/faults", env.emu_url);
  cdr_reader_t cr = {0};
  cr.recordings = cJSON_CreateArray();
  long *rss = calloc((size_t)seconds / 2 + 16, sizeof *rss);
  size_t nrss = 0;
  size_t placed = 0, place_failed = 0, hangups = 0;
  uint64_t t0 = dt_now_ms(), next_sample = t0, next_fault = t0;
  int fault_i = 0;
  bool crashed = false;
  srand((unsigned)t0);
  /* hang-ups to do: indexes into g_slots, checked every tick */
  size_t *pending_hang = calloc(g_cap, sizeof *pending_hang);
  size_t nhang = 0;

  while (dt_now_ms() - t0 < (uint64_t)seconds * 1000) {
    uint64_t now = dt_now_ms();
    if (!p_alive(&eng)) {
      crashed = true;
      break;
    }
    if (now >= next_fault) {
      post(faults_url, FAULTS[fault_i++ % 4]);
      next_fault = now + 10000;
    }
    cdr_poll(env.cdr, &cr);
    /* keep `target` calls going; ramp up over the first seconds */
    size_t active = placed - cr.matched;
    size_t room = active < (size_t)target ? (size_t)target - active : 0;
    if (room > 200) room = 200;
    for (size_t i = 0; i < room; i++) {
      char body[1024];
      snprintf(body, sizeof body, "{\"bot_url\":\"%s\",%s}", env.callback, SCRIPTS[placed % 4]);
      int st = post(calls_url, body);
      cJSON *j = st == 201 ? cJSON_Parse(g_body.data) : NULL;
      const char *id = p_str(j, "id");
      slot_t *s = id ? slot_find(id, true) : NULL;
      if (s) {
        placed++;
        if (rand() % 10 == 0) { /* a tenth of the callers hang up at a random moment */
          s->hangup_at = now + 500 + (uint64_t)(rand() % 20000);
          pending_hang[nhang++] = (size_t)(s - g_slots);
        }
      } else {
        place_failed++;
      }
      cJSON_Delete(j);
    }
    for (size_t i = 0; i < nhang;) {
      slot_t *s = &g_slots[pending_hang[i]];
      if (s->done || now >= s->hangup_at) {
        if (!s->done) {
          char url[512];
          snprintf(url, sizeof url, "%s/emulator/calls/%s/hangup", env.emu_url, s->id);
          post(url, "{}");
          hangups++;
        }
        pending_hang[i] = pending_hang[--nhang];
        continue;
      }
      i++;
    }
    if (now >= next_sample) {
      rss[nrss] = p_rss_kib(&eng);
      printf("  t=%4llus rss=%7ld KiB active=%5zu placed=%7zu ended=%7zu\n", (unsigned long long)(now - t0) / 1000,
             rss[nrss], placed - cr.matched, placed, cr.matched);
      fflush(stdout);
      nrss++;
      next_sample += 2000;
    }
    p_sleep_ms(50);
  }
  post(faults_url, "{}");
  if (!crashed) {
    /* every call placed ends (bounded) */
    for (uint64_t end = dt_now_ms() + 240000; cr.matched < placed && dt_now_ms() < end && p_alive(&eng);
         p_sleep_ms(200))
      cdr_poll(env.cdr, &cr);
    crashed = !p_alive(&eng);
  }
  int code = -3;
  if (!crashed) {
    p_kill(&eng, SIGTERM);
    code = p_wait_exit(&eng, 60000);
  }
  cdr_poll(env.cdr, &cr);
  printf("soak: %zu calls placed (%zu could not be), %zu ended with a CDR, %zu CDR lines, %zu early hang-ups\n",
         placed, place_failed, cr.matched, cr.lines, hangups);
  printf("soak: outcomes");
  for (int k = 0; k < 9; k++)
    if (cr.outcomes[k]) printf(" %s=%zu", OUTCOMES[k], cr.outcomes[k]);
  printf("\n");

  /* memory: after the warm-up (the first third, at least 10 s), medians of three windows */
  size_t warm = nrss / 3 > 5 ? nrss / 3 : 5;
  bool grew = false;
  if (nrss >= warm + 6) {
    size_t w = (nrss - warm) / 3;
    double m1 = median(rss + warm, w), m2 = median(rss + warm + w, w), m3 = median(rss + warm + 2 * w, nrss - warm - 2 * w);
    double allowed = m1 * 0.10 > 16384 ? m1 * 0.10 : 16384;
    grew = m3 > m2 && m2 > m1 && m3 - m1 > allowed;
    printf("soak: RSS medians after warm-up %.0f / %.0f / %.0f KiB (sustained growth %s %.0f KiB)\n", m1, m2, m3,
           grew ? "beyond" : "within", allowed);
  } else {
    printf("soak: too few RSS samples (%zu) to judge growth\n", nrss);
  }

  /* recordings */
  int missing = 0;
  const cJSON *rec;
  cJSON_ArrayForEach(rec, cr.recordings) {
    char side[600];
    snprintf(side, sizeof side, "%.*s.json", (int)(strlen(rec->valuestring) - 4), rec->valuestring);
    if (!is_file(side) || (!is_file(rec->valuestring) && !p_file_has(side, "\"error\""))) {
      if (missing++ < 5) printf("soak: recording %s is not on disk\n", rec->valuestring);
    }
  }
  int journal = 0;
  DIR *d = opendir(env.journal);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) journal += de->d_name[0] != '.';
    closedir(d);
  }
  printf("soak: %d recordings listed, %d missing, %d left in the journal\n", cJSON_GetArraySize(cr.recordings), missing,
         journal);
  if (crashed || code != 0) {
    char *log = p_slurp(eng.err);
    size_t len = log ? strlen(log) : 0;
    fprintf(stderr, "engine log (end):\n%s\n", log ? log + (len > 4000 ? len - 4000 : 0) : "");
    free(log);
  }
  cJSON_Delete(cr.recordings);
  dt_buf_free(&cr.partial);
  dt_buf_free(&g_body);
  if (g_curl) curl_easy_cleanup(g_curl);
  g_curl = NULL;
  free(rss);
  free(pending_hang);
  free(g_slots);
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 20000);
  if (!getenv("DT_SOAK_KEEP")) p_env_free(&env);

  DT_ASSERT_MSG(!crashed, "the engine died during the soak (status %d)", eng.status);
  DT_ASSERT_EQ_INT(code, 0);
  DT_ASSERT(placed > 0);
  DT_ASSERT_EQ_INT(cr.matched, placed);
  /* faults are retried or absorbed: a flow error would be a bug the faults uncovered */
  DT_ASSERT_MSG(cr.outcomes[2] * 100 <= placed, "%zu calls ended with outcome error", cr.outcomes[2]);
  DT_ASSERT_MSG(!grew, "the engine's memory grew throughout the soak");
  DT_ASSERT_EQ_INT(missing, 0);
  DT_ASSERT_EQ_INT(journal, 0);
}

DT_TEST_MAIN()
