/*
 * emu_internal.h — the emulator's internal types, shared by the files of core/emulator/.
 *
 * Ownership in one paragraph: the emulator owns every call (in `calls`, keyed by the
 * normalised id, ended calls included until the history cap evicts them); a call owns its
 * operations, participants, media queue, notification queue, timeline and scheduled
 * events. Anything that outlives a callback holds a reference on the call (refs); a call
 * is freed when it has been evicted and the last reference is dropped, or at teardown.
 * Everything runs on the emulator's loop thread.
 */
#ifndef DT_EMU_INTERNAL_H
#define DT_EMU_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/jwt.h"

typedef struct emu_call_s emu_call_t;
typedef struct emu_op_s emu_op_t;

/* ------------------------------------------------------------------ string map */
typedef struct dt__emu_map_entry_s {
  char *key;
  void *val;
  struct dt__emu_map_entry_s *next;
} dt__emu_map_entry_t;

typedef struct {
  dt__emu_map_entry_t **buckets;
  size_t nbuckets; /* power of two */
  size_t count;
} dt__emu_map_t;

void dt__emu_map_init(dt__emu_map_t *m);
void *dt__emu_map_get(const dt__emu_map_t *m, const char *key);
void dt__emu_map_put(dt__emu_map_t *m, const char *key, void *val); /* key copied; replaces */
void *dt__emu_map_del(dt__emu_map_t *m, const char *key);          /* returns the old value */
/* Values into a new array (caller frees the array); safe to mutate the map afterwards. */
void **dt__emu_map_values(const dt__emu_map_t *m, size_t *n);
void dt__emu_map_free(dt__emu_map_t *m, void (*free_val)(void *));

/* ------------------------------------------------------------------ scheduler */
typedef struct dt__emu_ev_s dt__emu_ev_t;
typedef struct dt__emu_sched_s dt__emu_sched_t;
typedef void (*dt__emu_ev_fn)(dt__emu_ev_t *ev);

struct dt__emu_ev_s {
  uint64_t due;              /* simulated (or real) ms */
  uint64_t seq;              /* FIFO among equal due times */
  size_t idx;                /* heap position */
  dt__emu_sched_t *sched;
  dt__emu_ev_fn fn;
  emu_call_t *call;          /* owner (may be NULL); the event is on its list */
  dt__emu_ev_t *cprev, *cnext;
  int64_t i;                 /* arguments */
  void *p, *p2;
  char s[40];
};

struct dt__emu_sched_s {
  uv_timer_t timer;
  dt_emulator_t *emu;
  bool real;                 /* real clock: scale fixed at 1 */
  double scale;
  uint64_t anchor_sim, anchor_real;
  dt__emu_ev_t **heap;
  size_t n, cap;
  uint64_t seq;
  bool running;              /* inside the timer callback */
  bool manual;               /* the clock moves only through _next/_advance */
};

void dt__emu_sched_init(dt__emu_sched_t *s, dt_emulator_t *emu, uv_loop_t *loop, bool real,
                        double scale);
uint64_t dt__emu_sched_now(const dt__emu_sched_t *s);
void dt__emu_sched_set_scale(dt__emu_sched_t *s, double scale);
/* Manual mode (simulated clock only): the clock stands still until _next or _advance. */
void dt__emu_sched_set_manual(dt__emu_sched_t *s, bool manual);
/* To the earliest event; runs the events due then that were scheduled before this call.
   Returns how many ran (0: nothing is scheduled), DT_ESTATE when not manual, DT_EBUSY
   from inside an event. */
int dt__emu_sched_next(dt__emu_sched_t *s);
/* By ms: runs every event due within them in order, then the clock reads now + ms. */
int dt__emu_sched_advance(dt__emu_sched_t *s, uint64_t ms);
/* Schedules fn after delay ms of this clock; call (may be NULL) owns the event. */
dt__emu_ev_t *dt__emu_at(dt__emu_sched_t *s, emu_call_t *call, int64_t delay, dt__emu_ev_fn fn);
/* Same at an absolute time of this clock (a time already past fires on the next turn). */
dt__emu_ev_t *dt__emu_at_abs(dt__emu_sched_t *s, emu_call_t *call, uint64_t due, dt__emu_ev_fn fn);
void dt__emu_ev_cancel(dt__emu_ev_t *ev);
void dt__emu_call_cancel_events(emu_call_t *call);
/* Frees every pending event (no callbacks) and closes the timer (close_cb may be NULL). */
void dt__emu_sched_close(dt__emu_sched_t *s, uv_close_cb close_cb);

