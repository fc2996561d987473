/*
 * emu_util.h — small pieces the emulator is built from (emu_util.c): id normalisation,
 * identity sets, JSON lookups, WAV files, random tokens, tone names, URL and tone validation, path splitting.
 * Nothing here calls another emulator module.
 */
#ifndef DT_EMU_UTIL_H
#define DT_EMU_UTIL_H
#include "emu_model.h"

/* ------------------------------------------------------------------ ids, identities, JSON */
/* Lower case, dashes removed; "/app/calls/ID" style paths use their last segment. */
void dt__emu_id_key(const char *id, char *out, size_t outlen);
/* Upper case without dashes, as Graph writes ids in resource URLs. */
void dt__emu_id_upper(const char *id, char *out, size_t outlen);
/* The id of an identitySet ({"user":{"id":..}} ...) or NULL; *kind gets "user"/"phone"/... */
const char *dt__emu_identity_id(const cJSON *identity_set, const char **kind);
/* Accepts an identitySet or the short forms {"user":"id"}, {"phone":"+1"}, "+1555...", "id"
   and returns a new identitySet object. NULL if it is none of those. */
cJSON *dt__emu_identity_from_short(const cJSON *v);
void dt__emu_identity_desc(const cJSON *identity_set, char *out, size_t outlen);
const char *dt__emu_json_str(const cJSON *obj, const char *name);
/* Case-insensitive member lookup. */
cJSON *dt__emu_json_get(const cJSON *obj, const char *name);
/* Moves every member of fields (consumed, may be NULL) into obj. */
void dt__emu_json_merge(cJSON *obj, cJSON *fields);

/* ------------------------------------------------------------------ WAV */
/* Writes a 44-byte-header WAV (8 kHz, 16-bit, mono PCM): silence with a 440 Hz tone in the
   given segments. Caller frees *out. */
void dt__emu_wav_build(uint64_t duration_ms, const emu_segment_t *seg, size_t nseg, char **out,
                       size_t *len);
/* Duration of a RIFF/WAVE PCM file in ms from its first len bytes (total_len = the whole
   file's size when known, else 0); DT_EPARSE when it is not one. */
int dt__emu_wav_duration(const void *data, size_t len, uint64_t total_len, int64_t *ms);

/* ------------------------------------------------------------------ randomness */
void dt__emu_random_token(char *out, size_t n); /* n-1 url-safe chars + NUL */
double dt__emu_rand01(dt_emulator_t *emu);

/* ------------------------------------------------------------------ names, validation, time */
/* "main_menu" for "https://x/prompts/main_menu.wav?x=1". */
void dt__emu_prompt_name(const char *url, char *out, size_t outlen);
const char *dt__emu_state_name(int st);
void dt__emu_iso_now(char out[32]);
char dt__emu_tone_char(const char *name);  /* "tone1" -> '1' ... 0 if unknown */
const char *dt__emu_tone_name(char c);      /* '1' -> "tone1" ... */
bool dt__emu_valid_url(const char *u);      /* http(s), shorter than 2048 */
bool dt__emu_valid_tones(const char *t);    /* up to 64 of 0-9 * # A-D */
/* Whether path is prefix (case-insensitive) or below it ("/emulator", "/emulator/x" but not
   "/emulatorx"); *rest gets what follows the prefix. */
bool dt__emu_path_under(const char *path, const char *prefix, const char **rest);
/* Splits path at its slashes (empty segments skipped) into rows of seg: at most max rows of
   seg_size bytes each, NUL-terminated. The number of segments, or -1 when there are more than
   max or one does not fit in seg_size - 1 bytes. */
int dt__emu_path_split(const char *path, char *seg, size_t seg_size, int max);
/* Whether url's host is this machine (127.0.0.0/8, localhost, [::1]). */
bool dt__emu_url_is_loopback(const char *url);

#endif
