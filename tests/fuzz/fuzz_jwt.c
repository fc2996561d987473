/*
 * fuzz_jwt.c — libFuzzer target for core/net/jwt.c: dt_jwt_verify, dt_jwks_parse,
 * dt_openid_config_parse and base64url, all on every input.
 *
 * Per input:
 *  1. the bytes as a token (NUL-terminated copy) against a fixed key set;
 *  2. the bytes as a JWKS document; when it parses, a valid token signed with the fixed
 *     key is verified against it (fuzzed moduli and exponents meet a real signature);
 *  3. the bytes as an OpenID configuration;
 *  4. base64url both ways: decode(encode(x)) == x, and whatever decodes re-encodes to
 *     exactly the same text (the decoder promises one accepted encoding per byte string);
 *  5. when the bytes are a JSON object, they are signed as claims with the fixed key and
 *     verified, and the result is compared with the claim rules computed here (exp, nbf
 *     with the skew, iss in the list, aud a string or an array containing the audience),
 *     so the claim checks are fuzzed behind a good signature.
 *
 * The key is fixed (a test-only RSA-2048 key below, kid "fuzz-key") and so is "now", so
 * any input reproduces exactly and the seed tokens in corpus/fuzz_jwt stay valid. Run
 * the binary with DT_FUZZ_JWT_SEEDS=DIR to (re)write those seeds into DIR.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/jwt.h"
#include "dialtone/log.h"

#define NOW 1700000000
#define SKEW 300
#define AUDIENCE "fuzz-app"
#define MAX_TOKEN (16 * 1024) /* jwt.c refuses longer tokens */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test-only key: never use it for anything but this fuzz target. */
static const char key_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpQIBAAKCAQEA0r5F+iWG3Ffdu1dgk4LbV3UbEw5Q98Onpcgm6CkptsWtKS/D\n"
    "psml72+bsEAyZ8Nxp6geX4iXYduDjEEcpDgpQvW3ezxptmGpkiA/wTXdqqa+JaYL\n"
    "D+hsR5PjLSAkv2Ab07ywRQOwUudTix/GDUAZjs4LYWKam4PLHCNNfZVkdCeVEyCm\n"
    "HdV/BdjxlCE8OZytAOQVSDjJttOVvzUpLg0PhxA12y/ZEPF+eM7maDXSMJGIoQId\n"
    "yCIVnwrP6gwkdxNsoZBRncRx9jHfNTHvkMUYvFpjsBdbwK32MUMZz5gvgIVaQHAB\n"
    "nGMMD7bVdaf9OL89QJH3H+09t/Kgnmt5CbH7UwIDAQABAoIBAGQZ6BBJKfVYsSRO\n"
    "/TskEX7Jy7nx92iwoV3AJCbrgnpkC/u/yd3b83s3VsrRu3+JGN/Lnd2/+jQLukDx\n"
    "HqMsYAEDyQr657WvTwXvVok2RlvMRw6H/8InIuOe7e4d0garJpydCFdHyMWgRpET\n"
    "XxYlJ96qpUI1PX34DI6JgEHSJ7x5wgBL7gDpRUU3btiq87JgCXfJRdhwVqE1EhP8\n"
    "UN7tKtqdVpoq/xFIMmIp/ZI8zBybl6+jPebqgsRIv17uQUC/hpQ31coASyG3p4iT\n"
    "NZ3ikqx+r1wJI45mhTS+mEuTfqITJHGr6b2MVY/DUYEweFbuGyTtDBd3JHK4B44U\n"
    "Y+z0nwkCgYEA7cdjdRp6lGcchB/B3I+8ujyuCW/uwpS1YT1zDcnIdk32+63J9Cib\n"
    "GQ0J9iDJJ5wS6NP5hX4XppT/NL+mkCnVRybw6sDD8sFgsX0j5cpXYhDL4gLy1mNq\n"
    "5OTjR+4qQ9ZF6QggOUa3vf1wJID1OeOqtXSvIZqV6O+x8pFXwAUN93kCgYEA4uSD\n"
    "/S0fAVitNHexRlT0cGB54OL3VXKB2XYyUhoeWhMwlK/8UgJeEleSqTdOnTBDKhSp\n"
    "pc/TJfo004E5zp20kshN9lwzlep/QH3nKcKtT6ayltrM+6ADYd0laR4JJkytGeby\n"
    "ivg6BLHM+ErYkj/8oKxCnZABX6FlU5wkKn6IOisCgYEArVqEpEedvrw+CgWtLMSO\n"
    "b6j1qWO1yp7obfCDBTZrs/S7cFoPtrYz/VuIO61DemFLV/vTGwQG8igGt8pSASC+\n"
    "oZU+Z6gKM93QRRZbKZkPhCuCuVA1AyCQOji1iyeUIMkDRxXpiFiKdTVkoPhz0LSv\n"
    "LIPZesJdMOov7g0Q0KneuOECgYEA4sO5FuRtxI64LWQjDUQDOf1yUk0FHaVgGdOD\n"
    "34KzKxtaxoBNEjnDg1l6/xyDuZ5uwjP8iff39FDpUyooeFQuETWYlcz40bCYlgA/\n"
    "dQFY7e6RNyxfCm2Wc8zuguy+AEVKDEVBy5rjgaWiUdWcNi81cfA4c/llJgrMlo/L\n"
    "pZzo0hkCgYEAgqXO+GQ73Pqb6eCwEFuE6nY/Y9Ps7kKRajUxclgO5r3nmFm94Pgi\n"
    "ukQv0LXjzw3nGl6NtA5B2p4nC/ReZcBxQEPHUl7peI8Q7rYp3nZpyDvI6biQUV2n\n"
    "ud6rIX7UcmIIYLnz7TwyIpuBQ7ck2HLQHPfWJmarHceyhJ5WCBc9kBs=\n"
    "-----END RSA PRIVATE KEY-----\n";

