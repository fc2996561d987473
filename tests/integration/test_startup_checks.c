/*
 * test_startup_checks.c — issue 14 point 3 through the real binary: `dialtone run` with
 * real-Graph settings checks the token endpoint and the inbound key set before it listens
 * (src/preflight.c), and /healthz tells the truth afterwards.
 *
 *  - start-up fails (exit 1, no "listening" line, one error line with the URL and the cause
 *    in words, never "HTTP 0") for: a refused token port; a token endpoint over TLS whose
 *    certificate is not trusted (an in-process HTTPS server with a self-signed
 *    certificate); a wrong client secret at `dialtone emulator`'s token endpoint
 *    (invalid_client with AADSTS7000215 and the fix); a key set URL answering 404;
 *  - against `dialtone emulator` with real-Graph settings it starts, warns that a loopback
 *    http:// public_url cannot be called back by Graph, /healthz is {"status":"ok"}, turns
 *    "degraded" with "Graph answering 503" while the emulator injects 503s and back to ok
 *    once Graph answers again, and "key set stale: ... connection refused" once the
 *    emulator is gone; a notification without a token is refused and logged with why;
 *  - with the embedded emulator, inbound.jwks_url set by the operator is warned about as
 *    unused (it is not silently accepted).
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include "harness/dt_test.h"
#include "harness/proc_harness.h"
#include "harness/tls_testcert.h"
#include "dialtone/http_server.h"

/* A port nothing listens on (bound, then closed). */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0) close(fd);
    return 1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* Starts `dialtone --config FILE run`; returns its exit status once it ended by itself
   (-2: still running after ms), running loop (if any) meanwhile. */
static int run_until_exit(p_env_t *e, p_proc_t *p, uv_loop_t *loop, unsigned ms) {
  const char *args[] = {"--config", e->config, "run", NULL};
  if (p_spawn(e, p, "engine", args) != 0) return -3;
  for (uint64_t end = dt_now_ms() + ms; dt_now_ms() < end && p_alive(p);) {
    if (loop) uv_run(loop, UV_RUN_NOWAIT);
    p_sleep_ms(5);
  }
  if (p_alive(p)) {
    p_kill(p, SIGKILL);
    p_wait_exit(p, 5000);
    return -2;
  }
  return p->status;
}

/* The start-up failed as it should: exit 1, the engine never listened, the line says it.
   eng lives in the test's scope (env keeps a pointer to it until p_env_free). */
static char *failed_start(p_env_t *e, p_proc_t *eng, uv_loop_t *loop) {
  int st = run_until_exit(e, eng, loop, 60000);
  char *err = p_slurp(eng->err);
  if (st != 1) fprintf(stderr, "exit %d:\n%s\n", st, err ? err : "");
  if (st != 1 || !err || strstr(err, "listening on") || strstr(err, "HTTP 0") ||
      !strstr(err, "start-up check failed, not starting: ")) {
    fprintf(stderr, "unexpected start-up:\n%s\n", err ? err : "(none)");
    free(err);
    return NULL;
  }
  return err;
}

DT_TEST(refused_token_port_exits_1_naming_the_url_and_refused) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  snprintf(env.emu_url, sizeof env.emu_url, "http://127.0.0.1:%d", closed_port());
  snprintf(env.app_id, sizeof env.app_id, "app");
  snprintf(env.tenant_id, sizeof env.tenant_id, "tenant");
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  p_proc_t eng;
  char *err = failed_start(&env, &eng, NULL);
  DT_ASSERT(err != NULL);
  char url[400];
  snprintf(url, sizeof url, "cannot get a Graph token: token endpoint %s/tenant/oauth2/v2.0/token: connection refused",
           env.emu_url);
  DT_ASSERT_CONTAINS(err, url);
  DT_ASSERT_CONTAINS(err, "check the URL");
  DT_ASSERT(strstr(err, env.secret) == NULL);
  /* one line says it (the token source's own warning is not repeated; the config logs at
     debug level, where it is) */
  int lines = 0;
  for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
    if (strstr(line, "connection refused") && !strstr(line, " debug ")) lines++;
  DT_ASSERT_EQ_INT(lines, 1);
  free(err);
  p_env_free(&env);
}

