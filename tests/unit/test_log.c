/* Unit tests for log.c: levels and their names, the two line formats, call ids, and that a
   message from outside can never make a second line or reach the terminal raw (text and JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/log.h"
#include "harness/dt_test.h"

/* Runs the logger into memory with the given format and level; the caller frees. */
static FILE *capture(char **text, size_t *len, dt_log_format_t fmt, dt_log_level_t level) {
  FILE *mem = open_memstream(text, len);
  dt_log_set_output(mem);
  dt_log_set_format(fmt);
  dt_log_set_level(level);
  return mem;
}

static void release(FILE *mem) {
  dt_log_set_output(NULL);
  dt_log_set_format(DT_LOG_TEXT);
  dt_log_set_level(DT_LOG_INFO);
  fclose(mem);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
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

/* dialtone.log's structured fields: JSON "fields":{...} after msg (numbers and booleans
   unquoted), text key=value after the message (quoted when needed); none = the plain line. */
DT_TEST(fields_in_both_formats) {
  const dt_log_field_t f[] = {{"rx", "123456", false}, {"attempts", "2", true}, {"ok", "true", true},
                              {"note", "two words", false}};
  char *text = NULL;
  size_t len = 0;
  FILE *mem = capture(&text, &len, DT_LOG_JSON, DT_LOG_INFO);
  dt_log_fields(DT_LOG_INFO, "call-9", f, 4, "looked up");
  dt_log_fields(DT_LOG_DEBUG, "call-9", f, 4, "hidden");
  release(mem);
  DT_ASSERT_CONTAINS(text, "\"msg\":\"looked up\",\"fields\":{\"rx\":\"123456\",\"attempts\":2,\"ok\":true,"
                           "\"note\":\"two words\"}}\n");
  DT_ASSERT(strstr(text, "hidden") == NULL);
  free(text);
  text = NULL;
  mem = capture(&text, &len, DT_LOG_TEXT, DT_LOG_INFO);
  dt_log_fields(DT_LOG_WARN, NULL, f, 4, "looked up");
  dt_log_fields(DT_LOG_INFO, NULL, NULL, 0, "plain");
  release(mem);
  DT_ASSERT_CONTAINS(text, "looked up rx=123456 attempts=2 ok=true note=\"two words\"\n");
  DT_ASSERT_CONTAINS(text, " plain\n");
  DT_ASSERT_EQ_INT(count_lines(text), 2);
  free(text);
}

DT_TEST(level_names_round_trip) {
  DT_ASSERT_EQ_INT(dt_log_level_from_name("debug"), DT_LOG_DEBUG);
  DT_ASSERT_EQ_INT(dt_log_level_from_name("INFO"), DT_LOG_INFO);
  DT_ASSERT_EQ_INT(dt_log_level_from_name("warn"), DT_LOG_WARN);
  DT_ASSERT_EQ_INT(dt_log_level_from_name("Error"), DT_LOG_ERROR);
  DT_ASSERT_EQ_INT(dt_log_level_from_name("off"), DT_LOG_OFF);
  DT_ASSERT_EQ_INT(dt_log_level_from_name("warning"), -1);
  DT_ASSERT_EQ_INT(dt_log_level_from_name(""), -1);
  dt_log_set_level(DT_LOG_ERROR);
  DT_ASSERT_EQ_INT(dt_log_get_level(), DT_LOG_ERROR);
  dt_log_set_level(DT_LOG_INFO);
}

DT_TEST(text_line_shape_and_levels) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = capture(&text, &len, DT_LOG_TEXT, DT_LOG_WARN);
  dt_log_info("not shown");
  dt_log_warn("disk at %d%%", 91);
  dt_log(DT_LOG_ERROR, "c-7", "failed");
  dt_log(DT_LOG_OFF, NULL, "never"); /* OFF is not a level to log at */
  release(mem);
  DT_ASSERT_EQ_INT(count_lines(text), 2);
  DT_ASSERT(strstr(text, "not shown") == NULL && strstr(text, "never") == NULL);
  /* "2024-01-02T03:04:05.678Z warn  disk at 91%" */
  DT_ASSERT(text[10] == 'T' && text[23] == 'Z');
  DT_ASSERT(strncmp(text + 24, " warn  disk at 91%\n", 19) == 0);
  DT_ASSERT_CONTAINS(text, " error [call c-7] failed\n");
  free(text);
}

DT_TEST(text_escape_keeps_one_line_and_the_terminal_safe) {
  dt_buf_t b = {0};
  const char in[] = "a\\b\nc\rd\te\x1b[31m\x7f caf\xc3\xa9 \xff \xc2\x9b \xe2\x80\xae.";
  dt_log_text_escape(&b, in, sizeof in - 1);
  DT_ASSERT_EQ_STR(b.data, "a\\\\b\\nc\\rd\\te\\x1b[31m\\x7f caf\xc3\xa9 \\xff \\xc2\\x9b \\xe2\\x80\\xae.");
  dt_buf_reset(&b);
  dt_log_text_escape(&b, "nul\0byte", 8); /* length, not NUL, ends the input */
  DT_ASSERT_EQ_STR(b.data, "nul\\x00byte");
  dt_buf_free(&b);

  char *text = NULL;
  size_t len = 0;
  FILE *mem = capture(&text, &len, DT_LOG_TEXT, DT_LOG_DEBUG);
  dt_log(DT_LOG_INFO, "id\nforged", "line\n2024-01-01T00:00:00.000Z error forged");
  release(mem);
  DT_ASSERT_EQ_INT(count_lines(text), 1);
  DT_ASSERT_CONTAINS(text, "[call id\\nforged] line\\n2024");
  free(text);
}

DT_TEST(json_line_is_valid_utf8_and_escaped) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = capture(&text, &len, DT_LOG_JSON, DT_LOG_DEBUG);
  dt_log_debug("bad \xff utf8, bidi \xe2\x80\xae, esc \x1b, del \x7f");
  release(mem);
  DT_ASSERT_EQ_INT(count_lines(text), 1);
  DT_ASSERT(strncmp(text, "{\"ts\":\"", 7) == 0);
  DT_ASSERT_CONTAINS(text, "\"level\":\"debug\",\"msg\":\"bad \\ufffd utf8, bidi \\u202e, esc \\u001b, del \\u007f\"}\n");
  DT_ASSERT(strstr(text, "call_id") == NULL); /* no call, no field */
  free(text);
}

DT_TEST(long_messages_are_cut_not_split) {
  char big[6000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *text = NULL;
  size_t len = 0;
  FILE *mem = capture(&text, &len, DT_LOG_TEXT, DT_LOG_INFO);
  dt_log_info("%s", big);
  release(mem);
  DT_ASSERT_EQ_INT(count_lines(text), 1);
  DT_ASSERT(len < 4200); /* the message is cut at 4 KiB */
  free(text);
}

DT_TEST_MAIN()
