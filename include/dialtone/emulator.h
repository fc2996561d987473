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
 * 0 = instant, still asynchronous), or, in manual mode, the simulated clock moves only when
 * its owner moves it (dt_emulator_clock_next / _advance). Timeouts that wait on the bot
 * (the 15 s answer timeout, the 45 min keepAlive rule) always run in real time.
 */
#ifndef DIALTONE_EMULATOR_H
#define DIALTONE_EMULATOR_H
#include <stdbool.h>
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
                                  (dt_emulator_set_bot_url, POST /emulator/config
                                  or /emulator/bot, or per call) */
  const char *app_id;          /* the bot's app id (JWT aud); default DT_EMULATOR_DEFAULT_APP_ID */
  const char *tenant_id;       /* JWT tid and tenantId of calls; default DT_EMULATOR_DEFAULT_TENANT_ID */
  const char *client_secret;   /* NULL = the token endpoint accepts any secret */
  const char *client_cert_file; /* the app's registered certificate (PEM): the token endpoint
                                   then takes client assertions signed with its key; NULL =
                                   assertions are refused (no certificate registered) */
  const char *roles;           /* the Graph application permissions granted to the app (the
                                  access tokens' roles), comma-separated; NULL/"" = every
                                  calling one, "none" = none (emu_identity.h) */
  int tls;                     /* non-zero: serve everything over HTTPS (emu_tls.h) */
  const char *tls_cert_file;   /* with tls: the server certificate (PEM, chain) and its key;
                                  NULL = made by the emulator's local CA in tls_dir */
  const char *tls_key_file;
  const char *tls_dir;         /* the local CA's directory (ca.pem kept across runs); NULL =
                                  a new directory under /tmp */
  const char *tls_hosts;       /* extra names for the made certificate, comma-separated
                                  (e.g. graph.microsoft.com,login.microsoftonline.com) */
  double time_scale;           /* 1 real time, 0 instant (a zeroed struct is instant;
                                  dt_emulator_options_init sets 1) */
  int64_t default_prompt_ms;   /* prompt length when its WAV cannot be fetched; 0 = 2000 */
  int fetch_remote_prompts;    /* non-zero: also fetch prompt WAVs from hosts that are not
                                  loopback (by default only 127.0.0.0/8, localhost and [::1]
                                  are fetched; other prompts last default_prompt_ms, so the
                                  documents' example URLs never leave the machine) */
  int64_t answer_timeout_ms;   /* real ms an incoming call waits for answer/reject/redirect; 0 = 15000 */
  int keepalive_simulated;     /* non-zero: Graph's 45-minute keepAlive rule runs on the simulated
                                  clock (for a clock its owner moves, as `dialtone test` does: a
                                  free-running instant clock would jump to it whenever idle);
                                  default: real time */
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
  int strict;                  /* non-zero: refuse what Graph refuses that loopback tests need
                                  by default: an http:// callbackUri (Graph requires https) */
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
/* With tls and a made certificate: the local CA's certificate (ca.pem) clients trust; else NULL. */
const char *dt_emulator_ca_file(const dt_emulator_t *emu);
/* Stops listening, cancels every timer and outgoing request, frees everything, then calls
   done (may be NULL) from the loop. */
void dt_emulator_close(dt_emulator_t *emu, void (*done)(void *ud), void *ud);

/* ------------------------------------------------------------------ control API in C
   The typed control API: one function per operation of the HTTP control API ("Control
   API" in docs/emulator.md). The HTTP routes under {E}/emulator/ parse their JSON, call
   these and render the result; in-process users (localrun: the demo, the console,
   `dialtone test`) call them directly. All of them run on the emulator's loop thread and
   act at once (what they cause — notifications, timeline entries — follows on the loop).
   Errors: DT_EINVAL (bad argument; nothing changed; err says why), DT_ENOENT (no such
   call), DT_ESTATE (the call has ended), DT_ECLOSED (the emulator is closing). err may be
   NULL. JSON-shaped arguments (identities, scripts) are borrowed cJSON values in the same
   forms the HTTP bodies take. */

#define DT_EMULATOR_CALL_ID_LEN 37  /* a call id and its NUL */