static const char *const issuers[] = {"https://api.botframework.com", "https://graph.microsoft.com"};
static const dt_jwt_verify_options_t opts = {
    .issuers = issuers, .issuer_count = 2, .audience = AUDIENCE, .now = NOW, .clock_skew_s = SKEW};

static dt_jwt_key_t *key;
static dt_jwks_t *jwks;
static char *good_token;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_jwt: broken promise: %s\n", what);
    abort();
  }
}

static char *sign_json(const char *json) {
  cJSON *claims = cJSON_Parse(json);
  check(claims != NULL, "seed claims parse");
  char *tok = NULL;
  check(dt_jwt_sign(key, claims, &tok) == 0, "sign");
  cJSON_Delete(claims);
  return tok;
}

static void write_seed(const char *dir, const char *name, const char *text) {
  char *path = dt_xasprintf("%s/%s", dir, name);
  check(dt_write_file_atomic(path, text, strlen(text)) == 0, "write seed");
  free(path);
}

/* The seeds of corpus/fuzz_jwt, made with the fixed key. */
static void write_seeds(const char *dir) {
  static const struct {
    const char *name, *claims;
  } tokens[] = {
      {"token-valid", "{\"iss\":\"https://api.botframework.com\",\"aud\":\"fuzz-app\","
                      "\"exp\":1700003600,\"nbf\":1699999700,\"serviceurl\":\"https://smba.trafficmanager.net/\"}"},
      {"token-aud-array", "{\"iss\":\"https://graph.microsoft.com\",\"aud\":[\"x\",\"fuzz-app\"],\"exp\":1700000100}"},
      {"token-expired", "{\"iss\":\"https://api.botframework.com\",\"aud\":\"fuzz-app\",\"exp\":1699999000}"},
      {"token-not-yet", "{\"iss\":\"https://api.botframework.com\",\"aud\":\"fuzz-app\",\"exp\":1700009000,\"nbf\":1700005000}"},
      {"token-wrong-iss", "{\"iss\":\"https://evil.example\",\"aud\":\"fuzz-app\",\"exp\":1700003600}"},
      {"token-no-exp", "{\"iss\":\"https://api.botframework.com\",\"aud\":\"fuzz-app\"}"},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(tokens); i++) {
    char *tok = sign_json(tokens[i].claims);
    write_seed(dir, tokens[i].name, tok);
    free(tok);
    char *name = dt_xasprintf("claims-%s.json", tokens[i].name + 6);
    write_seed(dir, name, tokens[i].claims);
    free(name);
  }
  char *jwks_json = dt_jwt_key_jwks_json(key);
  write_seed(dir, "jwks.json", jwks_json);
  /* The same key among keys that are skipped (other kty, use enc). */
  cJSON *doc = cJSON_Parse(jwks_json);
  cJSON *keys = cJSON_GetObjectItem(doc, "keys");
  cJSON *ec = cJSON_Parse("{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}");
  cJSON_AddItemToArray(keys, ec);
  cJSON *enc = cJSON_Duplicate(cJSON_GetArrayItem(keys, 0), 1);
  cJSON_ReplaceItemInObject(enc, "kid", cJSON_CreateString("enc-key"));
  cJSON_AddStringToObject(enc, "use", "enc");
  cJSON_AddItemToArray(keys, enc);
  char *mixed = cJSON_Print(doc);
  write_seed(dir, "jwks-mixed.json", mixed);
  free(mixed);
  cJSON_Delete(doc);
  free(jwks_json);
  write_seed(dir, "openid.json",
             "{\"issuer\":\"https://api.botframework.com\",\"authorization_endpoint\":\"https://invalid."
             "botframework.com\",\"jwks_uri\":\"https://login.botframework.com/v1/.well-known/keys\","
             "\"id_token_signing_alg_values_supported\":[\"RS256\"],"
             "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"]}\n");
  write_seed(dir, "b64url", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZ1enota2V5In0");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  dt_log_set_level(DT_LOG_OFF);
  check(dt_jwt_key_from_pem("fuzz-key", key_pem, sizeof key_pem - 1, &key) == 0, "load key");
  char *json = dt_jwt_key_jwks_json(key);
  char err[256];
  check(dt_jwks_parse(json, strlen(json), &jwks, err, sizeof err) == 0, "parse own JWKS");
  free(json);
  good_token = sign_json("{\"iss\":\"https://api.botframework.com\",\"aud\":\"fuzz-app\",\"exp\":1700003600}");
  check(dt_jwt_verify(jwks, good_token, &opts, NULL, err, sizeof err) == 0, "own token verifies");
  const char *seeds = getenv("DT_FUZZ_JWT_SEEDS");
  if (seeds) {
    write_seeds(seeds);
    exit(0);
  }
  return 0;
}

