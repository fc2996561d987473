/*
 * emu_model.h — the emulator's data: every struct the files of core/emulator/ share, and no
 * function (each module declares its functions in its own emu_<module>.h beside its .c).
 *
 * Ownership in one paragraph: the emulator owns every call (in `calls`, keyed by the
 * normalised id, ended calls included until the history cap evicts them); a call owns its
 * operations, participants, media queue, notification queue, timeline and scheduled
 * events. Anything that outlives a callback holds a reference on the call (refs); a call
 * is freed when it has been evicted and the last reference is dropped, or at teardown.
 * Everything runs on the emulator's loop thread.
 *
 * The modules, bottom up (each calls only those below it; scripts/layers.sh checks it):
 *   emu_util (pieces), emu_http (Graph-shaped answers), emu_sched (the clocks),
 *   emu_timeline (timelines and their listeners), emu_script (caller scripts),
 *   emu_registry (calls, their refs, operations, participants, parties),
 *   emu_notify (notifications to the bot), emu_media (service-hosted media),
 *   emu_calls (the call state machine and the simulated caller's actions),
 *   emu_api (the typed control API), emu_control (its HTTP routes), emu_graph (Graph REST),
 *   emulator.c (lifecycle, router, token endpoint, threaded embedding).
 * Two calls go upwards through function pointers set by emulator.c at start: the clocks'
 * owner references (dt__emu_sched_t.ref/unref -> emu_registry) and what a due script step
 * does (dt_emulator_s.script_act -> emu_calls).
 */
#ifndef DT_EMU_MODEL_H
#define DT_EMU_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/client_cert.h"
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/hashmap.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/jwt.h"
#include "dialtone/list.h"

typedef struct emu_call_s emu_call_t;
typedef struct emu_op_s emu_op_t;



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
  dt_list_node_t clink;      /* in call->evs */
  int64_t i;                 /* arguments */
  bool lazy;                 /* a deadline the clock's owner moves to only on its way
                                elsewhere (the keepAlive rule): see _next_active_due */
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
  /* Set by the owner of the calls (emulator.c: emu_registry's ref/unref): a call that owns
     a firing event is held for the callback's length (it may end and evict its own call).
     NULL: events are run without holding (the scheduler's unit test). */
  void (*ref)(emu_call_t *call);
  void (*unref)(emu_call_t *call);
};

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
  EMU_OP_UPDATE_METADATA, EMU_OP_ANSWER,
  EMU_OP_START_HOLD_MUSIC, EMU_OP_STOP_HOLD_MUSIC, EMU_OP_UPDATE_RECORDING_STATUS
};
enum { EMU_OPS_NOT_STARTED = 0, EMU_OPS_RUNNING, EMU_OPS_COMPLETED, EMU_OPS_FAILED };
enum { EMU_REC_PROMPT = 0, EMU_REC_BEEP, EMU_REC_REC };

#define EMU_MAX_SEGMENTS 8

typedef struct {
  uint64_t start, end;       /* ms from the start of the recording */
} emu_segment_t;

struct emu_op_s {
  emu_op_t *next;            /* the call's op list (newest first) */
  dt_list_node_t qlink;      /* in its call's mq while queued */
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
  dt_list_node_t link;       /* in its call's nq */
  char *url;
  char *body;
  size_t len;
  char chain[37];
  char summary[96];
  bool delayed;
  bool duplicate;            /* a copy made by the duplicate fault: never duplicated again */
} emu_nq_t;

/* ------------------------------------------------------------------ timeline */
typedef struct {
  char **items;              /* rendered JSON objects */
  size_t n, cap;
  size_t dropped;
} emu_timeline_t;

/* A timeline entry whose content is known only later (a request and its status): the
   slot takes its place and sequence number now. */
typedef struct {
  size_t idx;
  uint64_t seq, t;
  char time[32];
  bool ok;
} emu_tl_slot_t;

