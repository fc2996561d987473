/*
 * emulator.h — the Graph calls emulator: the Graph side of the calls API on loopback.
 *
 * One emulator = one libuv loop, one HTTP server, no global state (several may run in
 * one process). It serves (see docs/emulator.md for every path and body):
 *  - the Graph calls REST surface of both dialects ({E}/v1.0 or {E}/beta, prefix optional;
 *    /communications/calls and /app/calls; plain or namespace-qualified action names);
 *  - an OAuth client-credentials token endpoint POST {E}/{tenant}/oauth2/v2.0/token whose
 *    tokens every Graph request must carry (401 otherwise);
 *  - GET {E}/.well-known/openid-configuration and the JWKS at {E}/discovery/keys;
 *  - recordings as WAV files at {E}/recordings/{id} (Bearer recordingAccessToken);
 *  - a control API under {E}/emulator/ (place incoming calls, press keys, speak, hang up,
 *    callee behaviour, config, reset, per-call timelines, server-sent events).
 * Notifications are POSTed to each call's callbackUri with an RS256 bearer JWT
 * (iss https://api.botframework.com, aud = app id, tid = tenant id), one in flight per
 * call so a call's notifications arrive in order.
 *
 * Simulated time: every simulated delay (prompt durations, callee answer delays, speech,
 * recording timeouts, caller scripts) is multiplied by time_scale (1 = real time,
 * 0 = instant, still asynchronous). Timeouts that wait on the bot (the 15 s answer
 * timeout, the 45 min keepAlive rule) always run in real time.
 */
#ifndef DIALTONE_EMULATOR_H
#define DIALTONE_EMULATOR_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/metrics.h"

typedef struct dt_emulator_s dt_emulator_t;
typedef struct dt_emulator_thread_s dt_emulator_thread_t;

#define DT_EMULATOR_DEFAULT_APP_ID "11111111-1111-1111-1111-111111111111"
#define DT_EMULATOR_DEFAULT_TENANT_ID "22222222-2222-2222-2222-222222222222"

typedef struct {
  const char *listen;          /* "ADDR:PORT"; default "127.0.0.1:0" (a free port) */
  const char *bot_url;         /* where incoming-call notifications go; NULL = set later
                                  (POST /emulator/config or /emulator/bot, or per call) */
  const char *app_id;          /* the bot's app id (JWT aud); default DT_EMULATOR_DEFAULT_APP_ID */
  const char *tenant_id;       /* JWT tid and tenantId of calls; default DT_EMULATOR_DEFAULT_TENANT_ID */
  const char *client_secret;   /* NULL = the token endpoint accepts any secret */
  double time_scale;           /* 1 real time, 0 instant (a zeroed struct is instant;
                                  dt_emulator_options_init sets 1) */
  int64_t default_prompt_ms;   /* prompt length when its WAV cannot be fetched; 0 = 2000 */
  int fetch_remote_prompts;    /* non-zero: also fetch prompt WAVs from hosts that are not
                                  loopback (by default only 127.0.0.0/8, localhost and [::1]
                                  are fetched; other prompts last default_prompt_ms, so the
                                  documents' example URLs never leave the machine) */
  int64_t answer_timeout_ms;   /* real ms an incoming call waits for answer/reject/redirect; 0 = 15000 */
  int64_t ring_timeout_ms;     /* simulated ms a callee that never answers rings; 0 = 60000 */
  int64_t answer_delay_ms;     /* simulated ms a callee takes to answer by default; 0 = 2000,
                                  negative = answers at once */
  const char *recordings_dir;  /* optional: every recording is also written there as {id}.wav */
  size_t history;              /* ended calls kept for the control API; 0 = 1000 */
  unsigned key_bits;           /* RSA key size of the notification signing key; 0 = 2048 */
  const char *key_pem;         /* optional PEM private key to sign with instead of a new one
                                  (generating one takes a while; tests share one) */
  dt_metrics_t *metrics;       /* optional, borrowed (must outlive the emulator; same thread) */
  int quiet;                   /* non-zero: no info log lines */
} dt_emulator_options_t;

/* Fills opts with the defaults (time_scale 1, listen "127.0.0.1:0", everything else 0/NULL). */
void dt_emulator_options_init(dt_emulator_options_t *opts);

/* Generates the signing key, binds and starts listening on loop. Strings in opts are
   copied. On failure returns DT_E* with a detail in err. */
