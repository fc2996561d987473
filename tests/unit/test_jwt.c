/* Unit tests for jwt.c: base64url, JWKS parsing, RS256 verification and signing, PEM and
   OpenID configuration documents. Keys are generated here, once per process. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/jwt.h"
#include "harness/dt_test.h"

#define NOW 1700000000
#define AUD "app-1234"

static const char *const issuers[] = {"https://api.botframework.com", "https://graph.microsoft.com"};

static dt_jwt_key_t *good_key;  /* kid "k1": the key in the set */
static dt_jwt_key_t *rogue_key; /* kid "k1" too, but a different RSA key */
static dt_jwks_t *jwks;

static int setup(void) {
  if (jwks) return 1;
  if (dt_jwt_key_generate("k1", 2048, &good_key) != 0) return 0;
  if (dt_jwt_key_generate("k1", 2048, &rogue_key) != 0) return 0;
  char *doc = dt_jwt_key_jwks_json(good_key);
  if (doc == NULL) return 0;
  char err[256] = "";
  int rc = dt_jwks_parse(doc, strlen(doc), &jwks, err, sizeof err);
  free(doc);
  if (rc != 0) fprintf(stderr, "jwks: %s\n", err);
  return rc == 0;
}

static dt_jwt_verify_options_t opts(void) {
  return (dt_jwt_verify_options_t){.issuers = issuers, .issuer_count = 2, .audience = AUD, .now = NOW,
                                   .clock_skew_s = 60};
}

/* Claims valid at NOW; tweak decides what differs. */
static char *make_token(const dt_jwt_key_t *key, const char *iss, const char *aud, double exp,
                        double nbf) {
  cJSON *c = cJSON_CreateObject();
  if (iss) cJSON_AddStringToObject(c, "iss", iss);
  if (aud) cJSON_AddStringToObject(c, "aud", aud);
  if (exp) cJSON_AddNumberToObject(c, "exp", exp);
  if (nbf) cJSON_AddNumberToObject(c, "nbf", nbf);
  cJSON_AddStringToObject(c, "sub", "caller");
  char *tok = NULL;
  int rc = dt_jwt_sign(key, c, &tok);
  cJSON_Delete(c);
  return rc == 0 ? tok : NULL;
}

static char *good_token(void) {
  return make_token(good_key, issuers[0], AUD, NOW + 3600, NOW - 60);
}

/* A token with an arbitrary header text, the good payload and a real signature part. */
static char *with_header(const char *header_json) {
  char *tok = good_token();
  char *dot = strchr(tok, '.');
  char *h = dt_base64url_encode(header_json, strlen(header_json));
  char *out = dt_xasprintf("%s%s", h, dot);
  free(h);
  free(tok);
  return out;
}

static int verify(const char *tok, dt_jwt_verify_options_t o, char *err, size_t errlen) {
  err[0] = '\0';
  return dt_jwt_verify(jwks, tok, &o, NULL, err, errlen);
}

DT_TEST(base64url_known_vectors) {
  char *s = dt_base64url_encode("", 0);
  DT_ASSERT_EQ_STR(s, "");
  free(s);
  s = dt_base64url_encode("f", 1);
  DT_ASSERT_EQ_STR(s, "Zg");
  free(s);
  s = dt_base64url_encode("fo", 2);
  DT_ASSERT_EQ_STR(s, "Zm8");
  free(s);
  s = dt_base64url_encode("foob", 4);
  DT_ASSERT_EQ_STR(s, "Zm9vYg");
  free(s);
  const unsigned char url_chars[] = {0xfb, 0xff, 0xbf};
  s = dt_base64url_encode(url_chars, 3);
  DT_ASSERT_EQ_STR(s, "-_-_");
  free(s);
}

