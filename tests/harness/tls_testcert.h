/*
 * tls_testcert.h — test helper (header-only): a fresh RSA-2048 key and a self-signed
 * certificate for CN=localhost with subjectAltName DNS:localhost and IP:127.0.0.1, written
 * with mbedTLS as PEM files into a new temporary directory.
 *
 *   dt_testcert_t tc;
 *   if (dt_testcert_create(&tc) != 0) ...;      // tc.cert_file, tc.key_file
 *   ... start a server with them; clients may use tc.cert_file as their CA file ...
 *   dt_testcert_remove(&tc);                     // deletes the files and the directory
 *
 * The certificate is its own CA (basicConstraints CA:TRUE), valid 2020..2049, so both
 * mbedTLS and curl/OpenSSL accept it as a trust anchor. Key generation costs up to a second
 * natively (much more under valgrind), so a test file should create one and share it.
 */
#ifndef DT_TLS_TESTCERT_H
#define DT_TLS_TESTCERT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

typedef struct {
  char dir[128];
  char cert_file[192];
  char key_file[192];
} dt_testcert_t;

static inline int dt_testcert__write(const char *path, const unsigned char *data) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t n = strlen((const char *)data);
  int ok = fwrite(data, 1, n, f) == n;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Returns 0, or -1 with a message on stderr. */
static inline int dt_testcert_create(dt_testcert_t *tc) {
  /* SEQUENCE { [2] dNSName "localhost", [7] iPAddress 127.0.0.1 }: mbedTLS 2.28 has no
     helper for subjectAltName, so the extension value is written as DER by hand. */
  static const unsigned char san[] = {0x30, 0x11, 0x82, 0x09, 'l',  'o',  'c', 'a', 'l',
                                      'h',  'o',  's',  't',  0x87, 0x04, 127, 0,   0, 1};
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context key;
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  unsigned char *pem = NULL;
  const char *step = "seed";
  int ret;

  memset(tc, 0, sizeof *tc);
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_pk_init(&key);
  mbedtls_x509write_crt_init(&crt);
  mbedtls_mpi_init(&serial);

  ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)"dt-testcert", 11);
  if (ret) goto done;
  step = "keygen";
  ret = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
  if (ret) goto done;
  ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(key), mbedtls_ctr_drbg_random, &drbg, 2048, 65537);
  if (ret) goto done;

  step = "certificate";
  mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt, &key);
  mbedtls_x509write_crt_set_issuer_key(&crt, &key);
  if ((ret = mbedtls_x509write_crt_set_subject_name(&crt, "CN=localhost")) != 0) goto done;
  if ((ret = mbedtls_x509write_crt_set_issuer_name(&crt, "CN=localhost")) != 0) goto done;
  unsigned char serial_bytes[8];
  if ((ret = mbedtls_ctr_drbg_random(&drbg, serial_bytes, sizeof serial_bytes)) != 0) goto done;
  serial_bytes[0] &= 0x7f; /* positive */
  serial_bytes[0] |= 0x01;
  if ((ret = mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof serial_bytes)) != 0) goto done;
  if ((ret = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0) goto done;
  if ((ret = mbedtls_x509write_crt_set_validity(&crt, "20200101000000", "20491231235959")) != 0)
    goto done;
  if ((ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, -1)) != 0) goto done;
  if ((ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0) goto done;
  if ((ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0) goto done;
  ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san,
                                            sizeof san);
  if (ret) goto done;

  step = "files";
  pem = calloc(1, 16000);
  if (!pem) {
    ret = -1;
    goto done;
  }
  snprintf(tc->dir, sizeof tc->dir, "/tmp/dt_testcert_XXXXXX");
  if (!mkdtemp(tc->dir)) {
    ret = -1;
    goto done;
  }
  snprintf(tc->cert_file, sizeof tc->cert_file, "%s/cert.pem", tc->dir);
  snprintf(tc->key_file, sizeof tc->key_file, "%s/key.pem", tc->dir);
  if ((ret = mbedtls_x509write_crt_pem(&crt, pem, 16000, mbedtls_ctr_drbg_random, &drbg)) != 0)
    goto done;
  if ((ret = dt_testcert__write(tc->cert_file, pem)) != 0) goto done;
  memset(pem, 0, 16000);
  if ((ret = mbedtls_pk_write_key_pem(&key, pem, 16000)) != 0) goto done;
  ret = dt_testcert__write(tc->key_file, pem);

done:
  if (ret != 0) fprintf(stderr, "dt_testcert_create: %s failed (%d)\n", step, ret);
  free(pem);
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&crt);
  mbedtls_pk_free(&key);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return ret == 0 ? 0 : -1;
}

static inline void dt_testcert_remove(dt_testcert_t *tc) {
  if (tc->cert_file[0]) unlink(tc->cert_file);
  if (tc->key_file[0]) unlink(tc->key_file);
  if (tc->dir[0]) rmdir(tc->dir);
  memset(tc, 0, sizeof *tc);
}

#endif
