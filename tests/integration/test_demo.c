/*
 * test_demo.c — `dialtone demo`: run in-process (dt_demo_run) with its output captured,
 * it walks every branch of flows/main.lua and prints each call's transcript: the prompts
 * with their transcript text, the keys, the voicemail saved as a real WAV file, the
 * transfers (busy, then answered) and how each call ended; then a summary and exit 0. A
 * flow that fails makes it exit 1 with the reason; bad options exit 2. The callers come
 * from the data file beside the flow (main.demo.json): a changed copy changes the calls,
 * a malformed one exits 2 naming the problem. The binary runs it too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "dialtone/common.h"
#include "demo.h"
#include "dialtone/wav.h"

static char src_flows[600];

static const char *flows(void) {
  const char *src = getenv("DT_SOURCE_DIR");
  snprintf(src_flows, sizeof src_flows, "%s/flows", src ? src : ".");
  return src_flows;
}

typedef struct {
  int rc;
  char *out, *err;
  size_t outlen, errlen;
} run_t;

static run_t run_demo(const char *const *args) {
  run_t r = {0};
  char *argv[16];
  int argc = 0;
  argv[argc++] = "demo";
  for (size_t i = 0; args[i] && argc < 15; i++) argv[argc++] = (char *)args[i];
  argv[argc] = NULL;
  FILE *out = open_memstream(&r.out, &r.outlen);
  FILE *err = open_memstream(&r.err, &r.errlen);
  r.rc = dt_demo_run(argc, argv, out, err);
  fclose(out);
  fclose(err);
  return r;
}

static void run_free(run_t *r) {
  free(r->out);
  free(r->err);
}

/* Position of needle in hay at or after from, or -1. */
static long find_from(const char *hay, long from, const char *needle) {
  if (hay == NULL || from < 0) return -1;
  const char *p = strstr(hay + from, needle);
  return p ? (long)(p - hay) : -1;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Each needle appears in order, after the previous one. */
static bool in_order(const char *hay, const char *const *needles, const char **missing) {
  long pos = 0;
  for (size_t i = 0; needles[i]; i++) {
    long p = find_from(hay, pos, needles[i]);
    if (p < 0) {
      *missing = needles[i];
      return false;
    }
    pos = p + (long)strlen(needles[i]);
  }
  return true;
}

#define ASSERT_IN_ORDER(hay, ...)                                                       \
  do {                                                                                  \
    const char *need__[] = {__VA_ARGS__, NULL};                                         \
    const char *miss__ = NULL;                                                          \
    if (!in_order((hay), need__, &miss__)) {                                            \
      fprintf(stderr, "%s\n", (hay));                                                   \
      DT_FAIL("\"%s\" missing (or out of order) in the transcript above", miss__);      \
    }                                                                                   \
  } while (0)

DT_TEST(demo_walks_every_branch) {
  char dir[] = "/tmp/dt_demo_rec_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  run_t r = run_demo((const char *[]){"--flows", flows(), "--recordings", dir, NULL});
  if (r.rc != 0) fprintf(stderr, "%s\n%s\n", r.out, r.err);
  DT_ASSERT_EQ_INT(r.rc, 0);
  const char *o = r.out;
  DT_ASSERT(strchr(o, '\033') == NULL); /* not a terminal: no colours */

  /* call 1: a voicemail */
  ASSERT_IN_ORDER(o, "Call 1 of 4", "0:00.0  incoming call from +15551230001", "IVR answers",
                  "plays welcome:", "\"Thank you for calling Contoso Plumbing. This call may be",
                  "plays main_menu:", "\"For our opening hours and to leave a message, press 1.",
                  "caller presses 1", "plays voicemail_intro (then records):",
                  "\"We are open Monday to Friday", "beep", "recording...", "caller speaks for 4.0 s",
                  "caller presses #", "recording finished:", "plays voicemail_saved:",
                  "\"Your message has been saved. We will call you back.\"",
                  "plays goodbye: \"Thank you for calling Contoso Plumbing. Goodbye.\"", "IVR hangs up",
                  "call ended: the IVR hung up", "voicemail saved to ", "=> as scripted (outcome: completed)",
                  "Call 2 of 4");
  /* the voicemail file: in the given directory, a WAV of the length printed */
  char want[64];
  snprintf(want, sizeof want, "voicemail saved to %s/", dir);
  const char *vm = strstr(o, want);
  DT_ASSERT(vm != NULL);
  char path[512];
  double printed = 0;
  DT_ASSERT_EQ_INT(sscanf(vm, "voicemail saved to %511s (%lf s WAV)", path, &printed), 2);
  struct stat st;
  DT_ASSERT(stat(path, &st) == 0 && st.st_size > 44);
  FILE *f = fopen(path, "rb");
  DT_ASSERT(f != NULL);
  char hdr[12];
  size_t n = fread(hdr, 1, sizeof hdr, f);
  fclose(f);
  DT_ASSERT(n == 12 && memcmp(hdr, "RIFF", 4) == 0 && memcmp(hdr + 8, "WAVE", 4) == 0);
  dt_wav_info_t w;
  uint64_t flen = 0;
  DT_ASSERT_EQ_INT(dt_wav_parse_file(path, &w, &flen, NULL, 0), 0);
  double secs = dt_wav_seconds(&w, flen);
  DT_ASSERT(secs > 4.0 && secs < 10.0); /* the caller spoke 4 s */
  DT_ASSERT(printed > secs - 0.06 && printed < secs + 0.06);

  /* call 2: a wrong key, no input, an order number read back */
  long c2 = find_from(o, 0, "Call 2 of 4");
  ASSERT_IN_ORDER(o + c2, "incoming call from +15551230002", "plays main_menu:", "caller presses 9",
                  "plays invalid: \"Sorry, that is not a valid choice.\"", "plays main_menu again",
                  "plays noinput: \"Sorry, we did not hear a choice.\"", "plays main_menu again",
                  "caller presses 3", "plays enter_digits:",
                  "\"Please enter your order number, followed by the pound key.\"",
                  "caller presses 4 2 7 #", "plays you_entered: \"You entered\"", "plays digit_4: \"four\"",
                  "plays digit_2: \"two\"", "plays digit_7: \"seven\"",
                  /* no recording: prompts/order_thanks.txt spoken (issue 13), its text shown */
                  "plays tts-", "\"Thank you. We will text you when your plumber is on the way.\"",
                  "plays main_menu again",
                  "caller hangs up", "call ended: the caller hung up", "=> as scripted (outcome: hangup)",
                  "Call 3 of 4");

  /* call 3: the plumber is busy */
  long c3 = find_from(o, 0, "Call 3 of 4");
  ASSERT_IN_ORDER(o + c3, "incoming call from +15551230003", "caller presses 2", "plays transferring:",
                  "\"Please hold while we connect you to a plumber.\"",
                  "transfers the call to user:contoso-dispatch", "transfer failed: contoso-dispatch is busy",
                  "plays transfer_failed: \"Sorry, all our plumbers are busy right now.\"",
                  "plays main_menu", "call ended: the caller hung up", "=> as scripted (outcome: hangup)",
                  "Call 4 of 4");
  /* call 4: the plumber answers */
  long c4 = find_from(o, 0, "Call 4 of 4");
  ASSERT_IN_ORDER(o + c4, "incoming call from +15551230004", "caller presses 2", "plays transferring:",
                  "transfers the call to user:contoso-dispatch",
                  "transfer completed: contoso-dispatch answered",
                  "call ended: handed over to user:contoso-dispatch", "=> as scripted (outcome: transferred)",
                  "Summary", "calls:       4 placed, 4 as scripted", "prompts:", "keys:        10 pressed",
                  "recordings:  1 saved in", "transfers:   2 (1 completed, 1 failed)");
  DT_ASSERT_EQ_INT(count(o, "=> as scripted"), 4);
  DT_ASSERT_EQ_INT(count(o, "NOT as scripted"), 0);
  run_free(&r);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* Copies flows/NAME into dir. */
static void copy_flow_file(const char *dir, const char *name) {
  char from[800], to[400];
  snprintf(from, sizeof from, "%s/%s", flows(), name);
  snprintf(to, sizeof to, "%s/%s", dir, name);
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(from, 1u << 20, &text, &len) == 0) write_file(to, text);
  free(text);
}

static void copy_callers(const char *dir) { copy_flow_file(dir, "main.demo.json"); }

/* dir gets the shipped flow and its prompts (a link), and callers as its main.demo.json
   (NULL: none). */
static void flow_dir_with_callers(const char *dir, const char *callers) {
  copy_flow_file(dir, "main.lua");
  char link[400], prompts[800];
  snprintf(link, sizeof link, "%s/prompts", dir);
  snprintf(prompts, sizeof prompts, "%s/prompts", flows());
  if (symlink(prompts, link) != 0) perror("symlink");
  if (callers) {
    char p[400];
    snprintf(p, sizeof p, "%s/main.demo.json", dir);
    write_file(p, callers);
  }
}

static void remove_dir(const char *dir) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "  cannot remove %s\n", dir);
}