DT_TEST(base64url_round_trips_every_length) {
  unsigned char data[300];
  dt_random_bytes(data, sizeof data);
  for (size_t len = 0; len <= sizeof data; len++) {
    char *enc = dt_base64url_encode(data, len);
    DT_ASSERT(strchr(enc, '=') == NULL && strchr(enc, '+') == NULL && strchr(enc, '/') == NULL);
    unsigned char *dec = NULL;
    size_t dec_len = 0;
    DT_ASSERT_EQ_INT(dt_base64url_decode(enc, strlen(enc), &dec, &dec_len), 0);
    DT_ASSERT_EQ_INT(dec_len, len);
    DT_ASSERT(memcmp(dec, data, len) == 0);
    free(dec);
    free(enc);
  }
}

DT_TEST(base64url_rejects_bad_input) {
  const char *bad[] = {"Zg==", "Z", "Zm9vY", "a+b/", "Zm 9v", "Zh" /* non-zero spare bits */};
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    unsigned char *out = (unsigned char *)"x";
    size_t n = 7;
    DT_ASSERT_MSG(dt_base64url_decode(bad[i], strlen(bad[i]), &out, &n) == DT_EPARSE,
                  "accepted \"%s\"", bad[i]);
    DT_ASSERT(out == NULL);
  }
}

DT_TEST(accepts_good_token_and_returns_claims) {
  DT_ASSERT(setup());
  char *tok = good_token();
  DT_ASSERT(tok != NULL);
  DT_ASSERT(dt_jwks_has_kid(jwks, "k1"));
  DT_ASSERT(!dt_jwks_has_kid(jwks, "k2"));
  dt_jwt_verify_options_t o = opts();
  cJSON *claims = NULL;
  char err[256] = "";
  int rc = dt_jwt_verify(jwks, tok, &o, &claims, err, sizeof err);
  free(tok);
  DT_ASSERT_MSG(rc == 0, "rc %d: %s", rc, err);
  DT_ASSERT(claims != NULL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(claims, "sub")->valuestring, "caller");
  cJSON_Delete(claims);
}

DT_TEST(accepts_second_issuer_and_audience_array) {
  DT_ASSERT(setup());
  cJSON *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "iss", issuers[1]);
  cJSON *aud = cJSON_AddArrayToObject(c, "aud");
  cJSON_AddItemToArray(aud, cJSON_CreateString("someone-else"));
  cJSON_AddItemToArray(aud, cJSON_CreateString(AUD));
  cJSON_AddNumberToObject(c, "exp", NOW + 10);
  char *tok = NULL;
  DT_ASSERT_EQ_INT(dt_jwt_sign(good_key, c, &tok), 0);
  cJSON_Delete(c);
  char err[256];
  int rc = verify(tok, opts(), err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  /* The same token with an audience that is in neither slot fails. */
  dt_jwt_verify_options_t o = opts();
  o.audience = "app-9999";
  rc = verify(tok, o, err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "wrong audience");
}

DT_TEST(rejects_signature_of_another_key_with_same_kid) {
  DT_ASSERT(setup());
  char *tok = make_token(rogue_key, issuers[0], AUD, NOW + 3600, 0);
  char err[256];
  int rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "bad signature");
}

DT_TEST(rejects_tampered_payload) {
  DT_ASSERT(setup());
  char *tok = good_token();
  char *other = make_token(good_key, issuers[0], "attacker-app", NOW + 3600, 0);
  /* Splice the other (validly signed) payload under the first token's signature. */
  char *p1 = strchr(tok, '.'), *s1 = strrchr(tok, '.');
  char *p2 = strchr(other, '.'), *s2 = strrchr(other, '.');
  char *spliced = dt_xasprintf("%.*s%.*s%s", (int)(p1 - tok), tok, (int)(s2 - p2), p2, s1);
  char err[256];
  int rc = verify(spliced, opts(), err, sizeof err);
  free(tok);
  free(other);
  free(spliced);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "bad signature");
}

DT_TEST(unknown_kid_is_enoent) {
  DT_ASSERT(setup());
  char *tok = with_header("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}");
  char err[256];
  int rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_ENOENT);
  DT_ASSERT_CONTAINS(err, "k2");
  tok = with_header("{\"alg\":\"RS256\"}");
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "no kid");
}

