/*
 * test_cdr.c — the CDR writer under failing writes (issue 10, point 5), through the write
 * seam of cdr_internal.h: a short write followed by an error, ENOSPC and EIO, a spool that
 * fills, a spool file kept across a close and written at the next open, a fragment left by
 * a crash. Every case checks the file holds whole JSON lines only, and every record exactly
 * once and in order once writes succeed.
 * And the line format itself (from a flat dt_cdr_record_t): valid JSON, escaping, nulls,
 * times, arrays, and the exact bytes the line had when cdr.c formatted a dt_call_t.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cdr_internal.h"
#include "dialtone/cdr.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "harness/dt_test.h"

/* ---- the fault seam: what the next writes do ---- */
static int fault_errno;        /* 0 = real writes */
static size_t fault_short;     /* > 0: the next write takes only this many bytes, then errors follow */
static unsigned fault_calls;

/* Faults hit the CDR file only (its name ends in cdr.jsonl); the spool file writes through. */
static bool is_cdr_file(int fd) {
  char link[64], target[512];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n < 0) return true;
  target[n] = '\0';
  return n >= 9 && strcmp(target + n - 9, "cdr.jsonl") == 0;
}

static ssize_t faulty_write(int fd, const void *buf, size_t len) {
  if (!is_cdr_file(fd)) return write(fd, buf, len);
  fault_calls++;
  if (fault_short > 0) {
    size_t n = fault_short < len ? fault_short : len;
    fault_short = 0;
    return write(fd, buf, n);
  }
  if (fault_errno) {
    errno = fault_errno;
    return -1;
  }
  return write(fd, buf, len);
}

static void faults(int err, size_t short_bytes) {
  fault_errno = err;
  fault_short = short_bytes;
  dt__cdr_set_write_fn(faulty_write);
}

static void no_faults(void) {
  fault_errno = 0;
  fault_short = 0;
  dt__cdr_set_write_fn(NULL);
}

/* A call whose record says which one it is. */
static void write_record(dt_cdr_writer_t *w, int n, int expect_rc) {
  char id[32];
  snprintf(id, sizeof id, "call-%d", n);
  dt_cdr_record_t c = {.call_id = id,
                       .direction = "incoming",
                       .flow = "main",
                       .start_ms = 1700000000000,
                       .end_ms = 1700000001000,
                       .outcome = "completed"};
  int rc = dt_cdr_write(w, &c);
  if (rc != expect_rc) fprintf(stderr, "  write of call-%d returned %d, expected %d\n", n, rc, expect_rc);
  DT_ASSERT_EQ_INT(rc, expect_rc);
}

/* The file holds whole JSON lines only, with call ids call-first .. call-last in order. */
static bool file_has(const char *path, int first, int last) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, 1 << 20, &text, &len) != 0) return first > last;
  bool ok = len == 0 || text[len - 1] == '\n';
  if (!ok) fprintf(stderr, "  %s does not end with a newline\n", path);
  int expect = first;
  for (char *line = text; ok && line < text + len;) {
    char *nl = strchr(line, '\n');
    *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "call_id");
    char want[32];
    snprintf(want, sizeof want, "call-%d", expect);
    if (!cJSON_IsString(id) || strcmp(id->valuestring, want) != 0) {
      fprintf(stderr, "  %s: line \"%.80s\" where %s was expected\n", path, line, want);
      ok = false;
    }
    cJSON_Delete(j);
    expect++;
    line = nl + 1;
  }
  if (ok && expect != last + 1) {
    fprintf(stderr, "  %s: %d records, expected %d\n", path, expect - first, last - first + 1);
    ok = false;
  }
  free(text);
  return ok;
}

typedef struct {
  char dir[64], cdr[96], spool[96];
  FILE *log;
  char *log_text;
  size_t log_len;
} fixture_t;

static void setup(fixture_t *f) {
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/dt_cdr_XXXXXX");
  if (!mkdtemp(f->dir)) abort();
  snprintf(f->cdr, sizeof f->cdr, "%s/cdr.jsonl", f->dir);
  snprintf(f->spool, sizeof f->spool, "%s/spool.jsonl", f->dir);
  f->log = open_memstream(&f->log_text, &f->log_len);
  dt_log_set_output(f->log);
  dt_log_set_format(DT_LOG_TEXT);
  dt_log_set_level(DT_LOG_INFO);
}

