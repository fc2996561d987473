/* Unit tests of emu_policy.c: PSTN calls and transfers need an application instance (group
   calls are left alone, as graph-create-call.md shows), and strict mode takes only https
   callback URIs. */
#include "harness/emu_fixture.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_policy.h"
#include "emulator/emu_util.h"

DT_TEST(pstn_create_needs_an_application_instance) {
  cJSON *b = cJSON_Parse("{\"targets\":[{\"identity\":{\"phone\":{\"id\":\"+1555\"}}}]}");
  DT_ASSERT(dt__emu_policy_pstn_create(b) != NULL);
  cJSON_AddItemToObject(b, "source", cJSON_Parse("{\"identity\":{\"application\":{\"id\":\"app\"}}}"));
  DT_ASSERT(dt__emu_policy_pstn_create(b) != NULL);
  cJSON_ReplaceItemInObject(b, "source", cJSON_Parse("{\"identity\":{\"applicationInstance\":{\"id\":\"\"}}}"));
  DT_ASSERT(dt__emu_policy_pstn_create(b) != NULL); /* an empty id is no instance */
  cJSON_ReplaceItemInObject(b, "source", cJSON_Parse("{\"identity\":{\"applicationInstance\":{\"id\":\"i\"}}}"));
  DT_ASSERT(dt__emu_policy_pstn_create(b) == NULL);
  cJSON_Delete(b);
  cJSON *u = cJSON_Parse("{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}]}");
  DT_ASSERT(dt__emu_policy_pstn_create(u) == NULL);
  cJSON_Delete(u);
  cJSON *g = cJSON_Parse("{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}},"
                         "{\"identity\":{\"phone\":{\"id\":\"+1555\"}}}],\"chatInfo\":{\"threadId\":\"t\"}}");
  DT_ASSERT(dt__emu_policy_pstn_create(g) == NULL);
  cJSON_Delete(g);
}

DT_TEST(pstn_transfer_and_strict_callbacks) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *from = cJSON_Parse("{\"phone\":{\"id\":\"+15551230000\"}}");
  cJSON *app = cJSON_Parse("{\"application\":{\"id\":\"bot\"}}");
  cJSON *inst = cJSON_Parse("{\"applicationInstance\":{\"id\":\"inst\"}}");
  emu_call_t *to_app = dt__emu_incoming(f.emu, from, app, f.bot_url, NULL, NULL, NULL);
  emu_call_t *to_inst = dt__emu_incoming(f.emu, from, inst, f.bot_url, NULL, NULL, NULL);
  cJSON *phone = cJSON_Parse("{\"identity\":{\"phone\":{\"id\":\"+1555\"}}}");
  cJSON *user = cJSON_Parse("{\"identity\":{\"user\":{\"id\":\"u\"}}}");
  DT_ASSERT(dt__emu_policy_pstn_transfer(to_app, phone) != NULL);
  DT_ASSERT(dt__emu_policy_pstn_transfer(to_app, user) == NULL);
  DT_ASSERT(dt__emu_policy_pstn_transfer(to_inst, phone) == NULL);
  DT_ASSERT(dt__emu_policy_callback_ok(f.emu, "http://127.0.0.1/cb"));
  DT_ASSERT(!dt__emu_policy_callback_ok(f.emu, "ftp://x"));
  dt_emulator_config_t c;
  dt_emulator_get_config(f.emu, &c);
  c.strict = true;
  DT_ASSERT_EQ_INT(dt_emulator_set_config(f.emu, &c, NULL, 0), 0);
  DT_ASSERT(!dt__emu_policy_callback_ok(f.emu, "http://127.0.0.1/cb"));
  DT_ASSERT(dt__emu_policy_callback_ok(f.emu, "HTTPS://bot.example/cb"));
  DT_ASSERT_CONTAINS(dt__emu_policy_callback_rule(f.emu), "https");
  cJSON_Delete(phone);
  cJSON_Delete(user);
  cJSON_Delete(from);
  cJSON_Delete(app);
  cJSON_Delete(inst);
  ef_stop(&f);
}

DT_TEST_MAIN()