DT_TEST(rejects_expired_and_not_yet_valid) {
  DT_ASSERT(setup());
  char err[256];
  char *tok = make_token(good_key, issuers[0], AUD, NOW - 61, 0); /* past the 60 s skew */
  int rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "expired");

  tok = make_token(good_key, issuers[0], AUD, NOW - 30, 0); /* within the skew */
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_MSG(rc == 0, "%s", err);

  tok = make_token(good_key, issuers[0], AUD, NOW + 3600, NOW + 120);
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "not yet valid");

  tok = make_token(good_key, issuers[0], AUD, 0, 0);
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "no exp");
}

DT_TEST(default_clock_is_now) {
  DT_ASSERT(setup());
  int64_t now = dt_unix_time();
  char *tok = make_token(good_key, issuers[0], AUD, (double)(now + 600), 0);
  dt_jwt_verify_options_t o = opts();
  o.now = 0;
  o.clock_skew_s = 0;
  char err[256];
  int rc = verify(tok, o, err, sizeof err);
  free(tok);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  /* An hour-old expiry is beyond the default 300 s skew. */
  tok = make_token(good_key, issuers[0], AUD, (double)(now - 3600), 0);
  rc = verify(tok, o, err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "expired");
}

DT_TEST(rejects_wrong_issuer_and_audience) {
  DT_ASSERT(setup());
  char err[256];
  char *tok = make_token(good_key, "https://evil.example", AUD, NOW + 3600, 0);
  int rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "wrong issuer");

  tok = make_token(good_key, NULL, AUD, NOW + 3600, 0);
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "wrong issuer");

  tok = make_token(good_key, issuers[0], "other-app", NOW + 3600, 0);
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "wrong audience");

  tok = make_token(good_key, issuers[0], NULL, NOW + 3600, 0);
  rc = verify(tok, opts(), err, sizeof err);
  free(tok);
  DT_ASSERT_EQ_INT(rc, DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "wrong audience");
}

DT_TEST(rejects_alg_none_and_hs256) {
  DT_ASSERT(setup());
  const char *headers[] = {"{\"alg\":\"none\",\"kid\":\"k1\"}", "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
                           "{\"alg\":\"RS512\",\"kid\":\"k1\"}", "{\"kid\":\"k1\"}",
                           "{\"alg\":256,\"kid\":\"k1\"}"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(headers); i++) {
    char *tok = with_header(headers[i]);
    char err[256];
    int rc = verify(tok, opts(), err, sizeof err);
    free(tok);
    DT_ASSERT_EQ_INT(rc, DT_EAUTH);
    DT_ASSERT_MSG(strstr(err, "alg") != NULL, "header %s: %s", headers[i], err);
  }
  /* alg none with an empty signature part is caught as a malformed token. */
  const char *none_header = "{\"alg\":\"none\",\"kid\":\"k1\"}";
  char *h = dt_base64url_encode(none_header, strlen(none_header));
  char *tok = good_token();
  char *payload = strchr(tok, '.');
  *strrchr(tok, '.') = '\0';
  char *none = dt_xasprintf("%s%s.", h, payload);
  char err[256];
  DT_ASSERT_EQ_INT(verify(none, opts(), err, sizeof err), DT_EAUTH);
  free(h);
  free(tok);
  free(none);
  /* crit extensions are refused */
  tok = with_header("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}");
  DT_ASSERT_EQ_INT(verify(tok, opts(), err, sizeof err), DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "crit");
  free(tok);
}

