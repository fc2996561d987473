/*
 * test_dashboard_browser.c — the dashboard (GET /dashboard on the admin listener) in a real
 * headless Chromium from Debian (issue 14 point 4): the page's JavaScript runs against the
 * live /events stream of a `dialtone run` whose Graph is `dialtone emulator`. A call placed
 * through the emulator's control API appears on the page, the keys pressed through
 * POST /emulator/calls/{id}/tones show up in its timeline, its end is shown, and the
 * recent CDRs, the counts per flow and outcome and the flows table fill in.
 *
 * Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: the
 * browser reads NUL-terminated JSON commands on fd 3 and writes answers on fd 4), so no
 * WebSocket, npm or driver is needed: Target.createTarget opens the page,
 * Target.attachToTarget (flatten) gives a session, Runtime.evaluate reads the DOM.
 * Without chromium on PATH the test says so and passes, except under CI=true, where it fails
 * (scripts/deps.sh installs it). No timed assertions: waits for conditions, bounded.
 */
#include <poll.h>
#include "harness/dt_test.h"
#include "harness/live_fixture.h"

static unsigned bound(unsigned ms) { return getenv("DT_UNDER_VALGRIND") ? ms * 6 : ms; }

typedef struct {
  pid_t pid;
  int to, from;    /* our ends: commands to fd 3, answers from fd 4 */
  dt_buf_t in;     /* bytes read, not yet split */
  int next_id;
  char session[128];
} cdp_t;

static const char *find_chromium(void) {
  static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(names); i++)
    if (access(names[i], X_OK) == 0) return names[i];
  return NULL;
}

static int cdp_start(cdp_t *c, const char *exe, const char *profile_dir, const char *log) {
  memset(c, 0, sizeof *c);
  int a[2], b[2];
  if (pipe(a) != 0 || pipe(b) != 0) return -1;
  /* Above 4, so that placing them on 3 and 4 in the child cannot overwrite one another. */
  for (int i = 0; i < 2; i++) {
    int na = fcntl(a[i], F_DUPFD_CLOEXEC, 10), nb = fcntl(b[i], F_DUPFD_CLOEXEC, 10);
    close(a[i]);
    close(b[i]);
    a[i] = na;
    b[i] = nb;
  }
  if (a[0] < 0 || a[1] < 0 || b[0] < 0 || b[1] < 0) return -1;
  char udd[256];
  snprintf(udd, sizeof udd, "--user-data-dir=%s", profile_dir);
  const char *argv[] = {exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                        "--remote-debugging-pipe", udd, "about:blank", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, a[0], 3);
  posix_spawn_file_actions_adddup2(&fa, b[1], 4);
  /* the originals are close-on-exec; dup2 clears it on 3 and 4 */
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int rc = posix_spawn(&c->pid, exe, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(a[0]);
  close(b[1]);
  c->to = a[1];
  c->from = b[0];
  c->next_id = 1;
  return rc == 0 ? 0 : -1;
}

/* Sends a command (params: JSON object text) and returns its "result" (caller frees), or
   NULL on an error answer or no answer within ms. */
static cJSON *cdp_call(cdp_t *c, const char *method, const char *params, bool in_session, unsigned ms) {
  int id = c->next_id++;
  char *msg = in_session ? dt_xasprintf("{\"id\":%d,\"sessionId\":\"%s\",\"method\":\"%s\",\"params\":%s}", id,
                                        c->session, method, params)
                         : dt_xasprintf("{\"id\":%d,\"method\":\"%s\",\"params\":%s}", id, method, params);
  size_t len = strlen(msg) + 1; /* the NUL ends the message */
  bool sent = write(c->to, msg, len) == (ssize_t)len;
  free(msg);
  if (!sent) return NULL;
  for (uint64_t end = dt_now_ms() + ms; dt_now_ms() < end;) {
    /* whole messages first */
    char *nul;
    while (c->in.data && (nul = memchr(c->in.data, '\0', c->in.len)) != NULL) {
      cJSON *j = cJSON_Parse(c->in.data);
      size_t used = (size_t)(nul - c->in.data) + 1;
      memmove(c->in.data, c->in.data + used, c->in.len - used);
      c->in.len -= used;
      cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
      if (cJSON_IsNumber(jid) && jid->valueint == id) {
        cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
        if (!res) {
          char *text = cJSON_PrintUnformatted(j);
          fprintf(stderr, "cdp %s: %s\n", method, text ? text : "?");
          free(text);
        }
        cJSON_Delete(j);
        return res;
      }
      cJSON_Delete(j);
    }
    struct pollfd p = {.fd = c->from, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    ssize_t n = read(c->from, buf, sizeof buf);
    if (n <= 0) return NULL;
    dt_buf_append(&c->in, buf, (size_t)n);
  }
  return NULL;
}

/* The string value of a JavaScript expression in the page ("" if none). Caller frees. */
static char *cdp_eval(cdp_t *c, const char *expr) {
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "expression", expr);
  cJSON_AddBoolToObject(p, "returnByValue", true);
  char *params = cJSON_PrintUnformatted(p);
  cJSON_Delete(p);
  cJSON *res = cdp_call(c, "Runtime.evaluate", params, true, bound(10000));
  free(params);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "result"), "value");
  char *out = dt_xstrdup(cJSON_IsString(v) ? v->valuestring : "");
  cJSON_Delete(res);
  return out;
}

