/*
 * test_engine_load.c — 1,000 concurrent calls through the shipped demo IVR
 * (flows/main.lua) on the emulator at time scale 0, every call's CDR checked against the
 * path its scripted caller took; and the memory a call parked in a gather costs.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/demo_paths.h"
#include "rt_internal.h"

/* 1,000 calls; a tenth under valgrind (DT_UNDER_VALGRIND), which is ~30x slower. */
#define NCALLS_FULL 1000
static int NCALLS = NCALLS_FULL;

typedef struct {
  char id[128];
  int path;
} placed_t;

static char flows_dir[600];
static const char *shipped_flows(void) {
  snprintf(flows_dir, sizeof flows_dir, "%s/flows", h_source_dir());
  return flows_dir;
}

/* Why the CDR does not match its path, or NULL. */
static const char *check(const cJSON *cdr, int path) {
  return demo_path_check(cdr, path, &(demo_path_expect_t){.flow = "main", .transfer_target = "user:contoso-dispatch"});
}

H_TEST(thousand_concurrent_calls_through_the_demo, .time_scale = 0, .flows_dir = shipped_flows()) {
  if (getenv("DT_UNDER_VALGRIND")) NCALLS = NCALLS_FULL / 10;
  DT_ASSERT(dt_engine_flow_version(H.engine, "main") >= 1);
  H_UNTIL(&H, 10000, dt_engine_inbound_ready(H.engine));
  placed_t *calls = calloc(NCALLS, sizeof *calls);
  /* every call is placed at once: the control requests go out together */
  h_resp_t *placed = calloc(NCALLS, sizeof *placed);
  char url[192];
  snprintf(url, sizeof url, "%s/emulator/calls", H.emu_url);
  dt_http_header_t hd = {"Content-Type", "application/json"};
  uint64_t tp = dt_now_ms();
  for (int i = 0; i < NCALLS; i++) {
    calls[i].path = i % 4;
    char body[1024];
    snprintf(body, sizeof body, "{\"bot_url\":\"%s\",%s}", dt_engine_callback_url(H.engine), SCRIPTS[calls[i].path]);
    dt_http_request_options_t r = {.method = "POST", .url = url, .headers = &hd, .header_count = 1,
                                   .body = body, .body_len = strlen(body), .timeout_ms = 60000};
    DT_ASSERT_EQ_INT(dt_http_client_send(H.http, &r, h__resp_cb, &placed[i], NULL), 0);
  }
  int answered = 0;
  size_t peak = 0;
  for (uint64_t end = dt_now_ms() + 120000; answered < NCALLS && dt_now_ms() < end; h_tick(&H)) {
    answered = 0;
    for (int i = 0; i < NCALLS; i++) answered += placed[i].done;
    if (dt_engine_active_calls(H.engine) > peak) peak = dt_engine_active_calls(H.engine);
  }
  for (int i = 0; i < NCALLS; i++) {
    cJSON *j = placed[i].done ? cJSON_Parse(placed[i].body) : NULL;
    const char *cid = h_str(j, "id");
    snprintf(calls[i].id, sizeof calls[i].id, "%s", cid ? cid : "");
    if (placed[i].status != 201) fprintf(stderr, "  placing call %d: HTTP %d\n", i, placed[i].status);
    cJSON_Delete(j);
    free(placed[i].body);
  }
  DT_ASSERT_EQ_INT(answered, NCALLS);
  uint64_t t0 = dt_now_ms();
  if (getenv("H_VERBOSE")) fprintf(stderr, "  placing %d calls took %llu ms\n", NCALLS, (unsigned long long)(t0 - tp));
  for (uint64_t end = dt_now_ms() + 240000;
       !(dt_engine_cdr_count(H.engine) >= (uint64_t)NCALLS && dt_engine_active_calls(H.engine) == 0) && dt_now_ms() < end;
       h_tick(&H))
    if (dt_engine_active_calls(H.engine) > peak) peak = dt_engine_active_calls(H.engine);
  if (getenv("H_VERBOSE")) fprintf(stderr, "  at most %zu calls active at once\n", peak);
  if (getenv("H_VERBOSE"))
    fprintf(stderr, "  calls placed; all ended %llu ms later; %.0f notifications/s over the run\n",
            (unsigned long long)(dt_now_ms() - t0),
            dt_metrics_get(dt_engine_metrics(H.engine), "dt_notifications_total", NULL) * 1000.0 /
                (double)(dt_now_ms() - tp + 1));
  DT_ASSERT_EQ_INT(dt_engine_cdr_count(H.engine), (uint64_t)NCALLS);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);

  /* every call's CDR, by id */
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(H.cdr_path, 64 << 20, &text, &len), 0);
  cJSON **by_line = calloc(NCALLS, sizeof *by_line);
  int lines = 0, bad = 0;
  for (char *line = text; line && *line && lines < NCALLS;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    by_line[lines++] = cJSON_Parse(line);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  DT_ASSERT_EQ_INT(lines, NCALLS);
  for (int i = 0; i < NCALLS; i++) {
    const cJSON *cdr = NULL;
    for (int j = 0; j < lines && !cdr; j++)
      if (by_line[j] && h_same_id(h_str(by_line[j], "call_id"), calls[i].id)) cdr = by_line[j];
    const char *why = cdr ? check(cdr, calls[i].path) : "no CDR";
    if (why) {
      if (bad++ < 5) {
        char *s = cdr ? cJSON_PrintUnformatted(cdr) : NULL;
        fprintf(stderr, "  call %d (path %d): %s: %s\n", i, calls[i].path, why, s ? s : "");
        free(s);
      }
    }
  }
  if (getenv("H_VERBOSE")) {
    double maxd[4] = {0};
    for (int i = 0; i < NCALLS; i++)
      for (int j = 0; j < lines; j++)
        if (by_line[j] && h_same_id(h_str(by_line[j], "call_id"), calls[i].id)) {
          double d = cJSON_GetObjectItemCaseSensitive(by_line[j], "duration_s")->valuedouble;
          if (d > maxd[calls[i].path]) maxd[calls[i].path] = d;
        }
    fprintf(stderr, "  longest call per path: %.3f %.3f %.3f %.3f s\n", maxd[0], maxd[1], maxd[2], maxd[3]);
  }
  for (int j = 0; j < lines; j++) cJSON_Delete(by_line[j]);
  free(by_line);
  free(calls);
  free(placed);
  DT_ASSERT_EQ_INT(bad, 0);
}

