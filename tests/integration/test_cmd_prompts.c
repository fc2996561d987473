/*
 * test_cmd_prompts.c — `dialtone prompts build` (src/cmd_prompts.c): every NAME.txt of a
 * prompts directory and of its language folders becomes a NAME.wav Graph can play (16 kHz
 * mono 16-bit PCM, as long as the words take, not silence); a second run keeps what is up to
 * date; a failed render is exit 1 with the reason; usage errors are exit 2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/wav.h"
#include "cmd_prompts.h"
#include "harness/command.h"
#include "harness/dt_test.h"
#include "harness/speech_wav.h"

static result_t run(const char *const *args) { return run_command_inproc(dt_cmd_prompts_run, "prompts", args); }

static void write_text(const char *path, const char *text) { DT_ASSERT_EQ_INT(dt_write_file_atomic(path, text, strlen(text)), 0); }

/* The WAV at path has Graph's format; its seconds and RMS. */
static void wav_check(const char *path, double *secs, double *rms) {
  speech_wav_t w = speech_wav_read(path);
  DT_ASSERT(speech_wav_graph_format(&w));
  *secs = w.secs;
  *rms = w.rms;
}

DT_TEST(build_renders_transcripts_and_language_folders) {
  char dir[] = "/tmp/dt_prompts_XXXXXX", path[256], es[256];
  DT_ASSERT(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/welcome.txt", dir);
  write_text(path, "Welcome to the pharmacy.\nPlease listen carefully.\n");
  snprintf(es, sizeof es, "%s/es", dir);
  DT_ASSERT_EQ_INT(mkdir(es, 0755), 0);
  snprintf(path, sizeof path, "%s/es/welcome.txt", dir);
  write_text(path, "Bienvenido a la farmacia.");
  result_t r = run((const char *[]){"build", dir, NULL});
  DT_ASSERT_MSG(r.rc == 0, "rc %d: %s%s", r.rc, r.out, r.err);
  DT_ASSERT_CONTAINS(r.out, "voice en-us");
  DT_ASSERT_CONTAINS(r.out, "voice es)");
  DT_ASSERT_CONTAINS(r.out, "2 rendered, 0 up to date, 0 failed\n");
  result_free(&r);
  double rms = 0, secs = 0;
  snprintf(path, sizeof path, "%s/welcome.wav", dir);
  wav_check(path, &secs, &rms);
  DT_ASSERT_MSG(secs > 1.0 && secs < 6.0, "%.2f s", secs); /* 7 words at 165 a minute */
  DT_ASSERT_MSG(rms > 300, "rms %.1f", rms);
  snprintf(path, sizeof path, "%s/es/welcome.wav", dir);
  wav_check(path, &secs, &rms);
  DT_ASSERT(secs > 0.5 && secs < 5.0 && rms > 300);
  /* again: nothing to do */
  r = run((const char *[]){"build", dir, NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "0 rendered, 2 up to date, 0 failed\n");
  result_free(&r);
  /* --force and --voice: both again, by that voice */
  r = run((const char *[]){"build", dir, "--force", "--voice", "en-gb", "--rate", "200", NULL});
  DT_ASSERT_EQ_INT(r.rc, 0);
  DT_ASSERT_CONTAINS(r.out, "2 rendered, 0 up to date, 0 failed\n");
  DT_ASSERT(strstr(r.out, "voice es)") == NULL);
  result_free(&r);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST(failures_and_usage_errors) {
  char dir[] = "/tmp/dt_prompts_XXXXXX", path[256];
  DT_ASSERT(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/a.txt", dir);
  write_text(path, "hello");
  result_t r = run((const char *[]){"build", dir, "--voice", "zz-nosuch", NULL});
  DT_ASSERT_EQ_INT(r.rc, 1);
  DT_ASSERT_CONTAINS(r.err, "a.txt: espeak-ng has no voice 'zz-nosuch'");
  DT_ASSERT_CONTAINS(r.out, "0 rendered, 0 up to date, 1 failed\n");
  result_free(&r);
  snprintf(path, sizeof path, "%s/a.wav", dir);
  DT_ASSERT(access(path, F_OK) != 0);
  r = run((const char *[]){NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "give a subcommand: build");
  result_free(&r);
  r = run((const char *[]){"rebuild", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown subcommand 'rebuild'");
  result_free(&r);
  r = run((const char *[]){"build", "/nonexistent/prompts", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  DT_ASSERT_CONTAINS(r.err, "cannot read the directory /nonexistent/prompts");
  result_free(&r);
  r = run((const char *[]){"build", dir, "--rate", "9", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  result_free(&r);
  r = run((const char *[]){"build", dir, "--voice", "a b", NULL});
  DT_ASSERT_EQ_INT(r.rc, 2);
  result_free(&r);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST_MAIN()
