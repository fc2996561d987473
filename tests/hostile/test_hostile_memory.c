/*
 * test_hostile_memory.c — the memory cap ends the call that holds the memory (issue 10,
 * point 4).
 *
 * All flows share one lua_State and its allocator cap (limits.lua_memory_bytes). Before,
 * the call that happened to allocate next was stopped: one call holding ~65 MB while parked
 * in call:sleep made three normal calls end with "flow stopped: memory limit exceeded".
 * Now every block is attributed to the call that allocated it: here a hoarder (strings,
 * then tables, then closures) parks in call:sleep while three normal calls each take and
 * hold a few MB, pushing the total over the global cap; the hoarder must be the one
 * stopped ("memory" in its CDR error) and the three normal calls must complete normally.
 * A call that exceeds its own cap (limits.call_memory, 16 MiB by default) alone, far below
 * the global cap, is stopped too (pcall cannot keep it), and only it.
 */
#include <stdio.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

static const char FLOW[] =
    "local HOARD = {\n"
    "  strings = function() local t = {} for i = 1, 14 * 1024 do t[i] = ('x'):rep(1000) .. i end return t end,\n"
    "  tables = function() local t = {} for i = 1, 130000 do t[i] = {i, i} end return t end,\n"
    "  closures = function() local t = {} for i = 1, 130000 do local v = i; t[i] = function() return v end end return t end,\n"
    "  closer = function() local t = {} for i = 1, 14 * 1024 do t[i] = ('x'):rep(1000) .. i end return t end,\n"
    "}\n"
    "local KIND = {['+15550000201'] = 'strings', ['+15550000202'] = 'tables', ['+15550000203'] = 'closures', ['+15550000204'] = 'closer'}\n"
    "return function(call)\n"
    "  call:answer()\n"
    "  local kind = KIND[call.from]\n"
    "  if kind then\n"
    "    local keep = HOARD[kind]()\n"
    "    -- a <close> handler that never returns: it runs when the parked hoarder is stopped,\n"
    "    -- outside any resume, and must still be bounded by the budget\n"
    "    local guard <close> = kind == 'closer' and setmetatable({}, {__close = function() while true do end end}) or nil\n"
    "    dialtone.log('info', 'HOARDING', kind, #keep)\n"
    "    call:sleep(120)\n"
    "    dialtone.log('info', 'HOARDER WOKE', kind, #keep)\n"
    "    return\n"
    "  end\n"
    "  if call.from == '+15550000299' then -- over its own cap, alone; pcall must not save it\n"
    "    local t = {}\n"
    "    local ok, e = pcall(function() for i = 1, 1e6 do t[i] = ('z'):rep(1000) .. i end end)\n"
    "    dialtone.log('info', 'GREEDY SURVIVED', ok, tostring(e))\n"
    "    return\n"
    "  end\n"
    "  local d = call:gather{max = 1, timeout = 120}\n"
    "  local t = {} for i = 1, 5000 do t[i] = ('y'):rep(1000) .. i end -- ~5 MB, held\n"
    "  dialtone.log('info', 'NORMAL HOLDS ' .. call.from)\n"
    "  local d2 = call:gather{max = 1, timeout = 120}\n"
    "  dialtone.log('info', 'NORMAL DONE ' .. call.from, d, d2, #t)\n"
    "end\n";

static const char *const NORMAL[] = {"+15550000002", "+15550000003", "+15550000004"};

static int place_from(const char *from, char id[128]) {
  char extra[96];
  snprintf(extra, sizeof extra, "\"from\":{\"phone\":\"%s\"}", from);
  return h_place_call(&H, extra, id);
}

