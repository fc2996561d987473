/*
 * test_call_live.c — core/calls/call_live.c: a call's events on the registry's bus (started,
 * answered, key with the keys so far, ended with the outcome; all with the call id and
 * flow), its step in GET /calls (digits, time in state) and the "tags" event.
 */
#include "harness/call_fixture.h"
#include "harness/dt_test.h"
#include "dialtone/call_events.h"
#include "dialtone/error.h"

#define APP "app-1"

typedef struct {
  dt_buf_t all;
} seen_t;

static void on_ev(const dt_call_event_t *ev, void *ud) {
  seen_t *s = ud;
  dt_buf_appendf(&s->all, "%s %s %s\n", ev->type, ev->call, ev->json);
}

static long pos(const seen_t *s, const char *needle) {
  const char *at = s->all.data ? strstr(s->all.data, needle) : NULL;
  return at ? (long)(at - s->all.data) : -1;
}

DT_TEST(a_call_publishes_its_events_and_shows_its_step) {
  dt_call_events_t *bus = dt_call_events_new(0, 0);
  seen_t s = {0};
  dt_call_events_subscribe(bus, on_ev, &s);
  call_fx_t f;
  fx_open(&f, &(dt_calls_options_t){.events = bus}, true);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-1", "u", APP), 0);
  FX_UNTIL(&f, 2000, f.starts == 1);
  DT_ASSERT_EQ_INT(fx_state(&f, "call-1", "established"), 0);
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "tone4", 1), 0);
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "tone4", 1), 0); /* a duplicate: no event */
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "pound", 2), 0);
  dt_buf_t b = {0};
  dt_calls_render_json(f.reg, &b);
  DT_ASSERT_CONTAINS(b.data, "\"step\":{\"prompt\":null,\"digits\":\"4#\",\"in_state_s\":");
  DT_ASSERT_CONTAINS(b.data, "\"tags\":{}");
  dt_buf_free(&b);
  /* tags (call:tag merges them, then tells the live view) */
  char err[128];
  dt_log_field_t tag = {.key = "tier", .value = "gold"};
  DT_ASSERT_EQ_INT(dt_call_tags_merge(&f.started->tags, &tag, 1, err, sizeof err), 0);
  dt_call_tags_changed(f.started);
  dt_calls_render_json(f.reg, &b);
  DT_ASSERT_CONTAINS(b.data, "\"tags\":{\"tier\":\"gold\"}");
  dt_buf_free(&b);
  dt_call_flow_done(f.started, DT_OUTCOME_COMPLETED, NULL, NULL);
  DT_ASSERT_EQ_INT(fx_state(&f, "call-1", "terminated"), 0);
  FX_UNTIL(&f, 2000, pos(&s, "ended call-1") >= 0);
  free(fx_close(&f));
  long st = pos(&s, "started call-1"), an = pos(&s, "answered call-1"), k1 = pos(&s, "\"keys\":\"4\""),
       k2 = pos(&s, "\"keys\":\"4#\""), tg = pos(&s, "tags call-1"), en = pos(&s, "ended call-1");
  DT_ASSERT_MSG(st >= 0 && st < an && an < k1 && k1 < k2 && k2 < tg && tg < en, "%s", s.all.data);
  DT_ASSERT_CONTAINS(s.all.data, "\"outcome\":\"completed\"");
  DT_ASSERT_CONTAINS(s.all.data, "\"tags\":{\"tier\":\"gold\"}");
  /* one key event per new tone */
  int keys = 0;
  for (const char *p = s.all.data; (p = strstr(p, "\nkey ")) != NULL; p++) keys++;
  DT_ASSERT_EQ_INT(keys, 2);
  dt_buf_free(&s.all);
  dt_call_events_free(bus);
}

DT_TEST(without_a_bus_the_step_is_still_kept) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-2", "u", APP), 0);
  FX_UNTIL(&f, 2000, f.starts == 1);
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-2", "tone7", 1), 0);
  dt_buf_t b = {0};
  dt_calls_render_json(f.reg, &b);
  DT_ASSERT_CONTAINS(b.data, "\"digits\":\"7\"");
  dt_buf_free(&b);
  free(fx_close(&f));
}

DT_TEST_MAIN()
