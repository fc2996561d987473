/*
 * tls.c — server-side TLS sessions on mbedTLS 2.28 driven by the caller's buffers (see tls.h).
 *
 * Owns: one mbedtls_ssl_config per server (certificate chain, key, CTR-DRBG seeded from
 * the OS entropy source, TLS 1.2 minimum) and one mbedtls_ssl_context per connection.
 * The custom BIO never blocks: recv hands out the lent input window and answers WANT_READ
 * when it is empty; send appends to an output buffer and always succeeds, so mbedTLS never
 * sees WANT_WRITE and the caller decides when to flush (one uv_write per batch).
 * Not thread-safe: a config and its connections belong to one loop thread.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "tls.h"

struct dt__tls_config_s {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
  int refs; /* the server's and one per connection */
};

struct dt__tls_conn_s {
  mbedtls_ssl_context ssl;
  dt__tls_config_t *cfg; /* referenced: the ssl context points into cfg->conf */
  const char *in;
  size_t in_len, in_pos;
  dt_buf_t out;
  bool established;
  char error[128];
};

static void tls_errtext(int ret, char *buf, size_t len) {
  char tmp[128];
  mbedtls_strerror(ret, tmp, sizeof tmp);
  snprintf(buf, len, "%.100s (-0x%04x)", tmp, (unsigned)-ret);
}

int dt__tls_config_new(const char *cert_file, const char *key_file, dt__tls_config_t **out,
                       char *err, size_t errlen) {
  char detail[160];
  int ret;
  *out = NULL;
  if (!cert_file || !key_file || !*cert_file || !*key_file)
    return dt_seterr(err, errlen, DT_ETLS, "TLS needs both a certificate file and a key file");
  dt__tls_config_t *cfg = dt_xcalloc(1, sizeof *cfg);
  cfg->refs = 1;
  mbedtls_entropy_init(&cfg->entropy);
  mbedtls_ctr_drbg_init(&cfg->drbg);
  mbedtls_x509_crt_init(&cfg->cert);
  mbedtls_pk_init(&cfg->key);
  mbedtls_ssl_config_init(&cfg->conf);

  static const char pers[] = "dialtone-tls-server";
  ret = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
                              (const unsigned char *)pers, sizeof pers - 1);
  if (ret != 0) {
    tls_errtext(ret, detail, sizeof detail);
    dt_seterr(err, errlen, DT_ETLS, "TLS random generator: %s", detail);
    goto fail;
  }
  ret = mbedtls_x509_crt_parse_file(&cfg->cert, cert_file);
  if (ret != 0) {
    if (ret > 0) snprintf(detail, sizeof detail, "%d certificate(s) could not be parsed", ret);
    else tls_errtext(ret, detail, sizeof detail);
    dt_seterr(err, errlen, DT_ETLS, "TLS certificate file %s: %s", cert_file, detail);
    goto fail;
  }
  ret = mbedtls_pk_parse_keyfile(&cfg->key, key_file, NULL);
  if (ret != 0) {
    tls_errtext(ret, detail, sizeof detail);
    dt_seterr(err, errlen, DT_ETLS, "TLS key file %s: %s", key_file, detail);
    goto fail;
  }
  ret = mbedtls_pk_check_pair(&cfg->cert.pk, &cfg->key);
  if (ret != 0) {
    dt_seterr(err, errlen, DT_ETLS, "TLS key file %s does not match certificate file %s", key_file,
              cert_file);
    goto fail;
  }
  ret = mbedtls_ssl_config_defaults(&cfg->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret == 0) {
    mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
    mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    ret = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->cert, &cfg->key);
  }
  if (ret != 0) {
    tls_errtext(ret, detail, sizeof detail);
    dt_seterr(err, errlen, DT_ETLS, "TLS configuration with %s: %s", cert_file, detail);
    goto fail;
  }
  *out = cfg;
  return 0;
