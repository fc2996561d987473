/*
 * fuzz_notify.c — libFuzzer target for dt_notify_parse (core/graph/notify.c) on arbitrary bytes.
 *
 * Promises checked per input, beyond "no crash, no leak, no UB": a failed parse leaves the
 * list empty; at most DT_NOTIFY_MAX_NOTIFICATIONS events, each of a known type; strings
 * are NULL or non-empty and within their DT_NOTIFY_MAX_* limit; the name helpers
 * round-trip what the parser produced; rosters carry an array; ids go through
 * dt_graph_id_key. Seeds: tests/fuzz/corpus/fuzz_notify (the documents' examples).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/log.h"
#include "dialtone/notify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  dt_log_set_level(DT_LOG_OFF);
  return 0;
}

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_notify: broken promise: %s\n", what);
    abort();
  }
}

static void check_str(const char *s, size_t max, const char *what) {
  if (s == NULL) return;
  check(s[0] != '\0', what); /* empty optional strings are NULL */
  check(strlen(s) <= max, what);
}

static void check_id(const char *id) {
  if (!id) return;
  char *key = dt_xmalloc(strlen(id) + 1);
  dt_graph_id_key(id, key);
  check(strlen(key) <= strlen(id), "id key longer than the id");
  free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dt_event_list_t list = {(dt_event_t *)(uintptr_t)1, 99}; /* must be reset on failure */
  char err[256];
  int rc = dt_notify_parse((const char *)data, size, &list, err, sizeof err);
  if (rc != 0) {
    check(rc == DT_EPARSE || rc == DT_ETOOBIG, "unexpected error code");
    check(list.events == NULL && list.count == 0, "list not empty after an error");
    check(memchr(err, '\0', sizeof err) != NULL, "error message not terminated");
    return 0;
  }
  check(list.count <= DT_NOTIFY_MAX_NOTIFICATIONS, "more events than the limit");
  for (size_t i = 0; i < list.count; i++) {
    const dt_event_t *e = &list.events[i];
    check(e->type >= DT_EVENT_CALL_INCOMING && e->type <= DT_EVENT_CALL_TERMINATED, "event type");
    check(dt_event_type_name(e->type) != NULL, "event type name");
    check_str(e->call_id, DT_NOTIFY_MAX_ID, "call_id");
    check_str(e->op_id, DT_NOTIFY_MAX_ID, "op_id");
    check_str(e->termination_reason, DT_NOTIFY_MAX_TEXT, "termination_reason");
    check_str(e->result.message, DT_NOTIFY_MAX_TEXT, "result message");
    check_str(e->op_type, DT_NOTIFY_MAX_TEXT, "op_type");
    check_str(e->client_context, DT_NOTIFY_MAX_TEXT, "client_context");
    check_str(e->completion_reason, DT_NOTIFY_MAX_TEXT, "completion_reason");
    check_str(e->recording_location, DT_NOTIFY_MAX_URL, "recording_location");
    check_str(e->recording_access_token, DT_NOTIFY_MAX_TOKEN, "recording_access_token");
    check_id(e->call_id);
    check_id(e->op_id);
    const char *sn = dt_call_state_name(e->state);
    check(sn != NULL, "state name");
    if (e->state != DT_CALL_STATE_UNKNOWN)
      check(dt_call_state_from_name(sn) == e->state, "state name round trip");
    const char *on = dt_op_status_name(e->op_status);
    check(on != NULL, "op status name");
    if (e->op_status != DT_OP_STATUS_UNKNOWN)
      check(dt_op_status_from_name(on) == e->op_status, "op status round trip");
    if (e->type == DT_EVENT_TONE && e->tone) {
      const char *tn = dt_tone_name(e->tone);
      check(tn != NULL && dt_tone_from_name(tn) == e->tone, "tone name round trip");
    }
    if (e->type == DT_EVENT_ROSTER)
      check(e->resource_data == NULL || cJSON_IsArray(e->resource_data), "roster data is an array");
    if (e->resource_data) {
      /* Consumers print and walk it; make sure the tree is whole. */
      char *s = cJSON_PrintUnformatted(e->resource_data);
      check(s != NULL, "resource_data prints");
      free(s);
    }
  }
  dt_event_list_free(&list);
  return 0;
}
