/*
 * jwt.c — RS256 JSON Web Tokens on mbedTLS 2.28 (see jwt.h).
 *
 * Owns: base64url, JWKS documents turned into ready-to-use RSA public contexts, token
 * verification, RSA private keys (generate, PEM in/out, JWKS export, signing) and the
 * two fields dialtone needs from an OpenID configuration document.
 *
 * Promises:
 *  - Every input is bounded before it is parsed: tokens <= 16 KiB, JWKS documents
 *    <= 256 KiB with <= 64 RSA keys, OpenID documents <= 256 KiB, RSA moduli of
 *    2048..8192 bits.
 *  - Keys are parsed once, in dt_jwks_parse(); dt_jwt_verify() only decodes the token,
 *    hashes and runs one RSA public operation, so thousands of verifications a second
 *    cost little. A jwks object may be shared between threads for verification
 *    (mbedTLS is built with MBEDTLS_THREADING_C, which locks the RSA context).
 *  - Each private key keeps its own parsed context and CTR-DRBG (for RSA blinding), so
 *    signing never re-parses. Signing is still an RSA private operation (milliseconds):
 *    callers on the loop should sign off the loop or rarely.
 *  - Verification is strict: exactly three base64url parts without padding, a JSON
 *    object header with alg RS256 and a kid, no "crit" header, a JSON object payload,
 *    a signature exactly as long as the modulus, and an exp claim. Each failure writes
 *    its own message into err.
 *  - Options: an issuer list of length 0 skips the issuer check and a NULL audience
 *    skips the audience check (the caller decides; dialtone's ingress always sets both).
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/jwt.h"

#define JWT_MAX_TOKEN (16 * 1024)
#define JWKS_MAX_BYTES (256 * 1024)
#define JWKS_MAX_KEYS 64
#define OPENID_MAX_BYTES (256 * 1024)
#define RSA_MIN_BYTES 256  /* 2048 bits */
#define RSA_MAX_BYTES 1024 /* 8192 bits */
#define KID_MAX 256
#define PEM_MAX 16384
#define DEFAULT_SKEW_S 300

typedef struct {
  char *kid;
  mbedtls_rsa_context rsa;
} jwks_key_t;

struct dt_jwks_s {
  size_t count;
  jwks_key_t keys[];
};

struct dt_jwt_key_s {
  char *kid;
  mbedtls_pk_context pk;
  mbedtls_ctr_drbg_context drbg;
};

/* ---- base64url ------------------------------------------------------------------- */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *dt_base64url_encode(const void *data, size_t len) {
  const unsigned char *in = data;
  size_t out_len = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
  char *out = dt_xmalloc(out_len + 1);
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64url_alphabet[v >> 18 & 63];
    out[o++] = b64url_alphabet[v >> 12 & 63];
    out[o++] = b64url_alphabet[v >> 6 & 63];
    out[o++] = b64url_alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = b64url_alphabet[v >> 18 & 63];
    out[o++] = b64url_alphabet[v >> 12 & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = b64url_alphabet[v >> 18 & 63];
    out[o++] = b64url_alphabet[v >> 12 & 63];
    out[o++] = b64url_alphabet[v >> 6 & 63];
  }
  out[o] = '\0';
  return out;
}

static int b64url_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Strict: no padding, no whitespace, no standard-base64 '+' '/', and unused trailing
   bits must be zero, so every byte string has exactly one accepted encoding. */
int dt_base64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (len % 4 == 1) return DT_EPARSE;
  size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
  unsigned char *buf = dt_xmalloc(n + 1);
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64url_value((unsigned char)text[i]);
    if (v < 0) {
      free(buf);
      return DT_EPARSE;
    }
    acc = (acc << 6 | (uint32_t)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[o++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    free(buf);
    return DT_EPARSE;
  }
  buf[o] = '\0';
  *out = buf;
  *out_len = o;
  return 0;
}

/* ---- JWKS ------------------------------------------------------------------------- */