fail:
  dt__tls_config_free(cfg);
  return DT_ETLS;
}

void dt__tls_config_free(dt__tls_config_t *cfg) {
  if (!cfg || --cfg->refs > 0) return;
  mbedtls_ssl_config_free(&cfg->conf);
  mbedtls_pk_free(&cfg->key);
  mbedtls_x509_crt_free(&cfg->cert);
  mbedtls_ctr_drbg_free(&cfg->drbg);
  mbedtls_entropy_free(&cfg->entropy);
  free(cfg);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
  dt__tls_conn_t *c = ctx;
  if (len > INT_MAX) len = INT_MAX;
  dt_buf_append(&c->out, buf, len);
  return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
  dt__tls_conn_t *c = ctx;
  size_t avail = c->in_len - c->in_pos;
  if (avail == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > avail) len = avail;
  if (len > INT_MAX) len = INT_MAX;
  memcpy(buf, c->in + c->in_pos, len);
  c->in_pos += len;
  return (int)len;
}

dt__tls_conn_t *dt__tls_conn_new(dt__tls_config_t *cfg) {
  dt__tls_conn_t *c = dt_xcalloc(1, sizeof *c);
  mbedtls_ssl_init(&c->ssl);
  if (mbedtls_ssl_setup(&c->ssl, &cfg->conf) != 0) {
    mbedtls_ssl_free(&c->ssl);
    free(c);
    return NULL;
  }
  mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
  c->cfg = cfg;
  cfg->refs++;
  return c;
}

void dt__tls_conn_free(dt__tls_conn_t *c) {
  if (!c) return;
  mbedtls_ssl_free(&c->ssl);
  dt__tls_config_free(c->cfg);
  dt_buf_free(&c->out);
  free(c);
}

void dt__tls_conn_set_input(dt__tls_conn_t *c, const char *data, size_t len) {
  c->in = data;
  c->in_len = len;
  c->in_pos = 0;
}

size_t dt__tls_conn_input_left(const dt__tls_conn_t *c) { return c->in_len - c->in_pos; }

static int fail(dt__tls_conn_t *c, int ret) {
  tls_errtext(ret, c->error, sizeof c->error);
  return DT_ETLS;
}

int dt__tls_conn_handshake(dt__tls_conn_t *c) {
  if (c->established) return 1;
  int ret = mbedtls_ssl_handshake(&c->ssl);
  if (ret == 0) {
    c->established = true;
    return 1;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return DT__TLS_WANT_INPUT;
  return fail(c, ret);
}

bool dt__tls_conn_established(const dt__tls_conn_t *c) { return c->established; }

int dt__tls_conn_read(dt__tls_conn_t *c, char *buf, size_t cap) {
  if (cap > INT_MAX) cap = INT_MAX;
  int ret = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, cap);
  if (ret > 0) return ret;
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return DT__TLS_WANT_INPUT;
  if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return DT_ECLOSED;
  return fail(c, ret);
}

int dt__tls_conn_write(dt__tls_conn_t *c, const char *data, size_t len) {
  size_t off = 0;
  while (off < len) {
    int ret = mbedtls_ssl_write(&c->ssl, (const unsigned char *)data + off, len - off);
    if (ret > 0) {
      off += (size_t)ret;
      continue;
    }
    /* The BIO never refuses output, so anything but progress is a failure. */
    return fail(c, ret == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : ret);
  }
  return 0;
}

void dt__tls_conn_close_notify(dt__tls_conn_t *c) {
  if (c->established) (void)mbedtls_ssl_close_notify(&c->ssl);
}

char *dt__tls_conn_take_output(dt__tls_conn_t *c, size_t *len) {
  char *data = c->out.data;
  *len = c->out.len;
  if (c->out.len == 0) {
    *len = 0;
    return NULL;
  }
  c->out = (dt_buf_t){0};
  return data;
}

const char *dt__tls_conn_error(const dt__tls_conn_t *c) { return c->error; }
