/*
 * test_credentials_process.c — certificate credentials through the real binaries (issue 14
 * point 2): `dialtone emulator --client-cert CERT` plays the identity platform with the app's
 * certificate registered, and `dialtone run` configured with graph.client_certificate (and no
 * secret) gets its tokens with signed client assertions: a call runs its flow to the end.
 * With a certificate that is not the registered one, no token is issued (invalid_client,
 * AADSTS700027) and the call cannot be answered.
 */
#include "harness/dt_test.h"
#include "harness/proc_harness.h"
#include "harness/tls_testcert.h"

static const char FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  call:play('main_menu')\n"
    "  dialtone.log('info', 'FLOW DONE')\n"
    "end\n";

/* The harness's config with the secret replaced by graph.client_certificate. */
static int write_cert_config(p_env_t *env, const dt_testcert_t *tc) {
  if (p_write_config(env, NULL) != 0) return -1;
  char *text = p_slurp(env->config);
  if (!text) return -1;
  char secret[128];
  snprintf(secret, sizeof secret, "client_secret = \"%s\"", env->secret);
  char *at = strstr(text, secret);
  if (!at) {
    free(text);
    return -1;
  }
  char *cert = dt_xasprintf("client_certificate = {cert = \"%s\", key = \"%s\"}", tc->cert_file, tc->key_file);
  char *out = dt_xasprintf("%.*s%s%s", (int)(at - text), text, cert, at + strlen(secret));
  int rc = dt_write_file_atomic(env->config, out, strlen(out));
  DT_FREE_ALL(text, cert, out);
  return rc;
}

DT_TEST(engine_gets_tokens_with_client_assertions) {
  dt_testcert_t registered, stranger;
  DT_ASSERT(dt_testcert_create(&registered) == 0);
  DT_ASSERT(dt_testcert_create(&stranger) == 0);
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  p_proc_t emu, eng;
  char extra[300];
  snprintf(extra, sizeof extra, "--time-scale 0 --client-cert %s", registered.cert_file);
  DT_ASSERT(p_start_emulator(&env, &emu, extra) == 0);
  DT_ASSERT(p_write_flow(&env, "main", FLOW) == 0);
  DT_ASSERT_EQ_INT(write_cert_config(&env, &registered), 0);
  char *conf = p_slurp(env.config);
  DT_ASSERT(conf && strstr(conf, "client_secret") == NULL && strstr(conf, "client_certificate") != NULL);
  free(conf);
  DT_ASSERT(p_start_engine(&env, &eng, "engine") == 0);
  char id[128];
  DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id), 201);
  P_UNTIL(30000, p_file_has(eng.err, "FLOW DONE"));
  DT_ASSERT(p_file_has(eng.err, "FLOW DONE"));
  cJSON *tl = p_timeline(&env, id);
  DT_ASSERT_EQ_INT(p_count(tl, "request", "action", "answer"), 1);
  cJSON_Delete(tl);
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);

  /* another certificate: the token endpoint refuses it and no call is answered */
  DT_ASSERT_EQ_INT(write_cert_config(&env, &stranger), 0);
  p_proc_t eng2;
  if (p_start_engine(&env, &eng2, "engine2") == 0) { /* a start-up check may refuse it at once */
    char id2[128];
    DT_ASSERT_EQ_INT(p_place_call(&env, NULL, id2), 201);
    P_UNTIL(30000, p_file_has(eng2.err, "AADSTS700027"));
    cJSON *tl2 = p_timeline(&env, id2);
    DT_ASSERT_EQ_INT(p_count(tl2, "request", "action", "answer"), 0);
    cJSON_Delete(tl2);
    p_kill(&eng2, SIGTERM);
    p_wait_exit(&eng2, 30000);
  }
  DT_ASSERT(p_file_has(eng2.err, "AADSTS700027"));
  p_kill(&emu, SIGTERM);
  p_wait_exit(&emu, 10000);
  p_env_free(&env);
  dt_testcert_remove(&registered);
  dt_testcert_remove(&stranger);
}

DT_TEST_MAIN()