typedef struct {
  const char *bot_url;       /* where the call's notifications go; NULL = the emulator's bot URL */
  const cJSON *from;         /* caller identity: {"user":"id"}, {"phone":"+1..."}, an
                                identitySet or a string; NULL = +15555550100 */
  const cJSON *to;           /* called identity, same forms; NULL = the bot's application */
  const cJSON *script;       /* the caller's script (array of steps) or NULL */
  const char *tenant_id;     /* NULL = the emulator's tenant */
  const cJSON *modalities;   /* array of strings (at most 8) or NULL = ["audio"] */
  /* What Graph says about the call (docs/emulator.md "Incoming context"; all optional): */
  const char *subject;       /* the call's subject (at most 1024 bytes) */
  const cJSON *meeting;      /* a meeting invite: true, or {"organizer": identity, "thread":,
                                "message":} — the call carries chatInfo and meetingInfo */
  const cJSON *transferor;   /* identity: the call was transferred by them (incomingContext) */
  const cJSON *on_behalf_of; /* identity: incomingContext.onBehalfOf */
  bool policy_recording;     /* a compliance-recording invite: the caller is the observed
                                participant, the target the recorder's application instance */
} dt_emulator_call_options_t;

/* The options of POST /emulator/calls read from its JSON body (borrowed: they point into body):
   bot_url (alias callback, callbackUri), from, to, script, tenant_id, modalities, subject,
   meeting, transferor, on_behalf_of, policy_recording. Checks the members' JSON types only
   (dt_emulator_place_call checks their values): 0, or DT_EINVAL with why in err. The control
   API's route and `dialtone test` both read a call's options here. */
int dt_emulator_call_options_json(const cJSON *body, dt_emulator_call_options_t *o, char *err, size_t errlen);
/* Places an incoming call to the bot; its id goes to call_id (may be NULL). */
int dt_emulator_place_call(dt_emulator_t *emu, const dt_emulator_call_options_t *opts,
                           char call_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen);
/* The caller presses tones (up to 64 of 0-9 * # A-D), gap_ms simulated ms apart (negative =
   150; at most 60000); the first key is pressed now. */
int dt_emulator_press(dt_emulator_t *emu, const char *call_id, const char *tones, int64_t gap_ms,
                      char *err, size_t errlen);
/* The caller speaks for ms simulated ms (1 .. 3600000), from now. */
int dt_emulator_speak(dt_emulator_t *emu, const char *call_id, int64_t ms, char *err, size_t errlen);
/* The caller (the far end) hangs up. */
int dt_emulator_hangup(dt_emulator_t *emu, const char *call_id, char *err, size_t errlen);
/* People in group calls and meetings. A person joins the group call or meeting call_id is
   in (every bot leg in the same meeting sees them, with one participant id): identity in
   place_call's forms ({"user":"id"}, {"phone":"+1…"}, an identitySet, a string), or guest =
   a display name (an anonymous guest, shown as a guest identity); name is the display name.
   The bot is told by a roster notification. DT_ESTATE: not an established group call or
   meeting (a 1:1 call has no roster to join). The participant's id goes to participant_id. */
typedef struct {
  const cJSON *identity;
  const char *guest;
  const char *name;
} dt_emulator_person_t;
int dt_emulator_join(dt_emulator_t *emu, const char *call_id, const dt_emulator_person_t *who,
                     char participant_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen);
/* The person `who` (a participant id or an identity id) leaves: DT_ENOENT when nobody by
   that id is there. */
int dt_emulator_leave(dt_emulator_t *emu, const char *call_id, const char *who, char *err, size_t errlen);
/* The remote party puts the established call on hold (on) or takes it off hold: callState
   "hold" / "established" notifications. DT_ESTATE when the call is not in the state to leave. */
int dt_emulator_hold(dt_emulator_t *emu, const char *call_id, bool on, char *err, size_t errlen);
/* Where incoming calls' notifications go from now on (an http(s) URL; NULL clears it). The
   one way to set it after start (dt_emulator_options_t.bot_url sets it at start); from
   another thread, use dt_emulator_thread_set_bot_url. */
int dt_emulator_set_bot_url(dt_emulator_t *emu, const char *url, char *err, size_t errlen);
const char *dt_emulator_bot_url(const dt_emulator_t *emu); /* NULL when unset */

