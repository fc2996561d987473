/*
 * Integration tests for `dialtone check` (src/check.c, src/check.lua, lua/api_schema.lua).
 *
 * Every fixture in tests/check_fixtures/ holds one kind of problem; the tests assert the
 * exact `file:line: message` lines, the summary line and the exit code, in-process through
 * dt_check_run_ex()/dt_check_main() and, once src/main.c wires the command in, through the
 * real binary ($DT_BINARY check …). Edge cases (long names, >256 constants, a local _ENV,
 * endless loops, memory bombs) are written to a temporary directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "dialtone/common.h"
#include "harness/dt_test.h"
#include "harness/command.h"

static const char *fixtures(void) {
  static char dir[4096];
  if (dir[0] == '\0') {
    const char *src = getenv("DT_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/tests/check_fixtures", src ? src : ".");
  }
  return dir;
}

/* A fixture's absolute path (static buffer rotation so two can be used in one call). */
static const char *fx(const char *name) {
  static char bufs[4][4096];
  static int n;
  char *b = bufs[n++ % 4];
  snprintf(b, 4096, "%.3000s/%.1000s", fixtures(), name);
  return b;
}

/* Runs `check ARGS…` in-process, argv[0] being the subcommand as src/main.c passes it. */
static result_t run_inproc(const char *const *args) { return run_command_inproc(dt_check_run_ex, "check", args); }

/* Runs `$DT_BINARY check ARGS…` with stdout and stderr captured in temporary files. */
static result_t run_binary(const char *const *args) { return run_command_binary("check", args); }

/* True once src/main.c dispatches `check` to dt_check_main (the lead wires it in). */
static int binary_has_check(void) {
  const char *src = getenv("DT_SOURCE_DIR");
  if (src == NULL || getenv("DT_BINARY") == NULL) return 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/src/main.c", src);
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, 1 << 20, &text, &len) != 0) return 0;
  int wired = strstr(text, "dt_check_main") != NULL;
  free(text);
  return wired;
}

/* The report expected for one fixture: its problem lines, then the summary. */
static char *report1(const char *fixture, const char *const *lines, int problems) {
  dt_buf_t b = {0};
  for (int i = 0; lines[i] != NULL; i++) dt_buf_appendf(&b, "%s:%s\n", fx(fixture), lines[i]);
  dt_buf_appendf(&b, "checked 1 flows, %d problems\n", problems);
  return b.data;
}

#define PROMPTS_DIR(name) (fx("prompts/" name ".wav"))

/* Asserts the exact in-process report and exit code for one fixture, and the same from
 * the binary when it has the command. */
#define EXPECT_FIXTURE(fixture, rc_want, nproblems, ...)                                    \
  do {                                                                                      \
    const char *lines_[] = {__VA_ARGS__, NULL};                                             \
    char *want_ = report1(fixture, lines_, nproblems);                                      \
    result_t r_ = run_inproc((const char *[]){fx(fixture), NULL});                          \
    int ok_rc_ = r_.rc == (rc_want), ok_out_ = strcmp(r_.out, want_) == 0;                  \
    if (!ok_rc_ || !ok_out_)                                                                \
      fprintf(stderr, "  got rc %d:\n%s  want rc %d:\n%s", r_.rc, r_.out, (rc_want), want_); \
    result_free(&r_);                                                                       \
    if (ok_rc_ && ok_out_ && binary_has_check()) {                                          \
      r_ = run_binary((const char *[]){fx(fixture), NULL});                                 \
      ok_rc_ = r_.rc == (rc_want);                                                          \
      ok_out_ = r_.out != NULL && strcmp(r_.out, want_) == 0;                               \
      if (!ok_rc_ || !ok_out_)                                                              \
        fprintf(stderr, "  binary rc %d:\n%s%s", r_.rc, r_.out ? r_.out : "",               \
                r_.err ? r_.err : "");                                                      \
      result_free(&r_);                                                                     \
    }                                                                                       \
    free(want_);                                                                            \
    DT_ASSERT(ok_rc_);                                                                      \
    DT_ASSERT(ok_out_);                                                                     \
  } while (0)

