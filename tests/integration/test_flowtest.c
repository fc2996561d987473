/*
 * Integration tests for `dialtone test` (src/testkit.c, src/testkit_api.c, src/testkit.lua): the flow tests of
 * tests/flows and of every example pass (exit 0), in-process through dt_test_run_ex() and,
 * once src/main.c wires the command in, through the real binary ($DT_BINARY test …); a
 * deliberately failing fixture (tests/flowtest_fixtures/failing_test.lua) is reported with
 * the expectation, its file:line and the call's timeline (exit 1); files that do not load,
 * waits that time out and usage errors are reported with the documented exit codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dialtone/common.h"
#include "testkit.h"
#include "harness/dt_test.h"
#include "harness/command.h"

/* A path under the source tree (rotating static buffers). */
static const char *src(const char *rel) {
  static char bufs[8][4096];
  static int n;
  char *b = bufs[n++ % 8];
  const char *s = getenv("DT_SOURCE_DIR");
  snprintf(b, 4096, "%.3000s/%.1000s", s ? s : ".", rel);
  return b;
}

/* `test ARGS…` in-process, argv[0] being the command name as src/main.c passes it. */
static result_t run_inproc(const char *const *args) { return run_command_inproc(dt_test_run_ex, "test", args); }

/* `$DT_BINARY test ARGS…` with stdout and stderr captured. */
static result_t run_binary(const char *const *args) { return run_command_binary("test", args); }

/* True once src/main.c dispatches `test` to dt_test_main (the lead wires it in). */
static int binary_has_test(void) {
  if (getenv("DT_SOURCE_DIR") == NULL || getenv("DT_BINARY") == NULL) return 0;
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(src("src/main.c"), 1 << 20, &text, &len) != 0) return 0;
  int wired = strstr(text, "dt_test_main") != NULL;
  free(text);
  return wired;
}

/* The closing line must be exactly "N passed, M failed"; returns N (or -1), sets *failed. */
static int summary(const char *out, int *failed) {
  if (out == NULL) return -1;
  size_t n = strlen(out);
  if (n < 2 || out[n - 1] != '\n') return -1;
  const char *last = out + n - 1;
  while (last > out && last[-1] != '\n') last--;
  int p = -1, f = -1;
  char tail[8] = "";
  if (sscanf(last, "%d passed, %d failed%7s", &p, &f, tail) != 2) return -1;
  *failed = f;
  return p;
}

static int count(const char *hay, const char *needle) {
  int c = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) c++;
  return c;
}

static const char *const EXAMPLES[] = {"voicemail", "agent_transfer", "meeting_announce", "reminder", "escalate",
                                       "incident_announcer", "hold_queue", "compliance_recorder"};

/* Every example has its flow and its test, and its test ran and passed. */
static int examples_all_ran(const char *out) {
  for (size_t i = 0; i < DT_ARRAY_SIZE(EXAMPLES); i++) {
    char flow[256], name[256];
    snprintf(flow, sizeof flow, "examples/%s/%s.lua", EXAMPLES[i], EXAMPLES[i]);
    struct stat st;
    if (stat(src(flow), &st) != 0) return 0;
    snprintf(name, sizeof name, "%s/%s_test.lua: ", EXAMPLES[i], EXAMPLES[i]);
    if (strstr(out, name) == NULL) return 0;
  }
  return 1;
}

DT_TEST(flow_tests_of_main_pass) {
  result_t r = run_inproc((const char *[]){"--dir", src("tests/flows"), NULL});
  int failed = -1, passed = summary(r.out, &failed);
  DT_ASSERT_MSG(r.rc == 0, "rc %d, output:\n%s%s", r.rc, r.out, r.err);
  DT_ASSERT(passed >= 10);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(count(r.out, "ok   "), passed);
  DT_ASSERT_CONTAINS(r.out, "main_test.lua: type-ahead");
  DT_ASSERT_EQ_STR(r.err, "");
  result_free(&r);
}

