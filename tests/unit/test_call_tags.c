/*
 * test_call_tags.c — core/calls/call_tags.c: names and values checked, a merge all or
 * nothing (a bad entry, too many tags), replacement, JSON with numbers as numbers; and the
 * registry's log hook: a call's tags on its log lines, text and JSON.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call_tags.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(checks_merge_and_json) {
  dt_call_tags_t t = {0};
  char err[256];
  dt_log_field_t a[] = {{"prescription", "123456", false}, {"callback", "+15551234567", false}, {"n", "3", true}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, a, 3, err, sizeof err), 0);
  dt_log_field_t b[] = {{"prescription", "654321", false}, {"lang", "es", false}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, b, 2, err, sizeof err), 0);
  dt_buf_t j = {0};
  dt_call_tags_json(&t, &j);
  DT_ASSERT_EQ_STR(j.data, "{\"prescription\":\"654321\",\"callback\":\"+15551234567\",\"n\":3,\"lang\":\"es\"}");
  dt_buf_free(&j);
  /* one bad entry: nothing changes */
  dt_log_field_t bad[] = {{"ok", "1", false}, {"bad key", "x", false}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, bad, 2, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "'bad key' is not a tag name");
  DT_ASSERT_EQ_INT(t.count, 4);
  char big[DT_CALL_TAG_VALUE_MAX + 2];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  dt_log_field_t bigv[] = {{"big", big, false}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, bigv, 1, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "longer than 256 bytes");
  dt_log_field_t notutf[] = {{"x", "\xc3(", false}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, notutf, 1, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_tag_check("a23456789012345678901234567890123", 33, "", 0, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_tag_check("_x9", 3, "ñandú", strlen("ñandú"), err, sizeof err), 0);
  /* too many in all: nothing changes */
  dt_log_field_t many[DT_CALL_TAGS_MAX];
  char names[DT_CALL_TAGS_MAX][8];
  for (int i = 0; i < DT_CALL_TAGS_MAX; i++) {
    snprintf(names[i], sizeof names[i], "k%d", i);
    many[i] = (dt_log_field_t){names[i], "v", false};
  }
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, many, DT_CALL_TAGS_MAX, err, sizeof err), DT_ELIMIT);
  DT_ASSERT_CONTAINS(err, "at most 32 tags");
  DT_ASSERT_EQ_INT(t.count, 4);
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, many, DT_CALL_TAGS_MAX - 4, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(t.count, DT_CALL_TAGS_MAX);
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&t, a, 3, err, sizeof err), 0); /* replacing is fine when full */
  dt_call_tags_free(&t);
  DT_ASSERT_EQ_INT(t.count, 0);
  dt_call_tags_json(&t, &j);
  DT_ASSERT_EQ_STR(j.data, "{}");
  dt_buf_free(&j);
}

static dt_call_tags_t hook_tags;
static size_t hook(void *ud, const char *call_id, const dt_log_field_t **out) {
  (void)ud;
  if (strcmp(call_id, "call-1") != 0) return 0;
  *out = hook_tags.items;
  return hook_tags.count;
}

DT_TEST(log_lines_carry_the_calls_tags) {
  char err[128];
  dt_log_field_t a[] = {{"prescription", "123456", false}, {"name", "Ana \"Q\" Ruiz", false}, {"n", "3", true}};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&hook_tags, a, 3, err, sizeof err), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  dt_log_set_fields_hook(hook, &hook_tags);
  DT_ASSERT(dt_log_fields_hook_ud() == &hook_tags);
  dt_log(DT_LOG_INFO, "call-1", "hello");
  dt_log(DT_LOG_INFO, "call-2", "other");
  dt_log_set_format(DT_LOG_JSON);
  dt_log(DT_LOG_INFO, "call-1", "hello");
  dt_log_set_format(DT_LOG_TEXT);
  dt_log_set_fields_hook(NULL, NULL);
  dt_log(DT_LOG_INFO, "call-1", "unhooked");
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT_CONTAINS(text, "[call call-1 prescription=123456 name=\"Ana \\\"Q\\\" Ruiz\" n=3] hello");
  DT_ASSERT_CONTAINS(text, "[call call-2] other");
  DT_ASSERT_CONTAINS(text, "\"call_id\":\"call-1\",\"tags\":{\"prescription\":\"123456\",\"name\":\"Ana \\\"Q\\\" Ruiz\",\"n\":3},\"msg\":\"hello\"");
  DT_ASSERT_CONTAINS(text, "[call call-1] unhooked");
  free(text);
  dt_call_tags_free(&hook_tags);
}

DT_TEST_MAIN()