DT_TEST(clean_flow_passes) {
  const char *none[] = {NULL};
  char *want = report1("clean.lua", none, 0);
  result_t r = run_inproc((const char *[]){fx("clean.lua"), NULL});
  DT_ASSERT_EQ_STR(r.out, want);
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_EQ_STR(r.err, "");
  result_free(&r);
  free(want);
}

DT_TEST(syntax_error_has_line_and_lua_message) {
  EXPECT_FIXTURE("syntax_error.lua", 1, 1,
                 "4: syntax error: ')' expected (to close '(' at line 3) near 'call'");
}

DT_TEST(undefined_globals_read_and_written) {
  EXPECT_FIXTURE("undefined_global.lua", 1, 4,
                 "3: assignment to undefined global 'counter'",
                 "4: undefined global 'greeting'",
                 "5: undefined global 'io'",
                 "6: os.execute is not available in flows");
}

DT_TEST(unknown_primitive_on_the_flows_call_parameter) {
  EXPECT_FIXTURE("unknown_primitive.lua", 1, 1,
                 "4: unknown primitive 'c:plya' (did you mean 'play'?)");
}

DT_TEST(unknown_options) {
  EXPECT_FIXTURE("unknown_option.lua", 1, 3,
                 "3: unknown option 'mx' for call:gather (did you mean 'max'?)",
                 "4: unknown option 'max_duraton' for call:record (did you mean 'max_duration'?)",
                 "5: unknown option 'target' for dialtone.dial (did you mean 'targets'?)");
}

DT_TEST(tags_time_and_settings_are_known) { /* issue 13 points 2, 5, 7 */
  EXPECT_FIXTURE("time_tags/time_tags.lua", 1, 1,
                 "5: unknown option 'mon_fry' for dialtone.hours (did you mean 'mon_fri'?)");
}

DT_TEST(speech_methods_and_their_options) {
  EXPECT_FIXTURE("speech/speech.lua", 1, 3,
                 "6: unknown option 'speed' for call:say",
                 "7: unknown option 'lng' for call:say_digits (did you mean 'lang'?)",
                 "8: unknown option 'barge' for call:say_money");
}

DT_TEST(missing_prompts) {
  char l4[4200], l5[4200], l6[4200];
  snprintf(l4, sizeof l4, "4: prompt 'welcom' has no file %s", PROMPTS_DIR("welcom"));
  snprintf(l5, sizeof l5, "5: prompt 'main_menuu' has no file %s", PROMPTS_DIR("main_menuu"));
  snprintf(l6, sizeof l6, "6: prompt 'nope' has no file %s", PROMPTS_DIR("nope"));
  EXPECT_FIXTURE("missing_prompt.lua", 1, 3, l4, l5, l6);
}

DT_TEST(menus_without_invalid_or_noinput) {
  EXPECT_FIXTURE("menu_without_paths.lua", 1, 3,
                 "3: call:menu has no invalid= prompt for a wrong key",
                 "3: call:menu has no noinput= prompt for when no key is pressed",
                 "4: call:menu has no noinput= prompt for when no key is pressed");
}

DT_TEST(flow_that_does_not_return_a_function) {
  EXPECT_FIXTURE("no_function.lua", 1, 1,
                 "6: flow does not return a function (it returns a table value)");
}

