/*
 * demo_paths.h — the four paths through the shipped demo IVR (flows/main.lua), as the
 * emulator's scripted callers, and the check of a call's CDR against its path
 * (header-only; test_engine_load, test_fault_modes, test_soak).
 *
 *   0 order number read back, then hang up at the menu; 1 voicemail; 2 transfer to a
 *   plumber; 3 three invalid choices, then goodbye.
 *
 * SCRIPTS[p] is the "script" member of a POST /emulator/calls body for path p.
 */
#ifndef DT_HARNESS_DEMO_PATHS_H
#define DT_HARNESS_DEMO_PATHS_H
#include <stdbool.h>
#include <string.h>
#include <cjson/cJSON.h>

static const char *const SCRIPTS[4] = {
    "\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"3\"},"
    "{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"4271#\"},"
    "{\"on\":\"prompt\",\"match\":\"main_menu\",\"hangup\":true}]",
    "\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"1\"},{\"on\":\"record\",\"speak_s\":2}]",
    "\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"2\"}]",
    "\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"9\"},"
    "{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"9\"},"
    "{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"9\"}]",
};

/* True when arr is exactly the n strings of want, in order. */
static inline bool strings_are(const cJSON *arr, const char *const *want, int n) {
  if (cJSON_GetArraySize(arr) != n) return false;
  for (int i = 0; i < n; i++) {
    const cJSON *e = cJSON_GetArrayItem(arr, i);
    if (!cJSON_IsString(e) || strcmp(e->valuestring, want[i]) != 0) return false;
  }
  return true;
}

static inline const char *dt__demo_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What a test checks beyond the path's outcome, digits, recording and transfer counts. */
typedef struct {
  const char *flow;                        /* the flow the CDR must name, or NULL */
  const char *transfer_target;             /* path 2: the transfer's target, or NULL */
  bool (*recordings_ok)(const cJSON *cdr); /* path 1: judges the recording, or NULL */
} demo_path_expect_t;

/* Why the CDR does not match path, or NULL (x may be NULL). */
static inline const char *demo_path_check(const cJSON *cdr, int path, const demo_path_expect_t *x) {
  static const demo_path_expect_t none = {0};
  if (x == NULL) x = &none;
  const char *outcome = dt__demo_str(cdr, "outcome");
  const cJSON *digits = cJSON_GetObjectItemCaseSensitive(cdr, "digits");
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  const cJSON *trs = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  const char *flow = dt__demo_str(cdr, "flow");
  if (x->flow && (!flow || strcmp(flow, x->flow) != 0)) return "flow";
  if (!dt__demo_str(cdr, "answer")) return "answer time";
  switch (path) {
  case 0: {
    static const char *const d[] = {"3", "4271"};
    if (!outcome || strcmp(outcome, "hangup") != 0) return "outcome (hangup)";
    if (!strings_are(digits, d, 2)) return "digits (3, 4271)";
    return NULL;
  }
  case 1: {
    static const char *const d[] = {"1"};
    if (!outcome || strcmp(outcome, "completed") != 0) return "outcome (completed)";
    if (!strings_are(digits, d, 1)) return "digits (1)";
    if (cJSON_GetArraySize(recs) != 1) return "one recording";
    if (x->recordings_ok && !x->recordings_ok(cdr)) return "the recording on disk";
    return NULL;
  }
  case 2: {
    static const char *const d[] = {"2"};
    if (!outcome || strcmp(outcome, "transferred") != 0) return "outcome (transferred)";
    if (!strings_are(digits, d, 1)) return "digits (2)";
    if (cJSON_GetArraySize(trs) != 1) return "one transfer";
    const char *target = dt__demo_str(cJSON_GetArrayItem(trs, 0), "target");
    if (x->transfer_target && (!target || strcmp(target, x->transfer_target) != 0)) return "transfer target";
    return NULL;
  }
  default: {
    static const char *const d[] = {"9", "9", "9"};
    if (!outcome || strcmp(outcome, "completed") != 0) return "outcome (completed)";
    if (!strings_are(digits, d, 3)) return "digits (9, 9, 9)";
    return NULL;
  }
  }
}

#endif
