/* test_sched_cdr.c — the CDR line format: valid JSON, escaping, nulls, times, arrays. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/cdr.h"
#include "dt_test.h"

DT_TEST(cdr_line_is_valid_json_with_nulls) {
  dt_call_t c;
  memset(&c, 0, sizeof c);
  c.id = "abc-123";
  c.direction = DT_CALL_INCOMING;
  c.from = "+15555550100";
  c.flow = "ma\"in";
  c.start_ms = 1700000000123;
  c.end_ms = 1700000002623;
  c.outcome = DT_OUTCOME_HANGUP;
  c.error = "line1\nline2\t\"quoted\"\x01";
  dt_buf_t b = {0};
  dt_cdr_format(&c, &b);
  cJSON *j = cJSON_Parse(b.data);
  DT_ASSERT(j != NULL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "call_id")->valuestring, "abc-123");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "flow")->valuestring, "ma\"in");
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "to")));
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "flow_version")));
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "answer")));
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "end_code")));
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "start")->valuestring, "2023-11-14T22:13:20.123Z");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "outcome")->valuestring, "hangup");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "error")->valuestring, "line1\nline2\t\"quoted\"\x01");
  DT_ASSERT(cJSON_GetObjectItem(j, "duration_s")->valuedouble > 2.49);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "digits")), 0);
  cJSON_Delete(j);
  dt_buf_free(&b);
}

DT_TEST(cdr_arrays_and_end_result) {
  dt_call_t c;
  memset(&c, 0, sizeof c);
  c.id = "x";
  c.direction = DT_CALL_OUTGOING;
  c.flow_version = 3;
  c.outcome = DT_OUTCOME_TRANSFERRED;
  c.end_code = 0;
  c.end_subcode = 7015;
  c.end_message = "GracefulTransferCompleted";
  const char *digits = "\"12\",\"3\"", *transfers = "{\"target\":\"user:a\",\"result\":\"transferred\"}";
  dt_buf_append(&c.log.digits, digits, strlen(digits));
  dt_buf_append(&c.log.transfers, transfers, strlen(transfers));
  dt_buf_t b = {0};
  dt_cdr_format(&c, &b);
  cJSON *j = cJSON_Parse(b.data);
  DT_ASSERT(j != NULL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "direction")->valuestring, "outgoing");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "flow_version")->valueint, 3);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "digits")), 2);
  DT_ASSERT_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "digits"), 1)->valuestring, "3");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "end_subcode")->valueint, 7015);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "transfers"), 0), "result")->valuestring,
                   "transferred");
  cJSON_Delete(j);
  dt_buf_free(&b);
  dt_buf_free(&c.log.digits);
  dt_buf_free(&c.log.transfers);
}

DT_TEST(cdr_writer_appends_lines) {
  char path[] = "/tmp/dt_cdr_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  close(fd);
  dt_cdr_writer_t *w = NULL;
  char err[128];
  DT_ASSERT_EQ_INT(dt_cdr_open(path, &w, err, sizeof err), 0);
  dt_call_t c;
  memset(&c, 0, sizeof c);
  c.id = "one";
  DT_ASSERT_EQ_INT(dt_cdr_write(w, &c), 0);
  c.id = "two";
  DT_ASSERT_EQ_INT(dt_cdr_write(w, &c), 0);
  DT_ASSERT_EQ_INT(dt_cdr_count(w), 2);
  dt_cdr_close(w);
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(path, 1 << 20, &text, &len), 0);
  unlink(path);
  DT_ASSERT(strstr(text, "\"call_id\":\"one\"") != NULL);
  char *nl = strchr(text, '\n');
  DT_ASSERT(nl != NULL && strstr(nl, "\"call_id\":\"two\"") != NULL);
  DT_ASSERT_EQ_INT(text[len - 1], '\n');
  free(text);
  DT_ASSERT(dt_cdr_open("/nonexistent-dir/x.jsonl", &w, err, sizeof err) < 0);
}

DT_TEST_MAIN()
