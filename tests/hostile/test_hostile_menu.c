/*
 * test_hostile_menu.c — menus do not inherit stray keys (issue 10, point 10).
 *
 * A caller presses a key while the first menu's last "no input" prompt plays (too late for
 * that menu). With the default (flush = true) the next menu drops it: its prompt is played
 * and the key picks nothing there. With flush = false the key is type-ahead for the next
 * menu (the old behaviour, kept for power users). Keys pressed during a menu's own
 * invalid/noinput prompts still answer the next try of the SAME menu.
 */
#include <stdio.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

/* Two menus, one try each; `second_opts` adds options to the second menu's table. */
static int two_menus(const char *second_opts) {
  char flow[1400];
  snprintf(flow, sizeof flow,
           "return function(call)\n"
           "  call:answer()\n"
           "  local a = call:menu{prompt = 'main_menu', options = {'1'}, retries = 0, timeout = 1,\n"
           "                     invalid = 'invalid', noinput = 'noinput'}\n"
           "  local b, key = call:menu{prompt = 'enter_digits', options = {['1'] = 'one', ['2'] = 'two'},\n"
           "                          retries = 0, timeout = 1, invalid = 'invalid', noinput = 'goodbye'%s}\n"
           "  dialtone.log('info', 'MENUS', tostring(a), tostring(b), tostring(key))\n"
           "end\n",
           second_opts);
  return h_flow(&H, "main", flow);
}

/* The caller presses 2 as the first menu's "no input" prompt starts. */
#define LATE_KEY "\"script\":[{\"on\":\"prompt\",\"match\":\"noinput\",\"tones\":\"2\"}]"

H_TEST(a_key_pressed_during_the_last_noinput_prompt_does_not_pick_in_the_next_menu, .time_scale = 0) {
  DT_ASSERT_EQ_INT(two_menus(""), 0);
  char id[128];
  cJSON *cdr = h_run_call(LATE_KEY, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MENUS nil nil nil"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "noinput"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 1); /* the second menu's prompt played */
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 1);      /* and it timed out on its own */
  cJSON_Delete(tl);
}

H_TEST(flush_true_is_the_default_and_can_be_given, .time_scale = 0) {
  DT_ASSERT_EQ_INT(two_menus(", flush = true"), 0);
  char id[128];
  cJSON *cdr = h_run_call(LATE_KEY, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MENUS nil nil nil"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 1);
  cJSON_Delete(tl);
}

/* flush = false: type-ahead into the next menu, its prompt skipped. */
H_TEST(flush_false_keeps_type_ahead_across_menus, .time_scale = 0) {
  DT_ASSERT_EQ_INT(two_menus(", flush = false"), 0);
  char id[128];
  cJSON *cdr = h_run_call(LATE_KEY, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MENUS nil two 2"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 0);
  cJSON_Delete(tl);
}

/* Within one menu, a key pressed during its noinput prompt answers the next try (no flush
   between tries): the menu prompt is not played again. */
H_TEST(a_key_during_a_menus_own_noinput_prompt_answers_its_next_try, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local a, key = call:menu{prompt = 'main_menu', options = {['1'] = 'sales', ['2'] = 'support'},\n"
                          "                          retries = 2, timeout = 1, invalid = 'invalid', noinput = 'noinput'}\n"
                          "  dialtone.log('info', 'MENU', tostring(a), tostring(key))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(LATE_KEY, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MENU support 2"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 1);
  cJSON_Delete(tl);
}

/* Keys pressed before a menu starts (during an earlier play) are dropped by default. */
H_TEST(keys_pressed_before_a_menu_are_dropped, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:play('welcome')\n"
                          "  local a = call:menu{prompt = 'main_menu', options = {'1', '2'}, retries = 0, timeout = 1,\n"
                          "                     invalid = 'invalid', noinput = 'noinput'}\n"
                          "  dialtone.log('info', 'MENU', tostring(a))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"welcome\",\"tones\":\"2\"}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MENU nil"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 1);
  cJSON_Delete(tl);
}

DT_TEST_MAIN()
