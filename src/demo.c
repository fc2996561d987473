/*
 * demo.c — `dialtone demo` (src/demo.h).
 *
 * Owns: placing the scripted calls of FLOWS/main.demo.json (demo_callers.h: for the
 * shipped flows/main.lua a voicemail; a wrong key, silence and an order number read back;
 * a plumber who is busy; a plumber who answers) one after the other, their transcripts
 * (transcript.h), the check that each call went as its data says, and the summary.
 * Promises: everything runs in this process on one loop (localrun.h): the engine runs the
 * real flow against the embedded emulator over loopback HTTP; callers are emulator caller
 * scripts (docs/emulator.md), so nothing here presses keys on a timer of its own. Lines are
 * printed as the emulator's timeline reports them, stamped with simulated time, so the
 * transcript reads like a real call whatever the time scale. Whether a call went as
 * scripted is decided from the engine's call record (CDR: outcome, error, recordings,
 * transfers) and the prompts the emulator played — never from the transcript text.
 * No ANSI colours unless the output is a terminal (and NO_COLOR is unset).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "args.h"
#include "dialtone/common.h"
#include "cdr_file.h"
#include "demo.h"
#include "demo_callers.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"
#include "dialtone/wav.h"
#include "logcap.h"
#include "scratch.h"
#include "transcript.h"

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ================================================================== the scripted calls */

typedef enum { PH_IDLE, PH_IN_CALL, PH_WAIT_CDR, PH_CLOSING } phase_t;

typedef struct {
  uv_loop_t loop;
  uv_timer_t timer;
  uv_signal_t sigint;
  dt_localrun_t *lr;
  dt_transcript_t *tr;
  FILE *out, *err;
  dt_scratch_t dirs;             /* the CDR file and the recordings */
  char *prompts_dir;
  dt_demo_callers_t callers;     /* FLOWS/main.demo.json */
  const dt_demo_call_t *prev;    /* the call before (its parties are forgotten) */
  double time_scale;
  size_t cur;
  phase_t phase;
  char call_id[128];
  uint64_t deadline;
  bool hung_up_by_us;
  dt_buf_t played;               /* prompt names of the current call, space-separated */
  unsigned ok_calls, failed_calls;
  unsigned recordings_saved;
  bool interrupted;
  bool closed;
} demo_t;

static void demo_next(demo_t *d);

static const char *S(demo_t *d, const char *style) { return dt_transcript_style(d->tr, style); }
static const char *R(demo_t *d) { return dt_transcript_reset(d->tr); }

static void on_entry(const cJSON *e, void *ud) {
  demo_t *d = ud;
  const char *call = jstr(e, "call");
  if (d->phase != PH_IN_CALL || call == NULL || strcmp(call, d->call_id) != 0) return;
  dt_transcript_entry(d->tr, e);
  const char *kind = jstr(e, "kind");
  if (kind && strcmp(kind, "prompt") == 0) {
    const char *name = jstr(e, "name");
    dt_buf_appendf(&d->played, "%s%s", d->played.len ? " " : "", name ? name : "?");
  }
  if (kind && strcmp(kind, "ended") == 0) {
    d->phase = PH_WAIT_CDR;
    d->deadline = dt_now_ms() + 15000;
  }
}

/* Is `want` (space-separated names) a subsequence of `have`? Sets *missing to the first
   name not found in order. */
static bool played_in_order(const char *have, const char *want, char *missing, size_t mlen) {
  const char *h = have;
  const char *w = want;
  while (*w) {
    size_t wl = strcspn(w, " ");
    bool found = false;
    while (*h) {
      size_t hl = strcspn(h, " ");
      bool eq = hl == wl && strncmp(h, w, wl) == 0;
      h += hl;
      while (*h == ' ') h++;
      if (eq) {
        found = true;
        break;
      }
    }
    if (!found) {
      snprintf(missing, mlen, "%.*s", (int)wl, w);
      return false;
    }
    w += wl;
    while (*w == ' ') w++;
  }
  return true;
}

