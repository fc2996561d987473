/*
 * test_hot_reload.c — hot reload end to end (the real HTTP engine against the emulator):
 * the flows directory is watched, so editing, adding or removing a file takes effect
 * without any call to dt_engine_reload; new calls get the new version while calls parked
 * in a gather finish on the one they started with (seen in the prompts they play, in
 * GET /calls and in their CDRs); a file that does not compile keeps the previous version
 * and is reported with file:line and counted; a removed flow refuses new calls; SIGHUP
 * reloads `dialtone run`; an edit of a module in lib/ gives the flows that require it a new
 * version (and a broken module changes nothing); and at timer scale 0 a gather timeout does
 * not wait.
 * Every call's CDR is checked complete and no notification failed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

extern char **environ;

/* ------------------------------------------------------------------ helpers */

/* A flow that answers, parks in a gather with a long timeout, then plays its marker. */
static char *flow_text(const char *menu_prompt, const char *marker) {
  return dt_xasprintf("return function(call)\n"
                      "  call:answer()\n"
                      "  local d = call:gather{prompt = '%s', max = 1, timeout = 120}\n"
                      "  call:play('%s')\n"
                      "end\n",
                      menu_prompt, marker);
}

static int write_flow(const char *name, const char *text) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.lua", H.flows_dir, name);
  return dt_write_file_atomic(path, text, strlen(text)); /* temp file renamed into place */
}

static unsigned version(const char *flow) { return dt_engine_flow_version(H.engine, flow); }

static double metric(const char *name, const char *labels) {
  return dt_metrics_get(dt_engine_metrics(H.engine), name, labels);
}

/* GET /calls, the entry of call id (the whole array is returned in *all; caller frees). */
static const cJSON *calls_entry(cJSON **all, const char *id) {
  char url[128];
  snprintf(url, sizeof url, "%s/calls", H.engine_url);
  *all = h_http_json(&H, "GET", url, NULL, NULL);
  const cJSON *c;
  cJSON_ArrayForEach(c, *all) {
    const char *cid = h_str(c, "id");
    if (cid && h_same_id(cid, id)) return c;
  }
  return NULL;
}

/* True once GET /calls shows the call waiting in a gather on flow `flow` version v. */
static bool parked_on(const char *id, const char *flow, int v) {
  cJSON *all = NULL;
  const cJSON *c = calls_entry(&all, id);
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(c, "flow_version");
  bool ok = c && h_str(c, "waiting") && strcmp(h_str(c, "waiting"), "gather") == 0 && h_str(c, "flow") &&
            strcmp(h_str(c, "flow"), flow) == 0 && cJSON_IsNumber(ver) && ver->valueint == v;
  cJSON_Delete(all);
  return ok;
}

static char *get_metrics(void) {
  char url[128], *body = NULL;
  snprintf(url, sizeof url, "%s/metrics", H.engine_url);
  if (h_http(&H, "GET", url, NULL, &body) != 200) {
    free(body);
    return NULL;
  }
  return body;
}

/* The call ended as expected: CDR complete (flow, version, outcome, times), the digits it
   was given, the marker prompt played exactly once and no notification failed. */
static bool finished_on(const char *id, const char *flow, int v, const char *digits, const char *marker) {
  cJSON *cdr = h_cdr(&H, id);
  bool ok = cdr != NULL;
  if (ok) {
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(cdr, "flow_version");
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(cdr, "digits");
    const cJSON *d0 = cJSON_GetArrayItem(dg, 0);
    ok = h_outcome_is(cdr, "completed") && h_str(cdr, "flow") && strcmp(h_str(cdr, "flow"), flow) == 0 &&
         cJSON_IsNumber(ver) && ver->valueint == v && h_str(cdr, "start") && h_str(cdr, "answer") &&
         h_str(cdr, "end") && cJSON_GetArraySize(dg) == 1 && cJSON_IsString(d0) &&
         strcmp(d0->valuestring, digits) == 0;
    if (!ok) {
      char *s = cJSON_PrintUnformatted(cdr);
      fprintf(stderr, "  CDR of %s (expected %s v%d digits %s): %s\n", id, flow, v, digits, s);
      free(s);
    }
  } else {
    fprintf(stderr, "  no CDR for %s\n", id);
  }
  cJSON_Delete(cdr);
  cJSON *tl = h_timeline(&H, id);
  int markers = h_count(tl, "prompt", "name", marker), failed = h_count(tl, "notification_failed", NULL, NULL);
  if (markers != 1 || failed != 0) {
    fprintf(stderr, "  call %s: marker %s played %d times, %d notifications failed\n", id, marker, markers, failed);
    ok = false;
  }
  cJSON_Delete(tl);
  return ok;
}

