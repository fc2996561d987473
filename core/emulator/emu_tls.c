/*
 * emu_tls.c — the emulator's local certificate authority (mbedTLS x509write): the CA key
 * and self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign), and a server
 * certificate signed by it whose subjectAltName names every host the emulator answers
 * as. Promises: a CA already in the directory is reused (its trust survives restarts);
 * files are written whole (key files 0600); nothing is left half-made on failure of
 * the server pair (the CA pair is only written once both of its files are ready).
 */
#include "emu_tls.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>
#include "dialtone/common.h"
#include "dialtone/error.h"

#define PEM_CAP 16384

static int write_file(const char *path, const unsigned char *data, mode_t mode) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL) return -1;
  size_t n = strlen((const char *)data);
  int ok = fwrite(data, 1, n, f) == n;
  ok = fclose(f) == 0 && ok;
  if (!ok || chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
    remove(tmp);
    return -1;
  }
  return 0;
}

/* DER length octets */
static size_t der_len(unsigned char *p, size_t n) {
  if (n < 128) {
    p[0] = (unsigned char)n;
    return 1;
  }
  if (n < 256) {
    p[0] = 0x81;
    p[1] = (unsigned char)n;
    return 2;
  }
  p[0] = 0x82;
  p[1] = (unsigned char)(n >> 8);
  p[2] = (unsigned char)n;
  return 3;
}

/* subjectAltName: SEQUENCE { [2] dNSName ..., [7] iPAddress ... } */
static size_t san_der(const char *const *hosts, size_t nhosts, unsigned char *out, size_t cap) {
  unsigned char body[EMU_TLS_MAX_HOSTS * 210 + 64];
  size_t bl = 0;
  static const unsigned char fixed[] = {0x82, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
                                        0x87, 4,   127, 0,  0,  1,
                                        0x87, 16,  0,   0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  memcpy(body, fixed, sizeof fixed);
  bl = sizeof fixed;
  for (size_t i = 0; i < nhosts; i++) {
    unsigned char ip4[4];
    if (inet_pton(AF_INET, hosts[i], ip4) == 1) {
      body[bl++] = 0x87;
      body[bl++] = 4;
      memcpy(body + bl, ip4, 4);
      bl += 4;
    } else {
      size_t n = strlen(hosts[i]);
      body[bl++] = 0x82;
      bl += der_len(body + bl, n);
      memcpy(body + bl, hosts[i], n);
      bl += n;
    }
  }
  if (bl + 4 > cap) return 0;
  out[0] = 0x30;
  size_t hl = 1 + der_len(out + 1, bl);
  memcpy(out + hl, body, bl);
  return hl + bl;
}

typedef struct {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} rng_t;

static int new_key(rng_t *r, mbedtls_pk_context *key, unsigned bits) {
  int ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
  if (ret == 0) ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*key), mbedtls_ctr_drbg_random, &r->drbg, bits, 65537);
  return ret;
}

/* Writes a certificate for subject_key signed by issuer_key as PEM into pem. */
static int make_cert(rng_t *r, mbedtls_pk_context *subject_key, const char *subject, mbedtls_pk_context *issuer_key,
                     const char *issuer, bool ca, const unsigned char *san, size_t san_len, unsigned char *pem) {
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&serial);
  mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt, subject_key);
  mbedtls_x509write_crt_set_issuer_key(&crt, issuer_key);
  unsigned char sb[16];
  int ret = mbedtls_ctr_drbg_random(&r->drbg, sb, sizeof sb);
  sb[0] = (unsigned char)((sb[0] & 0x7f) | 0x01);
  if (ret == 0) ret = mbedtls_x509write_crt_set_subject_name(&crt, subject);
  if (ret == 0) ret = mbedtls_x509write_crt_set_issuer_name(&crt, issuer);
  if (ret == 0) ret = mbedtls_mpi_read_binary(&serial, sb, sizeof sb);
  if (ret == 0) ret = mbedtls_x509write_crt_set_serial(&crt, &serial);
  /* the server certificate stays under the 398 days clients accept */
  if (ret == 0) {
    char from[16], to[16];
    time_t now = time(NULL) - 86400;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(from, sizeof from, "%Y%m%d%H%M%S", &tm);
    now += ca ? 10 * 365 * 86400L : 390 * 86400L;
    gmtime_r(&now, &tm);
    strftime(to, sizeof to, "%Y%m%d%H%M%S", &tm);
    ret = mbedtls_x509write_crt_set_validity(&crt, from, to);
  }
  if (ret == 0) ret = mbedtls_x509write_crt_set_basic_constraints(&crt, ca ? 1 : 0, ca ? 0 : -1);
  if (ret == 0) ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
  if (ret == 0) ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt);
  if (ret == 0)
    ret = mbedtls_x509write_crt_set_key_usage(&crt, ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN)
                                                       : (MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
                                                          MBEDTLS_X509_KU_KEY_ENCIPHERMENT));
  if (ret == 0 && !ca) {
    /* extendedKeyUsage: SEQUENCE { id-kp-serverAuth } */
    static const unsigned char eku[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
    ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, eku, sizeof eku);
  }
  if (ret == 0 && san)
    ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                              MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san, san_len);
  if (ret == 0) ret = mbedtls_x509write_crt_pem(&crt, pem, PEM_CAP, mbedtls_ctr_drbg_random, &r->drbg);
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&crt);
  return ret;
}