static int log_count(fixture_t *f, const char *needle) {
  fflush(f->log);
  int n = 0;
  for (const char *p = f->log_text; p && (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

static void teardown(fixture_t *f) {
  no_faults();
  dt_log_set_output(NULL);
  fclose(f->log);
  if (getenv("H_VERBOSE") && f->log_text) fputs(f->log_text, stderr);
  free(f->log_text);
  unlink(f->cdr);
  unlink(f->spool);
  rmdir(f->dir);
}

DT_TEST(a_short_write_then_an_error_leaves_whole_lines_and_the_record_is_written_later) {
  fixture_t f;
  setup(&f);
  dt_cdr_writer_t *w = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_cdr_open(f.cdr, &w, err, sizeof err), 0);
  write_record(w, 1, 0);
  faults(EIO, 17); /* 17 bytes of call-2 get in, then EIO */
  write_record(w, 2, 0);
  DT_ASSERT(file_has(f.cdr, 1, 1)); /* the fragment was cut back */
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 1);
  DT_ASSERT_EQ_INT(log_count(&f, "cannot write to"), 1);
  write_record(w, 3, 0); /* still failing: kept behind call-2, logged once per episode */
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 2);
  DT_ASSERT_EQ_INT(log_count(&f, "cannot write to"), 1);
  DT_ASSERT(file_has(f.cdr, 1, 1));
  no_faults();
  write_record(w, 4, 0); /* without a loop the next record is the retry */
  DT_ASSERT(file_has(f.cdr, 1, 4));
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 0);
  DT_ASSERT_EQ_INT((int)dt_cdr_count(w), 4);
  DT_ASSERT_EQ_INT(log_count(&f, "writing to"), 1);
  dt_cdr_close(w);
  DT_ASSERT(file_has(f.cdr, 1, 4));
  teardown(&f);
}

DT_TEST(enospc_keeps_records_in_memory_then_in_the_spool_file_in_order) {
  fixture_t f;
  setup(&f);
  dt_metrics_t *m = dt_metrics_new();
  dt_cdr_options_t o = {.path = f.cdr, .metrics = m, .spool_records = 2, .spool_path = f.spool};
  dt_cdr_writer_t *w = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_cdr_open_opts(&o, &w, err, sizeof err), 0);
  faults(ENOSPC, 0);
  for (int i = 1; i <= 5; i++) write_record(w, i, 0); /* 1, 2 in memory; 3..5 in the spool file */
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 5);
  DT_ASSERT(dt_metrics_get(m, "dt_cdr_spooled", NULL) == 5);
  DT_ASSERT(dt_metrics_get(m, "dt_cdr_write_failures_total", NULL) >= 1);
  DT_ASSERT(dt_metrics_get(m, "dt_cdr_dropped_total", NULL) == 0);
  DT_ASSERT(file_has(f.cdr, 1, 0));
  DT_ASSERT(file_has(f.spool, 3, 5));
  DT_ASSERT_EQ_INT(log_count(&f, "cannot write to"), 1);
  /* shutdown while the disk is still full: memory goes in front of the spool file */
  dt_cdr_close(w);
  DT_ASSERT(file_has(f.spool, 1, 5));
  DT_ASSERT_EQ_INT(log_count(&f, "5 records could not be written to"), 1);
  DT_ASSERT_EQ_INT(log_count(&f, "5 kept in"), 1);
  /* the next start writes them first, once, and removes the spool */
  no_faults();
  DT_ASSERT_EQ_INT(dt_cdr_open_opts(&o, &w, err, sizeof err), 0);
  DT_ASSERT(file_has(f.cdr, 1, 5));
  DT_ASSERT(access(f.spool, F_OK) != 0);
  write_record(w, 6, 0);
  DT_ASSERT(file_has(f.cdr, 1, 6));
  DT_ASSERT(dt_metrics_get(m, "dt_cdr_spooled", NULL) == 0);
  dt_cdr_close(w);
  dt_metrics_free(m);
  teardown(&f);
}