/* What dt_jwt_verify must decide for a token with a good signature and this payload. */
static int claims_ok(const cJSON *p) {
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
  if (!cJSON_IsNumber(exp) || (double)NOW > exp->valuedouble + SKEW) return 0;
  const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(p, "nbf");
  if (nbf && (!cJSON_IsNumber(nbf) || (double)NOW + SKEW < nbf->valuedouble)) return 0;
  const cJSON *iss = cJSON_GetObjectItemCaseSensitive(p, "iss");
  if (!cJSON_IsString(iss)) return 0;
  if (strcmp(iss->valuestring, issuers[0]) != 0 && strcmp(iss->valuestring, issuers[1]) != 0) return 0;
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(p, "aud");
  if (cJSON_IsString(aud)) return strcmp(aud->valuestring, AUDIENCE) == 0;
  if (!cJSON_IsArray(aud)) return 0;
  const cJSON *a;
  cJSON_ArrayForEach(a, aud) if (cJSON_IsString(a) && strcmp(a->valuestring, AUDIENCE) == 0) return 1;
  return 0;
}

static void fuzz_claims(const char *text, size_t size) {
  cJSON *in = cJSON_ParseWithLength(text, size);
  if (!cJSON_IsObject(in)) {
    cJSON_Delete(in);
    return;
  }
  char *tok = NULL;
  check(dt_jwt_sign(key, in, &tok) == 0, "sign a JSON object");
  /* Judge the payload as signed (printing may normalise what was parsed). */
  char *printed = cJSON_PrintUnformatted(in);
  cJSON_Delete(in);
  cJSON *signed_claims = cJSON_Parse(printed);
  free(printed);
  check(cJSON_IsObject(signed_claims), "signed payload re-parses");
  if (strlen(tok) <= MAX_TOKEN) {
    cJSON *claims = NULL;
    char err[256];
    int rc = dt_jwt_verify(jwks, tok, &opts, &claims, err, sizeof err);
    int want = claims_ok(signed_claims);
    if ((rc == 0) != want) {
      fprintf(stderr, "fuzz_jwt: verify says %d (%s), the claim rules say %s\n", rc,
              rc ? err : "ok", want ? "valid" : "invalid");
      check(0, "claim checks disagree with the rules");
    }
    if (rc == 0) check(cJSON_IsObject(claims), "claims returned");
    else check(rc == DT_EAUTH && claims == NULL, "failure code for bad claims");
    cJSON_Delete(claims);
  }
  cJSON_Delete(signed_claims);
  free(tok);
}

