/*
 * call_internal.h — the call registry's insides, shared by the files of core/calls that
 * implement call.h. Nothing outside core/calls includes it (tests of these modules may).
 *
 * The modules, each a file, from the bottom up; a module calls only the ones below it
 * (scripts/layers.sh checks this: a file that names a function declared here depends on
 * the module defining it):
 *
 *   call.c           the registry's index: calls by key and in a list, tombstones, the
 *                    limbo of notifications for unknown calls, pinned flows, routes, names
 *   call_live.c      the live view: a call's events on the bus, its current step for GET /calls
 *   call_identity.c  identity text and participants from Graph's JSON (pure)
 *   call_incoming.c  an incoming call's view (subject, called, meeting, context) and the
 *                    routes matching on it (pure)
 *   call_tones.c     the tone buffer and the gather scan (pure)
 *   call_ops.c       in-flight operations, their completions, early completions, orphans
 *   call_wait.c      the one waiting primitive: begin, finish, fail, deadline arming
 *   call_end.c       a call's end: flow start/done, winding down, the CDR record, release
 *   call_ready.c     media readiness: answer ends / outbound flow starts once audio is active
 *   call_media.c     play, gather, record (and the recordings handed to the store)
 *   call_roster.c    the live roster, wait_participant, participant get/mute/remove/hold music
 *   call_control.c   answer, reject, redirect, transfer, invite, participants, actions,
 *                    sleep, hangup, dial (and dials started from C)
 *   call_response.c  Graph's HTTP responses to every request a call sent
 *   call_timer.c     a call's timer: deadlines, sleeps, gather timeouts, wind-down waits
 *   call_dispatch.c  notifications: call state, tones, operations, termination, new calls
 *   call_keepalive.c Graph's keepAlive: due times, the sweep, a 404 as the call's end
 *   call_registry.c  the registry's life: creation, drain, hang up all, close; GET /calls
 *
 * Three entry points of upper modules are needed by lower ones (a request's callback, the
 * call timer's callback, replaying the limbo for a new call). The lower modules reach them
 * through the registry (on_response, on_timer, replay), which call_registry.c sets when it
 * creates the registry: a dependency inversion, so the modules stay a DAG.
 */
#ifndef DIALTONE_CALL_INTERNAL_H
#define DIALTONE_CALL_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/hashmap.h"

#define EARLY_MAX 8              /* early completions kept per call */
#define EARLY_TTL_MS 30000
#define ORPHAN_MAX 8             /* abandoned Graph operations remembered per call */
#define TOMB_TTL_MS (10 * 60 * 1000)
#define TOMB_MAX 65536
#define LIMBO_MAX 4096
#define LIMBO_TTL_MS 10000
#define LIMBO_WINDOW_MS 10000    /* keep unknown-call events this long after a dial */
#define KEY_MAX (DT_NOTIFY_MAX_ID + 1)
#define PIN_MAX 1024

enum {
  ROLE_MAIN = 1,   /* the waiting primitive's request/operation */
  ROLE_CANCEL,     /* cancelMediaProcessing for a barge-in */
  ROLE_POLL,       /* GET operation at the deadline */
  ROLE_DOWNLOAD,   /* recording download */
  ROLE_DELETE,     /* winding down: DELETE or reject */
  ROLE_ERRPROMPT,  /* winding down: the error prompt */
  ROLE_AUTOSUB,    /* outbound call established: subscribeToTone, then start its flow */
  ROLE_FIRE,       /* fire and forget */
};

/* Winding-down stages (call->stage while wait == NONE and the flow is done). */
enum { WD_NONE = 0, WD_PROMPT, WD_DELETE, WD_AWAIT_END };

/* Gather stages. */
enum { G_PROMPT_SENT = 0, G_PROMPT_RUNNING, G_COLLECT };
/* Answer stages: 0 answer sent, 1 accepted (waiting for established), 2 subscribeToTone
   sent, ANSWER_MEDIA waiting for mediaState audio active (call_ready.c). */
enum { ANSWER_MEDIA = 3 };
/* Play stages. */
enum { P_SENT = 0, P_RUNNING, P_CANCELLING };
/* Record stages. */
enum { R_SENT = 0, R_RUNNING, R_DOWNLOADING };

/* What Graph said of a finished operation (a notification, a response body, a GET). */
typedef struct {
  dt_op_status_t status;
  bool has_result;
  int code, subcode;
  char *message;
  char *completion_reason;
  char *location;
  char *token;
} completion_t;