static void not_found(dt_http_request_t *req, void *ud) {
  (void)ud;
  dt_http_respond(req, 404, "text/plain", "no\n", 3);
}

DT_TEST(token_endpoint_with_an_untrusted_certificate_is_a_tls_failure) {
  dt_testcert_t tc;
  DT_ASSERT(dt_testcert_create(&tc) == 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_server_options_t so = {.listen = "127.0.0.1:0", .handler = not_found, .tls_cert_file = tc.cert_file,
                                 .tls_key_file = tc.key_file};
  dt_http_server_t *srv = NULL;
  char serr[256];
  DT_ASSERT_MSG(dt_http_server_start(&loop, &so, &srv, serr, sizeof serr) == 0, "%s", serr);
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  snprintf(env.emu_url, sizeof env.emu_url, "https://127.0.0.1:%d", dt_http_server_port(srv));
  snprintf(env.app_id, sizeof env.app_id, "app");
  snprintf(env.tenant_id, sizeof env.tenant_id, "tenant");
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  p_proc_t eng;
  char *err = failed_start(&env, &eng, &loop);
  dt_http_server_close(srv, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  dt_testcert_remove(&tc);
  DT_ASSERT(err != NULL);
  char url[400];
  snprintf(url, sizeof url, "token endpoint %s/tenant/oauth2/v2.0/token: TLS failure: the server's certificate is not trusted",
           env.emu_url);
  DT_ASSERT_CONTAINS(err, url);
  DT_ASSERT_CONTAINS(err, "CA store");
  free(err);
  p_env_free(&env);
}

DT_TEST(wrong_client_secret_exits_1_with_invalid_client_and_the_aadsts_code) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  snprintf(env.secret, sizeof env.secret, "not-the-secret");
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  p_proc_t eng;
  char *err = failed_start(&env, &eng, NULL);
  DT_ASSERT(err != NULL);
  DT_ASSERT_CONTAINS(err, "answered HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided.");
  DT_ASSERT_CONTAINS(err, "/oauth2/v2.0/token");
  DT_ASSERT_CONTAINS(err, "check graph.client_secret");
  DT_ASSERT(strstr(err, "not-the-secret") == NULL);
  free(err);
  p_env_free(&env);
}

DT_TEST(a_key_set_url_answering_404_exits_1) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_config(&env, NULL) == 0);
  /* the same configuration with the key set URL pointing nowhere */
  char *cfg = p_slurp(env.config);
  DT_ASSERT(cfg != NULL);
  char *at = strstr(cfg, "/discovery/keys");
  DT_ASSERT(at != NULL);
  char *bad = dt_xasprintf("%.*s/no/keys/here%s", (int)(at - cfg), cfg, at + strlen("/discovery/keys"));
  free(cfg);
  DT_ASSERT(dt_write_file_atomic(env.config, bad, strlen(bad)) == 0);
  free(bad);
  p_proc_t eng;
  char *err = failed_start(&env, &eng, NULL);
  DT_ASSERT(err != NULL);
  char want[256];
  snprintf(want, sizeof want, "cannot load the inbound key set: key set %s/no/keys/here: HTTP 404", env.emu_url);
  DT_ASSERT_CONTAINS(err, want);
  DT_ASSERT_CONTAINS(err, "Graph token fetched"); /* the token came first */
  free(err);
  p_env_free(&env);
}

static const char ANSWER_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  call:hangup()\n"
    "end\n";

/* GET /healthz of the engine; the body (caller frees) or NULL. */
static char *healthz(p_env_t *e, int *status) {
  char url[300];
  snprintf(url, sizeof url, "%.*s/healthz", (int)(strstr(e->callback, "/api/calls") - e->callback), e->callback);
  char *body = NULL;
  *status = p_http("GET", url, NULL, &body);
  return body;
}

static bool health_has(p_env_t *e, const char *needle) {
  int st = 0;
  char *b = healthz(e, &st);
  bool ok = st == 200 && b && strstr(b, needle) != NULL;
  free(b);
  return ok;
}

