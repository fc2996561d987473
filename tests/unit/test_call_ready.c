/*
 * test_call_ready.c — core/calls/call_ready.c: an answer ends, and an outbound call's flow
 * starts, once Graph reports audio active; at once when it already did or when the call has
 * no audio; after media_wait_ms when Graph never says (no hang).
 */
#include "harness/call_fixture.h"
#include "call_internal.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

static int media(call_fx_t *f, const char *id, const char *audio) {
  char *json = dt_xasprintf("{\"value\":[{\"changeType\":\"updated\",\"resource\":\"/app/calls/%s\",\"resourceData\":{"
                            "\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"established\","
                            "\"mediaState\":{\"audio\":\"%s\"}}}]}", id, audio);
  int rc = fx_notify(f, json);
  free(json);
  return rc;
}

/* An answered, subscribed call waiting for its answer's end. */
static dt_call_t *answering(call_fx_t *f, const char *id) {
  fx_incoming(f, id, "u", "app");
  dt_call_t *c = dt_calls_find(f->reg, id);
  dt__call_wait_begin(c, DT_WAIT_ANSWER);
  c->flags |= DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED | DT_CALLF_SUBSCRIBED;
  return c;
}

DT_TEST(the_answer_ends_when_audio_is_active) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = answering(&f, "call-a");
  dt__call_answer_ready(c);
  DT_ASSERT_EQ_INT(c->stage, ANSWER_MEDIA); /* held */
  DT_ASSERT_EQ_INT(f.results, 0);
  media(&f, "call-a", "inactive");
  DT_ASSERT_EQ_INT(f.results, 0);
  media(&f, "call-a", "active");
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_STR(f.last_reason, "established");
  DT_ASSERT(c->flags & DT_CALLF_MEDIA_ACTIVE);
  free(fx_close(&f));
}

DT_TEST(active_already_or_no_audio_ends_it_at_once) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = answering(&f, "call-b");
  media(&f, "call-b", "active"); /* before the answer was done: remembered */
  dt__call_answer_ready(c);
  DT_ASSERT_EQ_INT(f.results, 1);
  dt_call_t *d = answering(&f, "call-c");
  d->flags |= DT_CALLF_NO_AUDIO;
  dt__call_answer_ready(d);
  DT_ASSERT_EQ_INT(f.results, 2);
  free(fx_close(&f));
}

DT_TEST(no_media_state_goes_on_after_the_bound) {
  call_fx_t f;
  dt_calls_options_t o = {.media_wait_ms = 30};
  fx_open(&f, &o, false);
  dt_call_t *c = answering(&f, "call-d");
  dt__call_answer_ready(c);
  DT_ASSERT_EQ_INT(f.results, 0);
  FX_UNTIL(&f, 5000, f.results == 1);
  DT_ASSERT_EQ_STR(f.last_reason, "established");
  free(fx_close(&f));
}

DT_TEST(an_outbound_flow_starts_once_audio_is_active) {
  call_fx_t f;
  dt_calls_options_t o = {.media_wait_ms = 30};
  fx_open(&f, &o, false);
  char *flow = dt_xstrdup("leg"), *to = dt_xstrdup("user:bob");
  dt_call_t *c = dt__calls_outbound_new(f.reg, "call-e", &flow, &to);
  free(flow);
  free(to);
  c->flags |= DT_CALLF_ESTABLISHED | DT_CALLF_STARTED;
  dt__call_start_when_ready(c);
  DT_ASSERT(c->flags & DT_CALLF_MEDIA_HOLD);
  DT_ASSERT_EQ_INT(f.starts, 0);
  media(&f, "call-e", "active");
  DT_ASSERT_EQ_INT(f.starts, 1);
  DT_ASSERT(!(c->flags & DT_CALLF_MEDIA_HOLD));
  /* and one that never hears about media starts after the bound */
  flow = dt_xstrdup("leg");
  to = dt_xstrdup("user:carol");
  dt_call_t *d = dt__calls_outbound_new(f.reg, "call-f", &flow, &to);
  free(flow);
  free(to);
  d->flags |= DT_CALLF_ESTABLISHED | DT_CALLF_STARTED;
  dt__call_start_when_ready(d);
  FX_UNTIL(&f, 5000, f.starts == 2);
  free(fx_close(&f));
}

DT_TEST_MAIN()
