/*
 * test_hostile_log.c — logs cannot be forged (issue 10, point 8).
 *
 * Values from outside reach the log: strings a flow passes to dialtone.log and print, and
 * fields of an unauthenticated request's JWT (its "alg" is quoted in the refusal). Each one
 * tries to start a line of its own ("\n2026-01-01T00:00:00.000Z error  forged ...") and to
 * recolour the terminal (ESC [ 31 m). The text log must hold exactly one line for each,
 * with the newline, carriage return and ESC shown as \n, \r, \x1b, and no control byte at
 * all; the JSON log must stay one parseable object per line.
 */
#include <stdio.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "dialtone/jwt.h"

#define FORGED "2026-01-01T00:00:00.000Z error forged"

/* Lines of the captured log that contain needle. */
static int lines_with(const char *needle) {
  fflush(H.log);
  int n = 0;
  for (const char *line = H.log_text; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char *copy = dt_xstrndup(line, len);
    if (strstr(copy, needle)) n++;
    free(copy);
    line = nl ? nl + 1 : NULL;
  }
  return n;
}

/* No byte of the log is a control character other than the newlines that end lines, and no
   line starts with the forged timestamp. */
static bool log_is_clean(void) {
  fflush(H.log);
  if (!H.log_text) return true;
  for (const unsigned char *p = (const unsigned char *)H.log_text; *p; p++) {
    if ((*p < 0x20 && *p != '\n') || *p == 0x7f) {
      fprintf(stderr, "  control byte 0x%02x at offset %zu\n", *p, (size_t)(p - (const unsigned char *)H.log_text));
      return false;
    }
    if ((p == (const unsigned char *)H.log_text || p[-1] == '\n') && strncmp((const char *)p, "2026-01-01", 10) == 0) {
      fprintf(stderr, "  a line starts with the forged timestamp\n");
      return false;
    }
  }
  return true;
}

static const char *const FLOW =
    "return function(call)\n"
    "  call:answer()\n"
    "  dialtone.log('info', 'x\\n" FORGED " by log')\n"
    "  print('y\\r\\n" FORGED " by print\\27[31m red')\n"
    "  dialtone.log('warn', 'z\\27]0;title\\7 \\194\\155 csi \\226\\128\\174 bidi \\255 bad', 'end-of-z')\n"
    "end\n";

H_TEST(a_flow_cannot_forge_a_text_log_line, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", FLOW), 0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(lines_with("forged by log"), 1);
  DT_ASSERT_EQ_INT(lines_with("forged by print"), 1);
  DT_ASSERT_EQ_INT(lines_with("end-of-z"), 1);
  DT_ASSERT(log_is_clean());
  /* the values are all there, visibly escaped, on the call's own line */
  DT_ASSERT(h_log_has(&H, "] x\\n" FORGED " by log"));
  DT_ASSERT(h_log_has(&H, "] y\\r\\n" FORGED " by print\\x1b[31m red"));
  DT_ASSERT(h_log_has(&H, "] z\\x1b]0;title\\x07 \\xc2\\x9b csi \\xe2\\x80\\xae bidi \\xff bad end-of-z"));
}

H_TEST(a_flow_cannot_forge_a_json_log_line, .time_scale = 0) {
  dt_log_set_format(DT_LOG_JSON);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", FLOW), 0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  dt_log_set_format(DT_LOG_TEXT);
  DT_ASSERT_EQ_INT(lines_with("forged by log"), 1);
  DT_ASSERT_EQ_INT(lines_with("forged by print"), 1);
  DT_ASSERT(log_is_clean());
  /* every line is one JSON object; the flow's message comes back byte for byte */
  fflush(H.log);
  int parsed = 0, found = 0;
  for (char *line = H.log_text; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    if (j) parsed++;
    else fprintf(stderr, "  not JSON: %s\n", line);
    DT_ASSERT(j != NULL);
    const char *msg = h_str(j, "msg");
    if (msg && strcmp(msg, "x\n" FORGED " by log") == 0) found++;
    cJSON_Delete(j);
    if (nl) *nl = '\n';
    line = nl ? nl + 1 : NULL;
  }
  DT_ASSERT(parsed > 0);
  DT_ASSERT_EQ_INT(found, 1);
}

/* An unauthenticated notification whose token header carries the forged line in "alg"
   (quoted in the refusal that is logged). */
H_TEST(a_token_field_cannot_forge_a_log_line, .time_scale = 0) {
  H_UNTIL(&H, 20000, dt_engine_inbound_ready(H.engine));
  DT_ASSERT(dt_engine_inbound_ready(H.engine));
  const char *hdr = "{\"alg\":\"none\\n" FORGED " by jwt\\u001b[2J\\r\",\"kid\":\"k\"}";
  const char *payload = "{\"iss\":\"x\",\"exp\":4102444800}";
  char *h64 = dt_base64url_encode(hdr, strlen(hdr));
  char *p64 = dt_base64url_encode(payload, strlen(payload));
  char *auth = dt_xasprintf("Bearer %s.%s.c2ln", h64, p64);
  dt_http_header_t headers[] = {{"Content-Type", "application/json"}, {"Authorization", auth}};
  const char *body = "{\"value\":[]}";
  int st = h_request(&H, "POST", dt_engine_callback_url(H.engine), headers, 2, body, strlen(body), NULL);
  free(h64);
  free(p64);
  free(auth);
  DT_ASSERT_EQ_INT(st, 401);
  H_UNTIL(&H, 5000, h_log_has(&H, "by jwt"));
  DT_ASSERT_EQ_INT(lines_with("by jwt"), 1);
  DT_ASSERT(h_log_has(&H, "token alg is \"none\\n" FORGED " by jwt\\x1b[2J\\r\""));
  DT_ASSERT(log_is_clean());
}

/* The escaping itself: reversible, and printable text and UTF-8 stay as they are. */
DT_TEST(text_escape_is_reversible_and_leaves_text_alone) {
  dt_buf_t b = {0};
  const char in[] = "caf\xc3\xa9 \xe2\x82\xac ok \\ back\tslash\x7f\x01";
  dt_log_text_escape(&b, in, sizeof in - 1);
  DT_ASSERT_EQ_STR(b.data, "caf\xc3\xa9 \xe2\x82\xac ok \\\\ back\\tslash\\x7f\\x01");
  dt_buf_free(&b);
  /* overlong, surrogate and cut-short sequences are not UTF-8 */
  const char bad[] = "\xc0\xaf \xed\xa0\x80 \xe2\x82";
  dt_log_text_escape(&b, bad, sizeof bad - 1);
  DT_ASSERT_EQ_STR(b.data, "\\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82");
  dt_buf_free(&b);
}

DT_TEST_MAIN()