typedef struct early_s {
  dt_list_node_t link;              /* in the call's early list */
  char *key;
  uint64_t at;
  completion_t c;
} early_t;

struct dt_op_s {
  dt_op_t *next;
  dt_call_t *call;
  dt_graph_req_t *req;
  dt_http_call_t *http;
  uint32_t gen;
  uint8_t role;
  bool orphan;
  char *key;        /* normalised Graph operation id */
  char *graph_id;   /* as Graph wrote it */
  char *aux;        /* dial: flow name; download: the record's completion */
  char *aux2;       /* dial: target text */
  dt_recjob_t *job; /* download: the recording store's job (forgotten, never cancelled) */
  uint64_t created_ms;
  bool no_audio;    /* dial: the new call has no audio (no media readiness to wait for) */
};

typedef struct tomb_s {
  dt_hashmap_node_t hnode;          /* in dt_calls_s.tombs, keyed by key */
  struct tomb_s *fnext;             /* the expiry FIFO */
  uint64_t expires;
  char key[];
} tomb_t;

typedef struct limbo_s {
  struct limbo_s *next;
  uint64_t at;
  char *key;
  dt_event_t ev;
} limbo_t;

/* Calls started from C (dt_calls_pin_flow, dt_calls_dial). */
typedef struct pin_s {
  struct pin_s *next;
  char *key;
  char *flow;
} pin_t;

typedef struct bare_dial_s {
  struct bare_dial_s *next;
  dt_calls_t *reg;
  dt_graph_req_t *req;
  char *flow, *to;
} bare_dial_t;

struct dt_calls_s {
  dt_calls_options_t o;
  char *callback_uri, *recordings_dir, *default_flow;
  char *pstn_instance_id, *pstn_instance_name, *pstn_tenant_id; /* call_pstn.c */
  dt_route_t *routes;
  size_t nroutes;
  dt_hashmap_t calls;         /* by key (dt_call_t.hnode) */
  dt_call_t *head;            /* every call, newest first */
  dt_hashmap_t tombs;         /* tomb_t by key */
  tomb_t *thead, *ttail;      /* the same, oldest first */
  limbo_t *limbo, *limbo_tail;
  size_t nlimbo;
  unsigned dials;
  uint64_t last_dial_ms;
  pin_t *pins;                /* incoming calls whose flow was named from C */
  size_t npins;
  bare_dial_t *bare_dials;    /* dt_calls_dial requests in flight */
  size_t unfreed;
  bool draining, closing;
  bool keepalive_closed; /* the keepAlive sweep timer's close callback ran (the registry waits for it) */
  uv_timer_t close_timer;
  uv_timer_t keepalive_timer; /* call_keepalive.c: the sweep (only with keepalive_interval_ms) */
  dt_done_t close_done;
  /* upper modules' entry points (set by dt_calls_new) */
  dt_graph_fn on_response;    /* call_response.c: every request's callback (ud: the dt_op_t) */
  uv_timer_cb on_timer;       /* call_timer.c: the call timer's callback */
  void (*replay)(dt_calls_t *r, dt_call_t *c); /* call_dispatch.c: the limbo's events of a new call */
  void (*keepalive_start)(dt_call_t *c); /* call_keepalive.c: the call is established */
  void (*keepalive_stop)(dt_call_t *c);  /* call_keepalive.c: the call leaves the registry */
};

static inline char *dt__xstrdup_or_null(const char *s) { return s ? dt_xstrdup(s) : NULL; }

/* ---- call.c: the registry's index ---- */
dt_call_t *dt__call_new(dt_calls_t *r, const char *id, dt_call_direction_t dir);
/* Takes over *flow and *to. */
dt_call_t *dt__calls_outbound_new(dt_calls_t *r, const char *id, char **flow, char **to);
dt_call_t *dt__calls_lookup(dt_calls_t *r, const char *key);
void dt__calls_remove(dt_calls_t *r, dt_call_t *c);
bool dt__calls_tomb_has(dt_calls_t *r, const char *key);
void dt__calls_tomb_add(dt_calls_t *r, const char *key);
void dt__calls_limbo_add(dt_calls_t *r, dt_event_t *ev, const char *key);
/* This call's kept notifications, in arrival order, out of the limbo (a list by next). */
limbo_t *dt__calls_limbo_take(dt_calls_t *r, const char *key);
void dt__calls_limbo_free(limbo_t *l);
/* The flow pinned for this incoming call (the caller owns it), or NULL. */
char *dt__calls_pin_take(dt_calls_t *r, const char *key);
void dt__call_result_clear(dt_call_result_t *r);
/* The close callback of a call's timer: frees the call (and then the registry, if it is
   closing and this was its last call). */