/* Prints the call's results and whether it went as scripted. */
static void finish_call(demo_t *d, cJSON *cdr, const char *problem) {
  const dt_demo_call_t *sc = &d->callers.calls[d->cur];
  char reason[512] = "";
  if (problem) snprintf(reason, sizeof reason, "%s", problem);
  const char *outcome = jstr(cdr, "outcome");
  const char *error = jstr(cdr, "error");
  /* recordings: each stored file, with its length */
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  int nrec = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, recs) {
    if (!cJSON_IsString(r)) continue;
    nrec++;
    dt_wav_info_t w;
    uint64_t flen = 0;
    int wrc = dt_wav_parse_file(r->valuestring, &w, &flen, NULL, 0);
    const char *bad = wrc == DT_ENOENT ? "missing" : "not a WAV file";
    if (wrc == 0) {
      double secs = dt_wav_seconds(&w, flen);
      d->recordings_saved++;
      dt_transcript_note(d->tr, -1, "ok", "voicemail saved to %s (%.1f s WAV)", r->valuestring, secs);
    } else {
      dt_transcript_note(d->tr, -1, "bad", "recording %s is %s", r->valuestring, bad);
      if (!reason[0]) snprintf(reason, sizeof reason, "the recording %s is %s", r->valuestring, bad);
    }
  }
  const cJSON *trs = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  const cJSON *tr0 = cJSON_GetArrayItem(trs, 0);
  const char *tres = jstr(tr0, "result");
  if (!reason[0] && cdr == NULL) snprintf(reason, sizeof reason, "the engine wrote no call record");
  if (!reason[0] && error && error[0])
    snprintf(reason, sizeof reason, "the flow failed: %s", error);
  if (!reason[0] && (outcome == NULL || strcmp(outcome, sc->outcome) != 0))
    snprintf(reason, sizeof reason, "the call ended '%s', expected '%s'", outcome ? outcome : "?", sc->outcome);
  char missing[64];
  if (!reason[0] && !played_in_order(d->played.data ? d->played.data : "", sc->must_play, missing, sizeof missing))
    snprintf(reason, sizeof reason, "the prompt '%s' was not played when expected (played: %s)", missing,
             d->played.data ? d->played.data : "none");
  if (!reason[0] && nrec != sc->recordings)
    snprintf(reason, sizeof reason, "%d recording(s) stored, expected %d", nrec, sc->recordings);
  if (!reason[0] && sc->transfer && (tres == NULL || strcmp(tres, sc->transfer) != 0))
    snprintf(reason, sizeof reason, "the transfer ended '%s', expected '%s'", tres ? tres : "(none)", sc->transfer);
  if (!reason[0] && !sc->transfer && tres)
    snprintf(reason, sizeof reason, "an unexpected transfer (%s)", tres);
  if (reason[0]) {
    d->failed_calls++;
    fprintf(d->out, "  %s=> NOT as scripted: %s%s\n\n", S(d, "bad"), reason, R(d));
  } else {
    d->ok_calls++;
    fprintf(d->out, "  %s=> as scripted%s (outcome: %s)\n\n", S(d, "ok"), R(d), outcome);
  }
  fflush(d->out);
}

static void demo_close(demo_t *d);

static void on_tick(uv_timer_t *t) {
  demo_t *d = t->data;
  if (d->phase == PH_IN_CALL && dt_now_ms() > d->deadline) {
    /* the call outlived its script: hang it up and record the failure */
    dt_emulator_hangup(dt_localrun_emulator(d->lr), d->call_id, NULL, 0);
    d->hung_up_by_us = true;
    d->phase = PH_WAIT_CDR;
    d->deadline = dt_now_ms() + 15000;
    return;
  }
  if (d->phase != PH_WAIT_CDR) return;
  cJSON *cdr = dt_cdr_file_find(d->dirs.cdr_path, d->call_id);
  if (cdr == NULL && dt_now_ms() < d->deadline) return;
  dt_transcript_flush(d->tr);
  finish_call(d, cdr, d->hung_up_by_us ? "the call did not end as scripted (the demo hung it up)" : NULL);
  cJSON_Delete(cdr);
  d->cur++;
  d->phase = PH_IDLE;
  demo_next(d);
}