static void fuzz_base64url(const char *text, size_t size) {
  char *enc = dt_base64url_encode(text, size);
  unsigned char *dec = NULL;
  size_t dec_len = 0;
  check(dt_base64url_decode(enc, strlen(enc), &dec, &dec_len) == 0, "decode(encode(x))");
  check(dec_len == size && memcmp(dec, text, size) == 0, "decode(encode(x)) == x");
  free(dec);
  free(enc);
  if (dt_base64url_decode(text, size, &dec, &dec_len) == 0) {
    enc = dt_base64url_encode(dec, dec_len);
    check(strlen(enc) == size && memcmp(enc, text, size) == 0, "one accepted encoding per byte string");
    free(enc);
    free(dec);
  } else {
    check(dec == NULL && dec_len == 0, "decode failure leaves nothing");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = dt_xmalloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  char err[256];

  cJSON *claims = NULL;
  int rc = dt_jwt_verify(jwks, text, &opts, &claims, err, sizeof err);
  check(rc == 0 || rc == DT_EAUTH || rc == DT_ENOENT, "verify error code");
  check((rc == 0) == (claims != NULL), "claims iff verified");
  cJSON_Delete(claims);

  dt_jwks_t *set = NULL;
  rc = dt_jwks_parse(text, size, &set, err, sizeof err);
  check(rc == 0 || rc == DT_EPARSE || rc == DT_ETOOBIG, "jwks error code");
  check((rc == 0) == (set != NULL), "jwks iff parsed");
  if (set) {
    rc = dt_jwt_verify(set, good_token, &opts, NULL, err, sizeof err);
    check(rc == 0 || rc == DT_EAUTH || rc == DT_ENOENT, "verify against a fuzzed set");
    check((rc == DT_ENOENT) == !dt_jwks_has_kid(set, "fuzz-key"), "ENOENT iff the kid is missing");
    dt_jwks_free(set);
  }

  char *uri = NULL, *iss = NULL;
  rc = dt_openid_config_parse(text, size, &uri, &iss, err, sizeof err);
  if (rc == 0) check(uri && iss && uri[0] && iss[0], "openid fields");
  else check(!uri && !iss && (rc == DT_EPARSE || rc == DT_ETOOBIG), "openid failure");
  free(uri);
  free(iss);

  fuzz_base64url(text, size);
  fuzz_claims(text, size);
  free(text);
  return 0;
}