void dt__call_closed(uv_handle_t *h);
/* The close callback of the registry's timer: frees the registry. */
void dt__calls_closed(uv_handle_t *h);
/* Once the registry is closing, its last call is freed and the keepAlive timer has closed:
   closes the registry's own timer, whose close callback frees it. libuv runs close
   callbacks last-closed-first, so freeing the registry before the keepAlive timer's close
   had run would leave libuv reading freed memory. */
void dt__calls_maybe_free(dt_calls_t *r);

/* ---- call_identity.c: identities in Graph's JSON ---- */
/* "user:ID", "+1555…" for phones, NULL if the set names nobody. Caller frees. */
char *dt__call_identity_text(const cJSON *set);
char *dt__call_invitation_text(const dt_identity_t *id);
/* The identity set in the flow API's form ({user = "id", name =, tenant =}; kinds in
   snake_case), or NULL when it names nobody. Caller frees. */
cJSON *dt__call_identity_flow(const cJSON *set);
/* Appends the ids of an identity set to ids[n..max); returns the new count. */
size_t dt__call_identity_ids(const cJSON *set, const char **ids, size_t n, size_t max);
/* The participants list as the flow sees it (see dt_call_result_t.json). */
cJSON *dt__call_participants_json(const cJSON *body);

/* ---- call_live.c: the live view (events on the bus, the current step) ---- */
/* Publishes an event of c; fields: JSON members without braces, or NULL. */
void dt__call_event(dt_call_t *c, const char *type, const char *fields);
/* The same with one string member key: value. */
void dt__call_eventf(dt_call_t *c, const char *type, const char *key, const char *value);
/* A prompt starts playing (play, gather): the step's prompt, a "prompt" event. */
void dt__call_live_prompt(dt_call_t *c, const dt_media_t *prompts, size_t n);
/* A key was pressed (a new tone): the keys so far, a "key" event. */
void dt__call_live_key(dt_call_t *c, char tone);
/* The call's record is written: an "ended" event with the outcome. */
void dt__call_live_ended(dt_call_t *c);
/* ,"step":{prompt, digits, in_state_s} for GET /calls. */
void dt__call_live_render(const dt_call_t *c, dt_buf_t *b, uint64_t now);

/* ---- call_tones.c ---- */
size_t dt__call_tones_ready(const dt_call_t *c);
void dt__call_tones_consume(dt_call_t *c, size_t n);

/* ---- call_ops.c: operations ---- */
bool dt__call_res_ok(const dt_graph_result_t *res);
void dt__call_completion_free(completion_t *c);
void dt__call_completion_from_json(const cJSON *o, completion_t *c);
void dt__call_completion_from_event(dt_event_t *ev, completion_t *c);
dt_op_t *dt__call_op_new(dt_call_t *c, uint8_t role);
void dt__call_op_free(dt_op_t *op);
dt_op_t *dt__call_op_find(dt_call_t *c, const char *key);
dt_op_t *dt__call_op_main(dt_call_t *c);
bool dt__call_early_take(dt_call_t *c, const char *key, completion_t *out);
void dt__call_early_add(dt_call_t *c, const char *key, completion_t *comp);
void dt__call_early_clear(dt_call_t *c);
void dt__call_ops_drop_wait(dt_call_t *c, uint32_t gen);

/* ---- call_wait.c: the waiting primitive ---- */
unsigned dt__call_op_timeout(const dt_call_t *c);
void dt__call_arm(dt_call_t *c, uint64_t ms);
void dt__call_wait_begin(dt_call_t *c, dt_wait_kind_t k);
void dt__call_wait_end_quiet(dt_call_t *c);
void dt__call_wait_finish(dt_call_t *c, int err);
/* We ended the call (hangup, reject, redirect, transfer): marks it ended, sets its outcome
   unless it has one (DT_OUTCOME_NONE: leave it), and finishes the wait with reason. */