static const char *json_string(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int import_public_key(mbedtls_rsa_context *rsa, const char *n_b64, const char *e_b64,
                             char *err, size_t errlen, size_t index) {
  unsigned char *n = NULL, *e = NULL;
  size_t n_len = 0, e_len = 0;
  int rc = DT_EPARSE;
  if (dt_base64url_decode(n_b64, strlen(n_b64), &n, &n_len) != 0) {
    dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: n is not base64url", index);
    goto out;
  }
  if (dt_base64url_decode(e_b64, strlen(e_b64), &e, &e_len) != 0) {
    dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: e is not base64url", index);
    goto out;
  }
  /* Leading zero bytes do not count toward the modulus size. */
  size_t skip = 0;
  while (skip < n_len && n[skip] == 0) skip++;
  if (n_len - skip < RSA_MIN_BYTES || n_len - skip > RSA_MAX_BYTES) {
    dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: RSA modulus of %zu bits (need 2048..8192)",
              index, (n_len - skip) * 8);
    goto out;
  }
  if (e_len == 0 || e_len > 8) {
    dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: bad RSA exponent", index);
    goto out;
  }
  if (mbedtls_rsa_import_raw(rsa, n + skip, n_len - skip, NULL, 0, NULL, 0, NULL, 0, e, e_len) != 0 ||
      mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0) {
    dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: not a valid RSA public key", index);
    goto out;
  }
  rc = 0;
out:
  free(n);
  free(e);
  return rc;
}

/* A downloaded document (JWKS, OpenID configuration) as a JSON object in *doc (the caller
   deletes it): DT_EINVAL without one, DT_ETOOBIG over limit bytes, DT_EPARSE if it is not a
   JSON object. what names the document in the messages, short_what in the last one. */
static int parse_document(const char *json, size_t len, int limit, const char *what,
                          const char *short_what, cJSON **doc, char *err, size_t errlen) {
  *doc = NULL;
  if (json == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no %s", what);
  if (len > (size_t)limit)
    return dt_seterr(err, errlen, DT_ETOOBIG, "%s of %zu bytes (limit %d)", what, len, limit);
  cJSON *d = cJSON_ParseWithLength(json, len);
  if (d == NULL || !cJSON_IsObject(d)) {
    cJSON_Delete(d);
    return dt_seterr(err, errlen, DT_EPARSE, "%s is not a JSON object", short_what);
  }
  *doc = d;
  return 0;
}

int dt_jwks_parse(const char *json, size_t len, dt_jwks_t **out, char *err, size_t errlen) {
  *out = NULL;
  cJSON *doc;
  int prc = parse_document(json, len, JWKS_MAX_BYTES, "JWKS document", "JWKS", &doc, err, errlen);
  if (prc != 0) return prc;
  const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
  if (!cJSON_IsArray(keys)) {
    cJSON_Delete(doc);
    return dt_seterr(err, errlen, DT_EPARSE, "JWKS has no \"keys\" array");
  }
  int total = cJSON_GetArraySize(keys);
  if (total > JWKS_MAX_KEYS) {
    cJSON_Delete(doc);
    return dt_seterr(err, errlen, DT_ETOOBIG, "JWKS has %d keys (limit %d)", total, JWKS_MAX_KEYS);
  }
  dt_jwks_t *set = dt_xcalloc(1, sizeof *set + (size_t)total * sizeof(jwks_key_t));
  size_t index = 0;
  int rc = 0;
  const cJSON *k;
  cJSON_ArrayForEach(k, keys) {
    size_t i = index++;
    if (!cJSON_IsObject(k)) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "keys[%zu] is not an object", i);
      break;
    }
    const char *kty = json_string(k, "kty");
    if (kty == NULL) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "keys[%zu] has no kty", i);
      break;
    }
    const char *use = json_string(k, "use");
    if (strcmp(kty, "RSA") != 0 || (use != NULL && strcmp(use, "sig") != 0)) continue;
    const char *kid = json_string(k, "kid");
    const char *n = json_string(k, "n");
    const char *e = json_string(k, "e");
    if (kid == NULL || n == NULL || e == NULL) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: RSA key needs string kid, n and e", i);
      break;
    }
    if (strlen(kid) == 0 || strlen(kid) > KID_MAX) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "keys[%zu]: kid must be 1..%d characters", i, KID_MAX);
      break;
    }
    jwks_key_t *slot = &set->keys[set->count];
    mbedtls_rsa_init(&slot->rsa, MBEDTLS_RSA_PKCS_V15, 0);
    if ((rc = import_public_key(&slot->rsa, n, e, err, errlen, i)) != 0) {
      mbedtls_rsa_free(&slot->rsa);
      break;
    }
    slot->kid = dt_xstrdup(kid);
    set->count++;
  }
  cJSON_Delete(doc);
  if (rc != 0) {
    dt_jwks_free(set);
    return rc;
  }
  *out = set;
  return 0;
}

