/*
 * test_call_tones.c — core/calls/call_tones.c: the tone buffer (deduplication by sequence
 * id, sequence order, overflow) and the gather scanner (max, terminators).
 */
#include <string.h>
#include "dialtone/call.h"
#include "harness/dt_test.h"

static void fresh(dt_call_t *c) {
  memset(c, 0, sizeof *c);
  c->tone_max_seq = -1;
}

DT_TEST(tones_are_deduplicated_by_sequence_id) {
  dt_call_t c;
  fresh(&c);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, '1'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, '1'), 0);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 2, '2'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, '1'), 0);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 2, '2'), 0);
  DT_ASSERT_EQ_INT(c.tone_len, 2);
  DT_ASSERT(memcmp(c.tones, "12", 2) == 0);
}

DT_TEST(late_tones_go_back_into_sequence_order) {
  dt_call_t c;
  fresh(&c);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, '1'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 3, '3'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 4, '4'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 2, '2'), 1); /* arrived late */
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 3, '3'), 0); /* and a duplicate */
  DT_ASSERT_EQ_INT(c.tone_len, 4);
  DT_ASSERT(memcmp(c.tones, "1234", 4) == 0);
}

DT_TEST(a_big_jump_in_sequence_ids_forgets_older_ones) {
  dt_call_t c;
  fresh(&c);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 5, '5'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 500, '0'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 5, '5'), 0);   /* far behind the window: dropped */
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 499, '9'), 1); /* just behind: accepted once */
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 499, '9'), 0);
  DT_ASSERT_EQ_INT(c.tone_len, 3);
  DT_ASSERT(memcmp(c.tones, "590", 3) == 0);
}

DT_TEST(tones_without_sequence_ids_are_kept_in_arrival_order) {
  dt_call_t c;
  fresh(&c);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 0, '7'), 1);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 0, '7'), 1);
  DT_ASSERT_EQ_INT(c.tone_len, 2);
}

DT_TEST(a_full_buffer_drops_the_oldest_digit) {
  dt_call_t c;
  fresh(&c);
  for (int i = 0; i < DT_TONE_BUFFER + 3; i++) DT_ASSERT_EQ_INT(dt_call_tone_push(&c, i + 1, (char)('0' + i % 10)), 1);
  DT_ASSERT_EQ_INT(c.tone_len, DT_TONE_BUFFER);
  DT_ASSERT_EQ_INT(c.tones[0], '3');
  DT_ASSERT_EQ_INT(c.tone_seq[0], 4);
}

DT_TEST(a_seen_tone_without_a_digit_is_only_marked) {
  dt_call_t c;
  fresh(&c);
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, 0), 1); /* a record stop tone */
  DT_ASSERT_EQ_INT(dt_call_tone_push(&c, 1, '#'), 0);
  DT_ASSERT_EQ_INT(c.tone_len, 0);
}

DT_TEST(gather_scan_max_and_terminators) {
  const char *reason;
  size_t nd;
  DT_ASSERT_EQ_INT(dt_gather_scan("12", 2, 3, "#", &reason, &nd), 0);
  DT_ASSERT(reason == NULL);
  DT_ASSERT_EQ_INT(dt_gather_scan("123", 3, 3, "#", &reason, &nd), 3);
  DT_ASSERT_EQ_STR(reason, "max");
  DT_ASSERT_EQ_INT(nd, 3);
  DT_ASSERT_EQ_INT(dt_gather_scan("12#45", 5, 10, "#", &reason, &nd), 3);
  DT_ASSERT_EQ_STR(reason, "terminator");
  DT_ASSERT_EQ_INT(nd, 2);
  DT_ASSERT_EQ_INT(dt_gather_scan("#", 1, 10, "*#", &reason, &nd), 1);
  DT_ASSERT_EQ_INT(nd, 0);
  DT_ASSERT_EQ_INT(dt_gather_scan("12345", 5, 2, "", &reason, &nd), 2);
  DT_ASSERT_EQ_STR(reason, "max");
  DT_ASSERT_EQ_INT(dt_gather_scan("1#", 2, 1, "#", &reason, &nd), 1); /* max comes first */
  DT_ASSERT_EQ_STR(reason, "max");
}

DT_TEST_MAIN()