/* One round: the hoarder of `kind` parks, three normal calls take 5 MB each. */
static void hoarder_round(const char *hoarder_from, const char *kind, int round) {
  char hoarder[128], normal[3][128], line[96];
  char NORMAL[3][16]; /* fresh numbers each round */
  for (int i = 0; i < 3; i++) snprintf(NORMAL[i], sizeof NORMAL[i], "+1555100%02d%02d", round, i + 2);
  DT_ASSERT_EQ_INT(place_from(hoarder_from, hoarder), 201);
  snprintf(line, sizeof line, "HOARDING %s", kind);
  H_UNTIL(&H, 20000, h_log_has(&H, line) || h_has_cdr(&H, hoarder));
  if (!h_log_has(&H, line) && h_has_cdr(&H, hoarder)) {
    cJSON *early = h_cdr(&H, hoarder);
    fprintf(stderr, "  %s: the hoarder ended before parking: %s\n", kind,
            early && h_str(early, "error") ? h_str(early, "error") : "-");
    cJSON_Delete(early);
  }
  DT_ASSERT(h_log_has(&H, line));
  fprintf(stderr, "  %s: hoarder parked, Lua memory %zu bytes\n", kind, dt_engine_lua_memory(H.engine));
  for (int i = 0; i < 3; i++) {
    DT_ASSERT_EQ_INT(place_from(NORMAL[i], normal[i]), 201);
    H_UNTIL(&H, 10000, h_count_requests(&H, normal[i], "subscribeToTone") == 1);
  }
  for (int i = 0; i < 3; i++) {
    DT_ASSERT_EQ_INT(h_tones(&H, normal[i], "1"), 200);
    snprintf(line, sizeof line, "NORMAL HOLDS %s", NORMAL[i]);
    H_UNTIL(&H, 20000, h_log_has(&H, line) || h_has_cdr(&H, normal[i]));
    if (h_has_cdr(&H, normal[i])) {
      cJSON *early = h_cdr(&H, normal[i]);
      fprintf(stderr, "  %s: normal call %s ended: %s\n", kind, NORMAL[i],
              early && h_str(early, "error") ? h_str(early, "error") : "-");
      cJSON_Delete(early);
    }
    DT_ASSERT(h_log_has(&H, line));
  }
  H_UNTIL(&H, 20000, h_has_cdr(&H, hoarder));
  cJSON *cdr = h_cdr(&H, hoarder);
  DT_ASSERT(cdr != NULL);
  if (cdr) {
    DT_ASSERT(h_outcome_is(cdr, "error"));
    DT_ASSERT_CONTAINS(h_str(cdr, "error"), "memory");
    fprintf(stderr, "  %s: hoarder %s\n", kind, h_str(cdr, "error") ? h_str(cdr, "error") : "-");
    cJSON_Delete(cdr);
  }
  for (int i = 0; i < 3; i++) {
    if (h_has_cdr(&H, normal[i])) { /* a normal call must not have ended yet */
      cdr = h_cdr(&H, normal[i]);
      fprintf(stderr, "  %s: normal call %s ended early: %s %s\n", kind, NORMAL[i], cdr && h_str(cdr, "outcome") ? h_str(cdr, "outcome") : "-",
              cdr && h_str(cdr, "error") ? h_str(cdr, "error") : "-");
      cJSON_Delete(cdr);
    }
    DT_ASSERT_EQ_INT(h_tones(&H, normal[i], "2"), 200);
    H_UNTIL(&H, 20000, h_has_cdr(&H, normal[i]));
    cdr = h_cdr(&H, normal[i]);
    DT_ASSERT(cdr != NULL);
    if (!cdr) continue;
    DT_ASSERT(h_outcome_is(cdr, "completed"));
    cJSON_Delete(cdr);
    snprintf(line, sizeof line, "NORMAL DONE %s 1 2 5000", NORMAL[i]);
    DT_ASSERT(h_log_has(&H, line));
  }
  snprintf(line, sizeof line, "HOARDER WOKE %s", kind);
  DT_ASSERT(!h_log_has(&H, line));
}

/* Global cap 24 MiB: a parked hoarder of ~13-15 MB plus three calls of ~5 MB each. */
H_TEST(the_hoarder_is_stopped_not_the_call_that_allocates, .time_scale = 1, .lua_memory_bytes = 24u << 20) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", FLOW), 0);
  hoarder_round("+15550000201", "strings", 1);
  hoarder_round("+15550000202", "tables", 2);
  hoarder_round("+15550000203", "closures", 3);
  hoarder_round("+15550000204", "closer", 4);
  DT_ASSERT(h_log_has(&H, "reached: stopping the call holding the most"));
}

/* One call over its own cap (16 MiB) with the global cap far away (256 MiB): only it ends. */
H_TEST(a_call_over_its_own_cap_is_stopped_alone, .time_scale = 1, .lua_memory_bytes = 256u << 20) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", FLOW), 0);
  char good[128], greedy[128];
  DT_ASSERT_EQ_INT(place_from(NORMAL[0], good), 201);
  H_UNTIL(&H, 10000, h_count_requests(&H, good, "subscribeToTone") == 1);
  DT_ASSERT_EQ_INT(place_from("+15550000299", greedy), 201);
  H_UNTIL(&H, 20000, h_has_cdr(&H, greedy));
  cJSON *cdr = h_cdr(&H, greedy);
  DT_ASSERT(cdr != NULL);
  if (cdr) {
    DT_ASSERT(h_outcome_is(cdr, "error"));
    DT_ASSERT_CONTAINS(h_str(cdr, "error"), "call memory limit exceeded");
    cJSON_Delete(cdr);
  }
  DT_ASSERT(!h_log_has(&H, "GREEDY SURVIVED"));
  DT_ASSERT(dt_engine_lua_memory(H.engine) < (200u << 20)); /* it stopped near 16 MiB, not at the global cap */
  DT_ASSERT_EQ_INT(h_tones(&H, good, "1"), 200);
  H_UNTIL(&H, 10000, h_log_has(&H, "NORMAL HOLDS"));
  DT_ASSERT_EQ_INT(h_tones(&H, good, "2"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, good));
  cdr = h_cdr(&H, good);
  DT_ASSERT(cdr != NULL);
  if (cdr) {
    DT_ASSERT(h_outcome_is(cdr, "completed"));
    cJSON_Delete(cdr);
  }
}

DT_TEST_MAIN()
