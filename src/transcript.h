/*
 * transcript.h — the transcript printer of `dialtone demo` and `dialtone console`
 * (src/transcript.c): emulator timeline entries (docs/emulator.md "Timeline entries") as
 * readable lines, each stamped with the call's simulated time; each prompt with its
 * transcript text from prompts/NAME.txt; keys gathered on one line; recordings, transfers
 * and endings in words.
 */
#ifndef DIALTONE_TRANSCRIPT_H
#define DIALTONE_TRANSCRIPT_H
#include <stdbool.h>
#include <stdio.h>
#include <cjson/cJSON.h>

typedef struct dt_transcript_s dt_transcript_t;

typedef struct {
  unsigned prompts;            /* prompts that started playing */
  unsigned keys;               /* keys the caller pressed */
  unsigned recordings;         /* recordings the emulator finished with audio */
  unsigned transfers, transfers_completed, transfers_failed;
} dt_transcript_stats_t;

/* prompts_dir: where NAME.txt transcripts are looked up (may be NULL). color: ANSI
   colours (only for a terminal). second_person: "you press 1" instead of "caller presses 1"
   (the console). */
dt_transcript_t *dt_transcript_new(FILE *out, const char *prompts_dir, bool color, bool second_person);
void dt_transcript_free(dt_transcript_t *t);
/* Prints the lines for one timeline entry (most entries print nothing: requests,
   notifications, ...). Consecutive keys are gathered on one line. */
void dt_transcript_entry(dt_transcript_t *t, const cJSON *entry);
/* Prints what is pending (gathered keys). */
void dt_transcript_flush(dt_transcript_t *t);
/* The text of prompts/NAME.txt (first 1 KiB, whitespace folded), or NULL. */
const char *dt_transcript_prompt_text(dt_transcript_t *t, const char *name);
/* Prints a free-form line at simulated time t_ms (negative: no time column). */
void dt_transcript_note(dt_transcript_t *t, long long t_ms, const char *style, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const dt_transcript_stats_t *dt_transcript_stats(const dt_transcript_t *t);
/* "m:ss.s" */
void dt_transcript_time(long long t_ms, char out[24]);
/* The colour escape for a style name ("dim", "bold", "caller", "ivr", "ok", "bad", "warn"),
   or "" when colours are off; dt_transcript_reset likewise. */
const char *dt_transcript_style(const dt_transcript_t *t, const char *style);
const char *dt_transcript_reset(const dt_transcript_t *t);
/* Prints text word-wrapped at 78 columns, each line indented by indent spaces. */
void dt_transcript_paragraph(dt_transcript_t *t, int indent, const char *text, const char *style);
/* Whether out wants colours: a terminal, and NO_COLOR unset or empty. */
bool dt_transcript_color_wanted(FILE *out);

#endif