/* ------------------------------------------------------------------ (a) (b) edit, break */

H_TEST(edits_reach_new_calls_while_parked_calls_finish_on_their_version, .time_scale = 0) {
  char *v1 = flow_text("main_menu", "digit_1");
  DT_ASSERT_EQ_INT(write_flow("main", v1), 0);
  free(v1);
  /* the watcher loads it: nobody calls dt_engine_reload in this test */
  H_UNTIL(&H, 10000, version("main") == 1);
  DT_ASSERT_EQ_INT(version("main"), 1);

  char a[3][128];
  for (int i = 0; i < 3; i++) DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a[i]), 201);
  H_UNTIL(&H, 10000, parked_on(a[0], "main", 1) && parked_on(a[1], "main", 1) && parked_on(a[2], "main", 1));
  for (int i = 0; i < 3; i++) DT_ASSERT(parked_on(a[i], "main", 1));
  DT_ASSERT(metric("dt_calls_active", "flow=\"main\",version=\"1\"") == 3);

  /* an editor saving in place in two steps: truncate and write half (which does not
     compile), then the rest; the debounce mostly sees only the whole file, and if it saw
     the half, the half changed nothing */
  char path[700];
  snprintf(path, sizeof path, "%s/main.lua", H.flows_dir);
  char *v2 = flow_text("enter_digits", "digit_2");
  size_t half = strlen(v2) / 2;
  FILE *f = fopen(path, "w");
  DT_ASSERT(f != NULL);
  fwrite(v2, 1, half, f);
  fflush(f);
  h_tick(&H);
  fwrite(v2 + half, 1, strlen(v2) - half, f);
  fclose(f);
  free(v2);
  H_UNTIL(&H, 10000, version("main") == 2);
  DT_ASSERT_EQ_INT(version("main"), 2);

  char b[2][128];
  for (int i = 0; i < 2; i++) DT_ASSERT_EQ_INT(h_place_call(&H, NULL, b[i]), 201);
  H_UNTIL(&H, 10000, parked_on(b[0], "main", 2) && parked_on(b[1], "main", 2));
  for (int i = 0; i < 2; i++) DT_ASSERT(parked_on(b[i], "main", 2));
  for (int i = 0; i < 3; i++) DT_ASSERT(parked_on(a[i], "main", 1)); /* /calls: still on version 1 */

  /* (b) a version that does not compile: the previous one stays, the error says where */
  double errors = metric("dt_flow_reloads_total", "result=\"error\"");
  DT_ASSERT_EQ_INT(write_flow("main", "return function(call)\n  call:answer()\n  local = 1\nend\n"), 0);
  H_UNTIL(&H, 10000, metric("dt_flow_reloads_total", "result=\"error\"") == errors + 1);
  DT_ASSERT(metric("dt_flow_reloads_total", "result=\"error\"") == errors + 1);
  DT_ASSERT(h_log_has(&H, "main.lua:3:"));
  DT_ASSERT(h_log_has(&H, "flow main not loaded (version 2 stays in use)"));
  DT_ASSERT_EQ_INT(version("main"), 2);
  char c[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, c), 201);
  H_UNTIL(&H, 10000, parked_on(c, "main", 2));
  DT_ASSERT(parked_on(c, "main", 2));

  /* /metrics: calls per version, the current version, the reloads */
  char *m = get_metrics();
  DT_ASSERT(m != NULL);
  bool has_v1 = strstr(m, "dt_calls_active{flow=\"main\",version=\"1\"} 3\n") != NULL;
  bool has_v2 = strstr(m, "dt_calls_active{flow=\"main\",version=\"2\"} 3\n") != NULL;
  bool has_ver = strstr(m, "dt_flow_version{flow=\"main\"} 2\n") != NULL;
  bool has_ok = strstr(m, "dt_flow_reloads_total{result=\"ok\"}") != NULL;
  bool has_err = strstr(m, "dt_flow_reloads_total{result=\"error\"}") != NULL;
  bool has_hist = strstr(m, "dt_flow_reload_seconds_count") != NULL;
  if (!(has_v1 && has_v2 && has_ver && has_ok && has_err && has_hist)) fprintf(stderr, "%s\n", m);
  free(m);
  DT_ASSERT(has_v1 && has_v2 && has_ver && has_ok && has_err && has_hist);

  /* every parked call finishes on the version it started with */
  for (int i = 0; i < 3; i++) DT_ASSERT_EQ_INT(h_tones(&H, a[i], "1"), 200);
  for (int i = 0; i < 2; i++) DT_ASSERT_EQ_INT(h_tones(&H, b[i], "2"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, c, "3"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, a[0]) && h_has_cdr(&H, a[1]) && h_has_cdr(&H, a[2]) && h_has_cdr(&H, b[0]) &&
                         h_has_cdr(&H, b[1]) && h_has_cdr(&H, c));
  for (int i = 0; i < 3; i++) DT_ASSERT(finished_on(a[i], "main", 1, "1", "digit_1"));
  for (int i = 0; i < 2; i++) DT_ASSERT(finished_on(b[i], "main", 2, "2", "digit_2"));
  DT_ASSERT(finished_on(c, "main", 2, "3", "digit_2"));
  cJSON *tl = h_timeline(&H, a[0]);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 0);
  cJSON_Delete(tl);
  DT_ASSERT(metric("dt_calls_active", "flow=\"main\",version=\"1\"") == 0);
  DT_ASSERT(metric("dt_calls_active", "flow=\"main\",version=\"2\"") == 0);
  /* version 1 ended with its last call: its series is gone; the current version stays at 0 */
  m = get_metrics();
  DT_ASSERT(m != NULL);
  DT_ASSERT(strstr(m, "dt_calls_active{flow=\"main\",version=\"1\"}") == NULL);
  DT_ASSERT_CONTAINS(m, "dt_calls_active{flow=\"main\",version=\"2\"} 0\n");
  free(m);
  /* outcomes per flow: the six calls above ended completed on main */
  DT_ASSERT(metric("dt_flow_calls_total", "flow=\"main\",outcome=\"completed\"") >= 6);

  /* the broken file is reported once, not again at every later reload */
  DT_ASSERT_EQ_INT(write_flow("other", "return function(call) call:answer() end\n"), 0);
  H_UNTIL(&H, 10000, version("other") == 1);
  DT_ASSERT_EQ_INT(version("other"), 1);
  DT_ASSERT(metric("dt_flow_reloads_total", "result=\"error\"") == errors + 1);
}

