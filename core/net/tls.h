/*
 * tls.h — internal: server-side TLS (mbedTLS 2.28) over caller-supplied byte buffers.
 *
 * The HTTP server owns the sockets; this module owns only mbedTLS state. Ciphertext the
 * peer sent is lent with dt__tls_conn_set_input() and fully consumed by the next
 * handshake/read calls (they run until mbedTLS wants more input). Ciphertext to send
 * accumulates inside the connection and is taken with dt__tls_conn_take_output(), so the
 * caller can hand it to uv_write. Nothing here blocks or touches the loop.
 *
 * A config (certificate chain, key, RNG) is loaded once per server and shared read-only
 * by all of its connections. It is reference-counted: each connection holds a reference,
 * so a server can swap in a renewed certificate (SIGHUP) while connections set up with the
 * old one finish on it.
 */
#ifndef DIALTONE_CORE_TLS_H
#define DIALTONE_CORE_TLS_H
#include <stdbool.h>
#include <stddef.h>

typedef struct dt__tls_config_s dt__tls_config_t;
typedef struct dt__tls_conn_s dt__tls_conn_t;

/* Loads a PEM certificate chain and private key. DT_ETLS (with the file named in err) on
   an unreadable or invalid file, or a key that does not match the certificate. */
int dt__tls_config_new(const char *cert_file, const char *key_file, dt__tls_config_t **out,
                       char *err, size_t errlen);
/* Releases the caller's reference; the config is freed with the last one (NULL is fine). */
void dt__tls_config_free(dt__tls_config_t *cfg);

/* NULL if mbedTLS cannot set up the session (out of memory). Holds a reference on cfg. */
dt__tls_conn_t *dt__tls_conn_new(dt__tls_config_t *cfg);
void dt__tls_conn_free(dt__tls_conn_t *c);

/* Lends ciphertext received from the peer; it must stay valid until the following
   dt__tls_conn_handshake()/dt__tls_conn_read() calls have returned DT__TLS_WANT_INPUT. */
void dt__tls_conn_set_input(dt__tls_conn_t *c, const char *data, size_t len);
/* Bytes of the lent input not yet consumed. */
size_t dt__tls_conn_input_left(const dt__tls_conn_t *c);

#define DT__TLS_WANT_INPUT 0
/* Advances the handshake: 1 when complete (now or earlier), DT__TLS_WANT_INPUT while it
   needs more bytes from the peer, DT_ETLS on failure (a detail is in the error text). */
int dt__tls_conn_handshake(dt__tls_conn_t *c);
bool dt__tls_conn_established(const dt__tls_conn_t *c);
/* Decrypts into buf: >0 bytes of plaintext, DT__TLS_WANT_INPUT when the lent input is
   exhausted, DT_ECLOSED when the peer sent close_notify, DT_ETLS on failure. */
int dt__tls_conn_read(dt__tls_conn_t *c, char *buf, size_t cap);
/* Encrypts all of data into the output. 0 or DT_ETLS. */
int dt__tls_conn_write(dt__tls_conn_t *c, const char *data, size_t len);
/* Queues a close_notify alert into the output. */
void dt__tls_conn_close_notify(dt__tls_conn_t *c);
/* Pending ciphertext: returns a malloc'd buffer (caller frees) and its length, or NULL/0. */
char *dt__tls_conn_take_output(dt__tls_conn_t *c, size_t *len);
/* The last mbedTLS failure as text ("" if none). */
const char *dt__tls_conn_error(const dt__tls_conn_t *c);

#endif
