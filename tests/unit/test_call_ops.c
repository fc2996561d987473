/*
 * test_call_ops.c — core/calls/call_ops.c: completions read from an operation object,
 * operations found by their Graph id, early completions taken once and capped, and the
 * operations of an ended wait dropped or kept as orphans (capped).
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "call_internal.h"
#include "harness/dt_test.h"

DT_TEST(a_completion_is_read_from_an_operation_object) {
  cJSON *o = cJSON_Parse("{\"status\":\"failed\",\"resultInfo\":{\"code\":400,\"subCode\":8508,\"message\":\"m\"},"
                         "\"completionReason\":\"operationCanceled\",\"recordingLocation\":\"https://r\","
                         "\"recordingAccessToken\":\"tok\"}");
  completion_t c;
  dt__call_completion_from_json(o, &c);
  DT_ASSERT_EQ_INT(c.status, DT_OP_STATUS_FAILED);
  DT_ASSERT(c.has_result);
  DT_ASSERT_EQ_INT(c.code, 400);
  DT_ASSERT_EQ_INT(c.subcode, 8508);
  DT_ASSERT_EQ_STR(c.message, "m");
  DT_ASSERT_EQ_STR(c.completion_reason, "operationCanceled");
  DT_ASSERT_EQ_STR(c.location, "https://r");
  DT_ASSERT_EQ_STR(c.token, "tok");
  dt__call_completion_free(&c);
  DT_ASSERT(c.message == NULL);
  cJSON_Delete(o);
  dt__call_completion_from_json(NULL, &c);
  DT_ASSERT_EQ_INT(c.status, DT_OP_STATUS_UNKNOWN);
  DT_ASSERT(!c.has_result);
}

static void fake_call(dt_call_t *c, dt_calls_t *r) {
  memset(r, 0, sizeof *r);
  memset(c, 0, sizeof *c);
  c->reg = r;
  c->id = "call";
}

DT_TEST(early_completions_are_taken_once_and_capped) {
  dt_calls_t r;
  dt_call_t c;
  fake_call(&c, &r);
  char key[16];
  for (int i = 0; i < 10; i++) {
    completion_t comp = {.status = DT_OP_STATUS_COMPLETED, .code = i};
    snprintf(key, sizeof key, "op%d", i);
    dt__call_early_add(&c, key, &comp);
  }
  completion_t out;
  DT_ASSERT(!dt__call_early_take(&c, "op0", &out)); /* the oldest went */
  DT_ASSERT(dt__call_early_take(&c, "op9", &out));
  DT_ASSERT_EQ_INT(out.code, 9);
  DT_ASSERT(!dt__call_early_take(&c, "op9", &out)); /* once */
  int kept = 0;
  for (int i = 0; i < 10; i++) {
    snprintf(key, sizeof key, "op%d", i);
    if (dt__call_early_take(&c, key, &out)) kept++;
  }
  DT_ASSERT_EQ_INT(kept + 1, EARLY_MAX);
  DT_ASSERT(c.early.head == NULL);
  dt__call_early_clear(&c);
}

DT_TEST(an_ended_wait_keeps_running_operations_as_capped_orphans) {
  dt_calls_t r;
  dt_call_t c;
  fake_call(&c, &r);
  c.gen = 7;
  dt_op_t *unnamed = dt__call_op_new(&c, ROLE_MAIN); /* no operation id yet: dropped */
  (void)unnamed;
  for (int i = 0; i < ORPHAN_MAX + 3; i++) {
    dt_op_t *op = dt__call_op_new(&c, ROLE_MAIN);
    op->key = dt_xasprintf("k%d", i);
  }
  dt_op_t *other = dt__call_op_new(&c, ROLE_FIRE); /* not the wait's: untouched */
  other->key = dt_xstrdup("fire");
  DT_ASSERT(dt__call_op_find(&c, "k0") != NULL);
  DT_ASSERT(dt__call_op_main(&c) != NULL);
  dt__call_ops_drop_wait(&c, 7);
  int orphans = 0, n = 0;
  for (dt_op_t *op = c.ops; op; op = op->next, n++) orphans += op->orphan;
  DT_ASSERT_EQ_INT(orphans, ORPHAN_MAX);
  DT_ASSERT_EQ_INT(n, ORPHAN_MAX + 1);
  DT_ASSERT(dt__call_op_find(&c, "k0") == NULL); /* the oldest orphans went */
  DT_ASSERT(dt__call_op_find(&c, "fire") == other);
  DT_ASSERT(dt__call_op_main(&c) == NULL); /* orphans are nobody's main operation */
  while (c.ops) dt__call_op_free(c.ops);
}

DT_TEST_MAIN()
