/* Unit tests of emu_timeline.c: entries in order with their simulated time, reserved
   slots filled later, the per-call cap, the JSON text, and the in-process hook delivering
   entries by sequence number from the loop. */
#include "harness/dt_test.h"
#include "emulator/emu_sched.h"
#include "emulator/emu_timeline.h"

typedef struct {
  uv_loop_t loop;
  dt_emulator_t emu;
  emu_call_t c;
} tl_fix_t;

static void fix_init(tl_fix_t *f) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  dt__emu_sched_init(&f->emu.sim, &f->emu, &f->loop, false, 0);
  dt__emu_sched_set_manual(&f->emu.sim, true);
  uv_idle_init(&f->loop, &f->emu.hook_idle);
  f->emu.hook_idle.data = &f->emu;
  f->c.emu = &f->emu;
  snprintf(f->c.id, sizeof f->c.id, "call-1");
}

static void fix_close(tl_fix_t *f) {
  dt__emu_timeline_free(&f->c.tl);
  dt__emu_sched_close(&f->emu.sim, NULL);
  uv_close((uv_handle_t *)&f->emu.hook_idle, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_loop_close(&f->loop);
}

DT_TEST(entries_slots_and_text) {
  tl_fix_t f;
  fix_init(&f);
  cJSON *x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "tone", "5");
  dt__emu_timeline(&f.c, "tone", x);
  emu_tl_slot_t slot = dt__emu_timeline_reserve(&f.c); /* a request: its place now */
  dt__emu_sched_advance(&f.emu.sim, 250);
  dt__emu_timeline(&f.c, "state", NULL);
  size_t len = 0;
  char *text = dt__emu_timeline_text(&f.c, &len);
  DT_ASSERT_EQ_INT(len, strlen(text));
  DT_ASSERT_CONTAINS(text, "{\"id\":\"call-1\",\"state\":\"incoming\",\"ended\":false,\"dropped\":0,\"entries\":[");
  DT_ASSERT_CONTAINS(text, "\"seq\":1,\"call\":\"call-1\",\"t_ms\":0,");
  DT_ASSERT_CONTAINS(text, "\"kind\":\"tone\",\"tone\":\"5\"}");
  DT_ASSERT_CONTAINS(text, "\"seq\":3,\"call\":\"call-1\",\"t_ms\":250,");
  DT_ASSERT(strstr(text, "\"seq\":2") == NULL); /* not filled yet: left out */
  free(text);
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "status", 202);
  dt__emu_timeline_fill(&f.c, slot, "request", r);
  text = dt__emu_timeline_text(&f.c, &len);
  /* the request keeps its place and time, before what it caused */
  const char *req = strstr(text, "\"seq\":2,\"call\":\"call-1\",\"t_ms\":0,");
  DT_ASSERT(req != NULL);
  DT_ASSERT(req < strstr(text, "\"seq\":3"));
  DT_ASSERT_CONTAINS(text, "\"kind\":\"request\",\"status\":202}");
  free(text);
  fix_close(&f);
}

DT_TEST(a_call_keeps_at_most_2000_entries) {
  tl_fix_t f;
  fix_init(&f);
  for (int i = 0; i < 2005; i++) dt__emu_timeline(&f.c, "speak", NULL);
  DT_ASSERT_EQ_INT(f.c.tl.n, 2000);
  DT_ASSERT_EQ_INT(f.c.tl.dropped, 5);
  size_t len = 0;
  char *text = dt__emu_timeline_text(&f.c, &len);
  DT_ASSERT_CONTAINS(text, "\"dropped\":5");
  free(text);
  fix_close(&f);
}

static char seen[256];
static void on_entry(const cJSON *e, void *ud) {
  (void)ud;
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof seen - n, "%d:%s ", (int)cJSON_GetObjectItem(e, "seq")->valuedouble,
           cJSON_GetObjectItem(e, "kind")->valuestring);
}

DT_TEST(the_hook_gets_entries_in_sequence_order_from_the_loop) {
  tl_fix_t f;
  fix_init(&f);
  seen[0] = '\0';
  dt_emulator_on_event(&f.emu, on_entry, NULL);
  emu_tl_slot_t slot = dt__emu_timeline_reserve(&f.c);
  dt__emu_timeline(&f.c, "answer", NULL);
  dt__emu_timeline_fill(&f.c, slot, "request", NULL);
  DT_ASSERT_EQ_STR(seen, ""); /* never from inside the emulator's processing */
  uv_run(&f.loop, UV_RUN_NOWAIT);
  DT_ASSERT_EQ_STR(seen, "1:request 2:answer ");
  dt_emulator_on_event(&f.emu, NULL, NULL);
  dt__emu_timeline(&f.c, "ignored", NULL);
  uv_run(&f.loop, UV_RUN_NOWAIT);
  DT_ASSERT_EQ_STR(seen, "1:request 2:answer ");
  fix_close(&f);
}

DT_TEST_MAIN()