/* Editing the demo means editing its data: a copy with one caller who presses 3 (not the
   shipped callers' keys) and types order number 12 gets that call, its read-back and its
   own verdict. */
DT_TEST(changed_callers_change_the_calls) {
  char dir[] = "/tmp/dt_demo_data_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  flow_dir_with_callers(dir,
      "{\"calls\": [{\"title\": \"An order number\", \"story\": \"Presses 3, types 12 and #.\",\n"
      "  \"from\": \"+15559990001\",\n"
      "  \"script\": [{\"on\": \"prompt\", \"match\": \"main_menu\", \"after_ms\": 500, \"tones\": \"3\"},\n"
      "             {\"on\": \"prompt\", \"match\": \"enter_digits\", \"after_ms\": 500, \"tones\": \"12#\"},\n"
      "             {\"on\": \"prompt\", \"match\": \"main_menu\", \"after_ms\": 500, \"hangup\": true}],\n"
      "  \"expect\": {\"outcome\": \"hangup\",\n"
      "             \"prompts\": [\"main_menu\", \"enter_digits\", \"you_entered\", \"digit_1\", \"digit_2\"]}},\n"
      " {\"title\": \"A wrong expectation\", \"from\": \"+15559990002\",\n"
      "  \"script\": [{\"on\": \"prompt\", \"match\": \"main_menu\", \"after_ms\": 500, \"hangup\": true}],\n"
      "  \"expect\": {\"outcome\": \"completed\", \"prompts\": [\"main_menu\"]}}]}\n");
  char rec[300];
  snprintf(rec, sizeof rec, "%s/rec", dir);
  run_t r = run_demo((const char *[]){"--flows", dir, "--recordings", rec, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1); /* the second call did not go as its data says */
  ASSERT_IN_ORDER(r.out, "Call 1 of 2: An order number", "Presses 3, types 12 and #.",
                  "incoming call from +15559990001", "caller presses 3", "plays enter_digits:",
                  "caller presses 1", "caller presses 2 #", "plays digit_1: \"one\"", "plays digit_2: \"two\"",
                  "=> as scripted (outcome: hangup)", "Call 2 of 2: A wrong expectation",
                  "incoming call from +15559990002", "caller hangs up",
                  "=> NOT as scripted: the call ended 'hangup', expected 'completed'",
                  "calls:       2 placed, 1 as scripted, 1 not", "keys:        4 pressed");
  DT_ASSERT(strstr(r.out, "+15551230001") == NULL); /* none of the shipped callers */
  DT_ASSERT_CONTAINS(r.err, "1 of 2 calls did not go as scripted");
  run_free(&r);
  remove_dir(dir);
}

