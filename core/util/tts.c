/*
 * tts.c — text to speech with espeak-ng (see tts.h). Owns espeak-ng's one global state:
 * initialised once, on the first render, and used under one mutex (espeak-ng is not
 * thread-safe), so renders from libuv's pool and from commands are serialised. Promises:
 * the file is written whole or not at all (temp + rename), 16 kHz mono 16-bit PCM, at most
 * DT_TTS_MAX_SECONDS long; espeak's own state is never freed (one per process, reused).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <espeak-ng/speak_lib.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/text.h"
#include "dialtone/tts.h"
#include "dialtone/wav.h"

static pthread_mutex_t tts_mu = PTHREAD_MUTEX_INITIALIZER;
static int tts_rate;      /* espeak's sample rate once initialised; < 0: initialisation failed */
static dt_buf_t *tts_out; /* the render in progress (under tts_mu) */
static bool tts_too_long;

bool dt_tts_voice_ok(const char *voice) {
  size_t n = voice ? strlen(voice) : 0;
  if (n == 0 || n > 40) return false;
  for (size_t i = 0; i < n; i++) {
    char c = voice[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '+'))
      return false;
  }
  return true;
}

bool dt_tts_text_ok(const char *s, size_t n) {
  if (n == 0 || n > DT_TTS_MAX_TEXT || strlen(s) != n) return false;
  for (size_t i = 0; i < n;) {
    unsigned cp;
    size_t l = (unsigned char)s[i] < 0x80 ? 1 : dt_text_utf8_len(s + i, n - i, &cp);
    if (l == 0) return false;
    i += l;
  }
  return true;
}

static int on_samples(short *wav, int n, espeak_EVENT *events) {
  (void)events;
  if (wav == NULL || n <= 0) return 0;
  if (tts_out->len / 2 + (size_t)n > (size_t)tts_rate * DT_TTS_MAX_SECONDS) {
    tts_too_long = true;
    return 1; /* stop */
  }
  dt_buf_append(tts_out, wav, (size_t)n * sizeof *wav);
  return 0;
}

/* The samples (at rate in_rate) to DT_TTS_RATE, by linear interpolation, as little-endian
   16-bit bytes after a WAV header. */
static unsigned char *resample_wav(const int16_t *in, size_t n, int in_rate, size_t *out_len) {
  size_t m = in_rate == DT_TTS_RATE ? n : (size_t)((double)n * DT_TTS_RATE / in_rate);
  unsigned char *out = dt_xmalloc(DT_WAV_HEADER_LEN + m * 2);
  dt_wav_header_write(out, 1, DT_TTS_RATE, 16, (uint32_t)(m * 2));
  double step = (double)in_rate / DT_TTS_RATE;
  for (size_t i = 0; i < m; i++) {
    double pos = i * step;
    size_t j = (size_t)pos;
    double f = pos - (double)j;
    double a = in[j < n ? j : n - 1], b = in[j + 1 < n ? j + 1 : n - 1];
    long v = (long)(a + (b - a) * f);
    uint16_t u = (uint16_t)(int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    out[DT_WAV_HEADER_LEN + 2 * i] = (unsigned char)(u & 0xff);
    out[DT_WAV_HEADER_LEN + 2 * i + 1] = (unsigned char)(u >> 8);
  }
  *out_len = DT_WAV_HEADER_LEN + m * 2;
  return out;
}

static int render_locked(const char *text, const char *voice, int rate, const char *path, char *err, size_t errlen) {
  if (tts_rate == 0) {
    int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, NULL, 0);
    tts_rate = r > 0 ? r : -1;
    if (r > 0) espeak_SetSynthCallback(on_samples);
  }
  if (tts_rate < 0) return dt_seterr(err, errlen, DT_ENOENT, "espeak-ng cannot start (is espeak-ng-data installed?)");
  espeak_VOICE by_lang;
  memset(&by_lang, 0, sizeof by_lang);
  by_lang.languages = voice; /* "en-gb", "es-mx": a language espeak has a voice for */
  if (espeak_SetVoiceByName(voice) != EE_OK && espeak_SetVoiceByProperties(&by_lang) != EE_OK)
    return dt_seterr(err, errlen, DT_ENOENT, "espeak-ng has no voice '%s' (espeak-ng --voices lists them)", voice);
  espeak_SetParameter(espeakRATE, rate, 0);
  dt_buf_t buf = {0};
  tts_out = &buf;
  tts_too_long = false;
  espeak_ERROR e = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL);
  if (e == EE_OK) e = espeak_Synchronize();
  tts_out = NULL;
  int rc = 0;
  if (tts_too_long) rc = dt_seterr(err, errlen, DT_ETOOBIG, "speech longer than %d seconds", DT_TTS_MAX_SECONDS);
  else if (e != EE_OK) rc = dt_seterr(err, errlen, DT_EIO, "espeak-ng failed to synthesize (error %d)", (int)e);
  else if (buf.len < 2) rc = dt_seterr(err, errlen, DT_EIO, "espeak-ng produced no audio");
  if (rc == 0) {
    size_t n = buf.len / 2, len = 0;
    int16_t *s = dt_xmalloc(n * sizeof *s);
    memcpy(s, buf.data, n * sizeof *s);
    unsigned char *wav = resample_wav(s, n, tts_rate, &len);
    free(s);
    if (dt_write_file_atomic(path, wav, len) != 0) rc = dt_seterr(err, errlen, DT_EIO, "cannot write %s", path);
    free(wav);
  }
  dt_buf_free(&buf);
  return rc;
}

