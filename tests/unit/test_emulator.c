/* Unit tests of emulator.c: start and close, the accessors and defaults, the router (index,
   OAuth token endpoint, OpenID configuration and JWKS, recordings and their fault, unknown
   paths), and the threaded embedding with its thread-safe bot URL. */
#include "harness/emu_fixture.h"
#include "dialtone/error.h"

DT_TEST(start_accessors_and_the_front_door) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  DT_ASSERT(dt_emulator_port(f.emu) > 0);
  DT_ASSERT(strncmp(dt_emulator_url(f.emu), "http://127.0.0.1:", 17) == 0);
  DT_ASSERT_EQ_STR(dt_emulator_app_id(f.emu), DT_EMULATOR_DEFAULT_APP_ID);
  DT_ASSERT_EQ_STR(dt_emulator_tenant_id(f.emu), DT_EMULATOR_DEFAULT_TENANT_ID);
  ef_resp_t r = ef_http(&f, "GET", "/", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_CONTAINS(cJSON_GetObjectItem(r.json, "calls")->valuestring, "/v1.0/communications/calls");
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/.well-known/openid-configuration", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "issuer")->valuestring, "https://api.botframework.com");
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/discovery/keys", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(r.json, "keys")));
  ef_resp_free(&r);
  /* the token endpoint: form-encoded client credentials for the emulator's app id */
  char *form = dt_xasprintf("grant_type=client_credentials&client_id=%s&client_secret=s%%20x",
                            DT_EMULATOR_DEFAULT_APP_ID);
  r = ef_http(&f, "POST", "/tenant/oauth2/v2.0/token", NULL, form);
  DT_ASSERT_EQ_INT(r.status, 200);
  const char *tok = cJSON_GetObjectItem(r.json, "access_token")->valuestring;
  char *auth = dt_xasprintf("Bearer %s", tok);
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/v1.0/communications/calls/x", auth, NULL); /* the token works */
  DT_ASSERT_EQ_INT(r.status, 404);
  ef_resp_free(&r);
  free(auth);
  r = ef_http(&f, "POST", "/tenant/oauth2/v2.0/token", NULL, "grant_type=client_credentials&client_id=other");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(r.json, "error")->valuestring, "unauthorized_client");
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/tenant/oauth2/v2.0/token", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 405);
  ef_resp_free(&r);
  free(form);
  r = ef_http(&f, "GET", "/recordings/nope", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  ef_resp_free(&r);
  dt_emulator_faults_t fl = {0};
  fl.recording_status = 503;
  dt_emulator_set_faults(f.emu, &fl, NULL, 0);
  r = ef_http(&f, "GET", "/recordings/nope", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 503);
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/emulator/health/", NULL, NULL); /* the control API's door */
  DT_ASSERT_EQ_INT(r.status, 200);
  ef_resp_free(&r);
  r = ef_http(&f, "GET", "/nowhere", NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  ef_resp_free(&r);
  dt_emulator_stats_t s;
  dt_emulator_get_stats(f.emu, &s);
  DT_ASSERT_EQ_INT(s.recording_requests, 2);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(bad_options_are_refused) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  DT_ASSERT_EQ_STR(o.listen, "127.0.0.1:0");
  o.time_scale = -1;
  dt_emulator_t *emu = NULL;
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_emulator_start(&loop, &o, &emu, err, sizeof err), DT_EINVAL);
  o.time_scale = 1;
  o.bot_url = "ftp://bot";
  DT_ASSERT_EQ_INT(dt_emulator_start(&loop, &o, &emu, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "bot URL");
  DT_ASSERT(emu == NULL);
  uv_loop_close(&loop);
}

DT_TEST(the_threaded_embedding) {
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.quiet = 1;
  o.key_pem = ef_key_pem();
  o.app_id = "app-x";
  dt_emulator_thread_t *t = NULL;
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_emulator_thread_start(&o, &t, err, sizeof err), 0);
  DT_ASSERT(strncmp(dt_emulator_thread_url(t), "http://127.0.0.1:", 17) == 0);
  DT_ASSERT_EQ_STR(dt_emulator_thread_app_id(t), "app-x");
  DT_ASSERT_EQ_STR(dt_emulator_thread_tenant_id(t), DT_EMULATOR_DEFAULT_TENANT_ID);
  DT_ASSERT_EQ_INT(dt_emulator_thread_set_bot_url(t, "gopher://x", err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_thread_set_bot_url(t, "http://127.0.0.1:9/api/calls", err, sizeof err), 0);
  dt_emulator_thread_stop(t);
}

DT_TEST_MAIN()
