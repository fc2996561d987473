/*
 * graph_body.h — the JSON bodies of the Graph calls requests, both dialects; pure (no I/O,
 * no loop): each function validates its arguments and returns a new cJSON object the
 * caller owns, in the shapes of reference/graph_schema_extract.md (with the documents'
 * "@odata.type" annotations). The client (dialtone/graph.h, graph.c) sends them; the
 * emulator and the tests build them directly. Also the id normalisation every lookup uses.
 */
#ifndef DIALTONE_GRAPH_BODY_H
#define DIALTONE_GRAPH_BODY_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

typedef enum { DT_GRAPH_V1 = 0, DT_GRAPH_BETA = 1 } dt_graph_dialect_t;

/* Identities as the flow API writes them: {user="id"}, {phone="+1…"}, ... */
typedef struct {
  const char *kind;            /* "user", "phone", "application", "applicationInstance", "guest" */
  const char *id;              /* may be NULL for guest */
  const char *tenant_id;       /* optional */
  const char *display_name;    /* optional */
} dt_identity_t;

typedef struct {
  dt_identity_t identity;
  const char *replaces_call_id; /* optional (invite escalation, consultative transfer) */
} dt_invitation_t;

typedef struct {
  const char *uri;
  const char *resource_id;     /* optional */
} dt_media_t;

typedef struct {
  const char *callback_uri;           /* required */
  const dt_invitation_t *targets;     /* peer-to-peer: one; group: several */
  size_t target_count;
  const dt_identity_t *source;        /* optional (application instance for PSTN) */
  const char *const *modalities;      /* default {"audio"} */
  size_t modality_count;
  const char *tenant_id;              /* optional */
  const char *subject;                /* optional */
  /* Meeting join (any of these set = a meeting call): */
  const char *meeting_organizer_id;
  const char *meeting_organizer_tenant_id;
  const char *meeting_join_id;        /* joinMeetingIdMeetingInfo (v1.0) */
  const char *meeting_passcode;
  const char *meeting_token;          /* tokenMeetingInfo */
  const char *chat_thread_id;         /* chatInfo */
  const char *chat_message_id;
  const char *chat_reply_chain_message_id;
  const char *guest_display_name;     /* join as guest: source.identity.guest */
  const char *guest_id;
  const char *client_context;         /* optional; dialtone correlates with it */
  bool no_media;                      /* join without media: requestedModalities [] and no
                                         mediaConfig (graph-participant-invite.md, "Join
                                         channel meeting without media"); modalities ignored */
} dt_graph_create_params_t;

typedef struct {
  const char *callback_uri;           /* required */
  const char *const *modalities;      /* default {"audio"} */
  size_t modality_count;
  const dt_media_t *prefetch;
  size_t prefetch_count;
  int participant_capacity;           /* 0 = omit */
} dt_graph_answer_params_t;

typedef struct {
  const dt_media_t *prompt;           /* optional, at most one */
  bool barge_in;
  int initial_silence_s;              /* 0 = omit (Graph default 5) */
  int max_silence_s;                  /* 0 = omit */
  int max_duration_s;                 /* 0 = omit */
  int play_beep;                      /* -1 omit, 0 false, 1 true */
  const char *const *stop_tones;      /* "#", "*", "1" ... as the docs show */
  size_t stop_tone_count;
  const char *client_context;
} dt_graph_record_params_t;

/* Normalises a call or operation id for lookups: lower case, dashes removed.
   out must hold strlen(id)+1 bytes. */
void dt_graph_id_key(const char *id, char *out);

/* Body builders (exposed for tests and the emulator's own tests); each returns a new
   cJSON object the caller owns. */
cJSON *dt_graph_identity_set_json(const dt_identity_t *id);
cJSON *dt_graph_invitation_json(const dt_invitation_t *inv);
cJSON *dt_graph_media_prompt_json(const dt_media_t *m);