static void place_call(demo_t *d) {
  const dt_demo_call_t *sc = &d->callers.calls[d->cur];
  fprintf(d->out, "%sCall %zu of %zu: %s%s\n", S(d, "title"), d->cur + 1, d->callers.count, sc->title, R(d));
  dt_transcript_paragraph(d->tr, 2, sc->story, "dim");
  fputc('\n', d->out);
  fflush(d->out);
  dt_emulator_t *emu = dt_localrun_emulator(d->lr);
  /* the parties of the call before go; this call's come (the one scripted transfer
     target of each call, e.g. a plumber who is busy) */
  for (size_t i = 0; d->prev && i < d->prev->nparties; i++) dt_emulator_remove_party(emu, d->prev->parties[i].id);
  d->prev = sc;
  char why[300] = "";
  int rc = 0;
  for (size_t i = 0; i < sc->nparties && rc == 0; i++)
    rc = dt_emulator_set_party(emu, sc->parties[i].id, &sc->parties[i].party, why, sizeof why);
  cJSON *from = cJSON_CreateObject();
  cJSON_AddStringToObject(from, "phone", sc->from);
  dt_emulator_call_options_t co = {0};
  co.from = from;
  co.script = sc->script;
  if (rc == 0) rc = dt_emulator_place_call(emu, &co, d->call_id, why, sizeof why);
  cJSON_Delete(from);
  if (rc != 0) {
    d->failed_calls++;
    fprintf(d->out, "  %s=> NOT as scripted: the emulator refused the call (%s)%s\n\n", S(d, "bad"), why, R(d));
    d->cur++;
    demo_next(d);
    return;
  }
  dt_buf_reset(&d->played);
  d->hung_up_by_us = false;
  d->phase = PH_IN_CALL;
  /* a call of the demo lasts about a minute of simulated time; the engine's own
     timeouts (no input) are real time */
  d->deadline = dt_now_ms() + 30000 + (uint64_t)(180000.0 * d->time_scale);
}

static void print_summary(demo_t *d) {
  const dt_transcript_stats_t *s = dt_transcript_stats(d->tr);
  fprintf(d->out, "%sSummary%s\n", S(d, "title"), R(d));
  fprintf(d->out, "  calls:       %zu placed, %u as scripted", d->callers.count, d->ok_calls);
  if (d->failed_calls) fprintf(d->out, ", %s%u not%s", S(d, "bad"), d->failed_calls, R(d));
  fputc('\n', d->out);
  fprintf(d->out, "  prompts:     %u played\n", s->prompts);
  fprintf(d->out, "  keys:        %u pressed\n", s->keys);
  fprintf(d->out, "  recordings:  %u saved in %s\n", d->recordings_saved, d->dirs.recordings_dir);
  fprintf(d->out, "  transfers:   %u (%u completed, %u failed)\n", s->transfers, s->transfers_completed,
          s->transfers_failed);
  fflush(d->out);
}

static void demo_next(demo_t *d) {
  if (d->interrupted) {
    demo_close(d);
    return;
  }
  if (d->cur < d->callers.count) {
    place_call(d);
    return;
  }
  print_summary(d);
  demo_close(d);
}