/* ------------------------------------------------------------------ (c) (d) add, remove */

static const dt_route_t sales_route[] = {{.match = "+15550007", .flow = "sales"}};
#define TO_SALES "\"to\":{\"phone\":\"+15550007\"}"

H_TEST(a_new_flow_file_is_callable_and_a_removed_one_refuses_new_calls, .time_scale = 0, .routes = sales_route,
       .route_count = 1) {
  /* before the file exists, the route leads nowhere */
  char none[128];
  cJSON *cdr = h_run_call(TO_SALES, none);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  cJSON_Delete(cdr);

  char *text = flow_text("main_menu", "digit_7");
  DT_ASSERT_EQ_INT(write_flow("sales", text), 0);
  free(text);
  H_UNTIL(&H, 10000, version("sales") == 1);
  DT_ASSERT_EQ_INT(version("sales"), 1);
  char a[128], b[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, TO_SALES, a), 201);
  DT_ASSERT_EQ_INT(h_place_call(&H, TO_SALES, b), 201);
  H_UNTIL(&H, 10000, parked_on(a, "sales", 1) && parked_on(b, "sales", 1));
  DT_ASSERT(parked_on(a, "sales", 1) && parked_on(b, "sales", 1));

  /* (d) removed while two calls run on it */
  char path[700];
  snprintf(path, sizeof path, "%s/sales.lua", H.flows_dir);
  DT_ASSERT_EQ_INT(unlink(path), 0);
  H_UNTIL(&H, 10000, version("sales") == 0);
  DT_ASSERT_EQ_INT(version("sales"), 0);
  DT_ASSERT(h_log_has(&H, "flow sales: file removed"));
  DT_ASSERT(metric("dt_flow_version", "flow=\"sales\"") == 0);
  char refused[128];
  cdr = h_run_call(TO_SALES, refused);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  DT_ASSERT_CONTAINS(h_str(cdr, "error"), "flow \"sales\" could not start");
  cJSON_Delete(cdr);
  DT_ASSERT(parked_on(a, "sales", 1) && parked_on(b, "sales", 1)); /* still running */
  DT_ASSERT_EQ_INT(h_tones(&H, a, "4"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, b, "5"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, a) && h_has_cdr(&H, b));
  DT_ASSERT(finished_on(a, "sales", 1, "4", "digit_7"));
  DT_ASSERT(finished_on(b, "sales", 1, "5", "digit_7"));

  /* the file comes back: a new version */
  text = flow_text("main_menu", "digit_8");
  DT_ASSERT_EQ_INT(write_flow("sales", text), 0);
  free(text);
  H_UNTIL(&H, 10000, version("sales") == 2);
  DT_ASSERT_EQ_INT(version("sales"), 2);
  char c[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, TO_SALES, c), 201);
  H_UNTIL(&H, 10000, parked_on(c, "sales", 2));
  DT_ASSERT_EQ_INT(h_tones(&H, c, "6"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, c));
  DT_ASSERT(finished_on(c, "sales", 2, "6", "digit_8"));
}