/* What a call parked in a gather costs: the Lua side (coroutine, handle, frames) measured
   by the capped allocator, plus the C structs of the registry and the runtime. */
H_TEST(memory_of_a_call_parked_in_a_gather, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d = call:menu{prompt = 'main_menu', options = {'1', '2'}, timeout = 60,\n"
                          "                     invalid = 'invalid', noinput = 'noinput'}\n"
                          "end\n"),
                   0);
  H_UNTIL(&H, 10000, dt_engine_inbound_ready(H.engine));
  size_t before = dt_engine_lua_memory(H.engine);
  int N = getenv("DT_UNDER_VALGRIND") ? 50 : 500;
  char (*ids)[128] = calloc((size_t)N, 128);
  for (int i = 0; i < N; i++) DT_ASSERT_EQ_INT(h_place_call(&H, NULL, ids[i]), 201);
  int parked = 0;
  for (uint64_t end = dt_now_ms() + 60000; dt_now_ms() < end && parked < N; h_tick(&H)) {
    parked = 0;
    for (dt_call_t *c = dt_calls_first(dt_engine_calls(H.engine)); c; c = c->next)
      if (c->wait == DT_WAIT_GATHER && c->stage == 2) parked++;
  }
  free(ids);
  DT_ASSERT_EQ_INT(parked, N);
  size_t after = dt_engine_lua_memory(H.engine);
  size_t lua_per_call = after > before ? (after - before) / (size_t)N : 0;
  size_t per_call = lua_per_call + sizeof(dt_call_t) + sizeof(dt_lcall_t) + 256 /* ids, from/to, flow */;
  fprintf(stderr, "  parked in a gather: %zu bytes of Lua + %zu of C structs = ~%zu bytes per call\n", lua_per_call,
          sizeof(dt_call_t) + sizeof(dt_lcall_t), per_call);
  DT_ASSERT(per_call <= 16 * 1024);
}

DT_TEST_MAIN()
