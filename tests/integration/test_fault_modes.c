/*
 * test_fault_modes.c — whole calls through the shipped demo IVR (flows/main.lua) with each
 * of the emulator's fault modes switched on (issue 6), asserting the outcome is still
 * right: every CDR matches the path its caller took (no digit lost), a duplicated
 * notification sends nothing twice (the Graph requests of each call, counted in the
 * emulator's timeline, are the same as without faults), a reordered
 * establishing/established answers once, every recording a CDR lists is on disk with its
 * sidecar; 429/503 and hung requests are retried, a 500 ends only its own call, an
 * operation that never completes is polled, a network-side hangup at a random moment
 * ends the call cleanly; and with notifications dropped nothing waits forever.
 */
#include <sys/stat.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/demo_paths.h"
#include "harness/files.h"

static char flows_dir[600];
static const char *shipped_flows(void) {
  snprintf(flows_dir, sizeof flows_dir, "%s/flows", h_source_dir());
  return flows_dir;
}

#define FAULT_TEST(name, ...) H_TEST(name, .time_scale = 0, .flows_dir = shipped_flows(), __VA_ARGS__)

/* Waits (bounded) until every recording the CDR lists is on disk with its sidecar. */
static bool recordings_on_disk(const cJSON *cdr) {
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cdr, "recordings")) {
    if (!cJSON_IsString(r)) return false;
    char side[600];
    snprintf(side, sizeof side, "%.*s.json", (int)(strlen(r->valuestring) - 4), r->valuestring);
    H_UNTIL(&H, 20000, is_file(r->valuestring) && is_file(side));
    if (!is_file(r->valuestring) || !is_file(side)) return false;
  }
  return true;
}

/* Why the CDR does not match its path, or NULL. */
static const char *check(const cJSON *cdr, int path) {
  return demo_path_check(cdr, path, &(demo_path_expect_t){.recordings_ok = recordings_on_disk});
}

/* The Graph requests of a call as "action:count" items in timeline order of first use,
   cancelMediaProcessing left out unless with_cancel (a barge-in cancel depends on whether
   the key or the prompt's end arrives first, which reordering legitimately changes). */
static void request_signature(const char *id, bool with_cancel, char *out, size_t cap) {
  cJSON *tl = h_timeline(&H, id);
  const char *names[32];
  int counts[32], n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    const char *k = h_str(e, "kind");
    if (!k || strcmp(k, "request") != 0) continue;
    const char *a = h_str(e, "action");
    if (!a) a = h_str(e, "method");
    if (!a || (!with_cancel && strcmp(a, "cancelMediaProcessing") == 0)) continue;
    int i = 0;
    while (i < n && strcmp(names[i], a) != 0) i++;
    if (i == n && n < 32) {
      names[n] = a;
      counts[n++] = 0;
    }
    if (i < n) counts[i]++;
  }
  size_t len = 0;
  out[0] = '\0';
  for (int i = 0; i < n && len < cap; i++) len += (size_t)snprintf(out + len, cap - len, "%s:%d ", names[i], counts[i]);
  cJSON_Delete(tl);
}

typedef struct {
  char id[128];
  int path;
} placed_t;

/* Places n calls (path i % 4) at once and waits (bounded) for all their CDRs. */
static int place_all(placed_t *calls, int n) {
  for (int i = 0; i < n; i++) {
    calls[i].path = i % 4;
    if (h_place_call(&H, SCRIPTS[calls[i].path], calls[i].id) != 201) return -1;
  }
  bool all = false;
  for (uint64_t end = dt_now_ms() + 90000; !all && dt_now_ms() < end;) {
    all = true;
    for (int i = 0; i < n && all; i++) all = h_has_cdr(&H, calls[i].id);
    for (int k = 0; k < 10 && !all; k++) h_tick(&H);
  }
  return all ? 0 : -1;
}

