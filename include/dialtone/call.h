/*
 * call.h — the call registry: every live call, its Graph state, its tone buffer, its one
 * waiting primitive, its timers and its in-flight Graph operations. Engine-neutral: no Lua
 * here. The flow runtime (lua/) drives calls through the dt_call_* primitives below and is
 * told through hooks when a call needs a flow, when a primitive has finished and when a
 * call is released.
 *
 * Promises:
 *  - Lookups are O(1): calls by dt_graph_id_key(call id) in a hash table, operations by
 *    their Graph id in the call's short list of in-flight operations.
 *  - Events are deduplicated: a second "created" for a known (or recently ended) call is
 *    ignored; tones are deduplicated by toneInfo.sequenceId and kept in sequence order;
 *    establishing/established in either order or repeated change nothing twice.
 *  - An operation completion that arrives before the HTTP response that created the
 *    operation is kept (per call, briefly) and matched when the response arrives.
 *    Notifications for a call not yet known while an outbound call is being created
 *    are kept the same way until the create response names the call.
 *  - At most one primitive waits per call. Every wait has a deadline (op_timeout_ms plus
 *    what the primitive itself asked for); at the deadline the operation is read back
 *    (GET …/operations/{id}) and, if still unfinished, the primitive fails with
 *    DT_ETIMEDOUT.
 *  - Hangup is cancellation: when the call is terminated, the waiting primitive finishes
 *    with DT_EHANGUP, its requests are cancelled, and no primitive sends anything after.
 *  - When the flow is done (dt_call_flow_done) the call is hung up if still up (after
 *    the error prompt, when asked), the CDR line is written once Graph confirms the end
 *    (or after a bounded wait), the runtime's on_release hook runs, and the call is freed
 *    from its timer's close callback.
 */
#ifndef DIALTONE_CALL_H
#define DIALTONE_CALL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/cdr.h"
#include "dialtone/graph.h"
#include "dialtone/hashmap.h"
#include "dialtone/http_client.h"
#include "dialtone/call_tags.h"
#include "dialtone/list.h"
#include "dialtone/metrics.h"
#include "dialtone/notify.h"
#include "dialtone/recstore.h"

typedef struct dt_calls_s dt_calls_t;
typedef struct dt_call_s dt_call_t;
typedef struct dt_op_s dt_op_t;

typedef enum { DT_CALL_INCOMING = 0, DT_CALL_OUTGOING = 1 } dt_call_direction_t;

/* What a call's flow is waiting for (GET /calls shows the name). */
typedef enum {
  DT_WAIT_NONE = 0,
  DT_WAIT_ANSWER,
  DT_WAIT_REJECT,
  DT_WAIT_REDIRECT,
  DT_WAIT_PLAY,
  DT_WAIT_GATHER,
  DT_WAIT_RECORD,
  DT_WAIT_TRANSFER,
  DT_WAIT_INVITE,
  DT_WAIT_PARTICIPANTS,
  DT_WAIT_ACTION,      /* mute, unmute, mute_all, screen sharing, metadata, dtmf, cancel media */
  DT_WAIT_SLEEP,
  DT_WAIT_HANGUP,
  DT_WAIT_DIAL,
  DT_WAIT_ROSTER,      /* wait_participant: someone joins or leaves, or the roster reaches a count */
  DT_WAIT_MEETING,     /* onlineMeetings: create, find by join URL (call_meetings.c) */
  DT_WAIT_HTTP,        /* dialtone.http: a request the runtime runs itself (call_external.c) */
  DT_WAIT_SPEECH,      /* text to speech the runtime renders off the loop (say.c, call_external.c) */
  DT_WAIT__COUNT
} dt_wait_kind_t;

