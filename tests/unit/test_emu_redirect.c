/* Unit tests of emu_redirect.c: voicemail targets are recognised where either dialect puts
   endpointType; a redirect sends redirecting then terminated and records the outcome. */
#include "harness/emu_fixture.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_redirect.h"
#include "emulator/emu_util.h"

DT_TEST(voicemail_is_read_from_the_invitation_or_the_identity_set) {
  cJSON *a = cJSON_Parse("{\"endpointType\":\"voicemail\",\"identity\":{\"user\":{\"id\":\"u\"}}}");
  cJSON *b = cJSON_Parse("{\"identity\":{\"endpointType\":\"Voicemail\",\"user\":{\"id\":\"u\"}}}");
  cJSON *c = cJSON_Parse("{\"endpointType\":\"default\",\"identity\":{\"user\":{\"id\":\"u\"}}}");
  DT_ASSERT(dt__emu_redirect_is_voicemail(a));
  DT_ASSERT(dt__emu_redirect_is_voicemail(b));
  DT_ASSERT(!dt__emu_redirect_is_voicemail(c));
  cJSON_Delete(a);
  cJSON_Delete(b);
  cJSON_Delete(c);
}

DT_TEST(a_redirect_ends_the_call_through_redirecting) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *from = cJSON_Parse("{\"phone\":{\"id\":\"+15551230000\"}}");
  cJSON *to = cJSON_Parse("{\"application\":{\"id\":\"bot\"}}");
  emu_call_t *c = dt__emu_incoming(f.emu, from, to, f.bot_url, NULL, NULL, NULL);
  char id[64];
  snprintf(id, sizeof id, "%s", c->id);
  cJSON *targets = cJSON_Parse("[{\"identity\":{\"user\":{\"id\":\"a\"}}},{\"identity\":{\"user\":{\"id\":\"b\"}}}]");
  emu_redirect_t r = {.mask_caller = true};
  dt__emu_redirect(c, targets, &r);
  DT_ASSERT(ef_wait_timeline(&f, id, "\"kind\":\"ended\""));
  char *tl = ef_timeline(&f, id);
  DT_ASSERT_CONTAINS(tl, "\"state\":\"redirecting\"");
  DT_ASSERT_CONTAINS(tl, "\"disposition\":\"simultaneousRing\"");
  DT_ASSERT_CONTAINS(tl, "\"timeout_ms\":60000");
  DT_ASSERT_CONTAINS(tl, "\"connected\":\"user:a\""); /* both answer after the same delay: the first */
  DT_ASSERT_CONTAINS(tl, "\"outcome\":\"stopped_ringing\"");
  DT_ASSERT_CONTAINS(tl, "\"caller_shown_as\":\"application:");
  DT_ASSERT_CONTAINS(tl, "\"by\":\"redirect\"");
  free(tl);
  cJSON_Delete(targets);
  cJSON_Delete(from);
  cJSON_Delete(to);
  ef_stop(&f);
}

DT_TEST_MAIN()