/* Runs the four paths without faults and keeps each path's request signature. */
static char BASE[4][512], BASE_C[4][512];
static int baseline(void) {
  placed_t calls[4];
  if (place_all(calls, 4) != 0) return -1;
  for (int i = 0; i < 4; i++) {
    cJSON *cdr = h_cdr(&H, calls[i].id);
    const char *why = check(cdr, i);
    cJSON_Delete(cdr);
    if (why) {
      fprintf(stderr, "  baseline path %d: %s\n", i, why);
      return -1;
    }
    request_signature(calls[i].id, false, BASE[i], sizeof BASE[i]);
    request_signature(calls[i].id, true, BASE_C[i], sizeof BASE_C[i]);
  }
  return 0;
}

/* With the faults in force, n calls: each CDR right, each call's requests as without faults. */
static int run_faulted(const char *faults, int n, bool with_cancel) {
  if (h_control(&H, "POST", "faults", faults) != 200) return -1;
  placed_t *calls = calloc((size_t)n, sizeof *calls);
  int bad = 0;
  if (place_all(calls, n) != 0) {
    fprintf(stderr, "  not every call ended with a CDR\n");
    bad++;
  }
  for (int i = 0; i < n; i++) {
    cJSON *cdr = h_cdr(&H, calls[i].id);
    const char *why = cdr ? check(cdr, calls[i].path) : "no CDR";
    char sig[512];
    request_signature(calls[i].id, with_cancel, sig, sizeof sig);
    const char *want = with_cancel ? BASE_C[calls[i].path] : BASE[calls[i].path];
    if (!why && strcmp(sig, want) != 0) why = "requests differ from the run without faults";
    if (why) {
      char *s = cdr ? cJSON_PrintUnformatted(cdr) : NULL;
      if (bad++ < 4) fprintf(stderr, "  [%s] call %d (path %d): %s\n    got  %s\n    want %s\n    %s\n", faults, i,
                             calls[i].path, why, sig, want, s ? s : "");
      free(s);
      h_dump_timeline(&H, calls[i].id);
    }
    cJSON_Delete(cdr);
  }
  free(calls);
  h_control(&H, "DELETE", "faults", NULL);
  return bad;
}

static int timeline_count(const char *id, const char *kind) {
  cJSON *tl = h_timeline(&H, id);
  int n = h_count(tl, kind, NULL, NULL);
  cJSON_Delete(tl);
  return n;
}

FAULT_TEST(duplicated_notifications_send_nothing_twice) {
  DT_ASSERT_EQ_INT(baseline(), 0);
  /* every notification twice (and a duplicate is never duplicated again: this ends) */
  DT_ASSERT_EQ_INT(run_faulted("{\"duplicate_notifications\":1}", 8, true), 0);
  char id[128];
  cJSON *cdr = h_run_call(SCRIPTS[3], id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(timeline_count(id, "fault_duplicated"), 0); /* faults were cleared */
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"duplicate_notifications\":1}"), 200);
  cdr = h_run_call(SCRIPTS[3], id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  cJSON *tl = h_timeline(&H, id);
  int dups = h_count(tl, "fault_duplicated", NULL, NULL), notes = h_count(tl, "notification", NULL, NULL);
  cJSON_Delete(tl);
  DT_ASSERT(dups > 0 && dups <= notes);
  DT_ASSERT(dt_metrics_get(dt_engine_metrics(H.engine), "dt_tones_duplicate_total", NULL) > 0);
}

FAULT_TEST(reordered_notifications_keep_digits_and_answer_once) {
  DT_ASSERT_EQ_INT(baseline(), 0);
  DT_ASSERT_EQ_INT(run_faulted("{\"reorder_notifications\":0.5,\"swap_answer_notifications\":true}", 12, false), 0);
  /* always swapped: established before establishing, every call */
  DT_ASSERT_EQ_INT(run_faulted("{\"reorder_notifications\":1,\"swap_answer_notifications\":true}", 8, false), 0);
}

FAULT_TEST(delayed_notifications, .op_timeout_s = 5) {
  DT_ASSERT_EQ_INT(baseline(), 0);
  DT_ASSERT_EQ_INT(run_faulted("{\"delay_notifications\":0.3,\"delay_ms\":150}", 8, false), 0);
}