/* The in-call actions that share DT_WAIT_ACTION. */
typedef enum {
  DT_ACTION_MUTE = 1,
  DT_ACTION_UNMUTE,
  DT_ACTION_MUTE_ALL,
  DT_ACTION_SCREEN_SHARING, /* arg: "viewer" / "sharer" */
  DT_ACTION_UPDATE_METADATA, /* arg: metadata text */
  DT_ACTION_SEND_DTMF,      /* arg: tones "123#" */
  DT_ACTION_CANCEL_MEDIA,
  DT_ACTION_RECORDING_STATUS, /* arg: "recording" / "notRecording" / "failed" */
} dt_action_t;

/* How a call ended, for the CDR. */
typedef enum {
  DT_OUTCOME_NONE = 0,
  DT_OUTCOME_COMPLETED,    /* the flow returned (or hung up) */
  DT_OUTCOME_HANGUP,       /* the far end hung up while the flow ran */
  DT_OUTCOME_ERROR,        /* the flow raised, was stopped, or its flow was missing */
  DT_OUTCOME_REJECTED,
  DT_OUTCOME_REDIRECTED,
  DT_OUTCOME_TRANSFERRED,
  DT_OUTCOME_UNANSWERED,   /* outbound: ended before it was established */
  DT_OUTCOME_DRAINED,      /* hung up by the engine at shutdown */
} dt_outcome_t;

/* The outcome of the last primitive; valid from the on_result hook until the next
   primitive starts. Strings are owned by the call. */
typedef struct {
  int err;                  /* 0, DT_EHANGUP, DT_EGRAPH, DT_ETIMEDOUT, DT_EIO, DT_ECANCELED ... */
  int http_status;          /* of the failed request, if any */
  int code, subcode;        /* Graph resultInfo of a failed operation */
  char *error_code;         /* Graph error.code or a short reason ("transferFailed"); may be NULL */
  char *message;            /* human-readable, set when err != 0 */
  const char *reason;       /* static: "completed", "barged", "cancelled", "max", "terminator",
                               "timeout", "transferred", "stop_tone", "max_duration", ... */
  char *digits;             /* gather */
  /* record */
  char *completion_reason;  /* Graph's completionReason as received, may be NULL */
  char *location;           /* recordingLocation */
  char *file;               /* stored file path */
  double duration;          /* seconds of audio */
  /* participants: a JSON array of {id, identity kind/id/name, muted, in_lobby}; dial: NULL */
  cJSON *json;
  dt_call_t *new_call;      /* dial: the new call (its flow starts once established) */
  char *data;               /* an external wait's bytes (dialtone.http: the response body); NUL-terminated */
  size_t data_len;
} dt_call_result_t;

/* Hooks the flow runtime gives the registry. All run on the loop thread, at top level
   (never from inside a dt_call_* primitive). */
typedef struct {
  /* A call needs its flow started (incoming call created; outbound call established).
     call->flow names the flow. Return 0, or a negative DT_E* to refuse (the call is then
     rejected/hung up with outcome error). */
  int (*on_start)(dt_call_t *call, void *ud);
  /* The call's waiting primitive finished; call->result holds the outcome. */
  void (*on_result)(dt_call_t *call, void *ud);
  /* The call is leaving the registry: drop every reference to it. */
  void (*on_release)(dt_call_t *call, void *ud);
  void *ud;
} dt_calls_hooks_t;

/* A route's yes/no conditions (call_incoming.h): 0 = either. */
typedef enum { DT_ROUTE_ANY = 0, DT_ROUTE_YES, DT_ROUTE_NO } dt_route_flag_t;

/* Every condition a route sets must hold (dt_route_matches); routes are tried in order. */
typedef struct {
  const char *match;        /* application id, application instance id, phone number, user id; "*" = any;
                               NULL = any called identity */
  const char *flow;
  const char *subject;      /* glob on the call's subject (case-insensitive); NULL = any */
  uint8_t policy_recording; /* dt_route_flag_t: incomingContext names an observed participant */
  uint8_t transferred;      /* dt_route_flag_t: incomingContext names a transferor */
  uint8_t meeting;          /* dt_route_flag_t: the call carries chatInfo/meetingInfo (an invite) */
} dt_route_t;