/* How a called party (an outgoing call's target, an invitee) behaves. */
typedef enum {
  DT_EMULATOR_ANSWER = 0, DT_EMULATOR_BUSY, DT_EMULATOR_NOANSWER, DT_EMULATOR_REJECT
} dt_emulator_behaviour_t;
typedef struct {
  dt_emulator_behaviour_t behaviour;
  int64_t answer_delay_ms;   /* simulated ms before it answers (0 .. 86400000); negative =
                                the emulator's default */
  const cJSON *script;       /* runs once the party is in the call; NULL = none */
} dt_emulator_party_t;
/* Sets (replaces) the behaviour of identity id (case-insensitive, at most 255 bytes). */
int dt_emulator_set_party(dt_emulator_t *emu, const char *id, const dt_emulator_party_t *party,
                          char *err, size_t errlen);
/* Forgets identity id's behaviour (0 also when it had none). */
int dt_emulator_remove_party(dt_emulator_t *emu, const char *id);

/* Run-time settings (GET/POST /emulator/config). */
typedef struct {
  double time_scale;         /* 0 .. 1000 */
  int64_t default_prompt_ms; /* 0 .. 3600000 */
  int64_t answer_timeout_ms; /* 1 .. 3600000 */
  int64_t ring_timeout_ms;   /* 0 .. 3600000 */
  int64_t answer_delay_ms;   /* 0 .. 3600000 */
  size_t history;            /* 1 .. 1000000 */
  bool strict;               /* dt_emulator_options_t.strict */
} dt_emulator_config_t;
void dt_emulator_get_config(const dt_emulator_t *emu, dt_emulator_config_t *out);
/* Validates every field first: a bad one changes nothing. */
int dt_emulator_set_config(dt_emulator_t *emu, const dt_emulator_config_t *cfg, char *err, size_t errlen);
/* Changes the time scale at run time (0 .. 1000; out of range is clamped). */
void dt_emulator_set_time_scale(dt_emulator_t *emu, double scale);

/* Fault injection (POST /emulator/faults; docs/emulator.md "Fault injection"). */
typedef struct {
  double drop_notifications;      /* probabilities 0..1 */
  double duplicate_notifications;
  double delay_notifications;     /* delayed by delay_ms */
  int64_t delay_ms;               /* 0 .. 3600000 */
  double reorder_notifications;   /* two queued notifications swap */
  int graph_status;               /* 0 or 400..599: every Graph request answers with it */
  int graph_status_count;         /* that many requests (0 = all) */
  int retry_after_s;
  bool graph_hang;                /* Graph requests are never answered */
  bool ops_never_complete;
  bool pascal_case;               /* PascalCase enum values in notifications */
  bool swap_answer_notifications; /* established before establishing */
  int recording_status;           /* 0 or 400..599 for recording downloads */
  int recording_status_count;     /* that many downloads (0 = all) */
  bool recording_hang;            /* recording downloads are never answered */
  bool no_media_state;            /* no mediaState in call notifications (as a service that never
                                     reports it): the engine must not wait for it forever */
  int64_t media_delay_ms;         /* simulated ms from established to mediaState audio "active"
                                     (0 .. 3600000; default 0: the next notification) */
} dt_emulator_faults_t;
void dt_emulator_get_faults(const dt_emulator_t *emu, dt_emulator_faults_t *out);
/* Replaces every fault (a zeroed struct clears them); validates first. */
int dt_emulator_set_faults(dt_emulator_t *emu, const dt_emulator_faults_t *faults, char *err, size_t errlen);

/* Ends every call at once without notifications, forgets ended calls, parties, faults and
   what the prompt cache knew (POST /emulator/reset). Settings and the bot URL stay. */
void dt_emulator_reset(dt_emulator_t *emu);

typedef struct {
  uint64_t active_calls, calls_total, ended_calls_kept;
  uint64_t requests_total, notifications_total, notifications_failed;
  uint64_t prompts_cached, recordings, recording_requests, recording_downloads;
  uint64_t sim_time_ms;           /* the simulated clock */
} dt_emulator_stats_t;
void dt_emulator_get_stats(const dt_emulator_t *emu, dt_emulator_stats_t *out);