FAULT_TEST(pascal_case_enums) {
  DT_ASSERT_EQ_INT(baseline(), 0);
  DT_ASSERT_EQ_INT(run_faulted("{\"pascal_case\":true}", 4, true), 0);
}

/* 503s and 429s (with Retry-After) on Graph requests are retried: outcomes unchanged. */
FAULT_TEST(throttling_is_retried) {
  DT_ASSERT_EQ_INT(baseline(), 0);
  double before = dt_metrics_get(dt_engine_metrics(H.engine), "dt_graph_retries_total", "reason=\"503\"");
  DT_ASSERT_EQ_INT(run_faulted("{\"graph_status\":503,\"graph_status_count\":6}", 4, false), 0);
  DT_ASSERT(dt_metrics_get(dt_engine_metrics(H.engine), "dt_graph_retries_total", "reason=\"503\"") >= before + 6);
  DT_ASSERT_EQ_INT(run_faulted("{\"graph_status\":429,\"graph_status_count\":3,\"retry_after_s\":1}", 4, false), 0);
}

/* A 500 is Graph's final word: the call it hits ends with outcome error (the flow saw a
   catchable error); the next call runs normally. */
FAULT_TEST(a_500_ends_only_its_call) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"graph_status\":500,\"graph_status_count\":1}"), 200);
  char a[128], b[128];
  cJSON *ca = h_run_call(SCRIPTS[3], a);
  DT_ASSERT(ca != NULL);
  DT_ASSERT(h_outcome_is(ca, "error"));
  DT_ASSERT_CONTAINS(h_str(ca, "error"), "500");
  cJSON_Delete(ca);
  cJSON *cb = h_run_call(SCRIPTS[3], b);
  DT_ASSERT(cb != NULL);
  DT_ASSERT(check(cb, 3) == NULL);
  cJSON_Delete(cb);
}

/* Graph does not answer for a while: the request in flight (a GET, repeatable) times out
   and is sent again; the flow's outcome is as if nothing happened. */
FAULT_TEST(unanswered_request_is_retried) {
  char id[128];
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:gather{max = 1, timeout = 60}\n"
                          "  local p = call:participants()\n"
                          "  dialtone.log('info', 'PARTICIPANTS', #p)\n"
                          "  call:play('goodbye')\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  H_UNTIL(&H, 10000, h_count_requests(&H, id, "subscribeToTone") == 1);
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"graph_hang\":true}"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, id, "5"), 200);
  uint64_t until = dt_now_ms() + 1500;
  H_UNTIL(&H, 2000, dt_now_ms() >= until);
  DT_ASSERT_EQ_INT(h_control(&H, "DELETE", "faults", NULL), 200);
  H_UNTIL(&H, 40000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "PARTICIPANTS 2")); /* the caller and the bot */
  DT_ASSERT(dt_metrics_get(dt_engine_metrics(H.engine), "dt_graph_retries_total", "reason=\"timeout\"") >= 1);
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 1);
  cJSON_Delete(tl);
}

/* Operations finish but their completions never arrive: each wait reaches its deadline,
   reads the operation back and goes on; the recording is still fetched and stored. */
FAULT_TEST(operations_that_never_complete_are_polled, .op_timeout_s = 1) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"ops_never_complete\":true}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:play('welcome')\n"
                          "  local r = call:record{max_duration = 2, max_silence = 1, initial_silence = 1}\n"
                          "  dialtone.log('info', 'RECORDED', r.reason, r.file ~= nil)\n"
                          "  call:play('goodbye')\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, "\"script\":[{\"on\":\"record\",\"speak_s\":3}]", id), 201);
  H_UNTIL(&H, 30000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cdr, "recordings")), 1);
  DT_ASSERT(recordings_on_disk(cdr));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RECORDED max_duration true"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT(h_count(tl, "request", "method", "GET") >= 3); /* welcome, record, goodbye read back */
  DT_ASSERT(h_count(tl, "fault_op_never_completes", NULL, NULL) >= 3);
  cJSON_Delete(tl);
}

