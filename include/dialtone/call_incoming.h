/*
 * call_incoming.h — what Graph says about an incoming call, as a flow sees it, and the
 * routes that match on it (core/calls/call_incoming.c; pure: no registry, no loop).
 *
 * The view (dt_incoming_view) is a small JSON object, the source of the call handle's
 * fields call.subject, call.called, call.chat, call.meeting and call.context (docs/flows.md):
 *   {"subject": "…",                                   call's subject
 *    "called":  {"application": "id", "name": "…"},   first target's identity, in the flow
 *                                                      API's identity form (user, phone,
 *                                                      application, application_instance,
 *                                                      guest …; name =, tenant =)
 *    "chat":    {"thread":, "message":, "reply_chain":}   chatInfo (a meeting invite)
 *    "meeting": {"organizer": identity, "tenant":, "join_id":, "token":}   meetingInfo
 *    "context": {"source_participant_id":, "observed_participant_id":,
 *                "on_behalf_of": identity, "transferor": identity}}      incomingContext
 * Keys are present only when Graph sent them (non-empty). Strings are cut at
 * DT_INCOMING_MAX_TEXT bytes on a UTF-8 boundary.
 *
 * Derived facts (the route keys): a policy-recording invite names an observed participant
 * (incomingContext.observedParticipantId); a transferred call names a transferor; a meeting
 * invite carries chatInfo or meetingInfo.
 */
#ifndef DIALTONE_CALL_INCOMING_H
#define DIALTONE_CALL_INCOMING_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "dialtone/call.h"

#define DT_INCOMING_MAX_TEXT 1024 /* bytes of any string of the view */
#define DT_ROUTE_MAX_SUBJECT 256  /* bytes of a route's subject pattern */

/* The view of an incoming call's resource (the "created" notification's resourceData).
   Never NULL (an empty object for anything that is not an object); the caller frees it. */
cJSON *dt_incoming_view(const cJSON *call_resource);

bool dt_incoming_is_policy_recording(const cJSON *view);
bool dt_incoming_is_transferred(const cJSON *view);
bool dt_incoming_is_meeting(const cJSON *view);

/* Case-insensitive glob: '*' any run of characters (also none), '?' one byte; anything else
   itself. The whole text must match. */
bool dt_glob_match(const char *pattern, const char *text);

/* Whether route r accepts a call whose view is `view` and whose targets name ids[0..n):
   every condition the route sets holds (match: one of the ids, or "*"; subject: the glob;
   policy_recording/transferred/meeting: the fact is as asked). */
bool dt_route_matches(const dt_route_t *r, const cJSON *view, const char *const *ids, size_t n);

/* Checks a route's conditions as configuration (config.c and `dialtone test` use it; the
   flow name is the caller's to check): at least one condition, a non-empty match, a subject
   pattern of 1..DT_ROUTE_MAX_SUBJECT bytes. 0, or DT_ECONFIG with what is wrong in err
   (the caller prefixes where). */
int dt_route_check(const dt_route_t *r, char *err, size_t errlen);

/* Routes written as JSON (`dialtone test`'s test.options{routes = …}): an array of at most
   DT_ROUTES_JSON_MAX objects with the config file's keys (match, subject, policy_recording,
   transferred, meeting as booleans, flow). *out (the caller frees the array) borrows the
   strings of arr. 0, or DT_ECONFIG with "routes[i]…: why" in err and *out NULL. */
#define DT_ROUTES_JSON_MAX 100
int dt_routes_from_json(const cJSON *arr, dt_route_t **out, size_t *n, char *err, size_t errlen);

#endif
