/* Unit tests for core/net/client_cert.c: loading a certificate with and without its key
   (a foreign key refused), the assertion's header and claims, and every reason the check
   refuses one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/client_cert.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/jwt.h"
#include "harness/dt_test.h"
#include "harness/tls_testcert.h"

static dt_testcert_t g_a, g_b;
static bool g_ready;
static void remove_certs(void) {
  dt_testcert_remove(&g_a);
  dt_testcert_remove(&g_b);
}
static bool certs(void) {
  if (!g_ready && dt_testcert_create(&g_a) == 0 && dt_testcert_create(&g_b) == 0) {
    g_ready = true;
    atexit(remove_certs);
  }
  return g_ready;
}

#define TOKEN_URL "https://login.example/tenant-1/oauth2/v2.0/token"

static cJSON *part(const char *jwt, int which) {
  const char *p = jwt;
  for (int i = 0; i < which; i++) p = strchr(p, '.') + 1;
  const char *end = strchr(p, '.');
  unsigned char *raw = NULL;
  size_t len = 0;
  if (dt_base64url_decode(p, end ? (size_t)(end - p) : strlen(p), &raw, &len) != 0) return NULL;
  cJSON *j = cJSON_ParseWithLength((const char *)raw, len);
  free(raw);
  return j;
}

DT_TEST(load_refuses_what_cannot_sign) {
  DT_ASSERT(certs());
  dt_client_cert_t *cc = NULL;
  char err[512];
  DT_ASSERT_EQ_INT(dt_client_cert_load("/nonexistent.pem", NULL, &cc, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "/nonexistent.pem");
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.key_file, NULL, &cc, err, sizeof err), DT_ETLS); /* a key is no certificate */
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, "/nonexistent-key.pem", &cc, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "/nonexistent-key.pem");
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, g_b.key_file, &cc, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "does not belong to the certificate");
  DT_ASSERT(cc == NULL);
  /* a verifier needs no key, and cannot sign */
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, NULL, &cc, err, sizeof err), 0);
  char *jwt = NULL;
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(cc, "app", TOKEN_URL, 0, &jwt), DT_EINVAL);
  DT_ASSERT_EQ_INT((int)strlen(dt_client_cert_thumbprint(cc)), 27);
  dt_client_cert_free(cc);
}

DT_TEST(assertion_is_what_the_identity_platform_specifies) {
  DT_ASSERT(certs());
  dt_client_cert_t *app = NULL, *reg = NULL;
  char err[512];
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, g_a.key_file, &app, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, NULL, &reg, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(dt_client_cert_thumbprint(app), dt_client_cert_thumbprint(reg));
  char *jwt = NULL;
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, "app-1", TOKEN_URL, 1000000, &jwt), 0);
  cJSON *h = part(jwt, 0), *c = part(jwt, 1);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(h, "alg")->valuestring, "RS256");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(h, "x5t")->valuestring, dt_client_cert_thumbprint(app));
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c, "aud")->valuestring, TOKEN_URL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c, "iss")->valuestring, "app-1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(c, "sub")->valuestring, "app-1");
  DT_ASSERT_EQ_INT((int)strlen(cJSON_GetObjectItem(c, "jti")->valuestring), 36);
  DT_ASSERT(cJSON_GetObjectItem(c, "nbf")->valuedouble == 1000000);
  DT_ASSERT(cJSON_GetObjectItem(c, "exp")->valuedouble == 1000600);
  cJSON_Delete(h);
  cJSON_Delete(c);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, jwt, "app-1", TOKEN_URL, 1000100, err, sizeof err), DT_ASSERTION_OK);
  /* two assertions never share a jti */
  char *again = NULL;
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, "app-1", TOKEN_URL, 1000000, &again), 0);
  DT_ASSERT(strcmp(jwt, again) != 0);
  free(again);
  free(jwt);
  dt_client_cert_free(app);
  dt_client_cert_free(reg);
}

DT_TEST(check_refuses_with_a_reason) {
  DT_ASSERT(certs());
  dt_client_cert_t *app = NULL, *reg = NULL, *other = NULL;
  char err[512];
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, g_a.key_file, &app, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_a.cert_file, NULL, &reg, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_load(g_b.cert_file, g_b.key_file, &other, err, sizeof err), 0);
  char *jwt = NULL, *foreign = NULL;
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(app, "app-1", TOKEN_URL, 1000000, &jwt), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_assertion(other, "app-1", TOKEN_URL, 1000000, &foreign), 0);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, foreign, "app-1", TOKEN_URL, 1000000, err, sizeof err),
                   DT_ASSERTION_UNKNOWN_CERT);
  DT_ASSERT_CONTAINS(err, "not registered");
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, jwt, "app-1", TOKEN_URL, 1000000 + 600 + 301, err, sizeof err),
                   DT_ASSERTION_EXPIRED);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, jwt, "app-1", TOKEN_URL, 1000000 - 301, err, sizeof err),
                   DT_ASSERTION_EXPIRED);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, jwt, "app-1", "https://elsewhere/token", 1000000, err, sizeof err),
                   DT_ASSERTION_WRONG_AUDIENCE);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, jwt, "app-2", TOKEN_URL, 1000000, err, sizeof err),
                   DT_ASSERTION_WRONG_CLIENT);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, "not a jwt", "app-1", TOKEN_URL, 1000000, err, sizeof err),
                   DT_ASSERTION_MALFORMED);
  /* a signature that does not match: the foreign token's body under the registered x5t */
  char *dot = strchr(jwt, '.');
  char *fdot = strchr(foreign, '.');
  char *forged = dt_xasprintf("%.*s%s", (int)(dot - jwt), jwt, fdot);
  DT_ASSERT_EQ_INT(dt_client_cert_check(reg, forged, "app-1", TOKEN_URL, 1000000, err, sizeof err),
                   DT_ASSERTION_BAD_SIGNATURE);
  DT_FREE_ALL(forged, jwt, foreign);
  dt_client_cert_free(app);
  dt_client_cert_free(reg);
  dt_client_cert_free(other);
}

DT_TEST_MAIN()