DT_TEST(directory_checks_every_flow_but_not_prompts) {
  result_t r = run_inproc((const char *[]){fixtures(), NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "checked 8 flows, 16 problems\n");
  /* Sorted by file name, then line. */
  const char *menu = strstr(r.out, "menu_without_paths.lua:3:");
  const char *prim = strstr(r.out, "unknown_primitive.lua:4:");
  DT_ASSERT(menu != NULL && prim != NULL && menu < prim);
  DT_ASSERT(strstr(r.out, "clean.lua") == NULL);
  DT_ASSERT(strstr(r.out, ".wav:") == NULL);
  result_free(&r);
}

DT_TEST(several_files_and_a_clean_one) {
  result_t r = run_inproc((const char *[]){fx("clean.lua"), fx("no_function.lua"), NULL});
  char want[8192];
  snprintf(want, sizeof want,
           "%s:6: flow does not return a function (it returns a table value)\n"
           "checked 2 flows, 1 problems\n",
           fx("no_function.lua"));
  DT_ASSERT_EQ_STR(r.out, want);
  DT_ASSERT_EQ_INT(r.rc, 1);
  result_free(&r);
}

DT_TEST(missing_path_is_a_usage_error) {
  result_t r = run_inproc((const char *[]){fx("clean.lua"), "/nonexistent/flow.lua", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_EQ_STR(r.out, "");
  DT_ASSERT_EQ_STR(r.err, "dialtone check: /nonexistent/flow.lua: No such file or directory\n");
  result_free(&r);
}

DT_TEST(bad_options_are_usage_errors) {
  result_t r = run_inproc((const char *[]){"--frobnicate", fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown option --frobnicate");
  DT_ASSERT_CONTAINS(r.err, "usage: dialtone check");
  result_free(&r);
  r = run_inproc((const char *[]){"--format", "xml", fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "--format must be text or json");
  result_free(&r);
  r = run_inproc((const char *[]){fx("clean.lua"), "--format", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "--format needs a value");
  result_free(&r);
  r = run_inproc((const char *[]){"--prompts", "/nonexistent", fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  result_free(&r);
  r = run_inproc((const char *[]){"--help", NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "usage: dialtone check");
  result_free(&r);
}

DT_TEST(json_format) {
  result_t r = run_inproc(
      (const char *[]){"--format=json", fx("unknown_option.lua"), fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  cJSON *doc = cJSON_Parse(r.out);
  DT_ASSERT(doc != NULL);
  DT_ASSERT(cJSON_IsArray(doc));
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(doc), 3);
  cJSON *first = cJSON_GetArrayItem(doc, 0);
  DT_ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "file")),
                   fx("unknown_option.lua"));
  DT_ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "line")), 3);
  DT_ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "check")), "option");
  DT_ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "message")),
                   "unknown option 'mx' for call:gather (did you mean 'max'?)");
  cJSON_Delete(doc);
  result_free(&r);
  r = run_inproc((const char *[]){"--format", "json", fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_EQ_STR(r.out, "[]\n");
  result_free(&r);
}

DT_TEST(prompts_option_overrides_the_prompts_dir) {
  char dir[] = "/tmp/dt_check_prompts_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  result_t r = run_inproc((const char *[]){"--prompts", dir, fx("clean.lua"), NULL});
  rmdir(dir);
  DT_ASSERT_EQ_INT(r.rc, 1);
  char want[4200];
  snprintf(want, sizeof want, "%s:3: prompt 'welcome' has no file %s/welcome.wav\n",
           fx("clean.lua"), dir);
  DT_ASSERT(strncmp(r.out, want, strlen(want)) == 0);
  DT_ASSERT_CONTAINS(r.out, "checked 1 flows, 8 problems\n");
  result_free(&r);
}

DT_TEST(relative_paths_find_prompts_next_to_the_flow) {
  char cwd[4096];
  DT_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
  DT_ASSERT_EQ_INT(chdir(fixtures()), 0);
  result_t r = run_inproc((const char *[]){"missing_prompt.lua", "clean.lua", NULL});
  DT_ASSERT_EQ_INT(chdir(cwd), 0);
  DT_ASSERT_EQ_STR(r.out,
                   "missing_prompt.lua:4: prompt 'welcom' has no file prompts/welcom.wav\n"
                   "missing_prompt.lua:5: prompt 'main_menuu' has no file prompts/main_menuu.wav\n"
                   "missing_prompt.lua:6: prompt 'nope' has no file prompts/nope.wav\n"
                   "checked 2 flows, 3 problems\n");
  DT_ASSERT_EQ_INT(r.rc, 1);
  result_free(&r);
}

DT_TEST(dt_check_main_writes_to_stdout) {
  char path[] = "/tmp/dt_check_stdout_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  unlink(path);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  char *argv[] = {"check", (char *)fx("no_function.lua"), NULL};
  int rc = dt_check_main(2, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  char *text = slurp_fd(fd);
  close(fd);
  DT_ASSERT_EQ_INT(rc, 1);
  DT_ASSERT_CONTAINS(text, "no_function.lua:6: flow does not return a function");
  DT_ASSERT_CONTAINS(text, "checked 1 flows, 1 problems\n");
  free(text);
}

/* ---- edge cases written to a temporary directory ---------------------------------------- */

static char tmpdir[64];

static const char *tmpfile_with(const char *name, const char *text) {
  static char path[4][256];
  static int n;
  if (tmpdir[0] == '\0') {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dt_check_edge_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) return NULL;
  }
  char *p = path[n++ % 4];
  snprintf(p, 256, "%s/%s", tmpdir, name);
  if (dt_write_file_atomic(p, text, strlen(text)) != 0) return NULL;
  return p;
}

static void tmpdir_remove(void) {
  if (tmpdir[0] == '\0') return;
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(tmpdir);
  tmpdir[0] = '\0';
}

/* Checks one generated flow and compares the report without the summary line. */
static int check_text(const char *name, const char *src, const char *want_lines, int want_rc) {
  const char *path = tmpfile_with(name, src);
  if (path == NULL) return 0;
  result_t r = run_inproc((const char *[]){path, NULL});
  dt_buf_t want = {0};
  const char *p = want_lines;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
    dt_buf_appendf(&want, "%s:%.*s", path, (int)n, p);
    p += n;
  }
  int problems = 0;
  for (const char *q = want_lines; *q; q++) problems += *q == '\n';
  dt_buf_appendf(&want, "checked 1 flows, %d problems\n", problems);
  int ok = r.rc == want_rc && strcmp(r.out, want.data) == 0;
  if (!ok) fprintf(stderr, "  %s: got rc %d:\n%s  want rc %d:\n%s", name, r.rc, r.out, want_rc, want.data);
  result_free(&r);
  dt_buf_free(&want);
  return ok;
}

