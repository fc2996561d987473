/*
 * client_cert.h — certificate credentials for the Microsoft identity platform: the client
 * assertion an app signs with its certificate's private key instead of sending a client
 * secret, and the check the emulator's token endpoint makes of one.
 *
 * An assertion is an RS256 JWT whose header names the certificate by its thumbprint
 * ("x5t": base64url of the SHA-1 of the certificate's DER) and whose claims are aud = the
 * token endpoint, iss = sub = the app's client id, jti (unique), nbf, iat and exp (10
 * minutes), as the identity platform specifies ("Microsoft identity platform application
 * authentication certificate credentials"). It is sent as client_assertion with
 * client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer.
 */
#ifndef DIALTONE_CLIENT_CERT_H
#define DIALTONE_CLIENT_CERT_H
#include <stddef.h>
#include <stdint.h>

#define DT_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct dt_client_cert_s dt_client_cert_t;

/* Loads a PEM certificate and, when key_file is not NULL, its PEM private key (an app
   signing assertions needs both; a verifier such as the emulator only the certificate).
   DT_ETLS with the file and the cause in err: unreadable, not PEM, not RSA, or a key that
   does not belong to the certificate. */
int dt_client_cert_load(const char *cert_file, const char *key_file, dt_client_cert_t **out, char *err,
                        size_t errlen);
void dt_client_cert_free(dt_client_cert_t *cc);
/* The certificate's "x5t" thumbprint (base64url SHA-1 of its DER). */
const char *dt_client_cert_thumbprint(const dt_client_cert_t *cc);

/* A signed assertion for client_id to present at the token endpoint audience (its URL) at
   Unix time now (0 = the clock). DT_EINVAL without a private key. Caller frees *jwt. */
int dt_client_cert_assertion(const dt_client_cert_t *cc, const char *client_id, const char *audience, int64_t now,
                             char **jwt);

typedef enum {
  DT_ASSERTION_OK = 0,
  DT_ASSERTION_MALFORMED,        /* not a JWT, wrong alg, no x5t */
  DT_ASSERTION_UNKNOWN_CERT,     /* signed with a certificate that is not registered */
  DT_ASSERTION_BAD_SIGNATURE,
  DT_ASSERTION_EXPIRED,          /* outside nbf..exp (5 minutes of skew) */
  DT_ASSERTION_WRONG_AUDIENCE,   /* aud is not the token endpoint */
  DT_ASSERTION_WRONG_CLIENT,     /* iss or sub is not the client_id */
} dt_assertion_result_t;

/* Checks an assertion against a registered certificate; the reason in words in err. */
dt_assertion_result_t dt_client_cert_check(const dt_client_cert_t *registered, const char *jwt, const char *client_id,
                                           const char *audience, int64_t now, char *err, size_t errlen);

#endif
