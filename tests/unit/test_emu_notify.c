/* Unit tests of emu_notify.c: a call's notifications reach its callback one at a time in
   order, in the documents' envelope with both resource spellings and a signed bearer
   token (signed once, reused); no callback URL and the drop fault are recorded; the
   roster goes out for multiparty calls only. */
#include "harness/emu_fixture.h"
#include "emulator/emu_notify.h"
#include "emulator/emu_registry.h"

static emu_call_t *bare_call(ef_t *f, const char *callback) {
  emu_call_t *c = dt__emu_call_new(f->emu, true);
  c->callback_uri = callback ? dt_xstrdup(callback) : NULL;
  return c;
}

static cJSON *state(const char *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "state", s);
  return o;
}

DT_TEST(notifications_arrive_in_order_signed_in_the_documents_envelope) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = bare_call(&f, f.bot_url);
  dt__emu_notify_call(c, "updated", state("s1"), "one");
  dt__emu_notify_call(c, "updated", state("s2"), "two");
  dt__emu_notify_call(c, "deleted", state("s3"), "three");
  DT_ASSERT(ef_wait_notes(&f, 3));
  DT_ASSERT_CONTAINS(f.notes[0], "\"state\":\"s1\"");
  DT_ASSERT_CONTAINS(f.notes[1], "\"state\":\"s2\"");
  DT_ASSERT_CONTAINS(f.notes[2], "\"changeType\":\"deleted\"");
  char rurl[96], legacy[96];
  snprintf(rurl, sizeof rurl, "\"resourceUrl\":\"/communications/calls/%s\"", c->id);
  snprintf(legacy, sizeof legacy, "\"resource\":\"/app/calls/%s\"", c->id);
  DT_ASSERT_CONTAINS(f.notes[0], "\"@odata.type\":\"#microsoft.graph.commsNotifications\"");
  DT_ASSERT_CONTAINS(f.notes[0], rurl);
  DT_ASSERT_CONTAINS(f.notes[0], legacy);
  DT_ASSERT_CONTAINS(f.notes[0], "\"@odata.etag\":\"W/\\\"1\\\"\"");
  /* Bearer <header.claims.signature>, the same token for all three */
  DT_ASSERT(strncmp(f.auth[0], "Bearer ", 7) == 0);
  int dots = 0;
  for (const char *p = f.auth[0]; *p; p++) dots += *p == '.';
  DT_ASSERT_EQ_INT(dots, 2);
  DT_ASSERT_EQ_STR(f.auth[2], f.auth[0]);
  DT_ASSERT(dt__emu_jwt(f.emu) == dt__emu_jwt(f.emu));
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"notification\",\"changeType\":\"updated\"");
  DT_ASSERT_CONTAINS(t, "\"summary\":\"three\"");
  free(t);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(no_callback_the_drop_fault_and_the_roster) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = bare_call(&f, NULL);
  dt__emu_notify_call(c, "updated", state("x"), "lost");
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"summary\":\"lost\",\"error\":\"no callback URL\"");
  free(t);
  emu_call_t *d = bare_call(&f, f.bot_url);
  dt__emu_notify_roster(d); /* a two-party call has no roster notifications */
  dt_emulator_faults_t drop = {0};
  drop.drop_notifications = 1;
  DT_ASSERT_EQ_INT(dt_emulator_set_faults(f.emu, &drop, NULL, 0), 0);
  dt__emu_notify_call(d, "updated", state("y"), "dropped");
  ef_settle(&f);
  DT_ASSERT_EQ_INT(f.nnotes, 0);
  t = ef_timeline(&f, d->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"fault_dropped\",\"summary\":\"dropped\"");
  free(t);
  dt_emulator_faults_t none = {0};
  dt_emulator_set_faults(f.emu, &none, NULL, 0);
  d->multiparty = true;
  dt__emu_participant_add_bot(d);
  dt__emu_notify_roster(d);
  DT_ASSERT(ef_wait_notes(&f, 1));
  DT_ASSERT_CONTAINS(f.notes[0], "/participants\"");
  DT_ASSERT_CONTAINS(f.notes[0], "\"resourceData\":[{");
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