/* ------------------------------------------------------------------ (e) a module of lib/ */

/* Editing flows/lib/greet.lua (watched too) gives the flow that requires it a new version:
   a new call plays the module's new prompt while a call parked on the old version plays the
   old one; a module that does not compile is refused with file:line and changes nothing. */
H_TEST(a_module_edit_reaches_new_calls_while_parked_calls_keep_theirs, .time_scale = 0) {
  char lib[600], path[700];
  snprintf(lib, sizeof lib, "%s/lib", H.flows_dir);
  DT_ASSERT_EQ_INT(mkdir(lib, 0755), 0);
  snprintf(path, sizeof path, "%s/greet.lua", lib);
  const char *g1 = "return {marker = 'digit_1'}\n";
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, g1, strlen(g1)), 0);
  DT_ASSERT_EQ_INT(write_flow("main", "local greet = require 'greet'\n"
                                      "return function(call)\n"
                                      "  call:answer()\n"
                                      "  local d = call:gather{prompt = 'main_menu', max = 1, timeout = 120}\n"
                                      "  call:play(greet.marker)\n"
                                      "end\n"),
                   0);
  H_UNTIL(&H, 10000, version("main") == 1);
  DT_ASSERT_EQ_INT(version("main"), 1);
  char a[128], b[128], c[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a), 201);
  H_UNTIL(&H, 10000, parked_on(a, "main", 1));
  DT_ASSERT(parked_on(a, "main", 1));

  /* the module changes; main.lua does not */
  const char *g2 = "return {marker = 'digit_2'} -- edited\n";
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, g2, strlen(g2)), 0);
  H_UNTIL(&H, 10000, version("main") == 2);
  DT_ASSERT_EQ_INT(version("main"), 2);
  DT_ASSERT(h_log_has(&H, "module greet: new text"));
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, b), 201);
  H_UNTIL(&H, 10000, parked_on(b, "main", 2));
  DT_ASSERT(parked_on(b, "main", 2));
  DT_ASSERT(parked_on(a, "main", 1));

  /* a module that does not compile: refused, the error says where, nothing changes */
  double errors = metric("dt_flow_reloads_total", "result=\"error\"");
  const char *bad = "return {marker = }\n";
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, bad, strlen(bad)), 0);
  H_UNTIL(&H, 10000, metric("dt_flow_reloads_total", "result=\"error\"") == errors + 1);
  DT_ASSERT(metric("dt_flow_reloads_total", "result=\"error\"") == errors + 1);
  DT_ASSERT(h_log_has(&H, "module greet not loaded (the previous version stays in use)"));
  DT_ASSERT(h_log_has(&H, "lib/greet.lua:1:"));
  DT_ASSERT_EQ_INT(version("main"), 2);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, c), 201);
  H_UNTIL(&H, 10000, parked_on(c, "main", 2));
  DT_ASSERT(parked_on(c, "main", 2));

  DT_ASSERT_EQ_INT(h_tones(&H, a, "1"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, b, "2"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, c, "3"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, a) && h_has_cdr(&H, b) && h_has_cdr(&H, c));
  DT_ASSERT(finished_on(a, "main", 1, "1", "digit_1"));
  DT_ASSERT(finished_on(b, "main", 2, "2", "digit_2"));
  DT_ASSERT(finished_on(c, "main", 2, "3", "digit_2"));
}

