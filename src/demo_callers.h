/*
 * demo_callers.h — the callers of `dialtone demo`, read from the data file beside the flow
 * (FLOWS/main.demo.json; docs/operator.md "The demo's callers"; src/demo_callers.c).
 *
 * The file is one JSON object: {"calls": [CALL, ...]} (at most DT_DEMO_CALLERS_MAX), and
 * each CALL is
 *   {"title": "...", "story": "...", "from": "+1555...",
 *    "parties": {"ID": {"behaviour": "answer|busy|noanswer|reject", "answer_delay_ms": N,
 *                       "script": SCRIPT}, ...},
 *    "script": SCRIPT,
 *    "expect": {"outcome": "...", "prompts": ["name", ...], "recordings": N,
 *               "transfer": "..."}}
 * SCRIPT is an emulator caller script (docs/emulator.md "Caller scripts"): the emulator
 * checks it when the call is placed. "story", "parties", "expect.recordings" (0) and
 * "expect.transfer" (no transfer) may be left out; "comment" keys are allowed anywhere a
 * key is checked. Any other key is an error, so that a typo is not silently ignored.
 */
#ifndef DIALTONE_DEMO_CALLERS_H
#define DIALTONE_DEMO_CALLERS_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "dialtone/emulator.h"

#define DT_DEMO_CALLERS_MAX 100
#define DT_DEMO_CALLERS_MAX_BYTES (1u << 20)

typedef struct {
  const char *id;              /* an identity id the flow calls (user, phone, ...) */
  dt_emulator_party_t party;   /* its script points into the file's JSON */
} dt_demo_party_t;

typedef struct {
  const char *title, *story, *from;
  const cJSON *script;         /* the caller script (a JSON array) */
  dt_demo_party_t *parties;
  size_t nparties;
  const char *outcome;         /* the CDR outcome expected */
  char *must_play;             /* prompts played, in this order, space-separated */
  int recordings;              /* recordings stored */
  const char *transfer;        /* the first transfer's CDR result, NULL: no transfer */
} dt_demo_call_t;

typedef struct {
  cJSON *root;                 /* every string above points into it */
  dt_demo_call_t *calls;
  size_t count;
} dt_demo_callers_t;

/* Reads and checks path. Returns 0, or DT_ENOENT (the file cannot be read) or DT_EINVAL
   (not JSON, or not the shape above) with "PATH[:LINE:COL]: what is wrong, where
   (calls[2].expect.outcome)" in err; out is then empty. */
int dt_demo_callers_load(const char *path, dt_demo_callers_t *out, char *err, size_t errlen);
void dt_demo_callers_free(dt_demo_callers_t *c);

#endif
