/*
 * tts.h — text to speech with espeak-ng (linked in), as prompt files Graph can play: 16 kHz,
 * mono, 16-bit PCM WAV (espeak's 22050 Hz resampled), written atomically. And the on-disk
 * cache of such files: a name per (text, voice, rate), and trimming to a size bound, oldest
 * first. Blocking: call dt_tts_render from a worker thread (libuv's pool) or a command, never
 * from the loop. espeak-ng is not thread-safe: renders are serialised by one mutex.
 */
#ifndef DIALTONE_TTS_H
#define DIALTONE_TTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_TTS_MAX_TEXT 2000      /* bytes of UTF-8 one render takes */
#define DT_TTS_RATE 16000         /* what the files are: 16 kHz, mono, 16-bit PCM */
#define DT_TTS_RATE_MIN 80        /* words per minute (espeak's range) */
#define DT_TTS_RATE_MAX 450
#define DT_TTS_RATE_DEFAULT 165
#define DT_TTS_MAX_SECONDS 600    /* longer output is an error (and a bound on memory) */
#define DT_TTS_NAME_LEN 32        /* "tts-" + 16 hex + ".wav" + NUL fits */

/* Whether voice is a plausible espeak-ng voice name: 1 to 40 of [A-Za-z0-9_+-] (whether
   espeak has it is known only when rendering). */
bool dt_tts_voice_ok(const char *voice);

/* Whether s[0..n) is text a render takes: 1..DT_TTS_MAX_TEXT bytes of valid UTF-8, no NUL. */
bool dt_tts_text_ok(const char *s, size_t n);

/* Speaks text (UTF-8, 1..DT_TTS_MAX_TEXT bytes) with voice (an espeak-ng voice name or
   file, else a language espeak-ng has a voice for: "en-gb", "es-mx") at rate (words per minute,
   DT_TTS_RATE_MIN..MAX) into the WAV file path (atomic: temp + rename). Returns 0, or
   DT_EINVAL (bad text/voice/rate), DT_ENOENT (espeak-ng data or the voice missing), DT_EIO
   (synthesis or the write failed), DT_ETOOBIG (longer than DT_TTS_MAX_SECONDS), with the
   cause in err. Thread-safe (serialised). */
int dt_tts_render(const char *text, const char *voice, int rate, const char *path, char *err, size_t errlen);

/* Reads the transcript at path (at most DT_TTS_MAX_TEXT bytes) into buf with runs of
   whitespace folded to one space and trimmed; false when it cannot be read, is longer, or is
   empty. */
bool dt_tts_read_text(const char *path, char *buf, size_t len);

/* The cache's file name for (text, voice, rate): "tts-<16 hex digits>.wav". */
void dt_tts_cache_name(const char *text, const char *voice, int rate, char out[DT_TTS_NAME_LEN]);

/* Deletes the oldest (by mtime) tts-*.wav files of dir (and the tts-*.txt beside each) until
   their total is at most max_bytes. Returns the number deleted (0 when dir does not exist). */
int dt_tts_cache_trim(const char *dir, uint64_t max_bytes);

#endif