/* ------------------------------------------------------------------ scripts & parties */
enum { EMU_ON_NONE = 0, EMU_ON_ESTABLISHED, EMU_ON_PROMPT, EMU_ON_RECORD };

typedef struct {
  uint8_t on;
  bool hangup;
  char *match;               /* on prompt: substring of the prompt name or URL */
  int64_t after_ms;
  char *tones;
  int64_t speak_ms;
  int64_t gap_ms;            /* between tones */
} emu_step_t;

typedef struct {
  emu_step_t *steps;
  size_t n;
} emu_script_t;

/* Parses a script (JSON array). On error returns DT_EINVAL with a message in err. */
int dt__emu_script_parse(const cJSON *arr, emu_script_t *out, char *err, size_t errlen);
void dt__emu_script_free(emu_script_t *s);
void dt__emu_script_copy(emu_script_t *dst, const emu_script_t *src);
cJSON *dt__emu_script_json(const emu_script_t *s);

enum { EMU_PARTY_ANSWER = 0, EMU_PARTY_BUSY, EMU_PARTY_NOANSWER, EMU_PARTY_REJECT };

typedef struct {
  int behaviour;
  int64_t answer_delay_ms;   /* < 0: the emulator default */
  emu_script_t script;       /* runs once the party is in the call */
} emu_party_t;

/* ------------------------------------------------------------------ operations */
enum {
  EMU_OP_PLAY = 1, EMU_OP_RECORD, EMU_OP_SUBSCRIBE_TONE, EMU_OP_DTMF, EMU_OP_CANCEL_MEDIA,
  EMU_OP_MUTE, EMU_OP_UNMUTE, EMU_OP_INVITE, EMU_OP_MUTE_ALL, EMU_OP_MUTE_PARTICIPANT,
  EMU_OP_UPDATE_METADATA, EMU_OP_ANSWER
};
enum { EMU_OPS_NOT_STARTED = 0, EMU_OPS_RUNNING, EMU_OPS_COMPLETED, EMU_OPS_FAILED };
enum { EMU_REC_PROMPT = 0, EMU_REC_BEEP, EMU_REC_REC };

#define EMU_MAX_SEGMENTS 8

typedef struct {
  uint64_t start, end;       /* ms from the start of the recording */
} emu_segment_t;

struct emu_op_s {
  emu_op_t *next;            /* the call's op list (newest first) */
  emu_op_t *qnext;           /* media queue */
  char id[37];
  uint8_t type;
  uint8_t status;
  bool queued;               /* in the media queue */
  bool started;
  bool waiting_fetch;
  bool beta_record;          /* "record" (beta) vs "recordResponse" */
  bool loop;                 /* beta playPrompt loop: never completes */
  char created[32];
  char *client_context;
  int rc, rsub;
  const char *rmsg;          /* static text */
  const char *completion_reason;
  dt__emu_ev_t *ev;          /* the op's pending timer */
  /* playPrompt / record prompt */
  char **urls;
  size_t nurls, cur;
  /* record */
  uint8_t phase;
  bool barge_in, beep, spoke;
  char stop_tones[24];
  int64_t initial_silence_ms, max_silence_ms, max_duration_ms;
  uint64_t rec_start, last_speech_end;
  emu_segment_t seg[EMU_MAX_SEGMENTS];
  size_t nseg;
  bool seg_open;
  char *recording_location, *recording_token;
  /* dtmf */
  char *tones;
  int64_t tone_delay_ms;
  /* invite */
  cJSON *participants;       /* the invitations as received */
  int invite_pending, invite_joined, invite_failed_code;
};

/* ------------------------------------------------------------------ notifications */
typedef struct emu_nq_s {
  struct emu_nq_s *next;
  char *url;
  char *body;
  size_t len;
} emu_nq_t;

/* ------------------------------------------------------------------ timeline */
typedef struct {
  char **items;              /* rendered JSON objects */
  size_t n, cap;
  size_t dropped;
} emu_timeline_t;

