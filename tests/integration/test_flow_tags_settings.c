/*
 * test_flow_tags_settings.c — issue 13 points 2, 5 and 7 end to end: the engine against
 * the Graph emulator over loopback HTTP. call:tag's tags are in /calls while the call
 * waits, in the CDR file once it ends and on the call's log lines; the config's
 * flow_settings reach flows as read-only dialtone.settings; dialtone.now and os.time are
 * the real clock outside `dialtone test`; dialtone.hours answers with a real zone.
 */
#include <time.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

static dt_config_settings_t SETTINGS;

static const dt_config_settings_t *settings(void) {
  char err[128];
  dt_settings_clear(&SETTINGS);
  dt_settings_set(&SETTINGS, "queue", DT_SETTING_STRING, "pharmacy-east", 0, false, err, sizeof err);
  dt_settings_set(&SETTINGS, "retries", DT_SETTING_NUMBER, NULL, 3, false, err, sizeof err);
  return &SETTINGS;
}

static const char FLOW[] =
    "local hours = dialtone.hours{tz = 'Europe/Madrid', daily = '00:00-24:00', holidays = {'2026-12-25'}}\n"
    "return function(call)\n"
    "  call:answer()\n"
    "  call:tag{prescription = '123456', callback = '+15551234567', queue = dialtone.settings.queue,\n"
    "           retries = dialtone.settings.retries, now = dialtone.now(), os_time = os.time()}\n"
    "  call:tag{always_open = tostring(hours:open(1796302800))}\n" /* 2026-12-03 12:00 Madrid */
    "  local ok, e = pcall(function() dialtone.settings.queue = 'x' end)\n"
    "  dialtone.log('info', 'TAGGED', tostring(ok), e)\n"
    "  call:gather{max = 1, timeout = 30}\n"
    "  call:tag{pressed = 'yes'}\n"
    "  dialtone.log('info', 'DONE')\n"
    "end\n";

H_TEST(tags_in_calls_cdr_and_log_settings_and_real_time, .time_scale = 1, .flow_settings = settings()) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", FLOW), 0);
  char id[128];
  int64_t before = (int64_t)time(NULL);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  H_UNTIL(&H, 20000, h_log_has(&H, "TAGGED"));
  DT_ASSERT(h_log_has(&H, "TAGGED false"));
  DT_ASSERT(h_log_has(&H, "dialtone.settings is read-only"));
  /* the admin view while the flow waits for a key */
  char url[160];
  snprintf(url, sizeof url, "%s/calls", H.engine_url);
  int st = 0;
  cJSON *calls = h_http_json(&H, "GET", url, NULL, &st);
  DT_ASSERT_EQ_INT(st, 200);
  DT_ASSERT(cJSON_GetArraySize(calls) == 1);
  const cJSON *tags = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(calls, 0), "tags");
  DT_ASSERT_EQ_STR(h_str(tags, "prescription"), "123456");
  DT_ASSERT_EQ_STR(h_str(tags, "queue"), "pharmacy-east");
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(tags, "retries")->valuedouble == 3);
  cJSON_Delete(calls);
  DT_ASSERT_EQ_INT(h_tones(&H, id, "1"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  tags = cJSON_GetObjectItemCaseSensitive(cdr, "tags");
  DT_ASSERT(cJSON_IsObject(tags));
  DT_ASSERT_EQ_STR(h_str(tags, "prescription"), "123456");
  DT_ASSERT_EQ_STR(h_str(tags, "callback"), "+15551234567");
  DT_ASSERT_EQ_STR(h_str(tags, "pressed"), "yes");
  DT_ASSERT_EQ_STR(h_str(tags, "always_open"), "true");
  /* dialtone.now and os.time are the real clock in `dialtone run` */
  double now = cJSON_GetObjectItemCaseSensitive(tags, "now")->valuedouble;
  double os_time = cJSON_GetObjectItemCaseSensitive(tags, "os_time")->valuedouble;
  int64_t after = (int64_t)time(NULL);
  DT_ASSERT(now >= (double)before - 1 && now <= (double)after + 1);
  DT_ASSERT(os_time >= (double)before - 1 && os_time <= (double)after + 1);
  cJSON_Delete(cdr);
  /* the call's log lines carry its tags: searchable */
  DT_ASSERT(h_log_has(&H, "prescription=123456"));
  DT_ASSERT(h_log_has(&H, "pressed=yes] DONE"));
  dt_settings_clear(&SETTINGS);
}

DT_TEST_MAIN()