static bool host_ok(const char *h) {
  size_t n = strlen(h);
  if (n == 0 || n > 200) return false;
  for (const char *p = h; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
          *p == '-' || *p == '*'))
      return false;
  return true;
}

int dt__emu_tls_create(const char *dir, const char *const *hosts, size_t nhosts, unsigned bits, char *err,
                       size_t errlen) {
  if (dir == NULL || dir[0] == '\0' || strlen(dir) > 400)
    return dt_seterr(err, errlen, DT_EINVAL, "the TLS directory must be a path of at most 400 characters");
  if (nhosts > EMU_TLS_MAX_HOSTS) return dt_seterr(err, errlen, DT_EINVAL, "at most %d extra host names", EMU_TLS_MAX_HOSTS);
  for (size_t i = 0; i < nhosts; i++)
    if (!host_ok(hosts[i]))
      return dt_seterr(err, errlen, DT_EINVAL, "not a host name for the certificate: '%.80s'", hosts[i]);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return dt_seterr(err, errlen, DT_EIO, "cannot create %s: %s", dir, strerror(errno));
  if (bits == 0) bits = 2048;
  char ca_path[512], ca_key_path[512], srv_path[512], srv_key_path[512];
  snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
  snprintf(ca_key_path, sizeof ca_key_path, "%s/ca-key.pem", dir);
  snprintf(srv_path, sizeof srv_path, "%s/server.pem", dir);
  snprintf(srv_key_path, sizeof srv_key_path, "%s/server-key.pem", dir);

  rng_t r;
  mbedtls_entropy_init(&r.entropy);
  mbedtls_ctr_drbg_init(&r.drbg);
  mbedtls_pk_context ca_key, srv_key;
  mbedtls_pk_init(&ca_key);
  mbedtls_pk_init(&srv_key);
  mbedtls_x509_crt ca_crt;
  mbedtls_x509_crt_init(&ca_crt);
  unsigned char *ca_pem = dt_xcalloc(1, PEM_CAP), *pem = dt_xcalloc(1, PEM_CAP);
  unsigned char san[EMU_TLS_MAX_HOSTS * 210 + 80];
  const char *step = "seed";
  int ret = mbedtls_ctr_drbg_seed(&r.drbg, mbedtls_entropy_func, &r.entropy, (const unsigned char *)"dt-emu-ca", 9);
  if (ret) goto done;
  step = "the existing CA";
  if (access(ca_path, R_OK) == 0 && access(ca_key_path, R_OK) == 0) {
    if ((ret = mbedtls_pk_parse_keyfile(&ca_key, ca_key_path, NULL)) != 0) goto done;
    if ((ret = mbedtls_x509_crt_parse_file(&ca_crt, ca_path)) != 0) goto done;
    FILE *f = fopen(ca_path, "rb");
    size_t n = f ? fread(ca_pem, 1, PEM_CAP - 1, f) : 0;
    if (f) fclose(f);
    if (n == 0) {
      ret = -1;
      goto done;
    }
  } else {
    step = "the CA key";
    if ((ret = new_key(&r, &ca_key, bits)) != 0) goto done;
    step = "the CA certificate";
    if ((ret = make_cert(&r, &ca_key, "CN=dialtone emulator local CA,O=dialtone", &ca_key,
                         "CN=dialtone emulator local CA,O=dialtone", true, NULL, 0, ca_pem)) != 0)
      goto done;
    if ((ret = mbedtls_pk_write_key_pem(&ca_key, pem, PEM_CAP)) != 0) goto done;
    step = "writing the CA";
    if ((ret = write_file(ca_key_path, pem, 0600)) != 0 || (ret = write_file(ca_path, ca_pem, 0644)) != 0) goto done;
  }
  step = "the server key";
  if ((ret = new_key(&r, &srv_key, bits)) != 0) goto done;
  step = "the server certificate";
  size_t sl = san_der(hosts, nhosts, san, sizeof san);
  if (sl == 0) {
    ret = -1;
    goto done;
  }
  if ((ret = make_cert(&r, &srv_key, "CN=localhost,O=dialtone emulator", &ca_key,
                       "CN=dialtone emulator local CA,O=dialtone", false, san, sl, pem)) != 0)
    goto done;
  /* the chain: the server's certificate, then the CA's */
  size_t pl = strlen((char *)pem), cl = strlen((char *)ca_pem);
  if (pl + cl + 1 > PEM_CAP) {
    ret = -1;
    goto done;
  }
  memcpy(pem + pl, ca_pem, cl + 1);
  step = "writing the server certificate";
  if ((ret = write_file(srv_path, pem, 0644)) != 0) goto done;
  memset(pem, 0, PEM_CAP);
  if ((ret = mbedtls_pk_write_key_pem(&srv_key, pem, PEM_CAP)) != 0) goto done;
  ret = write_file(srv_key_path, pem, 0600);
done:
  memset(pem, 0, PEM_CAP);
  free(pem);
  free(ca_pem);
  mbedtls_x509_crt_free(&ca_crt);
  mbedtls_pk_free(&ca_key);
  mbedtls_pk_free(&srv_key);
  mbedtls_ctr_drbg_free(&r.drbg);
  mbedtls_entropy_free(&r.entropy);
  if (ret != 0) return dt_seterr(err, errlen, DT_EIO, "cannot make the emulator's certificates in %s: %s failed (%d)", dir, step, ret);
  return 0;
}
