/*
 * notify.h — commsNotifications bodies turned into typed events.
 *
 * Accepts what Graph really sends: `resourceUrl` or the legacy `resource`; enum values
 * in camelCase or PascalCase ("established"/"Established", "deleted"/"Deleted");
 * call ids in any case with or without dashes (ids are normalised, see dt_graph_id_key);
 * resourceData as an object or (rosters) an array; several notifications in one body.
 * It does not deduplicate or reorder: that is the call registry's job, using
 * tone sequence ids and operation ids.
 */
#ifndef DIALTONE_NOTIFY_H
#define DIALTONE_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef enum {
  DT_EVENT_CALL_INCOMING = 1, /* created on a call, state incoming */
  DT_EVENT_CALL_STATE,        /* updated on a call: state and/or media state changed */
  DT_EVENT_TONE,              /* updated on a call with toneInfo */
  DT_EVENT_OPERATION,         /* an operation finished (changeType deleted on /operations/{id})
                                 or reported progress (updated) */
  DT_EVENT_ROSTER,            /* updated on /participants: resource_data is the array */
  DT_EVENT_CALL_TERMINATED,   /* deleted on a call (state terminated) */
} dt_event_type_t;

typedef enum {
  DT_CALL_STATE_UNKNOWN = 0,
  DT_CALL_STATE_INCOMING,
  DT_CALL_STATE_ESTABLISHING,
  DT_CALL_STATE_RINGING,
  DT_CALL_STATE_ESTABLISHED,
  DT_CALL_STATE_HOLD,
  DT_CALL_STATE_TRANSFERRING,
  DT_CALL_STATE_TRANSFER_ACCEPTED,
  DT_CALL_STATE_REDIRECTING,
  DT_CALL_STATE_TERMINATING,
  DT_CALL_STATE_TERMINATED,
} dt_call_state_t;

typedef enum {
  DT_OP_STATUS_UNKNOWN = 0,
  DT_OP_STATUS_NOT_STARTED,
  DT_OP_STATUS_RUNNING,
  DT_OP_STATUS_COMPLETED,
  DT_OP_STATUS_FAILED,
} dt_op_status_t;

typedef enum { DT_MEDIA_UNKNOWN = 0, DT_MEDIA_ACTIVE, DT_MEDIA_INACTIVE } dt_media_state_t;

typedef struct {
  bool present;
  int code;
  int subcode;
  char *message;            /* may be NULL */
} dt_result_info_t;

/* One notification. Strings are owned by the event (freed by dt_event_list_free). */
typedef struct {
  dt_event_type_t type;
  char *call_id;            /* as it appears in the resource URL */
  char *op_id;              /* DT_EVENT_OPERATION: the operation id from the URL */
  dt_call_state_t state;    /* CALL_INCOMING/CALL_STATE/TONE/TERMINATED (UNKNOWN if absent) */
  dt_media_state_t media_audio;
  dt_result_info_t result;  /* call resultInfo (state/terminated) or operation resultInfo */
  char *termination_reason; /* beta terminationReason, may be NULL */
  /* DT_EVENT_TONE */
  int64_t tone_sequence_id;
  char tone;                /* '0'..'9', '*', '#', 'A'..'D', 'F' (flash) */
  /* DT_EVENT_OPERATION */
  char *op_type;            /* "playPromptOperation" (from @odata.type), may be NULL */
  dt_op_status_t op_status;
  char *client_context;
  char *completion_reason;  /* e.g. "stopToneDetected", may be NULL */
  char *recording_location; /* recordOperation */
  char *recording_access_token;
  /* Everything: the resourceData as received (an object, or an array for rosters),
     owned by the event. CALL_INCOMING reads source/targets/callChainId/tenantId here. */
  cJSON *resource_data;
} dt_event_t;

typedef struct {
  dt_event_t *events;
  size_t count;
} dt_event_list_t;

