/*
 * call_events.h — the engine's one stream of call events (the live view, issue 14): every
 * change a call goes through that an operator would want to watch (started, answered,
 * prompt, key, recording, transfer, error, ended) and the flows' reloads, published on one
 * bus with a sequence number, kept in a bounded ring of recent events, and handed to every
 * subscriber in order. Engine-neutral: no Lua, no HTTP (events_sse.c serves it as SSE).
 *
 * Promises: sequence numbers start at 1 and grow by one per event; a subscriber sees the
 * events after it subscribed, in order; a subscriber may unsubscribe (itself or another)
 * from inside its callback; the ring holds at most `ring` events (oldest dropped); at most
 * `max_subscribers` subscribers (DT_ELIMIT beyond). Everything runs on the loop thread.
 */
#ifndef DIALTONE_CALL_EVENTS_H
#define DIALTONE_CALL_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include "dialtone/common.h"

typedef struct dt_call_events_s dt_call_events_t;

typedef struct {
  uint64_t seq;
  int64_t at_ms;     /* Unix ms */
  const char *type;  /* "started", "answered", "prompt", "key", "recording", "transfer", "error", "ended", "reload" */
  const char *call;  /* call id, "" for engine events (reload) */
  const char *flow;  /* flow name, "" if none */
  const char *json;  /* the whole event as one JSON object {"seq","at","type","call","flow",...} */
  size_t json_len;
} dt_call_event_t;

typedef void (*dt_call_events_fn)(const dt_call_event_t *ev, void *ud);

/* ring: recent events kept (0 = 512); max_subscribers: 0 = 64. */
dt_call_events_t *dt_call_events_new(size_t ring, size_t max_subscribers);
void dt_call_events_free(dt_call_events_t *bus);
/* 0, or DT_ELIMIT when max_subscribers are subscribed already. */
int dt_call_events_subscribe(dt_call_events_t *bus, dt_call_events_fn fn, void *ud);
/* Removes the subscription (fn, ud); nothing if absent. */
void dt_call_events_unsubscribe(dt_call_events_t *bus, dt_call_events_fn fn, void *ud);
size_t dt_call_events_subscribers(const dt_call_events_t *bus);
/* Publishes an event. fields: more JSON members without braces ("\"digit\":\"1\"") or NULL;
   they must be valid JSON text (callers build them with dt_text_json_string). bus NULL: nothing. */
void dt_call_events_emit(dt_call_events_t *bus, const char *type, const char *call, const char *flow,
                         unsigned flow_version, const char *fields);
/* Calls fn for each kept event with a sequence number > after, oldest first. */
void dt_call_events_replay(const dt_call_events_t *bus, uint64_t after, dt_call_events_fn fn, void *ud);
uint64_t dt_call_events_last_seq(const dt_call_events_t *bus);

#endif
