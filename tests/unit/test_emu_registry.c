/* Unit tests of emu_registry.c: the call table (any spelling of an id finds the call),
   live vs ended calls, the history cap, the bounded operation list, participants, party
   behaviours and freeing what a call owns. */
#include "harness/dt_test.h"
#include "emulator/emu_registry.h"
#include "emulator/emu_sched.h"
#include "emulator/emu_util.h"

typedef struct {
  uv_loop_t loop;
  dt_emulator_t emu;
} reg_fix_t;

static void fix_init(reg_fix_t *f) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  dt__emu_sched_init(&f->emu.sim, &f->emu, &f->loop, false, 0);
  dt__emu_sched_init(&f->emu.real, &f->emu, &f->loop, true, 1);
  f->emu.cfg.history = 1;
  f->emu.app_id = "app-1";
}

static void fix_close(reg_fix_t *f) {
  size_t n = 0;
  void **vals = dt_hashmap_values(&f->emu.calls, &n);
  for (size_t i = 0; i < n; i++) dt__emu_call_free(vals[i]);
  free(vals);
  dt_hashmap_clear(&f->emu.calls, NULL);
  dt_hashmap_clear(&f->emu.parties, dt__emu_party_free);
  dt__emu_sched_close(&f->emu.sim, NULL);
  dt__emu_sched_close(&f->emu.real, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_loop_close(&f->loop);
}

DT_TEST(calls_are_found_by_any_spelling_and_retired_into_a_bounded_history) {
  reg_fix_t f;
  fix_init(&f);
  emu_call_t *a = dt__emu_call_new(&f.emu, true);
  emu_call_t *b = dt__emu_call_new(&f.emu, false);
  DT_ASSERT_EQ_INT(f.emu.active_calls, 2);
  DT_ASSERT_EQ_INT(a->state, EMU_CS_INCOMING);
  DT_ASSERT_EQ_INT(b->state, EMU_CS_ESTABLISHING);
  char up[40], path[80];
  dt__emu_id_upper(a->id, up, sizeof up);
  snprintf(path, sizeof path, "/app/calls/%s", up);
  DT_ASSERT(dt__emu_call_find(&f.emu, up) == a);
  DT_ASSERT(dt__emu_call_find(&f.emu, path) == a);
  DT_ASSERT(dt__emu_call_find(&f.emu, "no-such-call") == NULL);
  DT_ASSERT(dt__emu_call_find(&f.emu, NULL) == NULL);
  dt__emu_call_set_state(a, EMU_CS_TERMINATED);
  DT_ASSERT_EQ_STR(dt__emu_json_str(a->res, "state"), "terminated");
  DT_ASSERT_EQ_INT(a->tl.n, 1); /* and in its timeline */
  a->ended = true;
  dt__emu_call_retire(a);
  DT_ASSERT(dt__emu_call_find_live(&f.emu, a->id) == NULL);
  DT_ASSERT(dt__emu_call_find(&f.emu, a->id) == a); /* ended calls stay readable */
  DT_ASSERT_EQ_INT(f.emu.active_calls, 1);
  char a_id[37];
  snprintf(a_id, sizeof a_id, "%s", a->id);
  dt__emu_call_ref(a); /* someone still holds it */
  b->ended = true;
  dt__emu_call_retire(b); /* history 1: a is evicted */
  DT_ASSERT(dt__emu_call_find(&f.emu, a_id) == NULL);
  DT_ASSERT(a->evicted);
  dt__emu_call_unref(a); /* the last reference frees it */
  DT_ASSERT(dt__emu_call_find(&f.emu, b->id) == b);
  DT_ASSERT_EQ_INT(dt_list_count(&f.emu.hist), 1);
  fix_close(&f);
}

static void never(dt__emu_ev_t *ev) { (void)ev; }

DT_TEST(a_call_owns_its_events_operations_and_queue) {
  reg_fix_t f;
  fix_init(&f);
  emu_call_t *c = dt__emu_call_new(&f.emu, true);
  c->answer_timer = dt__emu_at(&f.emu.real, c, 15000, never);
  c->ring_timer = dt__emu_at(&f.emu.sim, c, 100, never);
  emu_op_t *first = dt__emu_op_new(c, EMU_OP_PLAY, "ctx");
  first->ev = dt__emu_at(&f.emu.sim, c, 100, never);
  char first_id[37];
  snprintf(first_id, sizeof first_id, "%s", first->id);
  char up[40];
  dt__emu_id_upper(first->id, up, sizeof up);
  DT_ASSERT(dt__emu_op_find(c, up) == first);
  DT_ASSERT_EQ_STR(first->client_context, "ctx");
  dt__emu_call_cancel_events(c);
  DT_ASSERT(c->evs.head == NULL && c->evs.count == 0);
  DT_ASSERT(c->answer_timer == NULL && c->ring_timer == NULL && first->ev == NULL);
  DT_ASSERT_EQ_INT(f.emu.sim.n + f.emu.real.n, 0);
  /* the list stays bounded: the oldest finished operation goes */
  first->status = EMU_OPS_COMPLETED;
  for (int i = 0; i < 64; i++) {
    emu_op_t *op = dt__emu_op_new(c, EMU_OP_DTMF, NULL);
    op->status = EMU_OPS_COMPLETED;
  }
  DT_ASSERT_EQ_INT(c->nops, 64);
  DT_ASSERT(dt__emu_op_find(c, first_id) == NULL);
  /* queued notifications */
  for (int i = 0; i < 3; i++) {
    emu_nq_t *it = dt_xcalloc(1, sizeof *it);
    it->url = dt_xstrdup("http://127.0.0.1:9/cb");
    it->body = dt_xstrdup("{}");
    dt_list_push_back(&c->nq, &it->link);
  }
  dt__emu_nq_free(c);
  DT_ASSERT(c->nq.head == NULL && c->nq.tail == NULL && c->nq.count == 0);
  fix_close(&f); /* frees the call with its operations */
}

DT_TEST(participants_and_parties) {
  reg_fix_t f;
  fix_init(&f);
  emu_call_t *c = dt__emu_call_new(&f.emu, true);
  cJSON *who = cJSON_Parse("{\"user\":{\"id\":\"alice\"}}");
  dt__emu_participant_add(c, who, "0fe0623f-d628-42ed-b4bd-8ac290072cc5");
  dt__emu_participant_add(c, who, NULL);
  dt__emu_participant_add_bot(c);
  dt__emu_participant_add_bot(c); /* once */
  cJSON_Delete(who);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(c->participants), 3);
  cJSON *p = dt__emu_participant_find(c, "0FE0623FD62842EDB4BD8AC290072CC5");
  DT_ASSERT(p != NULL);
  DT_ASSERT_EQ_STR(dt__emu_json_str(cJSON_GetObjectItem(p, "mediaStreams")->child, "sourceId"), "1");
  cJSON *bot = dt__emu_participant_find(c, c->my_pid);
  DT_ASSERT_EQ_STR(dt__emu_identity_id(cJSON_GetObjectItem(cJSON_GetObjectItem(bot, "info"), "identity"), NULL),
                   "app-1");
  /* parties */
  char key[260];
  DT_ASSERT(dt__emu_party_key("Bob@Example.com", key));
  DT_ASSERT_EQ_STR(key, "bob@example.com");
  DT_ASSERT(!dt__emu_party_key("", key));
  char longid[300];
  memset(longid, 'x', 299);
  longid[299] = '\0';
  DT_ASSERT(!dt__emu_party_key(longid, key));
  DT_ASSERT(dt__emu_party(&f.emu, "bob@example.com") == NULL);
  DT_ASSERT_EQ_INT(dt__emu_party_behaviour(NULL), EMU_PARTY_ANSWER);
  f.emu.cfg.answer_delay_ms = 2000;
  DT_ASSERT_EQ_INT(dt__emu_party_delay(&f.emu, NULL), 2000);
  DT_ASSERT_EQ_INT(dt__emu_party_ring_ms(&f.emu, NULL), 2000);
  emu_party_t *busy = dt_xcalloc(1, sizeof *busy);
  busy->behaviour = EMU_PARTY_BUSY;
  busy->answer_delay_ms = 10;
  dt_hashmap_put(&f.emu.parties, "bob@example.com", busy);
  const emu_party_t *got = dt__emu_party(&f.emu, "BOB@example.COM");
  DT_ASSERT(got == busy);
  DT_ASSERT_EQ_INT(dt__emu_party_behaviour(got), EMU_PARTY_BUSY);
  DT_ASSERT_EQ_INT(dt__emu_party_delay(&f.emu, got), 10);
  DT_ASSERT_EQ_INT(dt__emu_party_ring_ms(&f.emu, got), 1000); /* busy decides after 1 s */
  busy->behaviour = EMU_PARTY_REJECT;
  DT_ASSERT_EQ_INT(dt__emu_party_ring_ms(&f.emu, got), 1000);
  busy->behaviour = EMU_PARTY_NOANSWER;
  f.emu.cfg.ring_timeout_ms = 45000;
  DT_ASSERT_EQ_INT(dt__emu_party_ring_ms(&f.emu, got), 45000);
  busy->behaviour = EMU_PARTY_ANSWER;
  DT_ASSERT_EQ_INT(dt__emu_party_ring_ms(&f.emu, got), 10);
  busy->behaviour = EMU_PARTY_BUSY;
  DT_ASSERT(dt__emu_party(&f.emu, longid) == NULL);
  DT_ASSERT_EQ_STR(dt__emu_party_behaviour_name(EMU_PARTY_BUSY), "busy");
  DT_ASSERT_EQ_STR(dt__emu_party_behaviour_name(EMU_PARTY_NOANSWER), "noanswer");
  DT_ASSERT_EQ_STR(dt__emu_party_behaviour_name(EMU_PARTY_REJECT), "reject");
  DT_ASSERT_EQ_STR(dt__emu_party_behaviour_name(EMU_PARTY_ANSWER), "answer");
  fix_close(&f);
}

DT_TEST_MAIN()