/* ------------------------------------------------------------------ timer scale */

H_TEST(gather_timeouts_and_sleeps_do_not_wait_at_timer_scale_0, .time_scale = 0) {
  dt_engine_set_timer_scale(H.engine, 0);
  /* an hour of silence and an hour of sleep; then digits typed while the prompt plays
     still count at instant timers */
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d, why = call:gather{prompt = 'main_menu', max = 1, timeout = 3600}\n"
                          "  dialtone.log('info', 'FIRST [' .. d .. '] ' .. why)\n"
                          "  call:sleep(3600)\n"
                          "  local n, why2 = call:gather{prompt = 'enter_digits', max = 8, timeout = 3600, inter_digit = 3600}\n"
                          "  dialtone.log('info', 'SECOND [' .. n .. '] ' .. why2)\n"
                          "  call:play('goodbye')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"427#\"}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "FIRST [] timeout"));
  DT_ASSERT(h_log_has(&H, "SECOND [427] terminator"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 1);
  cJSON_Delete(tl);

}

/* ------------------------------------------------------------------ (e) SIGHUP, real binary */

typedef struct {
  pid_t pid;
  int err_fd;
  dt_buf_t err;
} child_t;

static void child_pump(child_t *c, int timeout_ms) {
  if (c->err_fd < 0) return;
  struct pollfd p = {.fd = c->err_fd, .events = POLLIN};
  if (poll(&p, 1, timeout_ms) <= 0) return;
  char buf[4096];
  ssize_t r = read(c->err_fd, buf, sizeof buf);
  if (r > 0) {
    dt_buf_append(&c->err, buf, (size_t)r);
  } else if (r == 0) {
    close(c->err_fd);
    c->err_fd = -1;
  }
}

static const char *child_log(child_t *c) {
  child_pump(c, 0);
  return c->err.data ? c->err.data : "";
}

/* Waits (bounded) until the child's log contains needle; returns where, or NULL. */
static const char *child_wait_log(child_t *c, const char *needle) {
  uint64_t end = dt_now_ms() + 30000;
  while (dt_now_ms() < end) {
    const char *p = c->err.data ? strstr(c->err.data, needle) : NULL;
    if (p) return p;
    if (c->err_fd < 0) return NULL;
    child_pump(c, 100);
  }
  return NULL;
}

/* One blocking HTTP/1.1 request with Connection: close; returns the status, *body the body. */
static int http_req(int port, const char *method, const char *path, const char *body, char **out) {
  if (out) *out = NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  dt_buf_t req = {0};
  dt_buf_appendf(&req,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 method, path, body ? strlen(body) : 0, body ? body : "");
  bool sent = write(fd, req.data, req.len) == (ssize_t)req.len;
  dt_buf_free(&req);
  dt_buf_t b = {0};
  uint64_t end = dt_now_ms() + 30000;
  while (sent && dt_now_ms() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    dt_buf_append(&b, buf, (size_t)r);
  }
  close(fd);
  int status = 0;
  if (b.data && sscanf(b.data, "HTTP/1.1 %d", &status) != 1) status = 0;
  const char *sep = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
  if (out && sep) *out = dt_xstrdup(sep + 4);
  dt_buf_free(&b);
  return status;
}

static int port_after(const char *log, const char *needle) {
  const char *p = strstr(log, needle);
  if (!p) return -1;
  p += strlen(needle);
  const char *colon = NULL;
  for (const char *q = p; *q && *q != ' ' && *q != '\n' && *q != '"'; q++)
    if (*q == ':') colon = q;
  return colon ? atoi(colon + 1) : -1;
}

/* GET /calls of the child engine: flow_version of call id, or -1 if it is not waiting in a gather. */
static int child_parked_version(int port, const char *id) {
  char *body = NULL;
  int v = -1;
  if (http_req(port, "GET", "/calls", NULL, &body) == 200) {
    cJSON *all = cJSON_Parse(body);
    const cJSON *c;
    cJSON_ArrayForEach(c, all) {
      const char *cid = h_str(c, "id"), *w = h_str(c, "waiting");
      const cJSON *ver = cJSON_GetObjectItemCaseSensitive(c, "flow_version");
      if (cid && h_same_id(cid, id) && w && strcmp(w, "gather") == 0 && cJSON_IsNumber(ver)) v = ver->valueint;
    }
    cJSON_Delete(all);
  }
  free(body);
  return v;
}

/* Places an incoming call (retried, bounded: `run` tells its emulator the bot URL just
   after it logs that it listens). */
static bool place(int emu_port, char id[128]) {
  for (uint64_t end = dt_now_ms() + 10000; dt_now_ms() < end; usleep(50000)) {
    char *body = NULL;
    int st = http_req(emu_port, "POST", "/emulator/calls", "{}", &body);
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    snprintf(id, 128, "%s", h_str(j, "id") ? h_str(j, "id") : "");
    cJSON_Delete(j);
    if (st != 201 && body) fprintf(stderr, "  place: %d %s\n", st, body);
    free(body);
    if (st == 201 && id[0]) return true;
  }
  return false;
}

static bool press(int emu_port, const char *id, const char *tones) {
  char path[256], body[64];
  snprintf(path, sizeof path, "/emulator/calls/%s/tones", id);
  snprintf(body, sizeof body, "{\"tones\":\"%s\"}", tones);
  return http_req(emu_port, "POST", path, body, NULL) == 200;
}

/* The CDR line of call id in path (caller frees), or NULL. */
static cJSON *cdr_in(const char *path, const char *id) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, 1 << 20, &text, &len) != 0) return NULL;
  cJSON *found = NULL;
  for (char *line = text; line && *line && !found;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    if (h_str(j, "call_id") && h_same_id(h_str(j, "call_id"), id)) found = j;
    else cJSON_Delete(j);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return found;
}

