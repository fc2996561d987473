/*
 * test_emu_meetings.c — core/emulator/emu_meetings.c: bot legs in the same meeting (same
 * chatInfo.threadId) see each other and the same people; people join and leave (one
 * participant id in every leg; guests as guest identities) with roster notifications; a 1:1
 * call takes nobody; a leg that ends leaves the other legs' rosters.
 */
#include <string.h>
#include "harness/emu_fixture.h"
#include "dialtone/error.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_meetings.h"
#include "emulator/emu_registry.h"
#include "emulator/emu_util.h"

static emu_call_t *join_meeting(ef_t *f, const char *thread) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"chatInfo\":{\"threadId\":\"%s\",\"messageId\":\"0\"},"
           "\"meetingInfo\":{\"@odata.type\":\"#microsoft.graph.organizerMeetingInfo\","
           "\"organizer\":{\"user\":{\"id\":\"org-1\",\"tenantId\":\"t-1\"}}},"
           "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}",
           thread);
  emu_call_t *c = dt__emu_outgoing(f->emu, cJSON_Parse(body), f->bot_url);
  if (!ef_wait_timeline(f, c->id, "\"kind\":\"state\",\"state\":\"established\"")) return NULL;
  return c;
}

static int count_pid(emu_call_t *c, const char *pid) { return dt__emu_participant_find(c, pid) != NULL; }

DT_TEST(legs_in_one_meeting_share_people_and_see_each_other) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *a = join_meeting(&f, "19:meeting_X@thread.v2");
  DT_ASSERT(a != NULL);
  DT_ASSERT_EQ_STR(a->meeting, "19:meeting_x@thread.v2");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(a->participants), 1); /* the bot only: the organizer is not assumed present */
  char pid[37];
  cJSON *alice = cJSON_Parse("{\"user\":{\"id\":\"alice\",\"displayName\":\"Alice\"}}");
  DT_ASSERT_EQ_INT(dt__emu_person_join(a, alice, pid), 0);
  cJSON_Delete(alice);
  DT_ASSERT(ef_wait_timeline(&f, a->id, "\"kind\":\"participant_joined\""));
  emu_call_t *b = join_meeting(&f, "19:meeting_x@THREAD.v2"); /* the same meeting, other case */
  DT_ASSERT(b != NULL);
  DT_ASSERT(count_pid(b, pid));          /* b sees Alice with the same id */
  DT_ASSERT(count_pid(b, a->my_pid));    /* and a's bot */
  DT_ASSERT(count_pid(a, b->my_pid));    /* a sees b's bot */
  cJSON *g = cJSON_Parse("{\"guest\":{\"id\":\"g-1\",\"displayName\":\"Visitor\"}}");
  char gpid[37];
  DT_ASSERT_EQ_INT(dt__emu_person_join(b, g, gpid), 0);
  cJSON_Delete(g);
  DT_ASSERT(count_pid(a, gpid) && count_pid(b, gpid));
  DT_ASSERT_EQ_INT(dt__emu_person_leave(a, "ALICE"), 0); /* by identity id, any case */
  DT_ASSERT(!count_pid(a, pid) && !count_pid(b, pid));
  DT_ASSERT_EQ_INT(dt__emu_person_leave(a, "alice"), DT_ENOENT);
  DT_ASSERT_EQ_INT(dt__emu_person_leave(a, a->my_pid), DT_EINVAL);
  dt__emu_hangup_by_bot(b);
  DT_ASSERT(!count_pid(a, b->my_pid));   /* b's bot left a's roster */
  DT_ASSERT(ef_wait_timeline(&f, a->id, "\"kind\":\"participant_left\""));
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_one_to_one_call_takes_nobody) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *body = cJSON_Parse("{\"targets\":[{\"identity\":{\"user\":{\"id\":\"carol\"}}}],"
                            "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}");
  emu_call_t *c = dt__emu_outgoing(f.emu, body, f.bot_url);
  DT_ASSERT(ef_wait_timeline(&f, c->id, "\"kind\":\"answered\""));
  DT_ASSERT(c->meeting == NULL);
  char pid[37];
  cJSON *alice = cJSON_Parse("{\"user\":{\"id\":\"alice\"}}");
  DT_ASSERT_EQ_INT(dt__emu_person_join(c, alice, pid), DT_ESTATE);
  DT_ASSERT_EQ_INT(dt__emu_person_join(c, NULL, pid), DT_EINVAL);
  cJSON_Delete(alice);
  DT_ASSERT_EQ_INT(dt__emu_person_leave(c, "carol"), DT_ESTATE);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