/* ------------------------------------------------------------------ calls */
enum {
  EMU_CS_INCOMING = 0, EMU_CS_ESTABLISHING, EMU_CS_ESTABLISHED, EMU_CS_TRANSFERRING,
  EMU_CS_TRANSFER_ACCEPTED, EMU_CS_REDIRECTING, EMU_CS_TERMINATING, EMU_CS_TERMINATED
};

struct emu_call_s {
  dt_emulator_t *emu;
  int refs;
  char id[37];
  char key[40];
  char chain_id[37];
  char my_pid[37];
  uint8_t state;
  bool incoming;
  bool ended;                /* Graph-side gone (404) */
  bool evicted;              /* out of the table; freed at refs == 0 */
  bool app_hosted;
  bool multiparty;
  bool tone_subscribed;
  bool muted;
  bool answered_once;
  bool waiting_fetch;        /* in a prompt-cache waiter list */
  bool speaking;
  bool remote_joined;        /* the simulated party is in the call */
  int64_t tone_seq;
  int etag;
  uint64_t speech_until, speech_start;
  char *callback_uri;
  char *remote_id;           /* identity id of the simulated remote party (lower case) */
  char *bot_token_hint;
  cJSON *res;                /* the call resource as GET returns it */
  cJSON *participants;       /* array of participant objects */
  emu_op_t *ops;
  size_t nops;
  emu_op_t *mq_head, *mq_tail;
  emu_nq_t *nq_head, *nq_tail;
  bool nq_busy;
  dt__emu_ev_t *evs;         /* every pending event of this call */
  dt__emu_ev_t *answer_timer, *keepalive_timer, *ring_timer, *speech_timer;
  /* script of the simulated party */
  emu_script_t script;
  size_t step;
  bool step_waiting;         /* the current step waits for its trigger */
  dt__emu_ev_t *step_timer;
  /* transfer in progress */
  char *transfer_target;     /* identity id */
  char *transfer_replaces;   /* call id */
  /* escalation: this call replaced by another (invite with replacesCallId) */
  emu_timeline_t tl;
  emu_call_t *hnext;         /* history list of ended calls */
  int64_t created_unix;
  uint64_t serial;
  uint64_t created_sim, ended_sim;
  char *end_reason;
  char from_desc[96], to_desc[96];
};

/* ------------------------------------------------------------------ prompt cache */
typedef struct {
  int state;                 /* 0 fetching, 1 known */
  int64_t duration_ms;
  emu_call_t **waiters;
  size_t nwaiters, capwaiters;
} emu_prompt_t;

typedef struct emu_recording_s {
  char id[37];
  char token[64];
  uint64_t duration_ms;
  emu_segment_t seg[EMU_MAX_SEGMENTS];
  size_t nseg;
  struct emu_recording_s *fnext; /* FIFO for eviction */
} emu_recording_t;

typedef struct emu_sse_s {
  struct emu_sse_s *next;
  dt_http_request_t *req;
  bool aborted;
} emu_sse_t;

/* Outgoing requests in flight (notifications, prompt fetches): closing the http client
   drops their callbacks, so teardown frees them from this list. */
typedef struct emu_inflight_s {
  struct emu_inflight_s *prev, *next;
  void (*free_fn)(struct emu_inflight_s *self);
} emu_inflight_t;

/* ------------------------------------------------------------------ faults (issue 6) */
typedef dt_emulator_faults_t emu_faults_t; /* the public struct (emulator.h) */

