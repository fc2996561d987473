/*
 * online_meeting.h — Graph's onlineMeeting resource for the engine (online_meeting.c):
 * create a meeting and find one by its join URL, in both dialects, and the flow's view of
 * the meeting Graph returns.
 *
 * Where (graph_api.md §8 "onlineMeetings"):
 *   v1.0  POST {base}/users/{organizer}/onlineMeetings
 *         GET  {base}/users/{organizer}/onlineMeetings?$filter=JoinWebUrl%20eq%20'{url}'
 *   beta  POST {base}/app/onlineMeetings (the bot era's application path; the organizer goes
 *         in the body as participants.organizer)
 *         GET  {base}/app/onlineMeetings?$filter=JoinWebUrl%20eq%20'{url}'
 * Application permission (OnlineMeetings.ReadWrite.All) on the /users path works only for
 * users the tenant admin has granted an application access policy; Graph answers 403
 * otherwise, and that error reaches the flow as Graph's.
 *
 * Promises: the body and path builders are pure (no I/O); a refused argument is DT_EINVAL
 * with a sentence in err and nothing allocated; every input is bounded (the limits below).
 */
#ifndef DIALTONE_ONLINE_MEETING_H
#define DIALTONE_ONLINE_MEETING_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "dialtone/graph.h"

#define DT_ONLINE_MEETING_MAX_SUBJECT 1024
#define DT_ONLINE_MEETING_MAX_ATTENDEES 100
#define DT_ONLINE_MEETING_MAX_URL 2048 /* a join URL to look up */

typedef struct dt_online_meeting_params_s {
  const char *subject;            /* optional */
  const char *start;              /* startDateTime, ISO 8601 ("2026-12-03T18:00:00Z"); optional */
  const char *end;                /* endDateTime; optional; after start when both are given */
  const char *organizer_id;       /* the organizer's user id (Entra object id): required */
  const char *const *attendees;   /* attendee user ids; optional */
  size_t attendee_count;
} dt_online_meeting_params_t;

/* The create request: *path (malloc'd, relative to the version base) and *body. 0, or
   DT_EINVAL with a sentence in err. */
int dt_online_meeting_create_request(dt_graph_dialect_t d, const dt_online_meeting_params_t *p, char **path,
                                     cJSON **body, char *err, size_t errlen);
/* The find-by-join-URL path (malloc'd). user_id: v1.0 needs it (the organizer); beta
   ignores it. 0, or DT_EINVAL with a sentence in err. */
int dt_online_meeting_find_path(dt_graph_dialect_t d, const char *user_id, const char *join_url, char **path,
                                char *err, size_t errlen);
/* The flow's view of an onlineMeeting object (NULL if m is not an object): {id, join_url,
   subject, start_time, end_time, created_time, chat_info = {thread_id, message_id,
   reply_chain_message_id}, organizer = {id, tenant_id, name}, attendees = {{id, name}…},
   meeting_info = {organizer_id, tenant_id}} — fields Graph left out are left out. */
cJSON *dt_online_meeting_view(const cJSON *m);

/* An ISO 8601 date-time "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" as Unix seconds; false if
   s is not one (at most 64 bytes). */
bool dt_online_meeting_time(const char *s, long long *unix_s);

/* The requests themselves (through dt_graph_request_base). Argument errors return
   DT_EINVAL and never call cb. */
int dt_graph_create_online_meeting(dt_graph_t *g, const dt_online_meeting_params_t *p, dt_graph_fn cb, void *ud,
                                   dt_graph_req_t **out);
int dt_graph_find_online_meeting(dt_graph_t *g, const char *user_id, const char *join_url, dt_graph_fn cb, void *ud,
                                 dt_graph_req_t **out);

#endif
