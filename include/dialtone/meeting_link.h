/*
 * meeting_link.h — Teams meeting join links as Graph's join coordinates (pure, no I/O).
 *
 * A classic link
 *   https://teams.microsoft.com/l/meetup-join/{threadId}/{messageId}?context={"Tid":…,"Oid":…}
 * (thread id and context URL-encoded) becomes what Microsoft's calling samples send
 * (JoinInfo.ParseJoinURL): chatInfo {threadId, messageId, replyChainMessageId = context's
 * MessageId} and organizerMeetingInfo {organizer: user {id: Oid, tenantId: Tid}}, tenantId on
 * the call. A short link https://teams.microsoft.com/meet/{id}?p={passcode} becomes v1.0's
 * joinMeetingIdMeetingInfo {joinMeetingId, passcode}.
 *
 * Promises: a link this module cannot read is an error with a sentence saying why (never a
 * guess); every output field is bounded (the buffers below), decoded and NUL-terminated;
 * links longer than DT_MEETING_LINK_MAX are refused.
 */
#ifndef DIALTONE_MEETING_LINK_H
#define DIALTONE_MEETING_LINK_H
#include <stddef.h>

#define DT_MEETING_LINK_MAX 4096

typedef struct {
  int kind;                    /* DT_MEETING_LINK_CLASSIC or DT_MEETING_LINK_SHORT */
  char thread_id[512];         /* classic: "19:meeting_…@thread.v2" */
  char message_id[64];         /* classic: "0" usually */
  char reply_chain_id[64];     /* classic: the context's MessageId, "" when absent */
  char tenant_id[64];          /* classic: Tid */
  char organizer_id[64];       /* classic: Oid */
  char join_meeting_id[64];    /* short: the numeric meeting id */
  char passcode[64];           /* short: p=, "" when absent */
} dt_meeting_link_t;

enum { DT_MEETING_LINK_CLASSIC = 1, DT_MEETING_LINK_SHORT = 2 };

/* Parses url into *out. 0, or DT_EINVAL with a sentence in err (errlen bytes). */
int dt_meeting_link_parse(const char *url, dt_meeting_link_t *out, char *err, size_t errlen);

#endif