/* Limits (the ingress enforces the body limit too). */
#define DT_NOTIFY_MAX_BODY (1024 * 1024)   /* bytes; larger bodies fail with DT_ETOOBIG */
#define DT_NOTIFY_MAX_NOTIFICATIONS 100    /* events per body; more fail with DT_EPARSE */
#define DT_NOTIFY_MAX_ID 256               /* call_id / op_id are cut to this many bytes */
#define DT_NOTIFY_MAX_TEXT 1024            /* messages, reasons, client context, op type */
#define DT_NOTIFY_MAX_URL 8192             /* recording_location */
#define DT_NOTIFY_MAX_TOKEN 16384          /* recording_access_token */

/* Parses a commsNotifications body. On error returns DT_EPARSE with a detail in err and
   leaves out empty. Notifications of kinds it does not know are skipped, not errors.
   Added detail (notify.c):
   - The body must be {"value":[...]}: Graph always sends the envelope, so a bare
     notification object is DT_EPARSE. Each element needs changeType and resourceUrl (or
     resource); resourceData may be an object, an array, null or absent.
   - An array resourceData on a call or operation resource yields one event per element;
     on /participants it is the one ROSTER event's resource_data (an object there is
     wrapped into a one-element array). "deleted" on /participants is skipped.
   - "updated" with state terminated is CALL_TERMINATED too (the documents send it before
     the "deleted"), so a hang-up usually gives two TERMINATED events for one call.
   - Strings are cut at DT_NOTIFY_MAX_* on a UTF-8 boundary; empty optional strings are
     NULL. Every string is its own malloc and resource_data its own cJSON tree, so a
     consumer may take one over by setting the field to NULL before dt_event_list_free.
   - Body over DT_NOTIFY_MAX_BODY: DT_ETOOBIG. */
int dt_notify_parse(const char *body, size_t len, dt_event_list_t *out, char *err, size_t errlen);
void dt_event_list_free(dt_event_list_t *list);

/* Parse arena (added, notify.c). A notification body's cJSON tree (a node and a string per
   value) lives only while the caller turns it into events, and allocating and freeing it
   piece by piece costs a third of the parse. dt_notify_parse_arena is dt_notify_parse with
   that tree bumped from the arena (one block of DT_NOTIFY_ARENA_BYTES, allocated on first
   use; a bigger tree spills over into malloc). A free of arena memory on this thread is a
   no-op until dt_notify_arena_reset, which the caller calls once the events are freed (a
   failed parse resets it itself); the next parse reuses the block. One arena per thread at a time.
   notify.c installs cJSON's allocation hooks for this once, before main (a constructor: no
   thread runs cJSON yet); outside dt_notify_parse_arena, and on every other thread, they
   are plain malloc and free (cJSON then prints through malloc + copy, not realloc). */
#define DT_NOTIFY_ARENA_BYTES (64u << 10) /* a typical notification's tree takes 4-8 KiB */
typedef struct {
  char *base; /* NULL until the first parse; the owner frees it */
  size_t used, cap;
} dt_notify_arena_t;
int dt_notify_parse_arena(dt_notify_arena_t *arena, const char *body, size_t len, dt_event_list_t *out,
                          char *err, size_t errlen);
void dt_notify_arena_reset(dt_notify_arena_t *arena);

const char *dt_event_type_name(dt_event_type_t t);      /* "tone" */
const char *dt_call_state_name(dt_call_state_t s);      /* "established" */
dt_call_state_t dt_call_state_from_name(const char *s); /* case-insensitive */
/* "tone1"/"Tone1"/"star"/"pound"/"a"/"flash" -> '1' '*' '#' 'A' 'F'; 0 if unknown. */
char dt_tone_from_name(const char *name);
/* '1' -> "tone1", '*' -> "star", '#' -> "pound", 'A' -> "a", 'F' -> "flash"; NULL if unknown. */
const char *dt_tone_name(char tone);
/* "notStarted"/"running"/"completed"/"failed" (any case) and back; "unknown" otherwise. */
dt_op_status_t dt_op_status_from_name(const char *s);
const char *dt_op_status_name(dt_op_status_t s);

#endif
