/*
 * cmd_prompts.c — `dialtone prompts build [DIR] [--voice V] [--rate N] [--force]`: renders
 * every NAME.txt of DIR (default flows/prompts) into NAME.wav beside it with espeak-ng
 * (core/util/tts.c: 16 kHz mono 16-bit PCM, what Graph plays), and those of DIR's language
 * folders (DIR/es/NAME.txt -> DIR/es/NAME.wav, spoken by the voice of that language unless
 * --voice says otherwise). A NAME.wav newer than its NAME.txt is up to date and kept (--force
 * renders it anyway). Leaves the speech cache DIR/_tts alone. Replaces
 * scripts/make_prompts.sh (which needed the espeak-ng and sox programs).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/tts.h"
#include "dialtone/wav.h"
#include "args.h"
#include "cmd_prompts.h"

#define PREFIX "dialtone prompts"

typedef struct {
  FILE *out, *err;
  const char *voice; /* --voice, or NULL */
  int rate;
  bool force;
  unsigned rendered, current, failed;
} build_t;

static void usage(FILE *f) {
  fprintf(f, "usage: dialtone prompts build [DIR] [--voice VOICE] [--rate WPM] [--force]\n\n"
             "Renders every NAME.txt of DIR (default flows/prompts) and of its language folders\n"
             "(DIR/es/NAME.txt) into NAME.wav beside it with espeak-ng: 16 kHz, mono, 16-bit PCM.\n"
             "A NAME.wav newer than its NAME.txt is kept unless --force.\n\n"
             "  --voice VOICE  espeak-ng voice (default en-us; in DIR/LANG/ the voice LANG)\n"
             "  --rate WPM     words per minute, 80 to 450 (default 165)\n"
             "  --force        render every file, even when its NAME.wav is newer\n");
}

static int64_t mtime_ns(const struct stat *st) { return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec; }

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The entries of dir, sorted (caller frees each and the array); -1 when it cannot be read. */
static int list_dir(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) names = dt_xrealloc(names, (size_t)(cap = cap ? cap * 2 : 32) * sizeof *names);
    names[n++] = dt_xstrdup(de->d_name);
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, by_name);
  *out = names;
  return n;
}

static void build_one(build_t *b, const char *dir, const char *name, const char *voice) {
  char txt[4096], wav[4096], text[DT_TTS_MAX_TEXT + 1], err[300];
  size_t nl = strlen(name);
  snprintf(txt, sizeof txt, "%s/%s", dir, name);
  snprintf(wav, sizeof wav, "%s/%.*s.wav", dir, (int)(nl - 4), name);
  struct stat ts, ws;
  if (!b->force && stat(txt, &ts) == 0 && stat(wav, &ws) == 0 && mtime_ns(&ws) >= mtime_ns(&ts)) {
    b->current++;
    return;
  }
  if (!dt_tts_read_text(txt, text, sizeof text)) {
    fprintf(b->err, "%s: %s: empty, unreadable or longer than %d bytes\n", PREFIX, txt, DT_TTS_MAX_TEXT);
    b->failed++;
    return;
  }
  if (dt_tts_render(text, voice, b->rate, wav, err, sizeof err) != 0) {
    fprintf(b->err, "%s: %s: %s\n", PREFIX, txt, err);
    b->failed++;
    return;
  }
  dt_wav_info_t w;
  uint64_t flen = 0;
  double secs = dt_wav_parse_file(wav, &w, &flen, NULL, 0) == 0 ? dt_wav_seconds(&w, flen) : 0;
  fprintf(b->out, "rendered %s (%.1f s, voice %s)\n", wav, secs, voice);
  b->rendered++;
}

/* The NAME.txt files of dir; with langs, its language folders too (one level). */
static int build_dir(build_t *b, const char *dir, const char *voice, bool langs) {
  char **names = NULL;
  int n = list_dir(dir, &names);
  if (n < 0) return -1;
  for (int i = 0; i < n; i++) {
    size_t l = strlen(names[i]);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (l > 4 && strcmp(names[i] + l - 4, ".txt") == 0) {
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) build_one(b, dir, names[i], voice);
    } else if (langs && strcmp(names[i], "_tts") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
               dt_tts_voice_ok(names[i])) {
      build_dir(b, path, b->voice ? b->voice : names[i], false);
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return 0;
}

typedef struct {
  const char *sub, *dir;
  int count;
} pos_t;

static int take_positional(void *ud, const char *arg, FILE *err) {
  pos_t *p = ud;
  p->count++;
  if (p->count == 1) p->sub = arg;
  else if (p->count == 2) p->dir = arg;
  else return dt_args_error(err, PREFIX, "too many arguments ('%s')", arg);
  return 0;
}

int dt_cmd_prompts_run(FILE *out, FILE *err, int argc, char **argv) {
  const char *voice = NULL;
  double rate = DT_TTS_RATE_DEFAULT;
  bool force = false;
  pos_t pos = {0};
  const dt_arg_t opts[] = {
      DT_ARG_STR("--voice", &voice),
      DT_ARG_NUM("--rate", &rate, DT_TTS_RATE_MIN, DT_TTS_RATE_MAX, "--rate must be 80 to 450 words per minute"),
      DT_ARG_BOOL("--force", NULL, &force),
  };
  const dt_args_spec_t spec = {.prefix = PREFIX, .opts = opts, .nopts = DT_ARRAY_SIZE(opts), .usage = usage,
                               .unknown = "unknown option '%s'", .positional = take_positional, .ud = &pos};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) return code;
  if (!pos.sub) return dt_args_usage_error(&spec, err, "give a subcommand: build");
  if (strcmp(pos.sub, "build") != 0) return dt_args_usage_error(&spec, err, "unknown subcommand '%s' (build)", pos.sub);
  if (voice && !dt_tts_voice_ok(voice))
    return dt_args_error(err, PREFIX, "--voice must be an espeak-ng voice name such as en-us or es");
  const char *dir = pos.dir ? pos.dir : "flows/prompts";
  build_t b = {.out = out, .err = err, .voice = voice, .rate = (int)rate, .force = force};
  if (build_dir(&b, dir, voice ? voice : "en-us", true) != 0)
    return dt_args_error(err, PREFIX, "cannot read the directory %s", dir);
  fprintf(out, "%u rendered, %u up to date, %u failed\n", b.rendered, b.current, b.failed);
  return b.failed ? 1 : 0;
}

int dt_cmd_prompts_main(int argc, char **argv) { return dt_cmd_prompts_run(stdout, stderr, argc, argv); }