typedef struct {
  uv_loop_t *loop;
  dt_graph_t *graph;                /* borrowed */
  dt_http_client_t *http;           /* borrowed */
  dt_recstore_t *recstore;          /* borrowed: recordings are journaled, fetched and stored
                                       through it; NULL = recordings are not downloaded */
  dt_metrics_t *metrics;            /* optional, borrowed */
  struct dt_call_events_s *events;  /* optional, borrowed: the live view's bus (call_events.h) */
  dt_cdr_writer_t *cdr;             /* optional, borrowed */
  const char *callback_uri;         /* public_url + callback_path */
  const char *recordings_dir;       /* NULL = recordings are not downloaded */
  unsigned op_timeout_ms;           /* default 60000 */
  unsigned max_calls;               /* 0 = unlimited; excess incoming calls are rejected "busy" */
  const dt_route_t *routes;         /* copied */
  size_t route_count;
  const char *default_flow;         /* default "main" */
  unsigned media_wait_ms;           /* media readiness (call_ready.c): how long an answer (or
                                       an outbound call's flow start) waits for Graph's
                                       mediaState audio "active" after established; 0 = 5000 */
  unsigned keepalive_interval_ms;   /* POST keepAlive this often while a call is established
                                       (Graph ends a call without one for 45 minutes);
                                       0 = never */
  /* keepAlive's clock. NULL: dt_now_ms, and the registry's own timer sends them. Set (a
     simulated clock, e.g. the emulator's in `dialtone test`): times are read from it and the
     owner sends them, with dt_calls_keepalive_sweep when dt_calls_keepalive_next_due says. */
  uint64_t (*keepalive_clock)(void *ud);
  void *keepalive_clock_ud;
  /* PSTN (call_pstn.c): a dial to a phone number that names no source carries this
     application instance as source (with its display name) and tenant_id as tenantId, as
     Graph requires; NULL = none configured (graph.application_instance_id). Copied. */
  const char *application_instance_id;
  const char *application_instance_name;
  const char *tenant_id;
  dt_calls_hooks_t hooks;
} dt_calls_options_t;

/* Per-call CDR details collected while the call runs. */
typedef struct {
  dt_buf_t digits;          /* JSON array items: "\"123\",\"4\"" */
  dt_buf_t recordings;      /* JSON array items (file paths) */
  dt_buf_t transfers;       /* JSON array items (targets) */
} dt_call_log_t;

/* Tone buffer capacity: type-ahead beyond this drops the oldest digit (with a warning). */
#define DT_TONE_BUFFER 32