DT_TEST(globals_beyond_short_strings_and_256_constants) {
  /* Names longer than 40 bytes and keys past constant 255 are not GETTABUP operands; the
   * compiler loads _ENV into a register and uses GETTABLE/SETTABLE instead. */
  char name[50];
  memset(name, 'a', 45);
  name[45] = '\0';
  char src[512];
  snprintf(src, sizeof src, "return function(call)\n  %s = 1\n  print(%s_b)\nend\n", name, name);
  char want[512];
  snprintf(want, sizeof want, "2: assignment to undefined global '%s'\n3: undefined global '%s_b'\n",
           name, name);
  DT_ASSERT(check_text("long.lua", src, want, 1));

  dt_buf_t many = {0};
  dt_buf_appendf(&many, "return function(call)\n  local t = {");
  for (int i = 0; i < 300; i++) dt_buf_appendf(&many, "\"k%d\", ", i);
  dt_buf_appendf(&many, "}\n  after_many(t)\n  zz = 2\nend\n");
  int ok = check_text("many.lua", many.data,
                      "3: undefined global 'after_many'\n4: assignment to undefined global 'zz'\n", 1);
  dt_buf_free(&many);
  DT_ASSERT(ok);
  tmpdir_remove();
}

DT_TEST(meetings_options) {
  /* dialtone.meetings.create/get: the options of lua/api_schema.lua, one level deeper than dial */
  int ok = check_text("meet.lua",
                      "return function(call)\n"
                      "  local m = dialtone.meetings.create{organiser = \"o\", subject = \"s\"}\n"
                      "  dialtone.meetings.get{join_url = m.join_url, organizer = \"o\", url = 1}\n"
                      "  dialtone.meetings.create{organizer = \"o\", start_time = \"t\", end_time = \"t\", attendees = {}}\n"
                      "end\n",
                      "2: unknown option 'organiser' for dialtone.meetings.create (did you mean 'organizer'?)\n"
                      "3: unknown option 'url' for dialtone.meetings.get\n",
                      1);
  DT_ASSERT(ok);
  tmpdir_remove();
}