DT_TEST(starts_against_the_emulator_then_healthz_degrades_and_recovers) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  DT_ASSERT(p_start_emulator(&env, &emu, "--time-scale 0") == 0);
  DT_ASSERT(p_write_flow(&env, "main", ANSWER_FLOW) == 0);
  DT_ASSERT(p_write_config(&env, "admin = {health_check_s = 0.2},") == 0);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  DT_ASSERT(p_file_has(eng.err, "preflight: Graph token fetched from"));
  DT_ASSERT(p_file_has(eng.err, "preflight: inbound key set loaded from"));
  /* (c) the callback URL is loopback http: Graph could never reach it */
  DT_ASSERT(p_file_has(eng.err, "is plain http:// on a loopback address: Graph only calls back public HTTPS URLs"));
  int st = 0;
  char *body = NULL;
  P_UNTIL(20000, health_has(&env, "{\"status\":\"ok\"}"));
  body = healthz(&env, &st);
  DT_ASSERT_EQ_INT(st, 200);
  DT_ASSERT_EQ_STR(body, "{\"status\":\"ok\"}\n");
  free(body);

  /* Graph answers 503: the call's answer fails, /healthz says so */
  DT_ASSERT_EQ_INT(p_control(&env, "POST", "faults", "{\"graph_status\":503}"), 200);
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id), 201);
  P_UNTIL(60000, health_has(&env, "Graph answering 503"));
  body = healthz(&env, &st);
  DT_ASSERT_EQ_INT(st, 200); /* degraded stays in the balancer */
  DT_ASSERT_CONTAINS(body, "{\"status\":\"degraded\",\"reasons\":[\"Graph answering 503 to POST ");
  free(body);
  /* Graph answers again: the next call's answer clears it */
  DT_ASSERT_EQ_INT(p_control(&env, "DELETE", "faults", NULL), 200);
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id), 201);
  P_UNTIL(60000, health_has(&env, "{\"status\":\"ok\"}"));
  DT_ASSERT(health_has(&env, "{\"status\":\"ok\"}"));
  DT_ASSERT(p_file_has(eng.err, "graph: answering again"));

  /* (b) a notification without a token: refused, and the log says why */
  char *nb = NULL;
  DT_ASSERT_EQ_INT(p_http("POST", env.callback, "{\"value\":[]}", &nb), 401);
  free(nb);
  P_UNTIL(10000, p_file_has(eng.err, "refused before its body (401): no bearer token (1 such refusal"));
  DT_ASSERT(p_file_has(eng.err, "refused before its body (401): no bearer token (1 such refusal"));

  /* the emulator is gone: the periodic key set download fails, in words */
  p_kill(&emu, SIGKILL);
  p_wait_exit(&emu, 10000);
  P_UNTIL(30000, health_has(&env, "key set stale: cannot fetch the key set from"));
  body = healthz(&env, &st);
  DT_ASSERT_EQ_INT(st, 200);
  DT_ASSERT_CONTAINS(body, "\"status\":\"degraded\"");
  DT_ASSERT_CONTAINS(body, "/discovery/keys: connection refused");
  DT_ASSERT(strstr(body, "HTTP 0") == NULL);
  free(body);
  char *log = p_slurp(eng.err);
  DT_ASSERT(log && strstr(log, "HTTP 0") == NULL);
  free(log);

  /* draining: 503 */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

DT_TEST(embedded_emulator_warns_that_inbound_jwks_url_is_not_used) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char *cfg = dt_xasprintf("return {listen = \"127.0.0.1:0\", flows = \"%s\", cdr = \"%s\", recordings = \"%s\",\n"
                           "  inbound = {jwks_url = \"https://keys.example/jwks\"}}\n",
                           env.flows, env.cdr, env.recordings);
  DT_ASSERT(dt_write_file_atomic(env.config, cfg, strlen(cfg)) == 0);
  free(cfg);
  p_proc_t eng;
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  DT_ASSERT(p_file_has(eng.err, "inbound.jwks_url (set by "));
  DT_ASSERT(p_file_has(eng.err, "is not used: without Graph credentials"));
  DT_ASSERT(!p_file_has(eng.err, "preflight:")); /* no start-up check against the embedded emulator */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

DT_TEST_MAIN()