/* ------------------------------------------------------------------ the simulated clock
   By default the simulated clock runs by itself: it follows the real clock divided by
   time_scale, and at 0 jumps from event to event on the loop's next turns. In manual mode
   it stands still until its owner moves it — `dialtone test` does, so that it can let the
   engine finish reacting to one instant before the next one comes:
   dt_emulator_clock_next moves it to the earliest scheduled event and runs the events due
   at that instant (those scheduled before the call: what they schedule for the same
   instant runs on the next call), returning how many ran (0: nothing is scheduled);
   dt_emulator_clock_advance moves it by ms, running every event due within them in order,
   and leaves it at exactly now + ms. Both return DT_ESTATE outside manual mode and
   DT_EBUSY when called from inside the emulator's own processing. What the events cause
   (notifications, timeline entries for the hook) follows on the loop. */
/* Leaving manual mode with keepalive_simulated turns it off: a free-running clock would
   jump to the rule's deadline whenever idle, so each live call's rule restarts in real time. */
void dt_emulator_set_clock_manual(dt_emulator_t *emu, bool manual);
uint64_t dt_emulator_clock_now(const dt_emulator_t *emu);           /* simulated ms */
/* The simulated time of the earliest scheduled event that is not a lazy deadline (the
   keepAlive rule's, with keepalive_simulated) into *due; DT_ENOENT when none. An owner that
   moves the clock to "what happens next" while waiting on the bot looks here, so that an
   idle call is not carried to its 45-minute deadline; a wait for a set time runs it. */
int dt_emulator_clock_next_active_due(const dt_emulator_t *emu, uint64_t *due);
/* The simulated time of the earliest scheduled event into *due; DT_ENOENT when none. */
int dt_emulator_clock_next_due(const dt_emulator_t *emu, uint64_t *due);
int dt_emulator_clock_next(dt_emulator_t *emu);
int dt_emulator_clock_advance(dt_emulator_t *emu, uint64_t ms);
/* True while the emulator owes the bot or the hook something: a notification queued or in
   flight, a prompt fetch in flight, timeline entries not yet handed to the hook. */
bool dt_emulator_busy(const dt_emulator_t *emu);

/* Views as the HTTP control API renders them (new objects; the caller frees them with
   cJSON_Delete). call and timeline return NULL for an unknown call id. */
cJSON *dt_emulator_calls_json(const dt_emulator_t *emu);                  /* GET /calls */
cJSON *dt_emulator_call_json(dt_emulator_t *emu, const char *call_id);     /* GET /calls/{id} */
cJSON *dt_emulator_timeline_json(dt_emulator_t *emu, const char *call_id); /* GET /calls/{id}/timeline */
cJSON *dt_emulator_config_json(const dt_emulator_t *emu);                 /* GET /config */
cJSON *dt_emulator_parties_json(const dt_emulator_t *emu);                /* GET /parties */

/* ------------------------------------------------------------------ in-process hooks
   (localrun: the demo, the console, `dialtone test`).

   dt_emulator_on_event installs (fn NULL removes) the one hook that sees every timeline
   entry of every call, in sequence order (by "seq"), as the same JSON object GET
   /emulator/calls/{id}/timeline returns. Entries are delivered from the loop shortly after
   they happen (an idle handle, never from inside the emulator's own processing), so the
   hook may call the control API or close the emulator. The entry is valid during the
   hook call only.

   dt_emulator_control is the control API addressed by method and path, for callers that
   hold requests as text (the benchmark, dt_localrun_control): it parses method "GET"/
   "POST"/"PUT"/"DELETE", path under /emulator ("/calls", "/calls/ID/tones"; a leading
   "/emulator" is accepted) and body (JSON text, body_len bytes, or NULL) with the route
   table the HTTP server uses, which calls the typed functions above. Returns the HTTP
   status the control API answers (GET /emulator/events is refused with 400: use the
   hook), or a negative DT_E* (DT_ECLOSED once the emulator is closing, DT_EINVAL for bad
   arguments). *response (may be NULL) receives the answer's body, NUL-terminated, caller
   frees. */
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
/* Sets the bot URL of the emulator on its thread (dt_emulator_set_bot_url run there, handed
   over through a uv_async) and returns once it is in effect. Call it from any thread but
   the emulator's own. */
int dt_emulator_thread_set_bot_url(dt_emulator_thread_t *t, const char *url, char *err, size_t errlen);
/* Closes the emulator on its thread, joins the thread and frees everything. */
void dt_emulator_thread_stop(dt_emulator_thread_t *t);

#endif