void dt_jwks_free(dt_jwks_t *jwks) {
  if (jwks == NULL) return;
  for (size_t i = 0; i < jwks->count; i++) {
    free(jwks->keys[i].kid);
    mbedtls_rsa_free(&jwks->keys[i].rsa);
  }
  free(jwks);
}

static jwks_key_t *jwks_find(const dt_jwks_t *jwks, const char *kid) {
  if (jwks == NULL || kid == NULL) return NULL;
  for (size_t i = 0; i < jwks->count; i++)
    if (strcmp(jwks->keys[i].kid, kid) == 0) return (jwks_key_t *)&jwks->keys[i];
  return NULL;
}

int dt_jwks_has_kid(const dt_jwks_t *jwks, const char *kid) { return jwks_find(jwks, kid) != NULL; }

/* ---- verification ----------------------------------------------------------------- */

static cJSON *decode_json_part(const char *text, size_t len) {
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  if (dt_base64url_decode(text, len, &raw, &raw_len) != 0) return NULL;
  cJSON *j = cJSON_ParseWithLength((const char *)raw, raw_len);
  free(raw);
  if (j != NULL && !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

/* A NumericDate claim: absent (1), a number (0, *out set) or wrong type (-1). */
static int numeric_claim(const cJSON *payload, const char *name, double *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(payload, name);
  if (item == NULL) return 1;
  if (!cJSON_IsNumber(item)) return -1;
  *out = item->valuedouble;
  return 0;
}

static int audience_matches(const cJSON *aud, const char *want) {
  if (cJSON_IsString(aud)) return strcmp(aud->valuestring, want) == 0;
  if (cJSON_IsArray(aud)) {
    const cJSON *a;
    cJSON_ArrayForEach(a, aud) {
      if (cJSON_IsString(a) && strcmp(a->valuestring, want) == 0) return 1;
    }
  }
  return 0;
}

int dt_jwt_verify(const dt_jwks_t *jwks, const char *token, const dt_jwt_verify_options_t *opts,
                  cJSON **claims, char *err, size_t errlen) {
  if (claims) *claims = NULL;
  if (token == NULL || jwks == NULL) return dt_seterr(err, errlen, DT_EAUTH, "no token");
  size_t len = strnlen(token, JWT_MAX_TOKEN + 1);
  if (len > JWT_MAX_TOKEN)
    return dt_seterr(err, errlen, DT_EAUTH, "token longer than %d bytes", JWT_MAX_TOKEN);
  const char *dot1 = memchr(token, '.', len);
  const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
  if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
    return dt_seterr(err, errlen, DT_EAUTH, "token is not three dot-separated parts");
  size_t head_len = (size_t)(dot1 - token);
  size_t body_len = (size_t)(dot2 - dot1 - 1);
  size_t sig_len = len - (size_t)(dot2 + 1 - token);
  if (head_len == 0 || body_len == 0 || sig_len == 0)
    return dt_seterr(err, errlen, DT_EAUTH, "token has an empty part");

  int rc = DT_EAUTH;
  cJSON *header = NULL, *payload = NULL;
  unsigned char *sig = NULL;
  size_t sig_bytes = 0;

  if ((header = decode_json_part(token, head_len)) == NULL) {
    dt_seterr(err, errlen, DT_EAUTH, "token header is not base64url JSON object");
    goto out;
  }
  if ((payload = decode_json_part(dot1 + 1, body_len)) == NULL) {
    dt_seterr(err, errlen, DT_EAUTH, "token payload is not a base64url JSON object");
    goto out;
  }
  if (dt_base64url_decode(dot2 + 1, sig_len, &sig, &sig_bytes) != 0) {
    dt_seterr(err, errlen, DT_EAUTH, "token signature is not base64url");
    goto out;
  }
  const char *alg = json_string(header, "alg");
  if (alg == NULL || strcmp(alg, "RS256") != 0) {
    dt_seterr(err, errlen, DT_EAUTH, "token alg is %s%s%s, only RS256 is accepted",
              alg ? "\"" : "", alg ? alg : "missing", alg ? "\"" : "");
    goto out;
  }
  if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL) {
    dt_seterr(err, errlen, DT_EAUTH, "token header has unsupported \"crit\" extensions");
    goto out;
  }
  const char *key_header = opts && opts->key_header ? opts->key_header : "kid";
  const char *kid = json_string(header, key_header);
  if (kid == NULL) {
    dt_seterr(err, errlen, DT_EAUTH, "token header has no %s", key_header);
    goto out;
  }
  jwks_key_t *key = jwks_find(jwks, kid);
  if (key == NULL) {
    rc = dt_seterr(err, errlen, DT_ENOENT, "token %s \"%.64s\" is not in the key set", key_header, kid);
    goto out;
  }
  if (sig_bytes != mbedtls_rsa_get_len(&key->rsa)) {
    dt_seterr(err, errlen, DT_EAUTH, "bad signature (length %zu, key needs %zu)", sig_bytes,
              mbedtls_rsa_get_len(&key->rsa));
    goto out;
  }
  unsigned char hash[32];
  if (mbedtls_sha256_ret((const unsigned char *)token, (size_t)(dot2 - token), hash, 0) != 0 ||
      mbedtls_rsa_rsassa_pkcs1_v15_verify(&key->rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC,
                                          MBEDTLS_MD_SHA256, sizeof hash, hash, sig) != 0) {
    dt_seterr(err, errlen, DT_EAUTH, "bad signature");
    goto out;
  }

  int64_t now = opts && opts->now ? opts->now : dt_unix_time();
  int64_t skew = opts && opts->clock_skew_s ? opts->clock_skew_s : DEFAULT_SKEW_S;
  double exp = 0, nbf = 0;
  int have = numeric_claim(payload, "exp", &exp);
  if (have != 0) {
    dt_seterr(err, errlen, DT_EAUTH, have > 0 ? "token has no exp claim" : "token exp is not a number");
    goto out;
  }
  if ((double)now > exp + (double)skew) {
    dt_seterr(err, errlen, DT_EAUTH, "token expired (exp %.0f, now %lld)", exp, (long long)now);
    goto out;
  }
  have = numeric_claim(payload, "nbf", &nbf);
  if (have < 0) {
    dt_seterr(err, errlen, DT_EAUTH, "token nbf is not a number");
    goto out;
  }
  if (have == 0 && (double)now + (double)skew < nbf) {
    dt_seterr(err, errlen, DT_EAUTH, "token not yet valid (nbf %.0f, now %lld)", nbf, (long long)now);
    goto out;
  }
  if (opts && opts->issuer_count > 0) {
    const char *iss = json_string(payload, "iss");
    int ok = 0;
    for (size_t i = 0; iss && i < opts->issuer_count; i++)
      if (opts->issuers[i] && strcmp(opts->issuers[i], iss) == 0) ok = 1;
    if (!ok) {
      dt_seterr(err, errlen, DT_EAUTH, "wrong issuer \"%.128s\"", iss ? iss : "(none)");
      goto out;
    }
  }
  if (opts && opts->audience) {
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(payload, "aud");
    if (!audience_matches(aud, opts->audience)) {
      const char *shown = cJSON_IsString(aud) ? aud->valuestring : aud ? "(other)" : "(none)";
      dt_seterr(err, errlen, DT_EAUTH, "wrong audience \"%.128s\"", shown);
      goto out;
    }
  }
  rc = 0;
  if (claims) {
    *claims = payload;
    payload = NULL;
  }
out:
  cJSON_Delete(header);
  cJSON_Delete(payload);
  free(sig);
  return rc;
}

/* ---- private keys ----------------------------------------------------------------- */

static int os_entropy(void *ctx, unsigned char *buf, size_t len) {
  dt_random_bytes(buf, len);
  return 0;
}

static dt_jwt_key_t *key_new(const char *kid) {
  dt_jwt_key_t *key = dt_xcalloc(1, sizeof *key);
  key->kid = dt_xstrdup(kid ? kid : "");
  mbedtls_pk_init(&key->pk);
  mbedtls_ctr_drbg_init(&key->drbg);
  static const unsigned char personal[] = "dialtone-jwt";
  if (mbedtls_ctr_drbg_seed(&key->drbg, os_entropy, NULL, personal, sizeof personal - 1) != 0) {
    dt_jwt_key_free(key);
    return NULL;
  }
  return key;
}

void dt_jwt_key_free(dt_jwt_key_t *key) {
  if (key == NULL) return;
  mbedtls_pk_free(&key->pk);
  mbedtls_ctr_drbg_free(&key->drbg);
  free(key->kid);
  free(key);
}

int dt_jwt_key_generate(const char *kid, unsigned bits, dt_jwt_key_t **out) {
  *out = NULL;
  if (bits == 0) bits = 2048;
  if (bits < RSA_MIN_BYTES * 8 || bits > RSA_MAX_BYTES * 8 || bits % 8) return DT_EINVAL;
  if (kid == NULL || strlen(kid) == 0 || strlen(kid) > KID_MAX) return DT_EINVAL;
  dt_jwt_key_t *key = key_new(kid);
  if (key == NULL) return DT_EIO;
  if (mbedtls_pk_setup(&key->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
      mbedtls_rsa_gen_key(mbedtls_pk_rsa(key->pk), mbedtls_ctr_drbg_random, &key->drbg, bits,
                          65537) != 0) {
    dt_jwt_key_free(key);
    return DT_EIO;
  }
  *out = key;
  return 0;
}

int dt_jwt_key_from_pem(const char *kid, const char *pem, size_t len, dt_jwt_key_t **out) {
  *out = NULL;
  if (pem == NULL || len == 0 || len > PEM_MAX) return len > PEM_MAX ? DT_ETOOBIG : DT_EINVAL;
  if (kid == NULL || strlen(kid) == 0 || strlen(kid) > KID_MAX) return DT_EINVAL;
  dt_jwt_key_t *key = key_new(kid);
  if (key == NULL) return DT_EIO;
  /* mbedTLS wants PEM input NUL-terminated and the terminator counted in the length. */
  char *copy = dt_xmalloc(len + 1);
  memcpy(copy, pem, len);
  copy[len] = '\0';
  int rc = mbedtls_pk_parse_key(&key->pk, (const unsigned char *)copy, len + 1, NULL, 0);
  explicit_bzero(copy, len + 1); /* a private key */
  free(copy);
  if (rc != 0 || mbedtls_pk_get_type(&key->pk) != MBEDTLS_PK_RSA ||
      mbedtls_rsa_get_len(mbedtls_pk_rsa(key->pk)) < RSA_MIN_BYTES ||
      mbedtls_rsa_get_len(mbedtls_pk_rsa(key->pk)) > RSA_MAX_BYTES) {
    dt_jwt_key_free(key);
    return DT_EPARSE;
  }
  *out = key;
  return 0;
}

int dt_jwt_key_matches_public(const dt_jwt_key_t *key, const void *public_pk) {
  if (!key || !public_pk) return DT_EINVAL;
  return mbedtls_pk_check_pair((const mbedtls_pk_context *)public_pk, &key->pk) == 0 ? 0 : DT_EAUTH;
}

int dt_jwt_key_to_pem(const dt_jwt_key_t *key, char **pem) {
  *pem = NULL;
  if (key == NULL) return DT_EINVAL;
  unsigned char *buf = dt_xmalloc(PEM_MAX);
  if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&key->pk, buf, PEM_MAX) != 0) {
    free(buf);
    return DT_EIO;
  }
  *pem = (char *)buf;
  return 0;
}