/* ------------------------------------------------------------------ the emulator */
struct dt_emulator_s {
  uv_loop_t *loop;
  dt_http_server_t *srv;
  dt_http_client_t *http;
  dt_metrics_t *metrics;
  char *url;
  char *bot_url;
  char *app_id, *tenant_id, *client_secret;
  char *recordings_dir;
  bool quiet;
  double time_scale;
  int64_t default_prompt_ms, answer_timeout_ms, ring_timeout_ms, answer_delay_ms;
  bool fetch_remote_prompts;
  size_t history_max;
  int port;
  dt_jwt_key_t *key;
  char *jwks_json;
  char *jwt;                 /* cached notification token */
  int64_t jwt_exp;
  unsigned char hmac_key[32];
  dt__emu_sched_t sim, real;
  dt__emu_map_t calls, prompts, recordings, parties;
  emu_recording_t *rec_head, *rec_tail;
  size_t nrec;
  emu_call_t *hist_head, *hist_tail;
  size_t hist_n;
  size_t active_calls;
  uint64_t tl_seq;
  emu_sse_t *sse;
  emu_inflight_t *inflight;
  emu_faults_t faults;
  uint64_t rng;
  /* the in-process timeline hook (dt_emulator_on_event): entries wait in hook_q and are
     delivered in seq order from hook_idle, outside the emulator's own processing */
  dt_emulator_event_fn event_fn;
  void *event_ud;
  dt_emulator_probe_fn probe_fn; /* dt_emulator_on_probe (benchmarks) */
  void *probe_ud;
  cJSON **hook_q;
  size_t hook_n, hook_cap;
  uv_idle_t hook_idle;
  /* counters for /emulator/stats */
  uint64_t n_requests, n_calls, n_notifications, n_notify_failed;
  uint64_t n_rec_requests, n_rec_served; /* recording downloads asked for / answered 200 */
  /* closing */
  bool closing;
  int close_pending;
  void (*close_done)(void *ud);
  void *close_ud;
};

/* ------------------------------------------------------------------ util (emu_util.c) */
/* Lower case, dashes removed; "/app/calls/ID" style paths use their last segment. */
void dt__emu_id_key(const char *id, char *out, size_t outlen);
/* The id of an identitySet ({"user":{"id":..}} ...) or NULL; *kind gets "user"/"phone"/... */
const char *dt__emu_identity_id(const cJSON *identity_set, const char **kind);
/* Accepts an identitySet or the short forms {"user":"id"}, {"phone":"+1"}, "+1555...", "id"
   and returns a new identitySet object. NULL if it is none of those. */
cJSON *dt__emu_identity_from_short(const cJSON *v);
void dt__emu_identity_desc(const cJSON *identity_set, char *out, size_t outlen);
const char *dt__emu_json_str(const cJSON *obj, const char *name);
/* Case-insensitive member lookup. */
cJSON *dt__emu_json_get(const cJSON *obj, const char *name);
/* Writes a 44-byte-header WAV (8 kHz, 16-bit, mono PCM): silence with a 440 Hz tone in the
   given segments. Caller frees *out. */
void dt__emu_wav_build(uint64_t duration_ms, const emu_segment_t *seg, size_t nseg, char **out,
                       size_t *len);
/* Duration of a RIFF/WAVE PCM file in ms from its first len bytes (total_len = the whole
   file's size when known, else 0); DT_EPARSE when it is not one. */
int dt__emu_wav_duration(const void *data, size_t len, uint64_t total_len, int64_t *ms);
/* Access tokens: "<exp>.<hex hmac>" signed with the emulator's key. */
char *dt__emu_token_issue(dt_emulator_t *emu, int64_t lifetime_s);
bool dt__emu_token_valid(dt_emulator_t *emu, const char *token);
void dt__emu_random_token(char *out, size_t n); /* n-1 url-safe chars + NUL */
double dt__emu_rand01(dt_emulator_t *emu);
/* "main_menu" for "https://x/prompts/main_menu.wav?x=1". */
void dt__emu_prompt_name(const char *url, char *out, size_t outlen);
const char *dt__emu_state_name(int st);
void dt__emu_iso_now(char out[32]);
/* Upper case without dashes, as Graph writes ids in resource URLs. */
void dt__emu_id_upper(const char *id, char *out, size_t outlen);

void dt__emu_inflight_add(dt_emulator_t *emu, emu_inflight_t *f);
void dt__emu_inflight_del(dt_emulator_t *emu, emu_inflight_t *f);

/* ------------------------------------------------------------------ calls (emu_calls.c) */
emu_call_t *dt__emu_call_new(dt_emulator_t *emu, bool incoming);
emu_call_t *dt__emu_call_find(dt_emulator_t *emu, const char *id); /* any, ended included */
emu_call_t *dt__emu_call_find_live(dt_emulator_t *emu, const char *id);
void dt__emu_call_ref(emu_call_t *c);
void dt__emu_call_unref(emu_call_t *c);
void dt__emu_call_free(emu_call_t *c); /* teardown */
void dt__emu_call_set_state(emu_call_t *c, int st);
/* Ends the call: optional "terminating" update, then deleted/terminated with resultInfo.
   Media operations in progress are abandoned without notifications (as Graph does). */