DT_TEST(example_tests_pass_in_both_dialects) {
  const char *dialects[] = {"v1.0", "beta"};
  for (int d = 0; d < 2; d++) {
    result_t r = run_inproc((const char *[]){"--dialect", dialects[d], src("examples"), NULL});
    int failed = -1, passed = summary(r.out, &failed);
    DT_ASSERT_MSG(r.rc == 0, "%s: rc %d, output:\n%s%s", dialects[d], r.rc, r.out, r.err);
    DT_ASSERT(passed >= 15);
    DT_ASSERT_EQ_INT(failed, 0);
    DT_ASSERT_MSG(examples_all_ran(r.out), "not every example ran:\n%s", r.out);
    /* a test file beside its flow is not a flow: no note about it failing to compile */
    DT_ASSERT(strstr(r.out, "note ") == NULL);
    result_free(&r);
  }
}

DT_TEST(a_failure_shows_the_expectation_its_line_and_the_timeline) {
  const char *fixture = src("tests/flowtest_fixtures/failing_test.lua");
  result_t r = run_inproc((const char *[]){fixture, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  int failed = -1;
  DT_ASSERT_EQ_INT(summary(r.out, &failed), 1);
  DT_ASSERT_EQ_INT(failed, 2);
  char want[8192];
  snprintf(want, sizeof want, "ok   %s: passes\n", fixture);
  DT_ASSERT_CONTAINS(r.out, want);
  snprintf(want, sizeof want, "FAIL %s: expects the wrong prompt\n  %s:19: expected prompt 'goodbye', but the next prompt "
                              "was 'enter_digits'\n  timeline of call ",
           fixture, fixture);
  DT_ASSERT_CONTAINS(r.out, want);
  /* the timeline: what was played, pressed and requested, in order, with simulated times */
  const char *tl = strstr(r.out, want);
  DT_ASSERT(tl != NULL);
  const char *lines[] = {"0.000 s  incoming           from phone:+15550100",
                         "0.000 s  request            POST answer -> 202",
                         "0.200 s  prompt             welcome (",
                         "---------- the expectation looked from here on",
                         "0.200 s  tone               3",
                         "request            POST cancelMediaProcessing -> 200",
                         "prompt             enter_digits ("};
  const char *at = tl;
  for (size_t i = 0; i < DT_ARRAY_SIZE(lines); i++) {
    const char *p = strstr(at, lines[i]);
    DT_ASSERT_MSG(p != NULL, "timeline line %zu (\"%s\") missing or out of order in:\n%s", i, lines[i], tl);
    at = p;
  }
  /* a Lua error in the test: its file:line and message */
  snprintf(want, sizeof want, "FAIL %s: calls a method that does not exist\n  error: %s:24: attempt to call a nil value "
                              "(method 'expect_promt')",
           fixture, fixture);
  DT_ASSERT_CONTAINS(r.out, want);
  result_free(&r);
}

/* dialtone.http in flow tests: a request no t:http_stub answers fails the test, and the
   message names the method and the URL (tests/flows/http_test.lua shows stubs that answer). */
DT_TEST(an_unanswered_http_request_fails_the_test_naming_it) {
  const char *fixture = src("tests/flowtest_fixtures/http_unanswered_test.lua");
  result_t r = run_inproc((const char *[]){fixture, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  int failed = -1;
  DT_ASSERT_EQ_INT(summary(r.out, &failed), 0);
  DT_ASSERT_EQ_INT(failed, 1);
  char want[4096];
  snprintf(want, sizeof want, "FAIL %s: the lookup is not stubbed\n  error: the flow sent an HTTP request no "
                              "t:http_stub answers: GET https://pharmacy.example/api/rx/123456?lang=en\n",
           fixture);
  DT_ASSERT_CONTAINS(r.out, want);
  result_free(&r);
}

static char tmpdir[64];

static const char *tmpfile_with(const char *name, const char *text) {
  static char bufs[4][256];
  static int n;
  char *p = bufs[n++ % 4];
  snprintf(p, 256, "%s/%s", tmpdir, name);
  FILE *f = fopen(p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return p;
}

DT_TEST(files_that_do_not_load_and_waits_that_time_out) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dt_flowtest_XXXXXX");
  DT_ASSERT(mkdtemp(tmpdir) != NULL);
  char flows[128];
  snprintf(flows, sizeof flows, "%s/flows", tmpdir);
  mkdir(flows, 0755);
  /* a flow that never plays anything (its sleeps are instant at time scale 0, so it loops) */
  tmpfile_with("flows/main.lua", "return function(call) call:answer() while true do call:sleep(20) end end\n");
  const char *syntax = tmpfile_with("syntax_test.lua", "test('x', function(t)\n  local = 1\nend)\n");
  const char *empty = tmpfile_with("empty_test.lua", "local test = require 'dialtone.test'\n");
  const char *slow = tmpfile_with("slow_test.lua",
                                  "local test = require 'dialtone.test'\n"
                                  "test.options{flows = 'flows'}\n"
                                  "test('waits for a prompt that never comes', function(t)\n"
                                  "  local call = t:call{}\n"
                                  "  call:expect_prompt('welcome', {timeout = 1})\n"
                                  "end)\n");
  result_t r = run_inproc((const char *[]){syntax, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "syntax_test.lua:2:");
  DT_ASSERT_CONTAINS(r.out, "0 passed, 1 failed\n");
  result_free(&r);
  r = run_inproc((const char *[]){empty, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "no tests in the file");
  result_free(&r);
  r = run_inproc((const char *[]){slow, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "slow_test.lua:5: expected prompt 'welcome', but nothing came within 1 s (real time)");
  DT_ASSERT_CONTAINS(r.out, "request            POST answer -> 202");
  DT_ASSERT_CONTAINS(r.out, "0 passed, 1 failed\n");
  result_free(&r);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST(usage_errors_exit_2) {
  result_t r = run_inproc((const char *[]){"/nonexistent/x_test.lua", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "/nonexistent/x_test.lua: No such file or directory");
  DT_ASSERT_EQ_STR(r.out, "");
  result_free(&r);
  r = run_inproc((const char *[]){"--bogus", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown option '--bogus'");
  result_free(&r);
  r = run_inproc((const char *[]){"--dialect", "v2", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "--dialect must be v1.0 or beta");
  result_free(&r);
  r = run_inproc((const char *[]){"--timeout", "soon", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "--timeout must be a number of seconds from 0 to 3600 (got 'soon')");
  result_free(&r);
  r = run_inproc((const char *[]){"--dir", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "dialtone test: --dir needs a value");
  DT_ASSERT_CONTAINS(r.err, "usage: dialtone test");
  result_free(&r);
  r = run_inproc((const char *[]){"--dir=/nonexistent/dir", NULL}); /* src/args.h: both value forms */
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "/nonexistent/dir: no such directory");
  result_free(&r);
  r = run_inproc((const char *[]){"--dir", "/nonexistent/dir", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "/nonexistent/dir: no such directory");
  result_free(&r);
  r = run_inproc((const char *[]){"--help", NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "usage: dialtone test");
  result_free(&r);
  /* the command's own entry point: the same, on stdout/stderr */
  char *argv[] = {"test", "--dialect", "v2", NULL};
  DT_ASSERT_EQ_INT(dt_test_main(3, argv), 2);
}

DT_TEST(filter_runs_only_matching_tests) {
  const char *fixture = src("tests/flowtest_fixtures/failing_test.lua");
  result_t r = run_inproc((const char *[]){"--filter", "passes", fixture, NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT(strstr(r.out, "FAIL") == NULL);
  DT_ASSERT_CONTAINS(r.out, "1 passed, 0 failed\n");
  result_free(&r);
}

DT_TEST(binary_runs_flow_tests_when_wired) {
  if (!binary_has_test()) {
    printf("  (skipped: src/main.c does not dispatch `test` to dt_test_main yet)\n");
    return;
  }
  result_t r = run_binary((const char *[]){src("tests/flows"), src("examples"), NULL});
  int failed = -1, passed = summary(r.out, &failed);
  DT_ASSERT_MSG(r.rc == 0, "rc %d, output:\n%s%s", r.rc, r.out, r.err);
  DT_ASSERT(passed >= 25);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT(examples_all_ran(r.out));
  result_free(&r);
  const char *fixture = src("tests/flowtest_fixtures/failing_test.lua");
  r = run_binary((const char *[]){fixture, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  char want[8192];
  snprintf(want, sizeof want, "%s:19: expected prompt 'goodbye', but the next prompt was 'enter_digits'", fixture);
  DT_ASSERT_CONTAINS(r.out, want);
  DT_ASSERT_CONTAINS(r.out, "prompt             welcome (");
  DT_ASSERT_CONTAINS(r.out, "1 passed, 2 failed\n");
  result_free(&r);
  r = run_binary((const char *[]){"/nonexistent/x_test.lua", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  result_free(&r);
}

DT_TEST_MAIN()