static char *mpi_b64url(const mbedtls_mpi *x) {
  size_t n = mbedtls_mpi_size(x);
  unsigned char *raw = dt_xmalloc(n ? n : 1);
  char *text = NULL;
  if (mbedtls_mpi_write_binary(x, raw, n) == 0) text = dt_base64url_encode(raw, n);
  free(raw);
  return text;
}

char *dt_jwt_key_jwks_json(const dt_jwt_key_t *key) {
  if (key == NULL) return NULL;
  mbedtls_mpi n, e;
  mbedtls_mpi_init(&n);
  mbedtls_mpi_init(&e);
  char *out = NULL, *n64 = NULL, *e64 = NULL;
  if (mbedtls_rsa_export(mbedtls_pk_rsa(key->pk), &n, NULL, NULL, NULL, &e) != 0) goto done;
  n64 = mpi_b64url(&n);
  e64 = mpi_b64url(&e);
  if (n64 == NULL || e64 == NULL) goto done;
  cJSON *doc = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(doc, "keys");
  cJSON *k = cJSON_CreateObject();
  cJSON_AddStringToObject(k, "kty", "RSA");
  cJSON_AddStringToObject(k, "use", "sig");
  cJSON_AddStringToObject(k, "alg", "RS256");
  cJSON_AddStringToObject(k, "kid", key->kid);
  cJSON_AddStringToObject(k, "n", n64);
  cJSON_AddStringToObject(k, "e", e64);
  cJSON_AddItemToArray(keys, k);
  out = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
done:
  free(n64);
  free(e64);
  mbedtls_mpi_free(&n);
  mbedtls_mpi_free(&e);
  return out;
}