/* A call. Fields are read-only outside core/calls/call.c unless said otherwise. */
struct dt_call_s {
  dt_calls_t *reg;
  dt_hashmap_node_t hnode;          /* in the registry's map, keyed by key */
  dt_call_t *prev, *next;           /* list of every call (GET /calls, shutdown) */
  char *id;                         /* as Graph wrote it */
  char *key;                        /* dt_graph_id_key(id) */
  char *from, *to;                  /* caller and called identity, short text ("user:id", "+1…") */
  cJSON *incoming;                  /* incoming calls: dt_incoming_view of the call (owned) */
  char *flow;                       /* flow name (route or dial) */
  char *dialed_by;                  /* outbound: id of the call whose flow dialed it */
  unsigned flow_version;            /* set by the runtime when the flow starts */
  dt_call_direction_t direction;
  dt_call_state_t state;            /* Graph's last reported state */
  dt_outcome_t outcome;
  uint16_t flags;                   /* DT_CALLF_* */
  uint8_t wait;                     /* dt_wait_kind_t */
  uint8_t stage;                    /* inside the wait */
  uint32_t gen;                     /* bumped when a wait starts or ends */
  int64_t start_ms, answer_ms, end_ms; /* Unix ms */
  uint64_t start_mono_ms;
  uint64_t wait_since_ms;
  /* tones */
  uint8_t tone_len;
  char tones[DT_TONE_BUFFER];
  int64_t tone_seq[DT_TONE_BUFFER];
  int64_t tone_max_seq;             /* highest sequence id seen (-1: none) */
  uint64_t tone_seen;               /* bit i: sequence id tone_max_seq - 1 - i seen */
  int64_t tone_contig;              /* every sequence id from 1 up to this one has been seen: a
                                       gather does not complete past a missing id (reordered
                                       notifications) until its inter-digit timeout */
  /* the waiting primitive */
  struct {
    uint8_t max, min;
    uint8_t barge_in;
    uint8_t cancel;                 /* barge-in: 0 none, 1 wanted, 2 sent, 3 done */
    uint8_t polling;                /* the deadline passed; GET operation sent */
    uint8_t done_used, done_digits; /* gather: how much of the buffer completes it */
    char terminators[8];
    char stop_tones[16];            /* record: tones consumed by the recording */
    const char *done_reason;
    unsigned timeout_ms, inter_digit_ms;
    uint8_t roster_mode;            /* wait_participant: dt_roster_wait_t */
    unsigned roster_count;
    uint8_t loop;                   /* play: hold music (dt_call_play_loop) */
  } w;
  cJSON *roster;                    /* call_roster.c: the participants as Graph's last roster
                                       notification (or GET) gave them, flow shape; NULL: none yet */
  char *roster_who;                 /* wait_participant: who (participant id, identity id or name) */
  dt_op_t *ops;                     /* in-flight operations (short list) */
  dt_list_t early;                  /* completions that arrived before their response, newest first */
  unsigned nrecord;                 /* recordings stored so far (file names) */
  uv_timer_t timer;
  uint64_t keepalive_due;           /* dt_now_ms when the next keepAlive is due; 0 = none */
  dt_graph_req_t *keepalive_req;    /* the keepAlive in flight */
  dt_call_result_t result;
  dt_call_log_t log;
  dt_call_tags_t tags;              /* call:tag (call_tags.c), owned */
  char *error;                      /* CDR error message */
  char *transfer_target;            /* short text of the pending transfer target */
  int end_code, end_subcode;        /* Graph resultInfo of the termination */
  char *end_message;
  void *rt;                         /* the flow runtime's per-call data (read/write by it) */
  dt_media_t *loop_media;           /* v1.0 hold music: the prompts sent again (one block) */
  void (*ext_cancel)(void *ud);     /* an external wait's cancel (call_external.c); NULL = none */
  void *ext_ud;
  size_t loop_n;
  /* the live view (call_live.c): the current step as GET /calls shows it */
  char *live_prompt;                /* the prompt playing (play, gather), NULL: none */
  char live_keys[33];               /* the keys pressed so far (the last 32) */
};

#define DT_CALLF_TERMINATED 0x0001  /* Graph said terminated (or we gave up on the call) */
#define DT_CALLF_ANSWERED 0x0002    /* answer sent and accepted */
#define DT_CALLF_ESTABLISHED 0x0004 /* established seen */
#define DT_CALLF_SUBSCRIBED 0x0008  /* subscribeToTone done */
#define DT_CALLF_FLOW 0x0010        /* a flow is running for this call */
#define DT_CALLF_FLOW_DONE 0x0020   /* the flow finished; the call is winding down */
#define DT_CALLF_ENDED 0x0040       /* we ended it (hangup, reject, redirect, transfer) */
#define DT_CALLF_RELEASED 0x0080    /* out of the registry, freed in the close callback */
#define DT_CALLF_DELETING 0x0100    /* DELETE sent */
#define DT_CALLF_CDR 0x0200         /* CDR written */
#define DT_CALLF_STARTED 0x0400     /* on_start called */
#define DT_CALLF_MEDIA_ACTIVE 0x0800 /* Graph's last mediaState said audio "active" */
#define DT_CALLF_NO_AUDIO 0x1000    /* answered or dialed without audio: no media to wait for */
#define DT_CALLF_MEDIA_HOLD 0x2000  /* outbound: the flow starts once audio is active */

