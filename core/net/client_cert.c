/*
 * client_cert.c — certificate credentials (see client_cert.h).
 *
 * Owns: the parsed certificate, its thumbprint, its public key as a one-key JWKS (so the
 * check reuses jwt.c's verification, with the key named by "x5t" instead of "kid"), and
 * the private key when one was given. Promises: a key that does not match the certificate
 * is refused at load, not at the first token request; nothing here logs, and the private
 * key never leaves the object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/x509_crt.h>
#include "dialtone/client_cert.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/jwt.h"

#define MAX_PEM_BYTES (64u * 1024u)
#define ASSERTION_LIFETIME_S 600

struct dt_client_cert_s {
  mbedtls_x509_crt crt;
  char x5t[32];          /* base64url of 20 bytes: 27 characters */
  dt_jwks_t *jwks;       /* the certificate's public key, kid = x5t */
  dt_jwt_key_t *key;     /* NULL for a verifier */
};

static int fail(dt_client_cert_t *cc, char *err, size_t errlen, const char *fmt, const char *file, int ret) {
  char detail[128] = "";
  if (ret) mbedtls_strerror(ret, detail, sizeof detail);
  char msg[512];
  snprintf(msg, sizeof msg, fmt, file);
  dt_seterr(err, errlen, DT_ETLS, "%s%s%s", msg, ret ? ": " : "", detail);
  dt_client_cert_free(cc);
  return DT_ETLS;
}

/* {"keys":[{"kty":"RSA","kid":x5t,"n","e"}]} from the certificate's RSA public key. */
static int public_jwks(dt_client_cert_t *cc) {
  mbedtls_rsa_context *rsa = mbedtls_pk_rsa(cc->crt.pk);
  size_t len = mbedtls_rsa_get_len(rsa);
  unsigned char *n = dt_xmalloc(len), e[8];
  int rc = mbedtls_rsa_export_raw(rsa, n, len, NULL, 0, NULL, 0, NULL, 0, e, sizeof e);
  if (rc == 0) {
    size_t skip = 0;
    while (skip < sizeof e - 1 && e[skip] == 0) skip++;
    char *n64 = dt_base64url_encode(n, len), *e64 = dt_base64url_encode(e + skip, sizeof e - skip);
    cJSON *doc = cJSON_CreateObject(), *k = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "keys"), k);
    cJSON_AddStringToObject(k, "kty", "RSA");
    cJSON_AddStringToObject(k, "kid", cc->x5t);
    cJSON_AddStringToObject(k, "n", n64);
    cJSON_AddStringToObject(k, "e", e64);
    char *json = cJSON_PrintUnformatted(doc);
    char why[128];
    rc = dt_jwks_parse(json, strlen(json), &cc->jwks, why, sizeof why);
    DT_FREE_ALL(json, n64, e64);
    cJSON_Delete(doc);
  }
  free(n);
  return rc;
}

int dt_client_cert_load(const char *cert_file, const char *key_file, dt_client_cert_t **out, char *err,
                        size_t errlen) {
  *out = NULL;
  if (!cert_file || !*cert_file) return dt_seterr(err, errlen, DT_EINVAL, "no certificate file");
  dt_client_cert_t *cc = dt_xcalloc(1, sizeof *cc);
  mbedtls_x509_crt_init(&cc->crt);
  int ret = mbedtls_x509_crt_parse_file(&cc->crt, cert_file);
  if (ret != 0) return fail(cc, err, errlen, "certificate %.300s is not a readable PEM certificate", cert_file, ret);
  if (mbedtls_pk_get_type(&cc->crt.pk) != MBEDTLS_PK_RSA)
    return fail(cc, err, errlen, "certificate %.300s: only RSA certificates sign RS256 assertions", cert_file, 0);
  unsigned char sha1[20];
  if ((ret = mbedtls_sha1_ret(cc->crt.raw.p, cc->crt.raw.len, sha1)) != 0)
    return fail(cc, err, errlen, "certificate %.300s: cannot compute its thumbprint", cert_file, ret);
  char *t = dt_base64url_encode(sha1, sizeof sha1);
  snprintf(cc->x5t, sizeof cc->x5t, "%s", t);
  free(t);
  if (public_jwks(cc) != 0)
    return fail(cc, err, errlen, "certificate %.300s: cannot use its public key", cert_file, 0);
  if (key_file) {
    char *pem = NULL;
    size_t len = 0;
    if (dt_read_file(key_file, MAX_PEM_BYTES, &pem, &len) != 0)
      return fail(cc, err, errlen, "private key %.300s cannot be read", key_file, 0);
    ret = dt_jwt_key_from_pem(cc->x5t, pem, len, &cc->key);
    explicit_bzero(pem, len);
    free(pem);
    if (ret != 0) return fail(cc, err, errlen, "private key %.300s is not a PEM RSA private key", key_file, 0);
    if (dt_jwt_key_matches_public(cc->key, &cc->crt.pk) != 0)
      return fail(cc, err, errlen, "private key %.300s does not belong to the certificate", key_file, 0);
  }
  *out = cc;
  return 0;
}

