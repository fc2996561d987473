/*
 * test_config_settings.c — core/calls/config_settings.c and its place in the config: names,
 * types and limits refused with the setting's name, replacement, environment text typed by
 * the file's setting, the dump; flow_settings from a config file and
 * DIALTONE_FLOW_SETTINGS_NAME overrides through dt_config_load.
 */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/config_settings.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(names_types_and_limits) {
  dt_config_settings_t s = {0};
  char err[256];
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "queue", DT_SETTING_STRING, "east", 0, false, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "retries", DT_SETTING_NUMBER, NULL, 3, false, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "vip", DT_SETTING_BOOLEAN, NULL, 0, true, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "queue", DT_SETTING_STRING, "west", 0, false, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(s.count, 3);
  DT_ASSERT_EQ_STR(dt_settings_find(&s, "queue")->str, "west");
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "9lives", DT_SETTING_STRING, "x", 0, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "'9lives' is not a setting name");
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "a-b", DT_SETTING_STRING, "x", 0, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "", DT_SETTING_STRING, "x", 0, false, err, sizeof err), DT_ECONFIG);
  char big[DT_SETTING_VALUE_MAX + 2];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "big", DT_SETTING_STRING, big, 0, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "flow_settings.big: a string of at most 4096 bytes");
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "bad", DT_SETTING_STRING, "\xff", 0, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "inf", DT_SETTING_NUMBER, NULL, 1.0 / 0.0, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(s.count, 3); /* nothing added by the refusals */
  for (int i = 0; s.count < DT_SETTINGS_MAX; i++) {
    char name[16];
    snprintf(name, sizeof name, "k%d", i);
    DT_ASSERT_EQ_INT(dt_settings_set(&s, name, DT_SETTING_NUMBER, NULL, i, false, err, sizeof err), 0);
  }
  DT_ASSERT_EQ_INT(dt_settings_set(&s, "onemore", DT_SETTING_NUMBER, NULL, 1, false, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "more than 64 settings");
  dt_settings_clear(&s);
  /* the total size */
  big[DT_SETTING_VALUE_MAX] = '\0';
  int rc = 0;
  for (int i = 0; i < 40 && rc == 0; i++) {
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    rc = dt_settings_set(&s, name, DT_SETTING_STRING, big, 0, false, err, sizeof err);
  }
  DT_ASSERT_EQ_INT(rc, DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "bytes of names and strings");
  DT_ASSERT(s.bytes <= DT_SETTINGS_MAX_BYTES);
  dt_settings_clear(&s);
}

DT_TEST(environment_text_follows_the_files_type) {
  dt_config_settings_t s = {0};
  char err[256];
  dt_settings_set(&s, "retries", DT_SETTING_NUMBER, NULL, 3, false, err, sizeof err);
  dt_settings_set(&s, "VIP", DT_SETTING_BOOLEAN, NULL, 0, false, err, sizeof err);
  DT_ASSERT_EQ_INT(dt_settings_set_text(&s, "RETRIES", "5", err, sizeof err), 0);
  DT_ASSERT(dt_settings_find(&s, "retries")->num == 5);
  DT_ASSERT_EQ_INT(dt_settings_set_text(&s, "RETRIES", "five", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "flow_settings.retries: expected a number");
  DT_ASSERT_EQ_INT(dt_settings_set_text(&s, "VIP", "yes", err, sizeof err), 0);
  DT_ASSERT(dt_settings_find(&s, "VIP")->flag);
  DT_ASSERT_EQ_INT(dt_settings_set_text(&s, "VIP", "maybe", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_settings_set_text(&s, "SUPPORT_QUEUE", "q-7", err, sizeof err), 0);
  DT_ASSERT_EQ_STR(dt_settings_find(&s, "support_queue")->str, "q-7");
  dt_buf_t b = {0};
  dt_settings_dump(&s, "  ", &b);
  DT_ASSERT_CONTAINS(b.data, "  [\"retries\"] = 5,\n");
  DT_ASSERT_CONTAINS(b.data, "  [\"VIP\"] = true,\n");
  DT_ASSERT_CONTAINS(b.data, "  [\"support_queue\"] = \"q-7\",\n");
  dt_buf_free(&b);
  dt_settings_clear(&s);
}

DT_TEST(config_file_and_environment) {
  char path[] = "/tmp/dt_settings_XXXXXX";
  int fd = mkstemp(path);
  const char *text = "return { flow_settings = { queue = 'east', retries = 3, vip = false } }\n";
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
  close(fd);
  setenv("DIALTONE_FLOW_SETTINGS_RETRIES", "4", 1);
  setenv("DIALTONE_FLOW_SETTINGS_REGION", "us", 1);
  dt_config_t cfg;
  char err[512] = "";
  int rc = dt_config_load(&cfg, path, NULL, 0, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(dt_settings_find(&cfg.flow_settings, "queue")->str, "east");
  DT_ASSERT(dt_settings_find(&cfg.flow_settings, "retries")->num == 4);
  DT_ASSERT_EQ_STR(dt_settings_find(&cfg.flow_settings, "region")->str, "us");
  DT_ASSERT(!dt_settings_find(&cfg.flow_settings, "vip")->flag);
  dt_buf_t b = {0};
  dt_config_dump(&cfg, &b);
  DT_ASSERT_CONTAINS(b.data, "flow_settings = {");
  DT_ASSERT_CONTAINS(b.data, "[\"queue\"] = \"east\",");
  dt_config_free(&cfg);
  /* the dump is a config file that gives the same settings back */
  char again[] = "/tmp/dt_settings_dump_XXXXXX";
  fd = mkstemp(again);
  if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len) abort();
  close(fd);
  rc = dt_config_load(&cfg, again, NULL, 0, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT(dt_settings_find(&cfg.flow_settings, "retries")->num == 4);
  DT_ASSERT_EQ_STR(dt_settings_find(&cfg.flow_settings, "region")->str, "us");
  unlink(again);
  dt_buf_free(&b);
  dt_config_free(&cfg);
  setenv("DIALTONE_FLOW_SETTINGS_RETRIES", "lots", 1);
  rc = dt_config_load(&cfg, path, NULL, 0, err, sizeof err);
  DT_ASSERT_EQ_INT(rc, DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "DIALTONE_FLOW_SETTINGS_RETRIES: flow_settings.retries: expected a number");
  dt_config_free(&cfg);
  unsetenv("DIALTONE_FLOW_SETTINGS_RETRIES");
  unsetenv("DIALTONE_FLOW_SETTINGS_REGION");
  text = "return { flow_settings = { nested = { a = 1 } } }\n";
  fd = open(path, O_WRONLY | O_TRUNC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
  close(fd);
  rc = dt_config_load(&cfg, path, NULL, 0, err, sizeof err);
  DT_ASSERT_EQ_INT(rc, DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "flow_settings.nested: expected a string, a number or a boolean, got table");
  dt_config_free(&cfg);
  unlink(path);
}

DT_TEST_MAIN()