int dt_emulator_start(uv_loop_t *loop, const dt_emulator_options_t *opts, dt_emulator_t **out,
                      char *err, size_t errlen);
/* "http://127.0.0.1:PORT" (no trailing slash); valid until the emulator is closed. */
const char *dt_emulator_url(const dt_emulator_t *emu);
int dt_emulator_port(const dt_emulator_t *emu);
const char *dt_emulator_app_id(const dt_emulator_t *emu);
const char *dt_emulator_tenant_id(const dt_emulator_t *emu);
/* Changes the time scale at run time (same as POST /emulator/config). */
void dt_emulator_set_time_scale(dt_emulator_t *emu, double scale);
/* Stops listening, cancels every timer and outgoing request, frees everything, then calls
   done (may be NULL) from the loop. */
void dt_emulator_close(dt_emulator_t *emu, void (*done)(void *ud), void *ud);

/* In-process hooks (localrun: the demo, the console, `dialtone test`).

   dt_emulator_on_event installs (fn NULL removes) the one hook that sees every timeline
   entry of every call, in sequence order (by "seq"), as the same JSON object GET
   /emulator/calls/{id}/timeline returns. Entries are delivered from the loop shortly after
   they happen (an idle handle, never from inside the emulator's own processing), so the
   hook may call dt_emulator_control or close the emulator. The entry is valid during the
   hook call only.

   dt_emulator_control runs one control API request ("Control API" in docs/emulator.md)
   synchronously through the control API's own handlers: method "GET"/"POST"/"PUT"/
   "DELETE", path under /emulator ("/calls", "/calls/ID/tones"; a leading "/emulator" is
   accepted), body JSON text (body_len bytes) or NULL. Returns the HTTP status the control
   API answers (GET /emulator/events is refused with 400: use the hook), or a negative
   DT_E* (DT_ECLOSED once the emulator is closing, DT_EINVAL for bad arguments).
   *response (may be NULL) receives the answer's body, NUL-terminated, caller frees. */
typedef void (*dt_emulator_event_fn)(const cJSON *entry, void *ud);
void dt_emulator_on_event(dt_emulator_t *emu, dt_emulator_event_fn fn, void *ud);
int dt_emulator_control(dt_emulator_t *emu, const char *method, const char *path, const char *body,
                        size_t body_len, char **response, size_t *response_len);

/* Benchmark probe (tests/bench/dt_bench.c): fn runs synchronously on the emulator's loop
   when a notification leaves for the bot (DT_EMU_PROBE_NOTIFY: just before it is handed to
   the HTTP client; call_id is the call whose queue sent it) and when a Graph request about
   a live call arrives (DT_EMU_PROBE_REQUEST: as soon as the call is looked up), with
   uv_hrtime() of that moment. It must not call back into the emulator. fn NULL removes it;
   unset, it costs one pointer test per notification and request. */
typedef enum { DT_EMU_PROBE_NOTIFY = 1, DT_EMU_PROBE_REQUEST = 2 } dt_emulator_probe_t;
typedef void (*dt_emulator_probe_fn)(dt_emulator_probe_t what, const char *call_id, uint64_t ns, void *ud);
void dt_emulator_on_probe(dt_emulator_t *emu, dt_emulator_probe_fn fn, void *ud);

/* Threaded embedding (for the engine): its own thread and libuv loop. Returns once the
   emulator listens (or failed to start). */
int dt_emulator_thread_start(const dt_emulator_options_t *opts, dt_emulator_thread_t **out,
                             char *err, size_t errlen);
const char *dt_emulator_thread_url(const dt_emulator_thread_t *t);
const char *dt_emulator_thread_app_id(const dt_emulator_thread_t *t);
const char *dt_emulator_thread_tenant_id(const dt_emulator_thread_t *t);
/* Closes the emulator on its thread, joins the thread and frees everything. */
void dt_emulator_thread_stop(dt_emulator_thread_t *t);

/* `dialtone emulator [--listen ADDR:PORT] [--bot URL] [--time-scale X] [--app-id ID]
   [--tenant-id ID] [--client-secret S] [--recordings DIR]`: prints its URL on the first
   line of stdout, runs until SIGINT/SIGTERM, returns 0 (2 on a usage error, 1 when it
   cannot start). argv[0] is the program name; argv[1] may be "emulator". */
int dt_emulator_main(int argc, char **argv);

#endif