/* Request rules: see "Added by graph.c" in dialtone/graph.h; the limits: */
#define DT_GRAPH_MAX_ID 256
#define DT_GRAPH_MAX_STRING 8192
#define DT_GRAPH_MAX_ITEMS 100

/* Full request bodies: 0 and a new object in *out, or DT_EINVAL / DT_EUNSUPPORTED. */
int dt_graph_create_call_body(dt_graph_dialect_t d, const dt_graph_create_params_t *p, cJSON **out);
int dt_graph_answer_body(const dt_graph_answer_params_t *p, cJSON **out);
int dt_graph_reject_body(const char *reason, const char *callback_uri, cJSON **out);
int dt_graph_redirect_body(const dt_invitation_t *targets, size_t n, int timeout_s,
                           const char *callback_uri, cJSON **out);
/* redirect with every parameter the dialect has (graph_api.md §1.3): targets 1..25, timeout
   15..90 s (0 = omit, Graph's default); voicemail: each target's voicemail
   (invitationParticipantInfo endpointType "voicemail"); in beta only targetDisposition
   ("default", "simultaneousRing", "forward"; "forward" takes one target), maskCallee and
   maskCaller (sent when true). A beta-only parameter in v1.0: DT_EUNSUPPORTED. */
typedef struct {
  const dt_invitation_t *targets;
  size_t target_count;
  int timeout_s;
  const char *callback_uri;
  bool voicemail;
  const char *disposition;
  bool mask_callee, mask_caller;
} dt_graph_redirect_params_t;
int dt_graph_redirect_params_body(dt_graph_dialect_t d, const dt_graph_redirect_params_t *p, cJSON **out);
int dt_graph_transfer_body(dt_graph_dialect_t d, const dt_invitation_t *target,
                           const dt_identity_t *transferee, cJSON **out);
int dt_graph_play_prompt_body(const dt_media_t *prompts, size_t n, const char *client_context,
                              cJSON **out);
/* playPrompt with "loop": true (beta only: "true indicates to loop infinitely", and Graph
   then sends no completion); DT_EUNSUPPORTED in v1.0, which has no loop (the engine plays
   the prompts again itself there). */
int dt_graph_play_prompt_loop_body(dt_graph_dialect_t d, const dt_media_t *prompts, size_t n,
                                   const char *client_context, cJSON **out);
int dt_graph_record_body(const dt_graph_record_params_t *p, cJSON **out);
int dt_graph_send_dtmf_body(const char *tones, int delay_ms, const char *client_context, cJSON **out);
int dt_graph_invite_body(const dt_invitation_t *participants, size_t n, const char *client_context,
                         cJSON **out);
/* {"clientContext": ...} or {} — the body of subscribeToTone, cancelMediaProcessing, mute... */
int dt_graph_context_body(const char *client_context, cJSON **out);
/* participant startHoldMusic {customPrompt (a mediaPrompt; omitted when prompt is NULL),
   clientContext}: v1.0 only (DT_EUNSUPPORTED in beta, whose schema lacks it). */
int dt_graph_start_hold_music_body(dt_graph_dialect_t d, const dt_media_t *prompt, const char *client_context,
                                   cJSON **out);

/* {"role": role}: role "viewer" or "sharer" (changeScreenSharingRole). */
int dt_graph_screen_sharing_role_body(const char *role, cJSON **out);
/* {"metadata": ..., "clientContext": ...}; metadata required (updateMetadata). */
int dt_graph_update_metadata_body(const char *metadata, const char *client_context, cJSON **out);

/* {"clientContext": ..., "status": status} (updateRecordingStatus, both dialects); status
   "recording", "notRecording" or "failed", else DT_EINVAL. */
int dt_graph_recording_status_body(const char *status, const char *client_context, cJSON **out);
/* Whether s is one of the statuses a bot may report (recordingStatus without unknown and
   unknownFutureValue). */
bool dt_graph_recording_status_ok(const char *s);

/* "recordResponse" (v1.0) or "record" (beta). */
const char *dt_graph_record_action(dt_graph_dialect_t d);

#endif
