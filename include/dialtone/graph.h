/*
 * graph.h — the Graph calls REST client: one function per call action, both dialects.
 *
 * Dialects: DT_GRAPH_V1 ("v1.0": {base}/communications/calls) and DT_GRAPH_BETA
 * ("beta": {base}/app/calls, and `record` instead of `recordResponse`). base_url is
 * e.g. "https://graph.microsoft.com/v1.0" or "http://127.0.0.1:9090/v1.0".
 *
 * Bodies are built by graph_body.c (dialtone/graph_body.h: the types they take, the
 * validation rules and one function per body). Every request carries "Authorization: Bearer <token>" from the token
 * source (fetched first if needed; a 401 answer invalidates the token and is retried once
 * with a fresh one). The result callback runs exactly once, later on the loop, unless the
 * request is cancelled. The result has the status, the parsed body, the Location header,
 * the operation id and status when the answer is an operation, and Graph's error code
 * and message when the answer is an error ({"error":{"code","message"}}).
 */
#ifndef DIALTONE_GRAPH_H
#define DIALTONE_GRAPH_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/graph_body.h"
#include "dialtone/http_client.h"
#include "dialtone/notify.h"
#include "dialtone/oauth.h"

typedef struct dt_graph_s dt_graph_t;
typedef struct dt_graph_req_s dt_graph_req_t;

typedef struct {
  const char *base_url;        /* required */
  dt_graph_dialect_t dialect;
  long timeout_ms;             /* per request; default 10000 */
  /* Added: retries (see "Retries" at the end of this header). 0 = the default. */
  int max_attempts;            /* sends per request, the first included; default 4, at most
                                  DT_GRAPH_MAX_ATTEMPTS; 1 = never retry */
  long base_backoff_ms;        /* ceiling of the first backoff; default 200 */
  long max_backoff_ms;         /* cap of the backoff ceiling (doubles per retry); default 10000 */
  long retry_deadline_ms;      /* whole request, first send to last answer; default
                                  timeout_ms * max_attempts */
  dt_metrics_t *metrics;       /* optional, borrowed: dt_graph_retries_total{reason},
                                  dt_graph_giveups_total */
} dt_graph_options_t;

typedef struct {
  int status;                  /* HTTP status; 0 = transport failure */
  int error;                   /* 0, DT_EGRAPH (status >= 400), or a transport DT_E* */
  const char *error_code;      /* Graph's error.code, or NULL */
  const char *error_message;   /* Graph's error.message or the transport message; never NULL */
  cJSON *body;                 /* parsed JSON body or NULL; valid during the callback */
  const char *location;        /* Location header or NULL */
  const char *op_id;           /* id of an operation in the body, or NULL */
  dt_op_status_t op_status;
  const char *call_id;         /* create call: the new call's id */
  int retry_after_s;           /* Retry-After header in seconds, or -1 */
  int attempts;                /* added: HTTP requests sent for this request (the 401 resend
                                  included); 0 if none was sent (no token, say) */
} dt_graph_result_t;

typedef void (*dt_graph_fn)(const dt_graph_result_t *res, void *ud);

int dt_graph_new(uv_loop_t *loop, dt_http_client_t *http, dt_oauth_source_t *tokens,
                 const dt_graph_options_t *opts, dt_graph_t **out);
void dt_graph_free(dt_graph_t *g);           /* cancels everything in flight */
/* "Graph answering 503 to POST {url}" or "Graph unreachable: ...: connection refused (...)"
   while the latest answer from Graph was a 5xx or none; NULL once one below 500 came back
   (and before any request). For /healthz. */
const char *dt_graph_failing(const dt_graph_t *g);
void dt_graph_req_cancel(dt_graph_req_t *r); /* its callback is never called */
const char *dt_graph_calls_url(const dt_graph_t *g); /* ".../communications/calls" or ".../app/calls" */

/* Generic: method + path relative to the calls collection ("" or "/{id}/answer"),
   body consumed (may be NULL). The typed functions below all use it. */
