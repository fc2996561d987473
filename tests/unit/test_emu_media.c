/* Unit tests of emu_media.c: a prompt plays for its duration and its operation completes
   with a notification on .../operations/{OPID}; a recording follows beep, speech and a stop
   tone and is kept for download; cancelMediaProcessing fails what is queued. The simulated
   clock is manual, so each instant is the test's. */
#include "harness/emu_fixture.h"
#include "emulator/emu_calls.h"
#include "emulator/emu_media.h"
#include "emulator/emu_registry.h"
#include "emulator/emu_util.h"

static emu_call_t *established_call(ef_t *f) {
  dt_emulator_set_clock_manual(f->emu, true);
  char id[DT_EMULATOR_CALL_ID_LEN];
  if (dt_emulator_place_call(f->emu, NULL, id, NULL, 0) != 0) return NULL;
  emu_call_t *c = dt__emu_call_find(f->emu, id);
  dt__emu_answer(c, NULL);
  while (c->state != EMU_CS_ESTABLISHED && dt_emulator_clock_next(f->emu) > 0) {}
  return c;
}

static emu_op_t *play_op(emu_call_t *c, const char *url) {
  emu_op_t *op = dt__emu_op_new(c, EMU_OP_PLAY, "ctx-play");
  op->urls = dt_xcalloc(2, sizeof *op->urls);
  op->urls[op->nurls++] = dt_xstrdup(url);
  return op;
}

DT_TEST(a_prompt_plays_for_its_duration_then_completes) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = established_call(&f);
  DT_ASSERT(c && c->state == EMU_CS_ESTABLISHED);
  ef_settle(&f);
  int before = f.nnotes;
  /* not on this machine: never fetched, it lasts default_prompt_ms (2000) */
  emu_op_t *op = play_op(c, "https://cdn.contoso.com/prompts/welcome.wav");
  dt__emu_media_enqueue(c, op);
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"prompt\"");
  DT_ASSERT_CONTAINS(t, "\"name\":\"welcome\",\"duration_ms\":2000");
  free(t);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(f.emu, 1999), 0);
  DT_ASSERT_EQ_INT(op->status, EMU_OPS_RUNNING);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(f.emu, 1), 1);
  DT_ASSERT_EQ_INT(op->status, EMU_OPS_COMPLETED);
  DT_ASSERT_EQ_STR(op->completion_reason, "completedSuccessfully");
  DT_ASSERT(c->mq.head == NULL && c->mq.count == 0);
  DT_ASSERT(ef_wait_notes(&f, before + 1));
  char up[40];
  dt__emu_id_upper(op->id, up, sizeof up);
  DT_ASSERT_CONTAINS(f.notes[before], up);
  DT_ASSERT_CONTAINS(f.notes[before], "\"completionReason\":\"completedSuccessfully\"");
  DT_ASSERT_CONTAINS(f.notes[before], "\"clientContext\":\"ctx-play\"");
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_recording_ends_on_its_stop_tone_and_is_kept) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = established_call(&f);
  DT_ASSERT(c != NULL);
  emu_op_t *op = dt__emu_op_new(c, EMU_OP_RECORD, NULL);
  op->beep = true;
  op->initial_silence_ms = op->max_silence_ms = 5000;
  op->max_duration_ms = 60000;
  snprintf(op->stop_tones, sizeof op->stop_tones, "#");
  dt__emu_media_enqueue(c, op);
  DT_ASSERT_EQ_INT(dt_emulator_clock_advance(f.emu, 300), 1); /* the beep */
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"recording_started\"");
  free(t);
  dt__emu_caller_speak(c, 1000, 0);
  dt_emulator_clock_advance(f.emu, 1500);
  dt__emu_caller_tone(c, '#', 0);
  DT_ASSERT_EQ_INT(op->status, EMU_OPS_COMPLETED);
  DT_ASSERT_EQ_STR(op->completion_reason, "stopToneDetected");
  t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"duration_ms\":1500,\"spoken_ms\":1000,\"reason\":\"stopToneDetected\"");
  free(t);
  const char *slash = strstr(op->recording_location, "/recordings/");
  DT_ASSERT(slash != NULL);
  const emu_recording_t *r = dt__emu_recording_find(f.emu, slash + 12);
  DT_ASSERT(r != NULL);
  DT_ASSERT_EQ_INT(r->duration_ms, 1500);
  DT_ASSERT_EQ_STR(r->token, op->recording_token);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(cancel_media_fails_the_queue_and_a_hangup_abandons_it) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  emu_call_t *c = established_call(&f);
  DT_ASSERT(c != NULL);
  emu_op_t *a = play_op(c, "https://cdn.contoso.com/a.wav");
  emu_op_t *b = play_op(c, "https://cdn.contoso.com/b.wav");
  dt__emu_media_enqueue(c, a);
  dt__emu_media_enqueue(c, b);
  dt__emu_media_cancel_all(c, true);
  DT_ASSERT_EQ_INT(a->status, EMU_OPS_FAILED);
  DT_ASSERT_EQ_INT(b->status, EMU_OPS_FAILED);
  DT_ASSERT_EQ_STR(a->completion_reason, "mediaOperationCanceled");
  DT_ASSERT_EQ_INT(a->rsub, 8508);
  emu_op_t *d = play_op(c, "https://cdn.contoso.com/d.wav");
  dt__emu_media_enqueue(c, d);
  dt__emu_hangup_by_remote(c);
  char *t = ef_timeline(&f, c->id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"operation_abandoned\"");
  free(t);
  DT_ASSERT_EQ_INT(d->status, EMU_OPS_RUNNING); /* no outcome, no notification */
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