/* A callers file that is missing, not JSON, or of the wrong shape: exit 2 before any call,
   with the file, the place and what is wrong. */
DT_TEST(bad_callers_file_exits_2_naming_the_problem) {
  static const struct {
    const char *text; /* NULL: no file */
    const char *want, *also;
  } cases[] = {
      {NULL, "main.demo.json: no such file", NULL},
      {"{\"calls\": [\n  {\"title\": \"x\",,}\n]}\n", "main.demo.json:2:", "not valid JSON"},
      {"{\"calls\": []}", "main.demo.json: calls: expected an array of 1 to 100 calls", NULL},
      {"{\"calls\": [{\"title\": \"x\", \"from\": \"+1\", \"script\": [], \"expect\": {\"outcom\": \"hangup\"}}]}",
       "main.demo.json: calls[0].expect: unknown key 'outcom' (the keys are outcome, prompts, recordings, transfer)", NULL},
      {"{\"calls\": [{\"title\": \"x\", \"from\": \"+1\", \"script\": [],\n"
       "  \"parties\": {\"contoso-dispatch\": {\"behaviour\": \"bussy\"}},\n"
       "  \"expect\": {\"outcome\": \"hangup\", \"prompts\": []}}]}",
       "main.demo.json: calls[0].parties.contoso-dispatch.behaviour: 'bussy' is not answer, busy, noanswer or reject", NULL},
      {"{\"calls\": [{\"title\": \"x\", \"from\": \"+1\", \"script\": \"press 1\", \"expect\": {}}]}",
       "main.demo.json: calls[0].script: expected an array (a caller script)", NULL},
      {"{\"calls\": [{\"title\": \"x\", \"script\": [], \"expect\": {\"outcome\": \"hangup\", \"prompts\": []}}]}",
       "main.demo.json: calls[0].from: missing (a string)", NULL},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(cases); i++) {
    char dir[] = "/tmp/dt_demo_badc_XXXXXX";
    DT_ASSERT(mkdtemp(dir) != NULL);
    flow_dir_with_callers(dir, cases[i].text);
    run_t r = run_demo((const char *[]){"--flows", dir, NULL});
    DT_ASSERT_MSG(r.rc == 2, "case %zu: exit %d, stderr: %s", i, r.rc, r.err);
    DT_ASSERT_CONTAINS(r.err, cases[i].want);
    if (cases[i].also) DT_ASSERT_CONTAINS(r.err, cases[i].also);
    DT_ASSERT_CONTAINS(r.err, "The demo's callers");
    DT_ASSERT(strstr(r.out, "Call 1") == NULL); /* nothing was placed */
    run_free(&r);
    remove_dir(dir);
  }
}