void dt__emu_call_end(emu_call_t *c, bool terminating_first, int code, int subcode,
                      const char *message, const char *termination_reason, const char *by);
/* Places an incoming call to the bot (control API). */
emu_call_t *dt__emu_incoming(dt_emulator_t *emu, cJSON *from_identity, cJSON *to_identity,
                             const char *bot_url, const emu_script_t *script,
                             const char *tenant_id, const cJSON *modalities);
/* Outgoing call from the bot (Graph create). body is the request (consumed). */
emu_call_t *dt__emu_outgoing(dt_emulator_t *emu, cJSON *body, const char *callback_uri);
void dt__emu_answer(emu_call_t *c, const char *callback_uri);
void dt__emu_reject(emu_call_t *c, const char *reason);
void dt__emu_redirect(emu_call_t *c, cJSON *targets, int64_t timeout_ms);
void dt__emu_transfer(emu_call_t *c, const cJSON *target, const char *replaces_call_id);
void dt__emu_hangup_by_bot(emu_call_t *c);
void dt__emu_hangup_by_remote(emu_call_t *c);
void dt__emu_keepalive(emu_call_t *c);
/* Party behaviour for an identity id (NULL = default). */
const emu_party_t *dt__emu_party(dt_emulator_t *emu, const char *identity_id);
void dt__emu_party_free(void *p);
cJSON *dt__emu_participant_new(const cJSON *identity_set, const char *pid, bool muted,
                               const char *source_id);
cJSON *dt__emu_participant_find(emu_call_t *c, const char *pid);
void dt__emu_notify_roster(emu_call_t *c);
int dt__emu_invite(emu_call_t *c, emu_op_t *op);
/* The simulated party of the call is in it (answered/established): run its script. */
void dt__emu_party_joined(emu_call_t *c);

/* ------------------------------------------------------------------ media (emu_media.c) */
emu_op_t *dt__emu_op_new(emu_call_t *c, int type, const char *client_context);
emu_op_t *dt__emu_op_find(emu_call_t *c, const char *id);
cJSON *dt__emu_op_json(emu_call_t *c, const emu_op_t *op, bool for_notification);
void dt__emu_op_finish(emu_call_t *c, emu_op_t *op, int status, int code, int subcode,
                       const char *msg, const char *reason);
void dt__emu_op_free(emu_op_t *op);
void dt__emu_media_enqueue(emu_call_t *c, emu_op_t *op);
void dt__emu_media_cancel_all(emu_call_t *c, bool notify);
void dt__emu_media_abandon(emu_call_t *c);
void dt__emu_prefetch(dt_emulator_t *emu, const char *url);
/* Whether url's host is this machine (127.0.0.0/8, localhost, [::1]). */
bool dt__emu_url_is_loopback(const char *url);
void dt__emu_prompt_cache_free(void *p);
void dt__emu_prompt_cache_forget_known(dt_emulator_t *emu);
void dt__emu_recording_free(void *p);
/* The simulated party presses a key / speaks for ms, at simulated time at (0 = now). */
void dt__emu_caller_tone(emu_call_t *c, char tone, uint64_t at);
void dt__emu_caller_speak(emu_call_t *c, int64_t ms, uint64_t at);
void dt__emu_dtmf_start(emu_call_t *c, emu_op_t *op);
const emu_recording_t *dt__emu_recording_find(dt_emulator_t *emu, const char *id);
char dt__emu_tone_char(const char *name);  /* "tone1" -> '1' ... 0 if unknown */
const char *dt__emu_tone_name(char c);      /* '1' -> "tone1" ... */

/* ------------------------------------------------------------------ notify (emu_notify.c) */
/* Queues a notification on call q (ordered per call) to url. data is consumed. */
void dt__emu_notify(emu_call_t *q, const char *url, const char *change_type,
                    const char *resource_suffix, emu_call_t *about, cJSON *resource_data,
                    const char *summary);
