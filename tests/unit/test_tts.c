/* Unit tests for tts.c: a render is a real WAV in Graph's format (16 kHz, mono, 16-bit PCM),
   as long as the text plausibly takes, not silence; Spanish voice; errors; cache names and
   trimming oldest first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/tts.h"
#include "dialtone/wav.h"
#include "harness/dt_test.h"
#include "harness/speech_wav.h"

/* Decodes path: Graph's format, then its seconds and RMS. */
static void decode(const char *path, double *seconds, double *rms) {
  speech_wav_t w = speech_wav_read(path);
  DT_ASSERT(speech_wav_graph_format(&w));
  *seconds = w.secs;
  *rms = w.rms;
}

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/dt_tts_XXXXXX");
  DT_ASSERT(mkdtemp(dir) != NULL);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST(render_is_speech_in_graphs_format) {
  setup();
  char path[128], err[200] = "";
  snprintf(path, sizeof path, "%s/a.wav", dir);
  const char *text = "Your prescription is ready for pickup at the front counter.";
  DT_ASSERT_MSG(dt_tts_render(text, "en-us", 165, path, err, sizeof err) == 0, "%s", err);
  double secs, rms;
  decode(path, &secs, &rms);
  /* 10 words at 165 words a minute: about 3.6 s; espeak's pauses and rounding aside */
  DT_ASSERT_MSG(secs > 2.0 && secs < 8.0, "%.2f s", secs);
  DT_ASSERT_MSG(rms > 300, "rms %.1f", rms);
  /* a faster rate is shorter */
  char fast[128];
  snprintf(fast, sizeof fast, "%s/b.wav", dir);
  DT_ASSERT_EQ_INT(dt_tts_render(text, "en-us", 330, fast, err, sizeof err), 0);
  double fsecs, frms;
  decode(fast, &fsecs, &frms);
  DT_ASSERT_MSG(fsecs < secs * 0.8, "%.2f vs %.2f", fsecs, secs);
  cleanup();
}

DT_TEST(spanish_voice) {
  setup();
  char path[128], err[200] = "";
  snprintf(path, sizeof path, "%s/es.wav", dir);
  DT_ASSERT_MSG(dt_tts_render("veintiún mil dólares", "es", 165, path, err, sizeof err) == 0, "%s", err);
  double secs, rms;
  decode(path, &secs, &rms);
  DT_ASSERT(secs > 0.5 && secs < 5);
  DT_ASSERT(rms > 300);
  /* a language espeak has a voice for, by its language name */
  DT_ASSERT_MSG(dt_tts_render("hola", "es-mx", 165, path, err, sizeof err) == 0, "%s", err);
  DT_ASSERT_MSG(dt_tts_render("hello", "en-gb", 165, path, err, sizeof err) == 0, "%s", err);
  cleanup();
}

DT_TEST(errors_say_why) {
  setup();
  char path[128], err[200];
  snprintf(path, sizeof path, "%s/x.wav", dir);
  DT_ASSERT_EQ_INT(dt_tts_render("", "en", 165, path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tts_render("hi", "en", 79, path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "rate");
  DT_ASSERT_EQ_INT(dt_tts_render("hi", "en us", 165, path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_tts_render("\xff\xfe", "en", 165, path, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "UTF-8");
  DT_ASSERT_EQ_INT(dt_tts_render("hi", "xx-nosuchvoice", 165, path, err, sizeof err), DT_ENOENT);
  DT_ASSERT_CONTAINS(err, "no voice");
  char *big = dt_xmalloc(DT_TTS_MAX_TEXT + 2);
  memset(big, 'a', DT_TTS_MAX_TEXT + 1);
  big[DT_TTS_MAX_TEXT + 1] = '\0';
  DT_ASSERT_EQ_INT(dt_tts_render(big, "en", 165, path, err, sizeof err), DT_EINVAL);
  free(big);
  snprintf(path, sizeof path, "%s/no/such/dir/x.wav", dir);
  DT_ASSERT_EQ_INT(dt_tts_render("hi", "en", 165, path, err, sizeof err), DT_EIO);
  DT_ASSERT(access(path, F_OK) != 0);
  cleanup();
}

DT_TEST(transcripts_are_read_with_whitespace_folded) {
  setup();
  char path[128], buf[64];
  snprintf(path, sizeof path, "%s/t.txt", dir);
  const char *t = "  Hello,\n\n  world.\t\n";
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, t, strlen(t)), 0);
  DT_ASSERT(dt_tts_read_text(path, buf, sizeof buf));
  DT_ASSERT_EQ_STR(buf, "Hello, world.");
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, " \n\t", 3), 0);
  DT_ASSERT(!dt_tts_read_text(path, buf, sizeof buf)); /* empty */
  snprintf(path, sizeof path, "%s/none.txt", dir);
  DT_ASSERT(!dt_tts_read_text(path, buf, sizeof buf));
  cleanup();
}

DT_TEST(cache_names_depend_on_text_voice_and_rate) {
  char a[DT_TTS_NAME_LEN], b[DT_TTS_NAME_LEN];
  dt_tts_cache_name("hello", "en", 165, a);
  DT_ASSERT_EQ_INT(strlen(a), 24);
  DT_ASSERT(strncmp(a, "tts-", 4) == 0 && strcmp(a + 20, ".wav") == 0);
  dt_tts_cache_name("hello", "en", 165, b);
  DT_ASSERT_EQ_STR(a, b);
  dt_tts_cache_name("hello", "es", 165, b);
  DT_ASSERT(strcmp(a, b) != 0);
  dt_tts_cache_name("hello", "en", 166, b);
  DT_ASSERT(strcmp(a, b) != 0);
  dt_tts_cache_name("hello!", "en", 165, b);
  DT_ASSERT(strcmp(a, b) != 0);
}

DT_TEST(trim_deletes_oldest_first_down_to_the_bound) {
  setup();
  char path[128];
  char kb[1000];
  memset(kb, 1, sizeof kb);
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/tts-%016d.wav", dir, i);
    DT_ASSERT_EQ_INT(dt_write_file_atomic(path, kb, sizeof kb), 0);
    struct timeval tv[2] = {{1000 + i, 0}, {1000 + i, 0}};
    DT_ASSERT_EQ_INT(utimes(path, tv), 0);
  }
  snprintf(path, sizeof path, "%s/tts-%016d.txt", dir, 0); /* the text beside one */
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "hi", 2), 0);
  snprintf(path, sizeof path, "%s/welcome.wav", dir); /* not the cache's: never deleted */
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, kb, sizeof kb), 0);
  DT_ASSERT_EQ_INT(dt_tts_cache_trim(dir, 5000), 0);
  DT_ASSERT_EQ_INT(dt_tts_cache_trim(dir, 2500), 3);
  snprintf(path, sizeof path, "%s/tts-%016d.wav", dir, 2);
  DT_ASSERT(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/tts-%016d.txt", dir, 0);
  DT_ASSERT(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/tts-%016d.wav", dir, 3);
  DT_ASSERT(access(path, F_OK) == 0);
  snprintf(path, sizeof path, "%s/welcome.wav", dir);
  DT_ASSERT(access(path, F_OK) == 0);
  DT_ASSERT_EQ_INT(dt_tts_cache_trim("/nonexistent/dir", 0), 0);
  cleanup();
}

DT_TEST_MAIN()