/* ---- registry ---- */
int dt_calls_new(const dt_calls_options_t *opts, dt_calls_t **out);
/* Sends keepAlive for every established call whose interval has run out at now (dt_now_ms
   scale) and returns how many were sent. The registry's own timer calls it; exposed for
   tests and for drivers of a simulated clock. */
size_t dt_calls_keepalive_sweep(dt_calls_t *reg, uint64_t now);
/* The earliest keepAlive due (on keepAlive's clock) into *due; DT_ENOENT when none is. */
int dt_calls_keepalive_next_due(const dt_calls_t *reg, uint64_t *due);
/* Hangs up every call (outcome drained), waits for nothing, then frees the registry once
   every call's timer is closed; done (may be NULL) runs then from the loop. */
void dt_calls_close(dt_calls_t *reg, void (*done)(void *ud), void *ud);
/* Starts draining: from now on new incoming calls are rejected "busy" (CDR outcome
   rejected, error "draining") and flows cannot dial; running calls go on with their flows. */
void dt_calls_drain(dt_calls_t *reg);
/* Ends the drain's patience: every call whose flow still runs is hung up (DELETE, or reject
   if never answered) with outcome drained and its waiting primitive fails at once with
   DT_EHANGUP, so the flow unwinds (on_hangup handlers run). The calls then leave the
   registry as Graph confirms the end (or after op_timeout_ms), their CDRs written. */
void dt_calls_hangup_all(dt_calls_t *reg);
/* Processes parsed notifications; takes over the events' contents it keeps. */
void dt_calls_dispatch(dt_calls_t *reg, dt_event_list_t *events);
dt_call_t *dt_calls_find(dt_calls_t *reg, const char *call_id);
size_t dt_calls_count(const dt_calls_t *reg);
dt_call_t *dt_calls_first(dt_calls_t *reg); /* iterate with call->next */
/* Appends the JSON array GET /calls serves. */
void dt_calls_render_json(dt_calls_t *reg, dt_buf_t *out);
/* The call's tags changed (call:tag): the live view's "tags" event carries them all. */
void dt_call_tags_changed(dt_call_t *call);
const char *dt_wait_kind_name(dt_wait_kind_t k); /* "gather" */
const char *dt_outcome_name(dt_outcome_t o);     /* "completed" */
/* The flow for an incoming call whose view (call_incoming.h; NULL = nothing known) and
   called identities are given: the first route that matches, else the default. */
const char *dt_calls_route(const dt_calls_t *reg, const cJSON *view, const char *const *ids, size_t n);

/* ---- calls started from C (src/localrun.c, `dialtone test`); the caller checks that the
   flow exists ---- */
/* The incoming call with this id, whose notification has not come yet, runs `flow` instead
   of the flow its called identity routes to. At most 1024 pins wait; one whose call never
   comes is dropped at close. 0, DT_EINVAL, DT_EBUSY (too many waiting) or DT_ECLOSED. */
int dt_calls_pin_flow(dt_calls_t *reg, const char *call_id, const char *flow);
/* An outbound call no flow placed: dt_call_dial with no calling call. The new call runs
   `flow` once Graph reports it established; to_text (may be NULL) is its CDR's "to". Returns
   0, or at once DT_ESTATE (draining) or dt_graph_create_call's DT_EINVAL / DT_EUNSUPPORTED;
   a create request Graph refuses is logged (warning). */
int dt_calls_dial(dt_calls_t *reg, const dt_graph_create_params_t *p, const char *flow, const char *to_text);