/* Waits until the expression's value contains needle; the last value in *last (caller frees). */
static bool cdp_until(cdp_t *c, const char *expr, const char *needle, unsigned ms, char **last) {
  char *v = NULL;
  for (uint64_t end = dt_now_ms() + ms; dt_now_ms() < end; p_sleep_ms(50)) {
    free(v);
    v = cdp_eval(c, expr);
    if (strstr(v, needle)) break;
  }
  bool ok = v && strstr(v, needle);
  if (last) *last = v;
  else free(v);
  return ok;
}

static void cdp_stop(cdp_t *c) {
  cJSON_Delete(cdp_call(c, "Browser.close", "{}", false, 5000));
  close(c->to);
  close(c->from);
  int st;
  for (uint64_t end = dt_now_ms() + 10000; waitpid(c->pid, &st, WNOHANG) == 0;) {
    if (dt_now_ms() > end) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &st, 0);
      break;
    }
    p_sleep_ms(20);
  }
  dt_buf_free(&c->in);
}

/* The first call on the page: "keys|state|timeline". */
static const char CALL_VIEW[] =
    "(function(){var b=document.querySelector('.call');if(!b)return '';"
    "return b.querySelector('.keys').textContent+'|'+b.querySelector('.state').textContent+'|'+"
    "b.querySelector('.timeline').textContent;})()";

DT_TEST(dashboard_shows_a_call_its_keys_and_its_end) {
  const char *exe = find_chromium();
  bool ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
  if (!exe) {
    fprintf(stderr, "chromium is not installed (scripts/deps.sh installs it): the dashboard test %s\n",
            ci ? "FAILS under CI=true" : "is SKIPPED");
    DT_ASSERT(!ci);
    return;
  }
  live_fixture_t f;
  DT_ASSERT(live_start(&f) == 0);
  char profile[160], log[200];
  snprintf(profile, sizeof profile, "%s/chromium-profile", f.env.dir);
  snprintf(log, sizeof log, "%s/chromium.log", f.env.dir);
  cdp_t c;
  DT_ASSERT(cdp_start(&c, exe, profile, log) == 0);

  char params[512];
  snprintf(params, sizeof params, "{\"url\":\"http://127.0.0.1:%d/dashboard?access_token=" LIVE_TOKEN "\"}",
           f.admin_port);
  cJSON *res = cdp_call(&c, "Target.createTarget", params, false, bound(60000));
  const char *target = p_str(res, "targetId");
  DT_ASSERT_MSG(target != NULL, "chromium did not open the page (see %s)", log);
  snprintf(params, sizeof params, "{\"targetId\":\"%s\",\"flatten\":true}", target);
  cJSON_Delete(res);
  res = cdp_call(&c, "Target.attachToTarget", params, false, bound(20000));
  DT_ASSERT(p_str(res, "sessionId") != NULL);
  snprintf(c.session, sizeof c.session, "%s", p_str(res, "sessionId"));
  cJSON_Delete(res);

  /* the page is live (its EventSource is open) and lists the flow */
  char *v = NULL;
  DT_ASSERT_MSG(cdp_until(&c, "document.body ? (document.body.dataset.live || '') : ''", "1", bound(30000), &v),
                "the page never connected to /events: '%s'", v);
  free(v);
  DT_ASSERT_MSG(cdp_until(&c, "document.getElementById('flows').textContent", "mainv1", bound(20000), &v),
                "flows: '%s'", v);
  free(v);

  /* a call appears, its keys show up one by one, then its end */
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&f.env, NULL, id), 201);
  DT_ASSERT_MSG(cdp_until(&c, CALL_VIEW, "prompt main_menu", bound(30000), &v), "call: '%s'", v);
  DT_ASSERT_CONTAINS(v, "answered");
  free(v);
  char *page_id = cdp_eval(&c, "document.querySelector('.call').dataset.call");
  DT_ASSERT_MSG(p_same_id(page_id, id), "the page shows call %s, placed %s", page_id, id);
  free(page_id);
  DT_ASSERT_EQ_INT(live_press(&f, id, "4"), 200);
  DT_ASSERT_MSG(cdp_until(&c, CALL_VIEW, "key 4", bound(20000), &v), "after 4: '%s'", v);
  DT_ASSERT(strncmp(v, "4|", 2) == 0);
  free(v);
  DT_ASSERT_EQ_INT(live_press(&f, id, "2#"), 200);
  DT_ASSERT_MSG(cdp_until(&c, CALL_VIEW, "ended completed", bound(30000), &v), "end: '%s'", v);
  DT_ASSERT_MSG(strncmp(v, "42#|", 4) == 0 && strstr(v, "key 2") && strstr(v, "key #") && strstr(v, "ended (completed)"),
                "'%s'", v);
  free(v);
  /* the counts per flow and outcome, and the call's CDR */
  DT_ASSERT_MSG(cdp_until(&c, "document.getElementById('counts').textContent", "maincompleted1", bound(10000), &v),
                "counts: '%s'", v);
  free(v);
  DT_ASSERT_MSG(cdp_until(&c, "document.getElementById('cdrs').textContent", "completed", bound(20000), &v),
                "cdrs: '%s'", v);
  DT_ASSERT_CONTAINS(v, "main"); /* the flow, the outcome and the digits gathered ("42") */
  DT_ASSERT_CONTAINS(v, "s42");
  free(v);

  cdp_stop(&c);
  p_kill(&f.eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&f.eng, bound(30000)), 0);
  p_env_free(&f.env);
}

DT_TEST_MAIN()