DT_TEST(http_options) {
  /* dialtone.http: every option of lua/api_schema.lua is known, a misspelt one is reported */
  int ok = check_text("lookup.lua",
                      "return function(call)\n"
                      "  local r = dialtone.http{url = \"http://127.0.0.1/rx\", method = \"POST\", headers = {},\n"
                      "                          query = {}, json = {}, timeout = 2, raise_for_status = true}\n"
                      "  return dialtone.http{url = \"http://127.0.0.1/rx\", body = \"x\", timout = 3}\n"
                      "end\n",
                      "4: unknown option 'timout' for dialtone.http (did you mean 'timeout'?)\n", 1);
  DT_ASSERT(ok);
  tmpdir_remove();
}

DT_TEST(global_lines_survive_absolute_line_info) {
  /* A jump of more than 127 lines and more than 128 instructions without an absolute line
   * both force abslineinfo entries in the bytecode. */
  dt_buf_t src = {0};
  dt_buf_appendf(&src, "return function(call)\n  local x = 0\n");
  for (int i = 0; i < 200; i++) dt_buf_appendf(&src, "\n");
  dt_buf_appendf(&src, "  x = x + far_away\n"); /* line 203 */
  for (int i = 0; i < 150; i++) dt_buf_appendf(&src, "  x = x + %d\n", i + 1000);
  dt_buf_appendf(&src, "  return x + after_many_instructions\nend\n"); /* line 354 */
  int ok = check_text("lines.lua", src.data,
                      "203: undefined global 'far_away'\n"
                      "354: undefined global 'after_many_instructions'\n", 1);
  dt_buf_free(&src);
  DT_ASSERT(ok);
  tmpdir_remove();
}

DT_TEST(local_env_and_nested_functions) {
  /* A `local _ENV` is not the global environment: nothing through it is flagged. */
  DT_ASSERT(check_text("localenv.lua",
                       "local _ENV = {print = print}\n"
                       "local function f() return x end\n"
                       "return function(call) y = f() end\n",
                       "", 0));
  /* Upvalue chains through nested closures still lead back to the chunk's _ENV. */
  DT_ASSERT(check_text("nested.lua",
                       "return function(call)\n"
                       "  local function a()\n"
                       "    local function b()\n"
                       "      return function() return deep_global end\n"
                       "    end\n"
                       "    return b\n"
                       "  end\n"
                       "  return a\n"
                       "end\n",
                       "4: undefined global 'deep_global'\n", 1));
  DT_ASSERT(check_text("typo.lua", "return function(call) return tostrin(1) end\n",
                       "1: undefined global 'tostrin' (did you mean 'tostring'?)\n", 1));
  tmpdir_remove();
}

DT_TEST(top_level_code_runs_in_a_bounded_sandbox) {
  DT_ASSERT(check_text("empty.lua", "", "1: flow does not return a function (it returns nothing)\n", 1));
  /* The implicit final return sits on the line of the last token. */
  DT_ASSERT(check_text("nothing.lua", "local x = 1\nlocal y = 2\n\n\n",
                       "2: flow does not return a function (it returns nothing)\n", 1));
  DT_ASSERT(check_text("ret42.lua", "local x = 1\nreturn 42\n",
                       "2: flow does not return a function (it returns a number value)\n", 1));
  DT_ASSERT(check_text("boom.lua", "local x = 1\nerror('boom')\nreturn function() end\n",
                       "2: error at load time: boom\n", 1));
  DT_ASSERT(check_text("loop.lua", "local n = 0\nwhile true do\n  n = n + 1\nend\nreturn function() end\n",
                       "3: error at load time: top-level code ran more than 1000000 instructions\n", 1));
  DT_ASSERT(check_text("mem.lua", "local s = string.rep('x', 1 << 30)\nreturn function() end\n",
                       "1: error at load time: not enough memory\n", 1));
  /* An undefined global called at top level is reported once, as an undefined global. */
  DT_ASSERT(check_text("topcall.lua", "setup()\nreturn function() end\n",
                       "1: undefined global 'setup'\n", 1));
  /* The flow cannot reach the checker's own state: breaking the string metatable there
   * does not stop the rules from running. */
  DT_ASSERT(check_text("meta.lua", "getmetatable('').__index = nil\nreturn function(call) call:plya() end\n",
                       "2: unknown primitive 'call:plya' (did you mean 'play'?)\n", 1));
  /* Top-level use of the engine's module works against a stand-in. */
  DT_ASSERT(check_text("require.lua",
                       "local menu = require('menu')\nlocal x = dialtone.something(1)\n"
                       "return function(call) return menu, x end\n",
                       "", 0));
  tmpdir_remove();
}