DT_TEST(a_failing_flow_exits_1_with_the_reason) {
  char dir[] = "/tmp/dt_demo_bad_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char p[256], rec[256];
  snprintf(p, sizeof p, "%s/main.lua", dir);
  write_file(p, "return function(call)\n  call:answer()\n  error('the demo flow broke')\nend\n");
  copy_callers(dir); /* the shipped callers, beside the broken flow */
  snprintf(rec, sizeof rec, "%s/rec", dir);
  run_t r = run_demo((const char *[]){"--flows", dir, "--recordings", rec, NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.out, "Call 1 of 4");
  DT_ASSERT_CONTAINS(r.out, "NOT as scripted: the flow failed:");
  DT_ASSERT_CONTAINS(r.out, "the demo flow broke");
  DT_ASSERT_CONTAINS(r.out, "4 placed, 0 as scripted, 4 not");
  DT_ASSERT_CONTAINS(r.err, "4 of 4 calls did not go as scripted");
  run_free(&r);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST(usage_errors_exit_2) {
  run_t r = run_demo((const char *[]){"--time-scale", "fast", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "--time-scale must be a number");
  run_free(&r);
  r = run_demo((const char *[]){"--bogus", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown option '--bogus'");
  run_free(&r);
  r = run_demo((const char *[]){"--flows", "/nonexistent/flows", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "/nonexistent/flows/main.lua");
  run_free(&r);
  r = run_demo((const char *[]){"--help", NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "usage: dialtone demo");
  run_free(&r);
}

/* Runs a shell command; returns its exit status and its output (stdout and stderr). */
static int sh(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  if (p == NULL) return -1;
  dt_buf_t b = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) dt_buf_append(&b, buf, n);
  int st = pclose(p);
  *out = b.data ? b.data : dt_xstrdup("");
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

DT_TEST(binary_runs_the_demo_when_wired) {
  const char *bin = getenv("DT_BINARY");
  if (bin == NULL || access(bin, X_OK) != 0) {
    printf("  (skipped: no DT_BINARY)\n");
    return;
  }
  char dir[] = "/tmp/dt_demo_bin_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "'%s' demo --flows '%s' --recordings '%s' 2>&1 </dev/null", bin, flows(), dir);
  char *out = NULL;
  int rc = sh(cmd, &out);
  if (strstr(out, "not available") != NULL) {
    printf("  (skipped: src/main.c does not dispatch `demo` to dt_demo_main yet)\n");
  } else {
    if (rc != 0) fprintf(stderr, "%s\n", out);
    DT_ASSERT_EQ_INT(rc, 0);
    DT_ASSERT_CONTAINS(out, "calls:       4 placed, 4 as scripted");
    DT_ASSERT_CONTAINS(out, "plays main_menu:");
    DT_ASSERT(strchr(out, '\033') == NULL); /* piped: no colours */
  }
  free(out);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST_MAIN()