/* ------------------------------------------------------------------ calls */
enum {
  EMU_CS_INCOMING = 0, EMU_CS_ESTABLISHING, EMU_CS_ESTABLISHED, EMU_CS_TRANSFERRING,
  EMU_CS_TRANSFER_ACCEPTED, EMU_CS_REDIRECTING, EMU_CS_TERMINATING, EMU_CS_TERMINATED,
  EMU_CS_RINGING, /* beta only: an outgoing peer-to-peer call while the callee's phone rings */
  EMU_CS_HOLD     /* the remote party put the call on hold (control API) */
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
  bool beta;        /* created through the beta dialect (callState "ringing" exists there) */
  bool tone_subscribed;
  bool muted;
  char recording_status[16]; /* the bot's last updateRecordingStatus ("" = never) */
  char held_pid[64];         /* the participant on hold music ("" = nobody): Graph holds one at a time */
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
  dt_list_t mq;              /* emu_op_t by qlink: the media queue, its head playing */
  dt_list_t nq;              /* emu_nq_t: notifications waiting to go, in order */
  bool nq_busy;
  dt_list_t evs;             /* dt__emu_ev_t by clink: every pending event of this call */
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
  dt_list_node_t hlink;      /* in the emulator's hist once ended */
  int64_t created_unix;
  uint64_t serial;
  uint64_t created_sim, ended_sim;
  char *end_reason;
  char from_desc[96], to_desc[96];
  char *meeting;             /* emu_meetings: the meeting this leg is in (its key), NULL if none */
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
   drops their callbacks, so teardown frees them from the emulator's inflight list. */
typedef struct emu_inflight_s {
  dt_list_node_t link;
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
  dt_client_cert_t *client_cert;  /* registered certificate (verifies client assertions), or NULL */
  char *recordings_dir;
  bool quiet;
  dt_emulator_config_t cfg;  /* run-time settings (GET/POST /emulator/config); cfg.strict:
                                emu_policy.c, a callbackUri must be https */
  bool fetch_remote_prompts;
  bool keepalive_sim;        /* the 45-minute keepAlive rule runs on sim, not real */
  int port;
  dt_jwt_key_t *key;
  char *jwks_json;
  char *jwt;                 /* cached notification token */
  int64_t jwt_exp;
  char *ca_file;             /* with --tls and a made certificate: the local CA (emu_tls) */
  dt_jwks_t *jwks;            /* the public half of key: verifies the access tokens (emu_identity) */
  unsigned roles;            /* Graph application permissions granted to the app (EMU_ROLE_*) */
  unsigned req_roles;        /* the roles of the Graph request being handled (set on admit) */
  char *tok_cache;           /* the last verified access token, its expiry and roles */
  int64_t tok_cache_exp;
  unsigned tok_cache_roles;
  dt__emu_sched_t sim, real;
  dt_hashmap_t calls, prompts, recordings, parties; /* value maps (dialtone/hashmap.h) */
  emu_recording_t *rec_head, *rec_tail;
  size_t nrec;
  dt_list_t hist;            /* emu_call_t by hlink: ended calls, oldest first (cfg.history) */
  size_t active_calls;
  uint64_t tl_seq;
  emu_sse_t *sse;
  dt_list_t inflight;        /* emu_inflight_t by link */
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
  /* what a due caller-script step does (emu_calls.c's dt__emu_caller_act, set at start):
     emu_script.c runs the steps' cursor below the modules that act */
  void (*script_act)(emu_call_t *c, const emu_step_t *st, uint64_t at);
  /* counters for /emulator/stats */
  uint64_t n_requests, n_calls, n_notifications, n_notify_failed;
  uint64_t n_rec_requests, n_rec_served; /* recording downloads asked for / answered 200 */
  cJSON *online_meetings;    /* onlineMeeting objects (emu_online_meetings.c), oldest first */
  /* closing */
  bool closing;
  int close_pending;
  dt_done_t close_done; /* dt_emulator_close's callback: runs after the emulator is freed */
};

#endif
