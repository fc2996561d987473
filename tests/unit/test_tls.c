/*
 * Unit tests for core/net/tls.c: loading a certificate and key (and refusing what does not
 * fit), and a server session driven over memory buffers -- a full handshake and a round
 * trip with an mbedTLS client, a peer that does not speak TLS, close_notify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"
#include "net/tls.h"
#include "harness/tls_testcert.h"

DT_TEST(config_refuses_missing_unreadable_and_mismatched_files) {
  dt_testcert_t a, b;
  DT_ASSERT(dt_testcert_create(&a) == 0);
  DT_ASSERT(dt_testcert_create(&b) == 0);
  dt__tls_config_t *cfg = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt__tls_config_new(a.cert_file, NULL, &cfg, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "both a certificate file and a key file");
  DT_ASSERT_EQ_INT(dt__tls_config_new("/nonexistent/cert.pem", a.key_file, &cfg, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "/nonexistent/cert.pem");
  DT_ASSERT_EQ_INT(dt__tls_config_new(a.cert_file, "/nonexistent/key.pem", &cfg, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "/nonexistent/key.pem");
  DT_ASSERT_EQ_INT(dt__tls_config_new(a.cert_file, b.key_file, &cfg, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "does not match");
  DT_ASSERT(cfg == NULL);
  DT_ASSERT_EQ_INT(dt__tls_config_new(a.cert_file, a.key_file, &cfg, err, sizeof err), 0);
  DT_ASSERT(cfg != NULL);
  dt__tls_config_free(cfg);
  dt_testcert_remove(&a);
  dt_testcert_remove(&b);
}

/* A config for tc's certificate and key; NULL (the test fails) if it does not load. */
static dt__tls_config_t *load(dt_testcert_t *tc) {
  dt__tls_config_t *cfg = NULL;
  char err[256];
  if (dt_testcert_create(tc) != 0 || dt__tls_config_new(tc->cert_file, tc->key_file, &cfg, err, sizeof err) != 0)
    return NULL;
  return cfg;
}

DT_TEST(a_peer_that_does_not_speak_tls_fails_the_handshake) {
  dt_testcert_t tc;
  dt__tls_config_t *cfg = load(&tc);
  DT_ASSERT(cfg != NULL);
  dt__tls_conn_t *c = dt__tls_conn_new(cfg);
  DT_ASSERT(c != NULL);
  DT_ASSERT(!dt__tls_conn_established(c));
  DT_ASSERT_EQ_INT(dt__tls_conn_handshake(c), DT__TLS_WANT_INPUT); /* nothing lent yet */
  size_t len = 1;
  char *out = dt__tls_conn_take_output(c, &len);
  DT_ASSERT(out == NULL && len == 0);
  const char *plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  dt__tls_conn_set_input(c, plain, strlen(plain));
  DT_ASSERT_EQ_INT(dt__tls_conn_handshake(c), DT_ETLS);
  DT_ASSERT(dt__tls_conn_error(c)[0] != '\0');
  DT_ASSERT(!dt__tls_conn_established(c));
  free(dt__tls_conn_take_output(c, &len)); /* an alert, perhaps */
  dt__tls_conn_free(c);
  dt__tls_config_free(cfg);
  dt_testcert_remove(&tc);
}

/* ---- an mbedTLS client over memory: what it sends goes to the server session's input */

typedef struct {
  dt_buf_t to_server;   /* ciphertext the client wrote */
  dt_buf_t to_client;   /* ciphertext the server produced */
  size_t client_read;   /* consumed of to_client */
} wire_t;

static int client_send(void *ctx, const unsigned char *buf, size_t len) {
  wire_t *w = ctx;
  dt_buf_append(&w->to_server, buf, len);
  return (int)len;
}

static int client_recv(void *ctx, unsigned char *buf, size_t len) {
  wire_t *w = ctx;
  size_t left = w->to_client.len - w->client_read;
  if (left == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > left) len = left;
  memcpy(buf, w->to_client.data + w->client_read, len);
  w->client_read += len;
  return (int)len;
}