/* The caller hangs up at a random moment: every call ends with a CDR, its flow was
   cancelled (or had finished), the engine holds no call, every recording listed is on
   disk, and nothing but requests already in flight reaches Graph after the end. */
H_TEST(network_hangup_at_random_moments, .time_scale = 0.05, .flows_dir = shipped_flows()) {
  int n = getenv("DT_UNDER_VALGRIND") ? 8 : 24;
  placed_t calls[24];
  uint64_t hang_at[24];
  bool hung[24] = {false};
  srand((unsigned)dt_now_ms());
  uint64_t t0 = dt_now_ms();
  for (int i = 0; i < n; i++) {
    calls[i].path = i % 4;
    DT_ASSERT_EQ_INT(h_place_call(&H, SCRIPTS[calls[i].path], calls[i].id), 201);
    hang_at[i] = t0 + (uint64_t)(rand() % 2500);
  }
  for (uint64_t end = dt_now_ms() + 5000; dt_now_ms() < end;) {
    for (int i = 0; i < n; i++)
      if (!hung[i] && dt_now_ms() >= hang_at[i]) {
        h_hangup(&H, calls[i].id); /* 409 once the call already ended: fine */
        hung[i] = true;
      }
    h_tick(&H);
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    H_UNTIL(&H, 30000, h_has_cdr(&H, calls[i].id));
    cJSON *cdr = h_cdr(&H, calls[i].id);
    const char *o = cdr ? h_str(cdr, "outcome") : NULL;
    bool ok = o && (strcmp(o, "hangup") == 0 || strcmp(o, "completed") == 0 || strcmp(o, "transferred") == 0);
    if (ok && !recordings_on_disk(cdr)) ok = false;
    /* requests that arrived after the call ended: at most the ones in flight */
    cJSON *tl = h_timeline(&H, calls[i].id);
    int ended = h_index(tl, "ended", NULL, NULL), after = 0, i2 = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, tl) {
      const char *k = h_str(e, "kind");
      if (ended >= 0 && i2 > ended && k && strcmp(k, "request") == 0) after++;
      i2++;
    }
    cJSON_Delete(tl);
    if (!ok || after > 2) {
      if (bad++ < 4) fprintf(stderr, "  call %d: outcome %s, %d requests after the end\n", i, o ? o : "(no CDR)", after);
      h_dump_timeline(&H, calls[i].id);
    }
    cJSON_Delete(cdr);
  }
  DT_ASSERT_EQ_INT(bad, 0);
  H_UNTIL(&H, 10000, dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
}

/* Notifications are lost (15%): a lost digit cannot be recovered (Graph does not send
   it again), but nothing waits forever: every call the engine heard of ends with a CDR
   and the engine holds no call afterwards. */
FAULT_TEST(dropped_notifications_never_hang_a_call, .op_timeout_s = 2) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"drop_notifications\":0.15}"), 200);
  int n = 12;
  placed_t calls[12];
  for (int i = 0; i < n; i++) {
    calls[i].path = i % 4;
    DT_ASSERT_EQ_INT(h_place_call(&H, SCRIPTS[calls[i].path], calls[i].id), 201);
  }
  int known = 0, with_cdr = 0;
  for (int i = 0; i < n; i++) {
    /* did the engine ever hear of it? (its "created" notification was not the one dropped) */
    cJSON *tl = h_timeline(&H, calls[i].id);
    bool heard = h_count(tl, "request", NULL, NULL) > 0;
    cJSON_Delete(tl);
    if (!heard) {
      H_UNTIL(&H, 3000, h_count_requests(&H, calls[i].id, "answer") > 0);
      heard = h_count_requests(&H, calls[i].id, "answer") > 0;
    }
    if (!heard) continue;
    known++;
    H_UNTIL(&H, 90000, h_has_cdr(&H, calls[i].id));
    if (h_has_cdr(&H, calls[i].id)) with_cdr++;
    else h_dump_timeline(&H, calls[i].id);
  }
  DT_ASSERT(known > 0);
  DT_ASSERT_EQ_INT(with_cdr, known);
  H_UNTIL(&H, 60000, dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
}

DT_TEST_MAIN()
