/*
 * demo.h — `dialtone demo`: the engine and the embedded Graph emulator in one process
 * (localrun.h), scripted callers walking every branch of flows/main.lua, and a readable
 * transcript of each call as it happens (the simulated time of every line, each prompt
 * with its transcript text from prompts/NAME.txt, keys, recordings, transfers, endings),
 * then a summary. Exit 0 when every call went as scripted, 1 otherwise (with the reason),
 * 2 on a usage error.
 *
 * The transcript printer is shared with `dialtone console` (console.h): it turns emulator
 * timeline entries (docs/emulator.md "Timeline entries") into lines.
 */
#ifndef DIALTONE_DEMO_H
#define DIALTONE_DEMO_H
#include <stdbool.h>
#include <stdio.h>
#include <cjson/cJSON.h>

/* `dialtone demo [--flows DIR] [--time-scale X] [--recordings DIR] [--beta] [--verbose]`.
   argv[0] is the command name. Prints to stdout/stderr. */
int dt_demo_main(int argc, char **argv);
/* The same, printing the transcript to out and problems to err (tests capture them). */
int dt_demo_run(int argc, char **argv, FILE *out, FILE *err);

/* ---- the transcript printer ---- */
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

/* The CDR line (cdr.h) of call_id in the file cdr_path, parsed (caller frees), or NULL when
   it has not been written yet. */
cJSON *dt_demo_find_cdr(const char *cdr_path, const char *call_id);

/* Duration in seconds of a RIFF/WAVE PCM file, or a negative value if it is not one. */
double dt_wav_file_seconds(const char *path);

#endif