void dt_client_cert_free(dt_client_cert_t *cc) {
  if (!cc) return;
  mbedtls_x509_crt_free(&cc->crt);
  dt_jwks_free(cc->jwks);
  dt_jwt_key_free(cc->key);
  free(cc);
}

const char *dt_client_cert_thumbprint(const dt_client_cert_t *cc) { return cc ? cc->x5t : NULL; }

int dt_client_cert_assertion(const dt_client_cert_t *cc, const char *client_id, const char *audience, int64_t now,
                             char **jwt) {
  *jwt = NULL;
  if (!cc || !cc->key || !client_id || !audience) return DT_EINVAL;
  if (now == 0) now = dt_unix_time();
  unsigned char r[16];
  dt_random_bytes(r, sizeof r);
  char jti[40];
  snprintf(jti, sizeof jti, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
           r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
  cJSON *claims = cJSON_CreateObject();
  cJSON_AddStringToObject(claims, "aud", audience);
  cJSON_AddStringToObject(claims, "iss", client_id);
  cJSON_AddStringToObject(claims, "sub", client_id);
  cJSON_AddStringToObject(claims, "jti", jti);
  cJSON_AddNumberToObject(claims, "nbf", (double)now);
  cJSON_AddNumberToObject(claims, "iat", (double)now);
  cJSON_AddNumberToObject(claims, "exp", (double)(now + ASSERTION_LIFETIME_S));
  int rc = dt_jwt_sign_named(cc->key, "x5t", cc->x5t, claims, jwt);
  cJSON_Delete(claims);
  return rc;
}

/* The header's x5t (a fresh string) or NULL when the token has no readable header. */
static char *header_x5t(const char *jwt) {
  const char *dot = strchr(jwt, '.');
  if (!dot || dot == jwt || dot - jwt > 4096) return NULL;
  unsigned char *raw = NULL;
  size_t len = 0;
  if (dt_base64url_decode(jwt, (size_t)(dot - jwt), &raw, &len) != 0) return NULL;
  cJSON *h = cJSON_ParseWithLength((const char *)raw, len);
  free(raw);
  const cJSON *x5t = cJSON_GetObjectItemCaseSensitive(h, "x5t");
  char *out = cJSON_IsString(x5t) ? dt_xstrdup(x5t->valuestring) : NULL;
  cJSON_Delete(h);
  return out;
}

dt_assertion_result_t dt_client_cert_check(const dt_client_cert_t *registered, const char *jwt, const char *client_id,
                                           const char *audience, int64_t now, char *err, size_t errlen) {
  if (!registered || !jwt || !client_id || !audience) {
    dt_seterr(err, errlen, DT_EINVAL, "no assertion");
    return DT_ASSERTION_MALFORMED;
  }
  char *x5t = header_x5t(jwt);
  if (x5t == NULL) {
    dt_seterr(err, errlen, DT_EAUTH, "the assertion is not a JWT whose header names its certificate (x5t)");
    return DT_ASSERTION_MALFORMED;
  }
  bool known = strcmp(x5t, registered->x5t) == 0;
  if (!known)
    dt_seterr(err, errlen, DT_EAUTH, "the certificate with thumbprint %.40s is not registered for the application", x5t);
  free(x5t);
  if (!known) return DT_ASSERTION_UNKNOWN_CERT;
  const char *issuers[] = {client_id};
  dt_jwt_verify_options_t vo = {.issuers = issuers, .issuer_count = 1, .audience = audience, .now = now,
                                .key_header = "x5t"};
  cJSON *claims = NULL;
  char why[256] = "";
  if (dt_jwt_verify(registered->jwks, jwt, &vo, &claims, why, sizeof why) != 0) {
    dt_seterr(err, errlen, DT_EAUTH, "%s", why);
    if (strstr(why, "expired") || strstr(why, "not yet valid") || strstr(why, "exp claim")) return DT_ASSERTION_EXPIRED;
    if (strstr(why, "wrong audience")) return DT_ASSERTION_WRONG_AUDIENCE;
    if (strstr(why, "wrong issuer")) return DT_ASSERTION_WRONG_CLIENT;
    if (strstr(why, "signature")) return DT_ASSERTION_BAD_SIGNATURE;
    return DT_ASSERTION_MALFORMED;
  }
  const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
  bool sub_ok = cJSON_IsString(sub) && strcmp(sub->valuestring, client_id) == 0;
  cJSON_Delete(claims);
  if (!sub_ok) {
    dt_seterr(err, errlen, DT_EAUTH, "the assertion's sub is not the client_id");
    return DT_ASSERTION_WRONG_CLIENT;
  }
  return DT_ASSERTION_OK;
}