DT_TEST(rejects_truncated_and_garbage_tokens) {
  DT_ASSERT(setup());
  char *tok = good_token();
  size_t len = strlen(tok);
  char err[256];
  /* every truncation fails, and none crashes */
  for (size_t cut = 0; cut < len; cut += (cut < 40 ? 1 : 17)) {
    char *t = dt_xstrndup(tok, cut);
    int rc = verify(t, opts(), err, sizeof err);
    DT_ASSERT_MSG(rc == DT_EAUTH, "cut %zu rc %d", cut, rc);
    free(t);
  }
  const char *garbage[] = {"", ".", "..", "a.b.c", "a.b.c.d", "!!!.???.###", "eyJ.eyJ.",
                           "e30.e30.AAAA" /* {} {} */};
  for (size_t i = 0; i < DT_ARRAY_SIZE(garbage); i++) {
    int rc = verify(garbage[i], opts(), err, sizeof err);
    DT_ASSERT_MSG(rc == DT_EAUTH, "\"%s\" rc %d", garbage[i], rc);
  }
  /* a flipped signature byte */
  tok[len - 5] = tok[len - 5] == 'A' ? 'B' : 'A';
  DT_ASSERT_EQ_INT(verify(tok, opts(), err, sizeof err), DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "signature");
  free(tok);
  /* an oversized token is refused before parsing */
  char *big = dt_xmalloc(20000);
  memset(big, 'A', 19999);
  big[19999] = '\0';
  big[100] = '.';
  big[200] = '.';
  DT_ASSERT_EQ_INT(verify(big, opts(), err, sizeof err), DT_EAUTH);
  DT_ASSERT_CONTAINS(err, "longer");
  free(big);
  DT_ASSERT_EQ_INT(dt_jwt_verify(jwks, NULL, NULL, NULL, err, sizeof err), DT_EAUTH);
}