int dt_jwt_sign(const dt_jwt_key_t *key, const cJSON *claims, char **token) {
  return dt_jwt_sign_named(key, "kid", key ? key->kid : NULL, claims, token);
}

int dt_jwt_sign_named(const dt_jwt_key_t *key, const char *id_header, const char *id, const cJSON *claims,
                      char **token) {
  *token = NULL;
  if (key == NULL || !cJSON_IsObject(claims) || !id_header || !id) return DT_EINVAL;
  cJSON *header = cJSON_CreateObject();
  cJSON_AddStringToObject(header, "alg", "RS256");
  cJSON_AddStringToObject(header, "typ", "JWT");
  cJSON_AddStringToObject(header, id_header, id);
  char *header_json = cJSON_PrintUnformatted(header);
  char *payload_json = cJSON_PrintUnformatted(claims);
  cJSON_Delete(header);
  if (header_json == NULL || payload_json == NULL) {
    free(header_json);
    free(payload_json);
    return DT_ENOMEM;
  }
  char *h64 = dt_base64url_encode(header_json, strlen(header_json));
  char *p64 = dt_base64url_encode(payload_json, strlen(payload_json));
  free(header_json);
  free(payload_json);
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "%s.%s", h64, p64);
  free(h64);
  free(p64);

  /* The DRBG and RSA context are locked by mbedTLS itself (MBEDTLS_THREADING_C), so the
     cast away from const is the only mutation and is safe across threads. */
  dt_jwt_key_t *k = (dt_jwt_key_t *)key;
  mbedtls_rsa_context *rsa = mbedtls_pk_rsa(k->pk);
  size_t sig_len = mbedtls_rsa_get_len(rsa);
  unsigned char hash[32];
  unsigned char *sig = dt_xmalloc(sig_len);
  int rc = 0;
  if (mbedtls_sha256_ret((const unsigned char *)b.data, b.len, hash, 0) != 0 ||
      mbedtls_rsa_rsassa_pkcs1_v15_sign(rsa, mbedtls_ctr_drbg_random, &k->drbg, MBEDTLS_RSA_PRIVATE,
                                        MBEDTLS_MD_SHA256, sizeof hash, hash, sig) != 0) {
    rc = DT_EIO;
  } else {
    char *s64 = dt_base64url_encode(sig, sig_len);
    dt_buf_appendf(&b, ".%s", s64);
    free(s64);
    *token = dt_xstrdup(b.data);
  }
  free(sig);
  dt_buf_free(&b);
  return rc;
}

/* ---- OpenID configuration --------------------------------------------------------- */

int dt_openid_config_parse(const char *json, size_t len, char **jwks_uri, char **issuer,
                           char *err, size_t errlen) {
  *jwks_uri = NULL;
  *issuer = NULL;
  cJSON *doc;
  int prc = parse_document(json, len, OPENID_MAX_BYTES, "OpenID configuration", "OpenID configuration",
                           &doc, err, errlen);
  if (prc != 0) return prc;
  const char *uri = json_string(doc, "jwks_uri");
  const char *iss = json_string(doc, "issuer");
  int rc = 0;
  if (uri == NULL || uri[0] == '\0')
    rc = dt_seterr(err, errlen, DT_EPARSE, "OpenID configuration has no jwks_uri");
  else if (iss == NULL || iss[0] == '\0')
    rc = dt_seterr(err, errlen, DT_EPARSE, "OpenID configuration has no issuer");
  else {
    *jwks_uri = dt_xstrdup(uri);
    *issuer = dt_xstrdup(iss);
  }
  cJSON_Delete(doc);
  return rc;
}
