/*
 * speech_wav.h — decoding a WAV a test made or was served (header-only): its format, seconds
 * and RMS, so tests can say "Graph's format, as long as the words take, not silence"
 * (test_tts, test_cmd_prompts, test_flow_say).
 */
#ifndef DT_HARNESS_SPEECH_WAV_H
#define DT_HARNESS_SPEECH_WAV_H
#include <math.h>
#include <stdlib.h>
#include "dialtone/common.h"
#include "dialtone/wav.h"

typedef struct {
  int ok;                       /* 1 when the file was read and parsed */
  dt_wav_info_t w;
  size_t len;                   /* of the file */
  double secs, rms;             /* of the 16-bit samples */
} speech_wav_t;

static inline speech_wav_t speech_wav_read(const char *path) {
  speech_wav_t s = {0};
  char *data = NULL;
  if (dt_read_file(path, 64u << 20, &data, &s.len) != 0) return s;
  if (dt_wav_parse(data, s.len, &s.w, NULL, 0) == 0 && s.w.bits == 16 && s.w.data_offset <= s.len) {
    size_t n = (s.len - s.w.data_offset) / 2;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
      const unsigned char *b = (const unsigned char *)data + s.w.data_offset + 2 * i;
      int16_t v = (int16_t)(uint16_t)(b[0] | b[1] << 8);
      sum += (double)v * v;
    }
    s.rms = n ? sqrt(sum / (double)n) : 0;
    s.secs = dt_wav_seconds(&s.w, s.len);
    s.ok = 1;
  }
  free(data);
  return s;
}

/* Graph's prompt format: PCM, 16 kHz, mono, 16-bit, the data chunk to the end of the file. */
static inline int speech_wav_graph_format(const speech_wav_t *s) {
  return s->ok && s->w.format == DT_WAV_FORMAT_PCM && s->w.rate == 16000 && s->w.channels == 1 && s->w.bits == 16 &&
         s->w.data_offset + s->w.data_size == s->len;
}

#endif