/* ---- the flow side ---- */
/* The flow finished. outcome: COMPLETED, HANGUP or ERROR (NONE = keep what the call already
   says). error: message for the CDR (copied) or NULL. error_prompt_uri: played before the
   hang-up when the call is still up, or NULL. */
void dt_call_flow_done(dt_call_t *call, dt_outcome_t outcome, const char *error,
                       const char *error_prompt_uri);
/* True once the call can no longer be controlled (terminated or ended by us). */
bool dt_call_is_gone(const dt_call_t *call);
/* Records a gathered digit string in the CDR. */
void dt_call_log_digits(dt_call_t *call, const char *digits);

/* ---- primitives: each returns 0 and later calls hooks.on_result exactly once; or 1 when
   it finished at once (result in call->result, no hook call: the fast path, e.g. a gather
   satisfied by type-ahead); or a negative DT_E* at once (DT_EHANGUP if the call is gone,
   DT_EBUSY if a primitive is already waiting, DT_ESTATE if not allowed now, DT_EINVAL for
   bad arguments) and calls nothing. ---- */
int dt_call_answer(dt_call_t *call, const char *const *modalities, size_t nmod,
                   const dt_media_t *prefetch, size_t nprefetch);
/* The same with every answer parameter (participant_capacity ...); callback_uri is the
   registry's, whatever params says. */
int dt_call_answer_with(dt_call_t *call, const dt_graph_answer_params_t *params);
int dt_call_reject(dt_call_t *call, const char *reason);
/* p->callback_uri is ignored (the registry's is used); see dt_graph_redirect_params_t. */
int dt_call_redirect(dt_call_t *call, const dt_graph_redirect_params_t *p);
/* barge_in: a tone during the prompts cancels them (result "barged"; the tone stays
   buffered); buffered tones skip the prompts at once. */
int dt_call_play(dt_call_t *call, const dt_media_t *prompts, size_t n, bool barge_in);
/* Hold music: the prompts play over and over (beta: one playPrompt with "loop": true; v1.0
   has no loop, so the engine sends playPrompt again each time it completes) until a tone
   when barge_in (result "barged", the tone stays buffered), timeout_ms passes (result
   "timeout"; -1 = no timeout, 0 = at the loop's next turn) or the call ends (DT_EHANGUP).
   The music is stopped with cancelMediaProcessing before the result is given. */
int dt_call_play_loop(dt_call_t *call, const dt_media_t *prompts, size_t n, bool barge_in,
                      int64_t timeout_ms);

typedef struct {
  const dt_media_t *prompts;        /* may be NULL */
  size_t prompt_count;
  unsigned max, min;                /* max 1..64 */
  unsigned timeout_ms;              /* first digit, after the prompt ends */
  unsigned inter_digit_ms;
  const char *terminators;          /* e.g. "#"; "" = none; at most 7 */
  bool flush;                       /* drop type-ahead first */
} dt_gather_params_t;
int dt_call_gather(dt_call_t *call, const dt_gather_params_t *p);

/* record: p->client_context is ignored; the registry sets its own. */
int dt_call_record(dt_call_t *call, const dt_graph_record_params_t *p);
int dt_call_transfer(dt_call_t *call, const dt_invitation_t *target, const dt_identity_t *transferee);
int dt_call_invite(dt_call_t *call, const dt_invitation_t *participants, size_t n);
/* The participants: the live roster when Graph has sent one (at once, returns 1), else GET. */
int dt_call_participants(dt_call_t *call);
/* wait_participant: finishes when `who` (a participant id, identity id or display name) is in
   the roster (JOINED; result.json: that participant), is not (LEFT), or when at least `count`
   people (participants that are not applications, i.e. not bots) are in it (COUNT; result.json:
   the roster); result.reason "joined"/"left"/"count", or "timeout" after timeout_ms (err 0).
   Already true: returns 1. Checked on every roster notification. */