DT_TEST(tokenizer_handles_comments_strings_and_escapes) {
  const char *path = tmpfile_with("welcome.lua", "return function() end\n");
  DT_ASSERT(path != NULL);
  char prompts[300];
  snprintf(prompts, sizeof prompts, "%s/prompts", tmpdir);
  DT_ASSERT_EQ_INT(mkdir(prompts, 0755), 0);
  char wav[320];
  snprintf(wav, sizeof wav, "%s/welcome.wav", prompts);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(wav, "RIFF", 4), 0);
  char want[1024];
  snprintf(want, sizeof want,
           "9: prompt 'nopex' has no file %s/prompts/nopex.wav\n"
           "11: prompt '../etc/passwd' is outside the prompts directory\n"
           "12: unknown option 'maxx' for call:gather (did you mean 'max'?)\n"
           "13: prompt 'x1' has no file %s/prompts/x1.wav\n",
           tmpdir, tmpdir);
  int ok = check_text("tokens.lua",
                      "return function(call)\n"
                      "  call:play(\"wel\\x63ome\")\n"        /* 2: escape decodes to welcome */
                      "  -- call:plya(\"x\")\n"               /* 3: comment */
                      "  --[==[ call:plya()\n ]==]\n"         /* 4-5: long comment */
                      "  local s = [[\ncall:plya()\n]]\n"     /* 6-8: long string */
                      "  call:play(\"nope\\z\n    x\")\n"     /* 9-10: \\z joins lines */
                      "  call:play('../etc/passwd')\n"        /* 11 */
                      "  call:gather{[\"prompt\"] = 'welcome', [1] = 2, [\"maxx\"] = 1}\n" /* 12 */
                      "  call:play{'welcome', 'x1', 'https://x/y.wav'}\n"  /* 13 */
                      "  call : hangup ( )\n"
                      "end\n",
                      want, 1);
  unlink(wav);
  rmdir(prompts);
  tmpdir_remove();
  DT_ASSERT(ok);
}

DT_TEST(binary_runs_check_when_wired) {
  if (!binary_has_check()) {
    printf("  (skipped: src/main.c does not dispatch `check` to dt_check_main yet)\n");
    return;
  }
  result_t r = run_binary((const char *[]){fx("clean.lua"), NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_EQ_STR(r.out, "checked 1 flows, 0 problems\n");
  result_free(&r);
  r = run_binary((const char *[]){fixtures(), NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "checked 8 flows, 16 problems\n");
  result_free(&r);
  r = run_binary((const char *[]){"/nonexistent/dir", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "/nonexistent/dir: No such file or directory");
  result_free(&r);
}

/* A directory scan skips flow tests (NAME_test.lua): they are run by `dialtone test`, use
   globals no flow may (test, ...), and are not flows the engine loads. */
DT_TEST(directory_scan_skips_flow_tests) {
  char dir[] = "/tmp/dt_check_skip_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char flow[256], test[256];
  snprintf(flow, sizeof flow, "%s/hello.lua", dir);
  snprintf(test, sizeof test, "%s/hello_test.lua", dir);
  FILE *f = fopen(flow, "w");
  DT_ASSERT(f != NULL);
  fputs("return function(call)\n  call:answer()\n  call:hangup()\nend\n", f);
  fclose(f);
  f = fopen(test, "w");
  DT_ASSERT(f != NULL);
  fputs("test('x', function(t) undefined_thing() end)\n", f);
  fclose(f);
  const char *args[] = {dir, NULL};
  result_t r = run_inproc(args);
  unlink(flow);
  unlink(test);
  rmdir(dir);
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "checked 1 flows, 0 problems");
  result_free(&r);
  /* named explicitly, a test file is still checked (as a flow, so its globals are problems) */
}

DT_TEST_MAIN()