DT_TEST(a_record_that_can_be_kept_nowhere_is_logged_in_full) {
  fixture_t f;
  setup(&f);
  dt_metrics_t *m = dt_metrics_new();
  dt_cdr_options_t o = {.path = f.cdr, .metrics = m, .spool_records = 1};
  dt_cdr_writer_t *w = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_cdr_open_opts(&o, &w, err, sizeof err), 0);
  faults(EIO, 0);
  write_record(w, 1, 0);
  write_record(w, 2, DT_EIO);
  DT_ASSERT(dt_metrics_get(m, "dt_cdr_dropped_total", NULL) == 1);
  DT_ASSERT_EQ_INT(log_count(&f, "it is kept only here: {\"call_id\":\"call-2\""), 1);
  dt_cdr_close(w); /* still failing: call-1 goes to the log too, with a summary */
  DT_ASSERT_EQ_INT(log_count(&f, "record not written to"), 1);
  DT_ASSERT_EQ_INT(log_count(&f, "{\"call_id\":\"call-1\""), 1);
  DT_ASSERT_EQ_INT(log_count(&f, "1 record could not be written to"), 1);
  dt_metrics_free(m);
  teardown(&f);
}

DT_TEST(a_fragment_left_by_a_crash_does_not_swallow_the_next_record) {
  fixture_t f;
  setup(&f);
  FILE *c = fopen(f.cdr, "w");
  fputs("{\"call_id\":\"cut", c);
  fclose(c);
  dt_cdr_writer_t *w = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_cdr_open(f.cdr, &w, err, sizeof err), 0);
  write_record(w, 1, 0);
  dt_cdr_close(w);
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(f.cdr, 1 << 20, &text, &len), 0);
  DT_ASSERT(strncmp(text, "{\"call_id\":\"cut\n{\"call_id\":\"call-1\"", 32) == 0);
  DT_ASSERT(text[len - 1] == '\n');
  free(text);
  DT_ASSERT_EQ_INT(log_count(&f, "ended in a partial line"), 1);
  teardown(&f);
}

/* ENOSPC for real: the path is a symlink to /dev/full, then to a file; the writer reopens. */
DT_TEST(a_full_device_then_a_repointed_path_gets_every_record_once) {
  fixture_t f;
  setup(&f);
  char real[128], tmp[128];
  snprintf(real, sizeof real, "%s/real.jsonl", f.dir);
  snprintf(tmp, sizeof tmp, "%s/link.tmp", f.dir);
  DT_ASSERT_EQ_INT(symlink("/dev/full", f.cdr), 0);
  dt_cdr_writer_t *w = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_cdr_open(f.cdr, &w, err, sizeof err), 0);
  write_record(w, 1, 0);
  write_record(w, 2, 0);
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 2);
  DT_ASSERT(log_count(&f, "No space left on device") >= 1);
  DT_ASSERT_EQ_INT(symlink(real, tmp), 0);
  DT_ASSERT_EQ_INT(rename(tmp, f.cdr), 0);
  write_record(w, 3, 0);
  DT_ASSERT_EQ_INT((int)dt_cdr_pending(w), 0);
  DT_ASSERT(file_has(real, 1, 3));
  dt_cdr_close(w);
  unlink(real);
  teardown(&f);
}

/* ---- the line format ---- */

DT_TEST(cdr_line_is_valid_json_with_nulls) {
  dt_cdr_record_t c = {.call_id = "abc-123",
                       .direction = "incoming",
                       .from = "+15555550100",
                       .flow = "ma\"in",
                       .start_ms = 1700000000123,
                       .end_ms = 1700000002623,
                       .outcome = "hangup",
                       .error = "line1\nline2\t\"quoted\"\x01"};
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
  const char *digits = "\"12\",\"3\"", *transfers = "{\"target\":\"user:a\",\"result\":\"transferred\"}";
  dt_cdr_record_t c = {.call_id = "x",
                       .direction = "outgoing",
                       .flow_version = 3,
                       .outcome = "transferred",
                       .digits = digits,
                       .digits_len = strlen(digits),
                       .transfers = transfers,
                       .transfers_len = strlen(transfers),
                       .end_code = 0,
                       .end_subcode = 7015,
                       .end_message = "GracefulTransferCompleted"};
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
}

