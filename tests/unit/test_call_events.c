/*
 * test_call_events.c — core/calls/call_events.c: sequence numbers, the event's JSON, the
 * bounded ring and its replay, subscribers in order, unsubscribing from inside a callback,
 * the subscriber limit.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/call_events.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

typedef struct {
  dt_call_events_t *bus;
  int seen;
  char types[256];
  uint64_t seqs[16];
  bool leave;     /* unsubscribe itself on its first event */
  void *other;    /* ... or another subscriber */
} rec_t;

static void on_ev(const dt_call_event_t *ev, void *ud) {
  rec_t *r = ud;
  if (r->seen < 16) r->seqs[r->seen] = ev->seq;
  r->seen++;
  strncat(r->types, ev->type, sizeof r->types - strlen(r->types) - 2);
  strcat(r->types, ",");
  if (r->leave) dt_call_events_unsubscribe(r->bus, on_ev, r);
  if (r->other) dt_call_events_unsubscribe(r->bus, on_ev, r->other);
}

DT_TEST(events_carry_a_growing_sequence_and_their_json) {
  dt_call_events_t *bus = dt_call_events_new(4, 4);
  rec_t r = {.bus = bus};
  DT_ASSERT_EQ_INT(dt_call_events_subscribe(bus, on_ev, &r), 0);
  dt_call_events_emit(bus, "started", "call-1", "main", 3, "\"direction\":\"incoming\"");
  dt_call_events_emit(bus, "key", "call-1", "main", 3, "\"key\":\"5\"");
  dt_call_events_emit(bus, "reload", NULL, NULL, 0, NULL);
  DT_ASSERT_EQ_INT(r.seen, 3);
  DT_ASSERT_EQ_STR(r.types, "started,key,reload,");
  DT_ASSERT(r.seqs[0] == 1 && r.seqs[1] == 2 && r.seqs[2] == 3);
  DT_ASSERT(dt_call_events_last_seq(bus) == 3);
  dt_call_events_free(bus);
}

static void keep_json(const dt_call_event_t *ev, void *ud) {
  cJSON **out = ud;
  cJSON_Delete(*out);
  *out = cJSON_Parse(ev->json);
}

DT_TEST(the_json_is_one_object_with_the_fields) {
  dt_call_events_t *bus = dt_call_events_new(0, 0);
  cJSON *j = NULL;
  dt_call_events_subscribe(bus, keep_json, &j);
  dt_call_events_emit(bus, "key", "c\"1", "main", 2, "\"key\":\"#\"");
  DT_ASSERT(cJSON_IsObject(j));
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "type")->valuestring, "key");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "call")->valuestring, "c\"1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "flow")->valuestring, "main");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "version")->valueint, 2);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "seq")->valueint, 1);
  DT_ASSERT(cJSON_GetObjectItem(j, "at")->valuedouble > 1.6e12);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "key")->valuestring, "#");
  cJSON_Delete(j);
  dt_call_events_free(bus);
}

DT_TEST(the_ring_keeps_the_last_events_and_replays_after_a_sequence) {
  dt_call_events_t *bus = dt_call_events_new(3, 0);
  for (int i = 0; i < 5; i++) dt_call_events_emit(bus, i % 2 ? "key" : "prompt", "c", "f", 1, NULL);
  rec_t r = {.bus = bus};
  dt_call_events_replay(bus, 0, on_ev, &r);
  DT_ASSERT_EQ_INT(r.seen, 3); /* 3, 4, 5: the oldest two were dropped */
  DT_ASSERT(r.seqs[0] == 3 && r.seqs[2] == 5);
  rec_t r2 = {.bus = bus};
  dt_call_events_replay(bus, 4, on_ev, &r2);
  DT_ASSERT_EQ_INT(r2.seen, 1);
  DT_ASSERT(r2.seqs[0] == 5);
  dt_call_events_free(bus);
}

DT_TEST(a_subscriber_may_leave_or_remove_another_inside_its_callback) {
  dt_call_events_t *bus = dt_call_events_new(0, 0);
  rec_t a = {.bus = bus, .leave = true}, b = {.bus = bus}, c = {.bus = bus};
  b.other = &c; /* b removes c, which comes after it */
  dt_call_events_subscribe(bus, on_ev, &a);
  dt_call_events_subscribe(bus, on_ev, &b);
  dt_call_events_subscribe(bus, on_ev, &c);
  dt_call_events_emit(bus, "started", "x", "f", 1, NULL);
  DT_ASSERT_EQ_INT(a.seen, 1);
  DT_ASSERT_EQ_INT(b.seen, 1);
  DT_ASSERT_EQ_INT(c.seen, 0);
  DT_ASSERT_EQ_INT((int)dt_call_events_subscribers(bus), 1);
  b.other = NULL;
  dt_call_events_emit(bus, "ended", "x", "f", 1, NULL);
  DT_ASSERT_EQ_INT(a.seen, 1);
  DT_ASSERT_EQ_INT(b.seen, 2);
  dt_call_events_free(bus);
}

DT_TEST(subscribers_are_limited) {
  dt_call_events_t *bus = dt_call_events_new(0, 2);
  rec_t r[3];
  memset(r, 0, sizeof r);
  DT_ASSERT_EQ_INT(dt_call_events_subscribe(bus, on_ev, &r[0]), 0);
  DT_ASSERT_EQ_INT(dt_call_events_subscribe(bus, on_ev, &r[1]), 0);
  DT_ASSERT_EQ_INT(dt_call_events_subscribe(bus, on_ev, &r[2]), DT_ELIMIT);
  dt_call_events_unsubscribe(bus, on_ev, &r[0]);
  DT_ASSERT_EQ_INT(dt_call_events_subscribe(bus, on_ev, &r[2]), 0);
  dt_call_events_emit(NULL, "x", NULL, NULL, 0, NULL); /* no bus: nothing */
  dt_call_events_free(bus);
}

DT_TEST_MAIN()