static int prompts_named(int emu_port, const char *id, const char *name) {
  char path[256], *body = NULL;
  snprintf(path, sizeof path, "/emulator/calls/%s/timeline", id);
  int n = -1;
  if (http_req(emu_port, "GET", path, NULL, &body) == 200) {
    cJSON *j = cJSON_Parse(body);
    n = h_count(cJSON_GetObjectItemCaseSensitive(j, "entries"), "prompt", "name", name);
    cJSON_Delete(j);
  }
  free(body);
  return n;
}

/* The flows directory is a symbolic link swapped to another directory (as Kubernetes
   updates a ConfigMap volume): no watch can see that, SIGHUP reloads it. */
DT_TEST(sighup_reloads_dialtone_run) {
  const char *bin = getenv("DT_BINARY");
  DT_ASSERT_MSG(bin != NULL, "DT_BINARY is not set (run through ctest)");
  char dir[64] = "/tmp/dt_hot_reload_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char v1[128], v2[128], flows[128], tmp_link[128], conf[128], cdr[128], rec[128];
  snprintf(v1, sizeof v1, "%s/v1", dir);
  snprintf(v2, sizeof v2, "%s/v2", dir);
  snprintf(flows, sizeof flows, "%s/flows", dir);
  snprintf(tmp_link, sizeof tmp_link, "%s/flows.new", dir);
  snprintf(conf, sizeof conf, "%s/dialtone.conf.lua", dir);
  snprintf(cdr, sizeof cdr, "%s/cdr.jsonl", dir);
  snprintf(rec, sizeof rec, "%s/recordings", dir);
  mkdir(v1, 0755);
  mkdir(v2, 0755);
  char p1[160], p2[160];
  snprintf(p1, sizeof p1, "%s/main.lua", v1);
  snprintf(p2, sizeof p2, "%s/main.lua", v2);
  char *t1 = flow_text("main_menu", "digit_1"), *t2 = flow_text("enter_digits", "digit_2");
  DT_ASSERT_EQ_INT(dt_write_file_atomic(p1, t1, strlen(t1)), 0);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(p2, t2, strlen(t2)), 0);
  free(t1);
  free(t2);
  DT_ASSERT_EQ_INT(symlink("v1", flows), 0);
  char *conf_text = dt_xasprintf("return {listen = '127.0.0.1:0', flows = '%s', cdr = '%s', recordings = '%s',\n"
                                 "  prompts = {dir = '%s/flows/prompts'}, emulator = {time_scale = 0},\n"
                                 "  limits = {drain_timeout_s = 5}}\n",
                                 flows, cdr, rec, h_source_dir());
  DT_ASSERT_EQ_INT(dt_write_file_atomic(conf, conf_text, strlen(conf_text)), 0);
  free(conf_text);

  int errp[2];
  DT_ASSERT_EQ_INT(pipe(errp), 0);
  child_t c = {0};
  c.pid = fork();
  DT_ASSERT(c.pid >= 0);
  if (c.pid == 0) {
    dup2(errp[1], 2);
    close(errp[0]);
    close(errp[1]);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
      dup2(null_fd, 1);
    }
    if (chdir(dir) != 0) _exit(126);
    const char *envp[512];
    size_t e = 0;
    for (char **p = environ; *p && e < 510; p++)
      if (strncmp(*p, "DIALTONE_", 9) != 0) envp[e++] = *p;
    envp[e] = NULL;
    const char *argv[] = {bin, "--config", conf, "run", NULL};
    execve(bin, (char *const *)argv, (char *const *)envp);
    _exit(127);
  }
  close(errp[1]);
  c.err_fd = errp[0];
  fcntl(c.err_fd, F_SETFL, O_NONBLOCK);

  bool ok = child_wait_log(&c, "run: listening on") != NULL;
  int port = ok ? port_after(child_log(&c), "run: listening on ") : -1;
  int emu = ok ? port_after(child_log(&c), "embedded Graph emulator at http://") : -1;
  char a[128] = "", b[128] = "";
  int va = -1, vb = -1, va_after = -1;
  bool reloaded = false, in_order = false, pressed = false;
  cJSON *cdr_a = NULL, *cdr_b = NULL;
  int marker_a = -1, marker_b = -1;
  char *metrics = NULL;
  if (port > 0 && emu > 0 && place(emu, a)) {
    for (uint64_t end = dt_now_ms() + 20000; (va = child_parked_version(port, a)) < 0 && dt_now_ms() < end;)
      usleep(20000);
    /* swap the link atomically, then SIGHUP */
    if (symlink("v2", tmp_link) == 0 && rename(tmp_link, flows) == 0) {
      kill(c.pid, SIGHUP);
      const char *hup = child_wait_log(&c, "received SIGHUP");
      const char *loaded = child_wait_log(&c, "flow main: version 2 loaded");
      reloaded = hup && loaded;
      in_order = reloaded && loaded > hup; /* the watch did not see it: SIGHUP did it */
    }
    if (reloaded && place(emu, b)) {
      for (uint64_t end = dt_now_ms() + 20000; (vb = child_parked_version(port, b)) < 0 && dt_now_ms() < end;)
        usleep(20000);
      va_after = child_parked_version(port, a);
      http_req(port, "GET", "/metrics", NULL, &metrics);
      pressed = press(emu, a, "1") && press(emu, b, "2");
      for (uint64_t end = dt_now_ms() + 20000; dt_now_ms() < end && !(cdr_a && cdr_b);) {
        if (!cdr_a) cdr_a = cdr_in(cdr, a);
        if (!cdr_b) cdr_b = cdr_in(cdr, b);
        if (!(cdr_a && cdr_b)) usleep(20000);
      }
      marker_a = prompts_named(emu, a, "digit_1");
      marker_b = prompts_named(emu, b, "digit_2");
    }
  }
  kill(c.pid, SIGTERM);
  int status = -1;
  for (uint64_t end = dt_now_ms() + 30000; dt_now_ms() < end;) {
    child_pump(&c, 50);
    int st;
    if (waitpid(c.pid, &st, WNOHANG) == c.pid) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
  }
  if (status == -1) {
    kill(c.pid, SIGKILL);
    waitpid(c.pid, NULL, 0);
  }
  while (c.err_fd >= 0) child_pump(&c, 100);
  static char log[1 << 16];
  snprintf(log, sizeof log, "%s", c.err.data ? c.err.data : "");
  dt_buf_free(&c.err);
  if (getenv("H_VERBOSE")) fputs(log, stderr);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);

  DT_ASSERT_MSG(port > 0 && emu > 0, "no ports in the log: %s", log);
  DT_ASSERT_MSG(a[0], "could not place the first call: %s", log);
  DT_ASSERT_EQ_INT(va, 1);
  DT_ASSERT_MSG(reloaded, "no reload after SIGHUP: %s", log);
  DT_ASSERT(in_order);
  DT_ASSERT_EQ_INT(vb, 2);
  DT_ASSERT_EQ_INT(va_after, 1); /* GET /calls: the parked call is still on version 1 */
  DT_ASSERT(metrics != NULL);
  DT_ASSERT_CONTAINS(metrics, "dt_flow_version{flow=\"main\"} 2\n");
  DT_ASSERT_CONTAINS(metrics, "dt_calls_active{flow=\"main\",version=\"1\"} 1\n");
  DT_ASSERT_CONTAINS(metrics, "dt_calls_active{flow=\"main\",version=\"2\"} 1\n");
  free(metrics);
  DT_ASSERT(pressed);
  DT_ASSERT_MSG(cdr_a && cdr_b, "CDRs missing: %s", log);
  DT_ASSERT(h_outcome_is(cdr_a, "completed") && h_outcome_is(cdr_b, "completed"));
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(cdr_a, "flow_version")->valueint, 1);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(cdr_b, "flow_version")->valueint, 2);
  cJSON_Delete(cdr_a);
  cJSON_Delete(cdr_b);
  DT_ASSERT_EQ_INT(marker_a, 1);
  DT_ASSERT_EQ_INT(marker_b, 1);
  DT_ASSERT_MSG(status == 0, "exit %d: %s", status, log);
  DT_ASSERT(strstr(log, "notification to") == NULL); /* no failed delivery */
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST_MAIN()