DT_TEST(cdr_writer_appends_lines) {
  char path[] = "/tmp/dt_cdr_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  close(fd);
  dt_cdr_writer_t *w = NULL;
  char err[128];
  DT_ASSERT_EQ_INT(dt_cdr_open(path, &w, err, sizeof err), 0);
  dt_cdr_record_t c = {.call_id = "one"};
  DT_ASSERT_EQ_INT(dt_cdr_write(w, &c), 0);
  c.call_id = "two";
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

#define GOLDEN_FULL \
  "{\"call_id\":\"abc-123\",\"direction\":\"incoming\",\"from\":\"+15555550100\",\"to\":\"user:x\\u0002y\",\"flow\":\"ma\\\"in\",\"flow_version\":7,\"start\":\"2023-11-14T22:13:20.123Z\",\"answer\":\"2023-11-14T22:13:20.999Z\",\"end\":\"2023-11-14T22:13:22.623Z\",\"duration_s\":2.500,\"outcome\":\"transferred\",\"digits\":[\"12\",\"3\"],\"recordings\":[\"/rec/a-1.wav\"],\"transfers\":[{\"target\":\"user:a\",\"result\":\"transferred\"}],\"error\":\"line1\\nline2\\t\\\"quoted\\\"\\u0001\\\\\",\"end_code\":0,\"end_subcode\":7015,\"end_message\":\"Graceful\",\"tags\":{}}"
#define GOLDEN_EMPTY \
  "{\"call_id\":\"z\",\"direction\":\"incoming\",\"from\":null,\"to\":null,\"flow\":null,\"flow_version\":null,\"start\":null,\"answer\":null,\"end\":null,\"duration_s\":0.000,\"outcome\":\"unknown\",\"digits\":[],\"recordings\":[],\"transfers\":[],\"error\":null,\"end_code\":null,\"end_subcode\":null,\"end_message\":null,\"tags\":{}}"

/* The exact bytes of a full line and of an empty one, as cdr.c wrote them from a dt_call_t
   before the record was flat (captured from that code). */
DT_TEST(cdr_line_bytes_are_unchanged) {
  const char *d = "\"12\",\"3\"", *r = "\"/rec/a-1.wav\"", *t = "{\"target\":\"user:a\",\"result\":\"transferred\"}";
  dt_cdr_record_t c = {.call_id = "abc-123",
                       .direction = "incoming",
                       .from = "+15555550100",
                       .to = "user:x\x02y",
                       .flow = "ma\"in",
                       .flow_version = 7,
                       .start_ms = 1700000000123,
                       .answer_ms = 1700000000999,
                       .end_ms = 1700000002623,
                       .outcome = "transferred",
                       .digits = d,
                       .digits_len = strlen(d),
                       .recordings = r,
                       .recordings_len = strlen(r),
                       .transfers = t,
                       .transfers_len = strlen(t),
                       .error = "line1\nline2\t\"quoted\"\x01\\",
                       .end_subcode = 7015,
                       .end_message = "Graceful"};
  dt_buf_t b = {0};
  dt_cdr_format(&c, &b);
  DT_ASSERT_EQ_STR(b.data, GOLDEN_FULL);
  dt_buf_free(&b);
  dt_cdr_record_t z = {.call_id = "z", .direction = "incoming", .outcome = "unknown"};
  dt_cdr_format(&z, &b);
  DT_ASSERT_EQ_STR(b.data, GOLDEN_EMPTY);
  dt_buf_free(&b);
  const char *tags = "{\"prescription\":\"123456\",\"attempts\":2}"; /* call:tag's object, as it is */
  z.tags = tags;
  z.tags_len = strlen(tags);
  dt_cdr_format(&z, &b);
  DT_ASSERT_CONTAINS(b.data, ",\"tags\":{\"prescription\":\"123456\",\"attempts\":2}}");
  dt_buf_free(&b);
}

DT_TEST_MAIN()