int dt_graph_request(dt_graph_t *g, const char *method, const char *path, cJSON *body,
                     dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* Added (onlineMeetings, online_meeting.c): the same, with path relative to the version
   base ("/users/{id}/onlineMeetings" after ".../v1.0"); path must start with '/'. Never a
   create call (result.call_id stays NULL). */
int dt_graph_request_base(dt_graph_t *g, const char *method, const char *path, cJSON *body,
                          dt_graph_fn cb, void *ud, dt_graph_req_t **out);
dt_graph_dialect_t dt_graph_dialect(const dt_graph_t *g);
/* An id that may go into a URL path unescaped: 1..DT_GRAPH_MAX_ID bytes of [A-Za-z0-9-_.~:@]
   (the rule every path id of the typed functions follows). */
bool dt_graph_id_ok(const char *id);

/* ---- Calls ---- */
int dt_graph_create_call(dt_graph_t *g, const dt_graph_create_params_t *p, dt_graph_fn cb, void *ud,
                         dt_graph_req_t **out);
int dt_graph_get_call(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_delete_call(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out);

int dt_graph_answer(dt_graph_t *g, const char *call_id, const dt_graph_answer_params_t *p,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* reason: "none", "busy", "forbidden". */
int dt_graph_reject(dt_graph_t *g, const char *call_id, const char *reason, const char *callback_uri,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_redirect(dt_graph_t *g, const char *call_id, const dt_graph_redirect_params_t *p, dt_graph_fn cb,
                      void *ud, dt_graph_req_t **out);
int dt_graph_transfer(dt_graph_t *g, const char *call_id, const dt_invitation_t *target,
                      const dt_identity_t *transferee /* optional, v1.0 */,
                      dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* ---- Media (service-hosted) ---- */
int dt_graph_play_prompt(dt_graph_t *g, const char *call_id, const dt_media_t *prompts, size_t n,
                         const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* playPrompt with "loop": true (beta only; DT_EUNSUPPORTED in v1.0): plays until
   cancelMediaProcessing, with no completion notification (graph_api.md §1.5). */
int dt_graph_play_prompt_loop(dt_graph_t *g, const char *call_id, const dt_media_t *prompts, size_t n,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* recordResponse (v1.0) or record (beta). */
int dt_graph_record(dt_graph_t *g, const char *call_id, const dt_graph_record_params_t *p,
                    dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* The actions whose body is only {"clientContext": ...} ({} without one), POSTed to
   /communications/calls/{call_id}/{path}: one function, the action picks the path. */
typedef enum {
  DT_GRAPH_SUBSCRIBE_TO_TONE, /* subscribeToTone */
  DT_GRAPH_CANCEL_MEDIA,      /* cancelMediaProcessing */
  DT_GRAPH_MUTE,              /* mute (the bot itself) */
  DT_GRAPH_UNMUTE,            /* unmute */
  DT_GRAPH_MUTE_ALL,          /* participants/muteAll */
} dt_graph_context_action_t;
int dt_graph_context_action(dt_graph_t *g, const char *call_id, dt_graph_context_action_t action,
                            const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* tones: characters '0'-'9', '*', '#', 'A'-'D' ; sent as "tone1", "star", ... */
int dt_graph_send_dtmf(dt_graph_t *g, const char *call_id, const char *tones, int delay_ms,
                       const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* ---- In-call ---- */
/* role: "viewer" or "sharer". */
int dt_graph_change_screen_sharing_role(dt_graph_t *g, const char *call_id, const char *role,
                                        dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_update_metadata(dt_graph_t *g, const char *call_id, const char *metadata,
                             const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_keep_alive(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* POST …/updateRecordingStatus {clientContext, status} (same in both dialects); status
   "recording", "notRecording" or "failed" (else DT_EINVAL, nothing sent). Answered 200 with
   an updateRecordingStatusOperation. */
int dt_graph_update_recording_status(dt_graph_t *g, const char *call_id, const char *status,
                                     const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* ---- Participants ---- */
int dt_graph_list_participants(dt_graph_t *g, const char *call_id, dt_graph_fn cb, void *ud,
                               dt_graph_req_t **out);
int dt_graph_get_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                             dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_invite(dt_graph_t *g, const char *call_id, const dt_invitation_t *participants, size_t n,
                    const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_mute_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_remove_participant(dt_graph_t *g, const char *call_id, const char *participant_id,
                                dt_graph_fn cb, void *ud, dt_graph_req_t **out);
/* participant startHoldMusic / stopHoldMusic (v1.0 only: DT_EUNSUPPORTED in beta). prompt_uri
   (may be NULL: Graph's own music) is the customPrompt's mediaInfo uri. */
int dt_graph_start_hold_music(dt_graph_t *g, const char *call_id, const char *participant_id, const char *prompt_uri,
                              const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);
int dt_graph_stop_hold_music(dt_graph_t *g, const char *call_id, const char *participant_id,
                             const char *client_context, dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* ---- Operations ---- */
int dt_graph_get_operation(dt_graph_t *g, const char *call_id, const char *op_id,
                           dt_graph_fn cb, void *ud, dt_graph_req_t **out);

/* ---- Added by graph.c (not in the original contract) ----

   Request rules the typed functions apply (a violation returns the code and no callback):
   - DT_EINVAL: a required argument missing, a path id (call, participant, operation)
     empty, over DT_GRAPH_MAX_ID bytes or with a character outside [A-Za-z0-9-_.~:@],
     a string over DT_GRAPH_MAX_STRING bytes, an identity kind not in the list, an
     identity without id (guests excepted), reject reason / sharing role / tone not in
     their enums, more than DT_GRAPH_MAX_ITEMS targets, prompts, tones or modalities.
   - DT_EUNSUPPORTED: what the dialect lacks: transferee and joinMeetingIdMeetingInfo
     are v1.0 only.
   - muteAll (beta 2021 only in the schema) and updateMetadata (removed from the docs) are
     sent in both dialects as the documents showed them; Graph answers them with an error
     if it no longer knows them.
   - Create call: the body carries "@odata.type": "#microsoft.graph.call" as in the v1.0
     example, and clientContext (call is an OpenType) when given. More than one of
     meeting_token / meeting_join_id / meeting_organizer_id is DT_EINVAL; a call with no
     targets must be a meeting; guest_* and source together are DT_EINVAL.
   - tokens may be NULL in dt_graph_new (no Authorization header, no 401 retry).
   - If the function returns an error, the callback is never called; req handles are
     valid until the callback starts (cancelling from inside the own callback is a no-op).
   - A 401 invalidates the token only if it is still the one the request used (so a burst
     of 401s does not throw away the fresh token fetched for the first one).
   - result.error_message is "" on success; result.call_id is set for create call only
     (from the body's id, else the Location's last segment); result.op_id comes from the
     body when it is an operation ({"id","status"}), else from a Location ending in
     /operations/{id}. */

/* Requests started and not yet finished or cancelled (tests). */
size_t dt_graph_pending(const dt_graph_t *g);

/* ---- Retries (added by graph.c) ----

   Which answers are tried again, on the same request (same method, URL and body; the
   callback still runs exactly once, with the final answer):
   - 401: the token is refreshed and the request sent again, once (above). This resend
     does not count against max_attempts.
   - 429 and 503: always retried, whatever the action: Graph refused the request without
     acting on it.
   - 502, 504, a timeout (DT_ETIMEDOUT) and a connection that failed after it was open
     (DT_ECONN): Graph may or may not have acted, so only repeatable requests are retried
     (dt_graph_repeatable below); for the others the failure is the result at once.
   - Connection refused (DT_ECONNREFUSED): nothing was sent, so every request is retried.
   - Anything else (2xx-3xx, other 4xx and 5xx, DT_ETLS, DT_ETOOBIG) is final.
   Repeatable: every GET (get call, participants, operation GETs), DELETE and PUT, and
   the POST actions keepAlive, subscribeToTone, cancelMediaProcessing, mute, unmute
   (call and participant), muteAll, changeScreenSharingRole, updateMetadata, updateRecordingStatus. Not
   repeatable: create call, answer, reject, redirect, transfer, playPrompt,
   record/recordResponse, sendDtmfTones, participants/invite, and anything unknown
   (PATCH, other POST actions).

   When a retry waits: the answer's Retry-After (delta-seconds or HTTP-date) exactly,
   even beyond max_backoff_ms; else "full jitter" backoff, a random wait in
   [0, min(max_backoff_ms, base_backoff_ms * 2^(retry-1))].
   When it gives up (the last answer becomes the result, with error set): after
   max_attempts sends, or when the wait would end past retry_deadline_ms (counted from
   the dt_graph_request call) — a Retry-After beyond the deadline gives up at once. Each
   send's timeout is cut to what is left of the deadline, so the deadline bounds the
   whole request.
   While a request waits it holds a uv_timer_t; dt_graph_req_cancel and dt_graph_free
   close it (the loop must run once more for its close callback to free it). Metrics, if
   options.metrics: counter dt_graph_retries_total{reason="429"|"502"|"503"|"504"|
   "timeout"|"connection"|"refused"} per retry, dt_graph_giveups_total per request that
   ended in one of those failures (including a non-repeatable request not retried). */
#define DT_GRAPH_MAX_ATTEMPTS 100
/* True if method + path (relative to the calls collection, as dt_graph_request takes it)
   may be sent again after a failure that leaves open whether Graph acted on it. */
bool dt_graph_repeatable(const char *method, const char *path);

#endif