int dt_tts_render(const char *text, const char *voice, int rate, const char *path, char *err, size_t errlen) {
  size_t n = text ? strlen(text) : 0;
  if (n == 0 || n > DT_TTS_MAX_TEXT) return dt_seterr(err, errlen, DT_EINVAL, "text must be 1 to %d bytes", DT_TTS_MAX_TEXT);
  if (!dt_tts_text_ok(text, n)) return dt_seterr(err, errlen, DT_EINVAL, "text is not valid UTF-8");
  if (!dt_tts_voice_ok(voice)) return dt_seterr(err, errlen, DT_EINVAL, "bad voice name");
  if (rate < DT_TTS_RATE_MIN || rate > DT_TTS_RATE_MAX)
    return dt_seterr(err, errlen, DT_EINVAL, "rate must be %d to %d words per minute", DT_TTS_RATE_MIN, DT_TTS_RATE_MAX);
  pthread_mutex_lock(&tts_mu);
  int rc = render_locked(text, voice, rate, path, err, errlen);
  pthread_mutex_unlock(&tts_mu);
  return rc;
}

bool dt_tts_read_text(const char *path, char *buf, size_t len) {
  char *data = NULL;
  size_t n = 0;
  if (len == 0 || dt_read_file(path, DT_TTS_MAX_TEXT, &data, &n) != 0) return false;
  size_t o = 0;
  bool space = true;
  for (size_t i = 0; i < n && o + 1 < len; i++) {
    char ch = data[i];
    bool ws = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
    if (ws && space) continue;
    buf[o++] = ws ? ' ' : ch;
    space = ws;
  }
  while (o > 0 && buf[o - 1] == ' ') o--;
  buf[o] = '\0';
  free(data);
  return o > 0;
}

void dt_tts_cache_name(const char *text, const char *voice, int rate, char out[DT_TTS_NAME_LEN]) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a over voice NUL rate NUL text */
  char r[16];
  snprintf(r, sizeof r, "%d", rate);
  const char *parts[3] = {voice, r, text};
  for (int i = 0; i < 3; i++) {
    for (const char *p = parts[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0u) * 1099511628211ull;
  }
  snprintf(out, DT_TTS_NAME_LEN, "tts-%016llx.wav", (unsigned long long)h);
}

typedef struct {
  char name[DT_TTS_NAME_LEN];
  int64_t mtime_ns;
  uint64_t size;
} cache_file_t;

static int by_age(const void *a, const void *b) {
  const cache_file_t *x = a, *y = b;
  return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

int dt_tts_cache_trim(const char *dir, uint64_t max_bytes) {
  DIR *d = opendir(dir);
  if (d == NULL) return 0;
  cache_file_t *files = NULL;
  size_t n = 0, cap = 0;
  uint64_t total = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l + 1 > DT_TTS_NAME_LEN || strncmp(de->d_name, "tts-", 4) != 0 || l < 8 || strcmp(de->d_name + l - 4, ".wav"))
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (n == cap) files = dt_xrealloc(files, (cap = cap ? cap * 2 : 64) * sizeof *files);
    memcpy(files[n].name, de->d_name, l + 1);
    files[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    files[n].size = (uint64_t)st.st_size;
    total += files[n].size;
    n++;
  }
  closedir(d);
  int deleted = 0;
  if (total > max_bytes && n > 0) {
    qsort(files, n, sizeof *files, by_age);
    for (size_t i = 0; i < n && total > max_bytes; i++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
      if (unlink(path) == 0) {
        total -= files[i].size;
        deleted++;
        memcpy(path + strlen(path) - 4, ".txt", 4); /* its text beside it, if any */
        unlink(path);
      }
    }
  }
  free(files);
  return deleted;
}