typedef enum { DT_ROSTER_JOINED = 1, DT_ROSTER_LEFT, DT_ROSTER_COUNT } dt_roster_wait_t;
int dt_call_wait_participant(dt_call_t *call, dt_roster_wait_t mode, const char *who, unsigned count,
                             uint64_t timeout_ms);
/* One participant (GET …/participants/{id}; result.json: the participant, flow shape). */
int dt_call_participant_get(dt_call_t *call, const char *participant_id);
/* Participant actions: mute, remove (DELETE), start (prompt_uri may be NULL) and stop hold
   music (v1.0 only: DT_EUNSUPPORTED in beta). */
typedef enum { DT_PACT_MUTE = 1, DT_PACT_REMOVE, DT_PACT_START_HOLD, DT_PACT_STOP_HOLD } dt_participant_action_t;
int dt_call_participant_action(dt_call_t *call, dt_participant_action_t action, const char *participant_id,
                               const char *prompt_uri);
int dt_call_action(dt_call_t *call, dt_action_t action, const char *arg);
/* onlineMeetings (call_meetings.c), made from a call's flow: create one, or find one by its
   join URL (user_id: the organizer, needed by v1.0). result.json: the flow's view of the
   meeting (dt_online_meeting_view), or NULL when no meeting has that URL (reason
   "not_found"). A Graph refusal (403 without an application access policy, 404 for an
   unknown user) fails the wait with DT_EGRAPH: it is not the call's end. Argument errors:
   DT_EINVAL, nothing started. */
struct dt_online_meeting_params_s;
int dt_call_meeting_create(dt_call_t *call, const struct dt_online_meeting_params_s *p);
int dt_call_meeting_find(dt_call_t *call, const char *user_id, const char *join_url);
int dt_call_sleep(dt_call_t *call, uint64_t ms);
/* A wait on work the runtime does itself (call_external.c; kind DT_WAIT_HTTP): the call
   waits as for any primitive, with a deadline of deadline_ms (then DT_ETIMEDOUT). cancel(ud)
   runs exactly once if the wait ends any other way than dt_call_external_done (hangup,
   deadline, drain, close). 0, or DT_EINVAL, DT_EHANGUP, DT_ESTATE, DT_EBUSY as
   dt_call_play's guard. */
int dt_call_external_begin(dt_call_t *call, dt_wait_kind_t kind, uint64_t deadline_ms, void (*cancel)(void *ud),
                           void *ud);
/* The external work is over: set call->result's fields (data, json, http_status) first, then
   this ends the wait (err 0) or fails it with err, a short code and a message. Nothing
   happens if the call does not wait on external work. The caller must not touch the call
   afterwards (the flow may resume and end it). */
void dt_call_external_done(dt_call_t *call, int err, const char *code, const char *message);
int dt_call_hangup(dt_call_t *call);
/* Fire-and-forget hang-up of a call that is not the caller's own (a dial handle). */
int dt_call_hangup_async(dt_call_t *call);

/* Outbound: creates a call (p->callback_uri is ignored: the registry's is used). The
   primitive waits on `caller`; when the create response arrives, caller->result.new_call
   is the new call, whose flow (named flow) starts once Graph reports it established
   (after subscribeToTone). */
int dt_call_dial(dt_call_t *caller, const dt_graph_create_params_t *p, const char *flow,
                 const char *to_text);

/* ---- pure helpers (unit-tested) ---- */
/* Adds a tone to the call's buffer. Returns 1 if added, 0 if it was a duplicate
   (sequence id seen before). seq < 0 means "no sequence id" (always added). */
int dt_call_tone_push(dt_call_t *call, int64_t seq, char tone);
/* Scans buf for a completed gather: returns the number of characters that complete it
   (including a terminator) and sets *reason ("terminator"/"max") and *ndigits (digits
   without the terminator), or returns 0 if more digits are needed. */
size_t dt_gather_scan(const char *buf, size_t len, unsigned max, const char *terminators,
                      const char **reason, size_t *ndigits);

#endif