DT_TEST(jwks_parse_rules) {
  char err[256];
  dt_jwks_t *set = NULL;
  DT_ASSERT_EQ_INT(dt_jwks_parse("[]", 2, &set, err, sizeof err), DT_EPARSE);
  DT_ASSERT_EQ_INT(dt_jwks_parse("{}", 2, &set, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "keys");
  DT_ASSERT_EQ_INT(dt_jwks_parse("{\"keys\":[", 9, &set, err, sizeof err), DT_EPARSE);
  const char *small = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
  DT_ASSERT_EQ_INT(dt_jwks_parse(small, strlen(small), &set, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "bits");
  const char *nokid = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
  DT_ASSERT_EQ_INT(dt_jwks_parse(nokid, strlen(nokid), &set, err, sizeof err), DT_EPARSE);
  /* EC keys and encryption keys are skipped, leaving an empty but valid set */
  const char *other = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"e\",\"crv\":\"P-256\"},"
                      "{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
  DT_ASSERT_EQ_INT(dt_jwks_parse(other, strlen(other), &set, err, sizeof err), 0);
  DT_ASSERT(!dt_jwks_has_kid(set, "e"));
  dt_jwks_free(set);
  /* more than 64 keys */
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"keys\":[");
  for (int i = 0; i < 65; i++) dt_buf_appendf(&b, "%s{\"kty\":\"EC\"}", i ? "," : "");
  dt_buf_appendf(&b, "]}");
  DT_ASSERT_EQ_INT(dt_jwks_parse(b.data, b.len, &set, err, sizeof err), DT_ETOOBIG);
  dt_buf_free(&b);
  /* documents over 256 KiB */
  char *huge = dt_xmalloc(300 * 1024);
  memset(huge, ' ', 300 * 1024);
  DT_ASSERT_EQ_INT(dt_jwks_parse(huge, 300 * 1024, &set, err, sizeof err), DT_ETOOBIG);
  free(huge);
}

DT_TEST(jwks_with_many_keys_finds_the_right_one) {
  DT_ASSERT(setup());
  /* A set holding the rogue key as "k0" and the good key as "k1": a k1 token verifies. */
  char *rogue_doc = dt_jwt_key_jwks_json(rogue_key);
  char *good_doc = dt_jwt_key_jwks_json(good_key);
  cJSON *r = cJSON_Parse(rogue_doc), *g = cJSON_Parse(good_doc);
  cJSON *rk = cJSON_DetachItemFromArray(cJSON_GetObjectItem(r, "keys"), 0);
  cJSON_ReplaceItemInObject(rk, "kid", cJSON_CreateString("k0"));
  cJSON_InsertItemInArray(cJSON_GetObjectItem(g, "keys"), 0, rk);
  char *both = cJSON_PrintUnformatted(g);
  dt_jwks_t *set = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_jwks_parse(both, strlen(both), &set, err, sizeof err), 0);
  DT_ASSERT(dt_jwks_has_kid(set, "k0") && dt_jwks_has_kid(set, "k1"));
  char *tok = good_token();
  dt_jwt_verify_options_t o = opts();
  int rc = dt_jwt_verify(set, tok, &o, NULL, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  for (int i = 0; i < 2000; i++) /* verification is cheap: no key re-parsing */
    if (dt_jwt_verify(set, tok, &o, NULL, err, sizeof err) != 0) rc = -1;
  DT_ASSERT_EQ_INT(rc, 0);
  free(tok);
  free(both);
  free(rogue_doc);
  free(good_doc);
  cJSON_Delete(r);
  cJSON_Delete(g);
  dt_jwks_free(set);
}

DT_TEST(pem_round_trip_signs_verifiable_tokens) {
  DT_ASSERT(setup());
  char *pem = NULL;
  DT_ASSERT_EQ_INT(dt_jwt_key_to_pem(good_key, &pem), 0);
  DT_ASSERT_CONTAINS(pem, "-----BEGIN RSA PRIVATE KEY-----");
  dt_jwt_key_t *loaded = NULL;
  DT_ASSERT_EQ_INT(dt_jwt_key_from_pem("k1", pem, strlen(pem), &loaded), 0);
  char *tok = make_token(loaded, issuers[0], AUD, NOW + 100, 0);
  char err[256];
  int rc = verify(tok, opts(), err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  char *a = dt_jwt_key_jwks_json(loaded), *b = dt_jwt_key_jwks_json(good_key);
  DT_ASSERT_EQ_STR(a, b);
  free(a);
  free(b);
  free(tok);
  free(pem);
  dt_jwt_key_free(loaded);
  DT_ASSERT_EQ_INT(dt_jwt_key_from_pem("k1", "not a pem", 9, &loaded), DT_EPARSE);
  DT_ASSERT(loaded == NULL);
}

DT_TEST(jwks_export_shape) {
  DT_ASSERT(setup());
  char *doc = dt_jwt_key_jwks_json(good_key);
  cJSON *j = cJSON_Parse(doc);
  cJSON *k = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "keys"), 0);
  DT_ASSERT(k != NULL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(k, "kty")->valuestring, "RSA");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(k, "kid")->valuestring, "k1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(k, "e")->valuestring, "AQAB");
  DT_ASSERT_EQ_INT(strlen(cJSON_GetObjectItem(k, "n")->valuestring), 342); /* 256 bytes */
  cJSON_Delete(j);
  free(doc);
}

DT_TEST(openid_config_parse) {
  const char *doc = "{\"issuer\":\"https://api.botframework.com\","
                    "\"jwks_uri\":\"https://login.botframework.com/v1/.well-known/keys\","
                    "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
  char *uri = NULL, *iss = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_openid_config_parse(doc, strlen(doc), &uri, &iss, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(uri, "https://login.botframework.com/v1/.well-known/keys");
  DT_ASSERT_EQ_STR(iss, "https://api.botframework.com");
  free(uri);
  free(iss);
  const char *nouri = "{\"issuer\":\"x\"}";
  DT_ASSERT_EQ_INT(dt_openid_config_parse(nouri, strlen(nouri), &uri, &iss, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "jwks_uri");
  DT_ASSERT(uri == NULL && iss == NULL);
  DT_ASSERT_EQ_INT(dt_openid_config_parse("nope", 4, &uri, &iss, err, sizeof err), DT_EPARSE);
}

DT_TEST(zz_cleanup) {
  dt_jwks_free(jwks);
  dt_jwt_key_free(good_key);
  dt_jwt_key_free(rogue_key);
  jwks = NULL;
  good_key = rogue_key = NULL;
}

DT_TEST_MAIN()