void dt__call_wait_finish_ended(dt_call_t *c, dt_outcome_t outcome, const char *reason);
void dt__call_wait_fail(dt_call_t *c, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dt__call_fail_graph(dt_call_t *c, const dt_graph_result_t *res, const char *what);
void dt__call_fail_op(dt_call_t *c, const completion_t *comp, const char *what);
bool dt__call_is_cancelled(const completion_t *comp);
int dt__call_guard(dt_call_t *c);
dt_op_t *dt__call_main_op(dt_call_t *c);
/* The usual start of a primitive that sends one request: the wait of kind k begins, with
   its main operation (for the request's callback). */
dt_op_t *dt__call_begin(dt_call_t *c, dt_wait_kind_t k);
int dt__call_started(dt_call_t *c, dt_op_t *op, int rc, uint64_t deadline_ms);
const char *dt__call_wait_what(const dt_call_t *c);

/* ---- call_meetings.c ---- */
/* The response to an onlineMeetings request the flow waits for (DT_WAIT_MEETING). */
void dt__call_meeting_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res);

/* ---- call_end.c: a call's end ---- */
void dt__call_log_item(dt_buf_t *b, const char *text);
void dt__call_log_transfer(dt_call_t *c, const char *result);
void dt__call_cdr_record(const dt_call_t *c, dt_cdr_record_t *rec);
void dt__call_finalize(dt_call_t *c);
void dt__call_start_flow(dt_call_t *c);
void dt__call_send_end(dt_call_t *c);

/* ---- call_ready.c: media readiness ---- */
/* A mediaState in a call notification: records it; true if that let a held answer end or a
   held outbound flow start (the caller then stops handling the event). */
bool dt__call_media_state(dt_call_t *c, dt_media_state_t audio);
/* The answer is established and subscribed: end its wait now or once audio is active. */
void dt__call_answer_ready(dt_call_t *c);
/* An outbound call is established and subscribed: start its flow now or once audio is active. */
void dt__call_start_when_ready(dt_call_t *c);
/* The call's timer ran out while waiting for audio: go on (true), or it was not that (false). */
bool dt__call_media_wait_expired(dt_call_t *c);

/* ---- call_media.c ---- */
void dt__call_send_cancel(dt_call_t *c);
void dt__call_play_done(dt_call_t *c, const completion_t *comp);
void dt__call_play_loop_timeout(dt_call_t *c);
void dt__call_gather_finish(dt_call_t *c, bool notify);
void dt__call_gather_check(dt_call_t *c, bool notify);
void dt__call_gather_prompt_done(dt_call_t *c, const completion_t *comp);
void dt__call_gather_timeout(dt_call_t *c);
void dt__call_recording_orphan(dt_call_t *c, const completion_t *comp);
void dt__call_record_done(dt_call_t *c, const completion_t *comp);

/* ---- call_control.c ---- */
void dt__call_answer_subscribe(dt_call_t *c);
void dt__call_answered(dt_call_t *c);
void dt__call_transfer_success(dt_call_t *c);
void dt__calls_bare_dials_cancel(dt_calls_t *r);

/* ---- call_response.c ---- */
void dt__call_accepted(dt_call_t *c);
void dt__call_op_completed(dt_call_t *c, dt_op_t *op, completion_t *comp);
void dt__call_graph_cb(const dt_graph_result_t *res, void *ud);

/* ---- call_keepalive.c ---- */
/* The call is established: its first keepAlive is due one interval from now. */
void dt__call_keepalive_start(dt_call_t *c);
/* The call leaves: its keepAlive stops (the request in flight is cancelled). */
void dt__call_keepalive_stop(dt_call_t *c);
void dt__calls_keepalive_init(dt_calls_t *r);
void dt__calls_keepalive_close(dt_calls_t *r);
/* ---- call_pstn.c ---- */
/* Copies (init) or frees (free) the registry's application instance and tenant. */
void dt__calls_pstn_init(dt_calls_t *r, const dt_calls_options_t *o);
void dt__calls_pstn_free(dt_calls_t *r);
/* A create-call request that dials a phone number and names no source (nor a guest): sets
   q->source to the configured application instance (in *src) and q->tenant_id when unset.
   Nothing configured: q is left as it is (Graph, and the emulator, then refuse it). */
void dt__calls_pstn_source(const dt_calls_t *r, dt_graph_create_params_t *q, dt_identity_t *src);
/* ---- call_dispatch.c: Graph said the call is gone (keepAlive's 404), like "terminated" */
void dt__call_ended_by_graph(dt_call_t *c, const char *message);

/* ---- call_roster.c ---- */
/* A roster notification (resource_data: the participants array): the call's roster is
   replaced, a waiting wait_participant checked. */
void dt__call_roster_update(dt_call_t *c, const cJSON *participants);

/* ---- call_timer.c ---- */
void dt__call_on_timer(uv_timer_t *t);

/* ---- call_dispatch.c ---- */
void dt__calls_limbo_replay(dt_calls_t *r, dt_call_t *c);

#endif