static void on_closed(void *ud) {
  demo_t *d = ud;
  d->lr = NULL;
  d->closed = true;
  uv_close((uv_handle_t *)&d->timer, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void demo_close(demo_t *d) {
  if (d->phase == PH_CLOSING) return;
  d->phase = PH_CLOSING;
  dt_localrun_close(d->lr, on_closed, d);
}

static void on_sigint(uv_signal_t *s, int signum) {
  demo_t *d = s->data;
  if (d->interrupted) return;
  d->interrupted = true;
  fprintf(d->err, "dialtone demo: interrupted\n");
  demo_close(d);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dialtone demo [--flows DIR] [--time-scale X] [--recordings DIR] [--beta] [--verbose]\n"
          "Runs the engine and the embedded Graph emulator in this process and places scripted calls\n"
          "through DIR/main.lua (default flows/main.lua), printing a transcript of each call. The\n"
          "callers and what should come of each call are in DIR/main.demo.json.\n"
          "  --time-scale X   simulated time runs X times slower than real time: 0 = instant\n"
          "                   (default), 1 = real time\n"
          "  --recordings DIR where recordings are stored (default: a new directory under /tmp)\n"
          "  --beta           speak Graph's beta dialect (/app/calls) instead of v1.0\n"
          "  --verbose        show the engine's and the emulator's log\n"
          "Exit status: 0 when every call went as scripted, 1 otherwise, 2 on a usage error.\n");
}

int dt_demo_run(int argc, char **argv, FILE *out, FILE *err) {
  const char *flows = "flows";
  const char *recordings = NULL;
  double scale = 0;
  bool verbose = false, beta = false;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--flows", &flows),
      DT_ARG_NUM("--time-scale", &scale, 0, 100,
                 "--time-scale must be a number from 0 (instant) to 100; 1 is real time"),
      DT_ARG_STR("--recordings", &recordings),
      DT_ARG_BOOL("--beta", NULL, &beta),
      DT_ARG_BOOL("--verbose", "-v", &verbose),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone demo", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option '%s'"};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) return code;
  char *main_lua = dt_xasprintf("%s/main.lua", flows);
  struct stat st;
  if (stat(main_lua, &st) != 0) {
    fprintf(err, "dialtone demo: %s: %s (give the flows directory with --flows DIR)\n", main_lua, strerror(errno));
    free(main_lua);
    return 2;
  }
  free(main_lua);
  /* the callers: data beside the flow, so that editing the demo never means editing C */
  dt_demo_callers_t callers;
  char *callers_path = dt_xasprintf("%s/main.demo.json", flows);
  char cerr[600];
  int crc = dt_demo_callers_load(callers_path, &callers, cerr, sizeof cerr);
  free(callers_path);
  if (crc != 0) {
    fprintf(err, "dialtone demo: %s\n  (the demo's callers; docs/operator.md, \"The demo's callers\")\n", cerr);
    return 2;
  }

  demo_t *d = dt_xcalloc(1, sizeof *d);
  d->callers = callers;
  d->out = out;
  d->err = err;
  d->time_scale = scale;
  d->prompts_dir = dt_xasprintf("%s/prompts", flows);
  if (dt_scratch_make(&d->dirs, "demo", recordings, "demo-recordings", "dialtone demo", err) != 0) {
    dt_demo_callers_free(&d->callers);
    free(d->prompts_dir);
    free(d);
    return 1;
  }
  d->tr = dt_transcript_new(out, d->prompts_dir, dt_transcript_color_wanted(out), false);

  /* the log goes aside (shown if something fails) unless --verbose */
  dt_logcap_t log = {0};
  if (!verbose) dt_logcap_start(&log);

  int rc = 0;
  uv_loop_init(&d->loop);
  dt_localrun_options_t o = dt_scratch_options(flows, scale, beta, verbose);
  o.settled_clock = 1; /* at time scale 0 the clock waits for the engine between instants */
  if (dt_scratch_start(&d->dirs, &d->loop, &o, &d->lr, "dialtone demo", err) != 0) {
    rc = 1;
  } else {
    fprintf(out, "%sdialtone demo%s: flows from %s, Graph emulator at %s, engine at %s\n", S(d, "bold"), R(d), flows,
            dt_emulator_url(dt_localrun_emulator(d->lr)), dt_engine_callback_url(dt_localrun_engine(d->lr)));
    if (scale == 0)
      fprintf(out, "Simulated time runs instantly; times below are the calls' simulated times.\n\n");
    else if (scale == 1)
      fprintf(out, "Calls run in real time.\n\n");
    else
      fprintf(out, "Simulated time runs at %g x real time; times below are the calls' simulated times.\n\n",
              1.0 / scale);
    fflush(out);
    uv_timer_init(&d->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, on_tick, 10, 10);
    uv_signal_init(&d->loop, &d->sigint);
    d->sigint.data = d;
    uv_signal_start(&d->sigint, on_sigint, SIGINT);
    dt_localrun_on_event(d->lr, on_entry, d);
    demo_next(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->interrupted) rc = 1;
    else if (d->failed_calls > 0 || d->ok_calls != d->callers.count) rc = 1;
  }
  /* anything left (a failed start) closes here */
  while (uv_run(&d->loop, UV_RUN_NOWAIT) != 0) {
  }
  uv_loop_close(&d->loop);

  dt_logcap_end(&log, rc != 0, err, "dialtone demo", 6000); /* the end of the log says why */
  if (rc != 0 && !d->interrupted && d->lr == NULL && d->failed_calls > 0)
    fprintf(err, "dialtone demo: %u of %zu calls did not go as scripted (see above)\n", d->failed_calls, d->callers.count);
  dt_scratch_remove(&d->dirs); /* our recordings directory too when nothing was recorded */
  dt_transcript_free(d->tr);
  dt_demo_callers_free(&d->callers);
  dt_buf_free(&d->played);
  free(d->prompts_dir);
  free(d);
  return rc;
}

int dt_demo_main(int argc, char **argv) { return dt_demo_run(argc, argv, stdout, stderr); }
