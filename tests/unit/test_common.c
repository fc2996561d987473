/* Unit tests for error.c, common.c and log.c. */
#include <stdio.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dt_test.h"

DT_TEST(error_names_and_messages) {
  DT_ASSERT_EQ_STR(dt_err_name(DT_EINVAL), "EINVAL");
  DT_ASSERT_EQ_STR(dt_strerror(DT_ETIMEDOUT), "timed out");
  DT_ASSERT_EQ_STR(dt_err_name(12345), "UNKNOWN");
  DT_ASSERT(DT_EINVAL < 0);
  char err[64];
  DT_ASSERT_EQ_INT(dt_seterr(err, sizeof err, DT_ECONFIG, "key %s", "listen"), DT_ECONFIG);
  DT_ASSERT_EQ_STR(err, "key listen");
}

DT_TEST(buffer_grows_and_terminates) {
  dt_buf_t b = {0};
  for (int i = 0; i < 1000; i++) dt_buf_appendf(&b, "%d,", i);
  DT_ASSERT(b.len > 3000);
  DT_ASSERT_EQ_INT(b.data[b.len], '\0');
  DT_ASSERT(strncmp(b.data, "0,1,2,", 6) == 0);
  dt_buf_free(&b);
  DT_ASSERT(b.data == NULL);
}

DT_TEST(guid_is_v4_and_unique) {
  char a[37], b[37];
  dt_guid(a);
  dt_guid(b);
  DT_ASSERT_EQ_INT(strlen(a), 36);
  DT_ASSERT_EQ_INT(a[14], '4');
  DT_ASSERT(strcmp(a, b) != 0);
}

DT_TEST(atomic_write_then_read) {
  char path[] = "/tmp/dt_test_common_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  close(fd);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "hello", 5), 0);
  char *data = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(path, 100, &data, &len), 0);
  DT_ASSERT_EQ_INT(len, 5);
  DT_ASSERT_EQ_STR(data, "hello");
  free(data);
  DT_ASSERT_EQ_INT(dt_read_file(path, 3, &data, &len), DT_ETOOBIG);
  unlink(path);
  DT_ASSERT_EQ_INT(dt_read_file(path, 100, &data, &len), DT_ENOENT);
}

DT_TEST(json_log_line_has_call_id_and_escapes) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  dt_log_set_format(DT_LOG_JSON);
  dt_log(DT_LOG_INFO, "call-1", "said \"hi\"\n");
  dt_log(DT_LOG_DEBUG, NULL, "hidden");
  dt_log_set_output(NULL);
  dt_log_set_format(DT_LOG_TEXT);
  fclose(mem);
  DT_ASSERT_CONTAINS(text, "\"level\":\"info\"");
  DT_ASSERT_CONTAINS(text, "\"call_id\":\"call-1\"");
  DT_ASSERT_CONTAINS(text, "said \\\"hi\\\"\\n");
  DT_ASSERT(strstr(text, "hidden") == NULL);
  free(text);
}

DT_TEST_MAIN()
