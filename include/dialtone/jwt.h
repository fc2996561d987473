/*
 * jwt.h — RS256 JSON Web Tokens with mbedTLS: verification against a JWKS, signing
 * (the emulator's notification tokens), and OpenID configuration documents.
 *
 * Verification checks, in order: the token's shape and base64url, alg == RS256, the kid
 * names a key in the set, the signature, exp and nbf with a clock skew, iss in the
 * allowed list, aud equal to the expected audience. Each failure has its own message.
 */
#ifndef DIALTONE_JWT_H
#define DIALTONE_JWT_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef struct dt_jwks_s dt_jwks_t;   /* a set of public RSA keys by kid */
typedef struct dt_jwt_key_s dt_jwt_key_t; /* one private RSA key with its kid */

/* Parses a JWKS document ({"keys":[{"kty":"RSA","kid","n","e",...}]}). Keys of other
   types are skipped. Returns DT_EPARSE on malformed input. */
int dt_jwks_parse(const char *json, size_t len, dt_jwks_t **out, char *err, size_t errlen);
void dt_jwks_free(dt_jwks_t *jwks);
int dt_jwks_has_kid(const dt_jwks_t *jwks, const char *kid);

typedef struct {
  const char *const *issuers;  /* allowed iss values */
  size_t issuer_count;
  const char *audience;        /* required aud (string, or one of an array) */
  int64_t now;                 /* Unix time; 0 = the current time */
  int64_t clock_skew_s;        /* default applied when 0: 300 */
  const char *key_header;      /* header member naming the key: NULL = "kid" ("x5t": a client
                                  assertion names its certificate by thumbprint) */
} dt_jwt_verify_options_t;

/* Verifies token. On success returns 0 and, if claims != NULL, the payload (caller frees
   with cJSON_Delete). On failure returns DT_EAUTH (DT_ENOENT for an unknown kid, so the
   caller can refresh the key set) with the reason in err. */
int dt_jwt_verify(const dt_jwks_t *jwks, const char *token, const dt_jwt_verify_options_t *opts,
                  cJSON **claims, char *err, size_t errlen);

/* Generates a new RSA key (bits: 2048 by default when 0) with the given kid. Slow
   (hundreds of ms): do it once at start-up or off the loop. */
int dt_jwt_key_generate(const char *kid, unsigned bits, dt_jwt_key_t **out);
/* Loads a PEM private key. */
int dt_jwt_key_from_pem(const char *kid, const char *pem, size_t len, dt_jwt_key_t **out);
/* Writes the private key as PEM (for tests that need a TLS key). Caller frees. */
int dt_jwt_key_to_pem(const dt_jwt_key_t *key, char **pem);
void dt_jwt_key_free(dt_jwt_key_t *key);
/* 0 when key is the private half of public_pk (an mbedtls_pk_context *, e.g. a certificate's). */
int dt_jwt_key_matches_public(const dt_jwt_key_t *key, const void *public_pk);
/* The public half as a JWKS document {"keys":[...]} (caller frees). */
char *dt_jwt_key_jwks_json(const dt_jwt_key_t *key);
/* Signs claims (a JSON object, not consumed) as an RS256 JWT with the key's kid. Caller frees. */
int dt_jwt_sign(const dt_jwt_key_t *key, const cJSON *claims, char **token);
/* The same with the key named by another header member (id_header = id, e.g. "x5t" = the
   certificate's thumbprint in a client assertion) instead of "kid". */
int dt_jwt_sign_named(const dt_jwt_key_t *key, const char *id_header, const char *id, const cJSON *claims,
                      char **token);

/* Reads jwks_uri and issuer out of an OpenID configuration document. Caller frees both. */
int dt_openid_config_parse(const char *json, size_t len, char **jwks_uri, char **issuer,
                           char *err, size_t errlen);

/* base64url without padding; caller frees. decode returns DT_EPARSE on bad input. */
char *dt_base64url_encode(const void *data, size_t len);
int dt_base64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

#endif