/* The server side's turn: it consumes all the client wrote and answers. */
static int server_turn(dt__tls_conn_t *s, wire_t *w, char *plain, size_t cap, int *plain_len) {
  dt_buf_t in = w->to_server;
  w->to_server = (dt_buf_t){0};
  dt__tls_conn_set_input(s, in.data ? in.data : "", in.len);
  int rc = 0;
  if (!dt__tls_conn_established(s)) rc = dt__tls_conn_handshake(s);
  if (rc >= 0 && dt__tls_conn_established(s) && plain) {
    rc = dt__tls_conn_read(s, plain, cap);
    if (rc > 0) *plain_len = rc;
  }
  size_t n;
  char *out = dt__tls_conn_take_output(s, &n);
  if (out) dt_buf_append(&w->to_client, out, n);
  free(out);
  dt_buf_free(&in);
  return rc;
}

DT_TEST(handshake_then_data_both_ways_then_close_notify) {
  dt_testcert_t tc;
  dt__tls_config_t *cfg = load(&tc);
  DT_ASSERT(cfg != NULL);
  dt__tls_conn_t *s = dt__tls_conn_new(cfg);

  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config ccfg;
  mbedtls_ssl_context cli;
  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_ssl_config_init(&ccfg);
  mbedtls_ssl_init(&cli);
  DT_ASSERT(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) == 0);
  mbedtls_ssl_config_defaults(&ccfg, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  mbedtls_ssl_conf_authmode(&ccfg, MBEDTLS_SSL_VERIFY_NONE);
  mbedtls_ssl_conf_rng(&ccfg, mbedtls_ctr_drbg_random, &drbg);
  DT_ASSERT(mbedtls_ssl_setup(&cli, &ccfg) == 0);
  wire_t w = {0};
  mbedtls_ssl_set_bio(&cli, &w, client_send, client_recv, NULL);

  int crc = 0;
  for (int turn = 0; turn < 20 && !(crc == 0 && dt__tls_conn_established(s)); turn++) {
    crc = mbedtls_ssl_handshake(&cli);
    DT_ASSERT(crc == 0 || crc == MBEDTLS_ERR_SSL_WANT_READ);
    DT_ASSERT(server_turn(s, &w, NULL, 0, NULL) >= 0);
  }
  DT_ASSERT_EQ_INT(crc, 0);
  DT_ASSERT(dt__tls_conn_established(s));

  const char *req = "GET /health HTTP/1.1\r\n\r\n";
  DT_ASSERT_EQ_INT(mbedtls_ssl_write(&cli, (const unsigned char *)req, strlen(req)), (int)strlen(req));
  char plain[256];
  int plain_len = 0;
  DT_ASSERT(server_turn(s, &w, plain, sizeof plain, &plain_len) > 0);
  DT_ASSERT_EQ_INT(plain_len, (int)strlen(req));
  DT_ASSERT(memcmp(plain, req, strlen(req)) == 0);

  DT_ASSERT_EQ_INT(dt__tls_conn_write(s, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
  dt__tls_conn_close_notify(s);
  size_t n;
  char *out = dt__tls_conn_take_output(s, &n);
  DT_ASSERT(out != NULL && n > 19); /* encrypted, with the alert behind it */
  dt_buf_append(&w.to_client, out, n);
  free(out);
  unsigned char got[64];
  int r = mbedtls_ssl_read(&cli, got, sizeof got);
  DT_ASSERT_EQ_INT(r, 19);
  DT_ASSERT(memcmp(got, "HTTP/1.1 200 OK\r\n\r\n", 19) == 0);
  DT_ASSERT_EQ_INT(mbedtls_ssl_read(&cli, got, sizeof got), MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);

  mbedtls_ssl_close_notify(&cli); /* and the client's close_notify reads as DT_ECLOSED */
  DT_ASSERT_EQ_INT(server_turn(s, &w, plain, sizeof plain, &plain_len), DT_ECLOSED);

  mbedtls_ssl_free(&cli);
  mbedtls_ssl_config_free(&ccfg);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
  dt_buf_free(&w.to_server);
  dt_buf_free(&w.to_client);
  dt__tls_conn_free(s);
  dt__tls_config_free(cfg);
  dt_testcert_remove(&tc);
}

DT_TEST_MAIN()