void dt__emu_notify_call(emu_call_t *c, const char *change_type, cJSON *fields,
                         const char *summary);
void dt__emu_notify_op(emu_call_t *c, const emu_op_t *op);
const char *dt__emu_jwt(dt_emulator_t *emu);
void dt__emu_nq_free(emu_call_t *c);

/* ------------------------------------------------------------------ control (emu_control.c) */
void dt__emu_timeline(emu_call_t *c, const char *kind, cJSON *fields);
/* A timeline entry whose content is known only later (a request and its status): the
   slot takes its place and sequence number now. */
typedef struct {
  size_t idx;
  uint64_t seq, t;
  char time[32];
  bool ok;
} emu_tl_slot_t;
emu_tl_slot_t dt__emu_timeline_reserve(emu_call_t *c);
void dt__emu_timeline_fill(emu_call_t *c, emu_tl_slot_t slot, const char *kind, cJSON *fields);
void dt__emu_timeline_free(emu_timeline_t *tl);
/* The control API over HTTP: GET /emulator/events opens the event stream, everything else
   goes through dt__emu_control_route. path is the part after "/emulator". */
void dt__emu_control(dt_emulator_t *emu, dt_http_request_t *req, const char *path);
/* One control API answer: status and JSON body text (malloc'd, NULL for none). */
typedef struct {
  int status;
  char *body;
  size_t len;
  char rid[37];              /* the request-id header (and an error body's innerError) */
} emu_reply_t;
/* The control API's route table, shared by the HTTP server and dt_emulator_control: parses
   the request, calls the typed API (emu_api.c) and renders the answer into out.
   client_rid (may be NULL) is echoed in error bodies. */
void dt__emu_control_route(dt_emulator_t *emu, const char *method, const char *path,
                           const char *body, size_t body_len, const char *client_rid,
                           emu_reply_t *out);
void dt__emu_sse_close_all(dt_emulator_t *emu);
/* Script triggers. */
void dt__emu_script_start(emu_call_t *c);
void dt__emu_script_trigger(emu_call_t *c, int on, const char *name, const char *url, uint64_t at);

/* ------------------------------------------------------------------ typed API (emu_api.c) */
bool dt__emu_valid_url(const char *u);     /* http(s), shorter than 2048 */
bool dt__emu_valid_tones(const char *t);   /* up to 64 of 0-9 * # A-D */
cJSON *dt__emu_call_summary(const emu_call_t *c);
cJSON *dt__emu_call_detail(const emu_call_t *c);
/* The timeline as GET /emulator/calls/{id}/timeline answers it (JSON text; caller frees). */
char *dt__emu_timeline_text(const emu_call_t *c, size_t *len);
cJSON *dt__emu_faults_json(const emu_faults_t *f);
cJSON *dt__emu_stats_json(const dt_emulator_t *emu);
cJSON *dt__emu_party_json(const char *key, const emu_party_t *p);
/* Lower-cased identity key of a party (at most 255 bytes; false when longer). */
bool dt__emu_party_key(const char *id, char out[260]);

/* ------------------------------------------------------------------ graph (emu_graph.c) */
/* Handles a Graph request; rest is the path after the calls collection ("" or "/{id}..."). */
void dt__emu_graph(dt_emulator_t *emu, dt_http_request_t *req, const char *base,
                   const char *collection, const char *rest);

/* ------------------------------------------------------------------ http helpers (emulator.c) */
void dt__emu_respond_json(dt_http_request_t *req, int status, cJSON *body /* consumed, may be NULL */,
                          const char *location);
void dt__emu_respond_error(dt_http_request_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A Graph error body ({"error":{"code","message","innerError":{...}}}); rid receives the
   request-id it names. client_rid (may be NULL) is echoed. Caller frees. */
char *dt__emu_error_text(const char *code, const char *message, const char *client_rid, char rid[37]);
/* Hands a timeline entry to the in-process hook (consumed). */
void dt__emu_hook_push(dt_emulator_t *emu, cJSON *entry);
/* "http://host:port" from the Host header, else the emulator's URL. Caller frees. */
char *dt__emu_origin(dt_emulator_t *emu, const dt_http_request_t *req);

#endif
