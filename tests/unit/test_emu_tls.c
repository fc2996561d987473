/* Unit tests of emu_tls.c, the emulator's local CA: the server certificate verifies against
   the CA for localhost, 127.0.0.1 and the added names (and not for others); the CA is kept
   and reused by a second run; bad host names are refused. */
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mbedtls/x509_crt.h>
#include "harness/dt_test.h"
#include "dialtone/error.h"
#include "emulator/emu_tls.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = calloc(1, 32768);
  size_t n = fread(buf, 1, 32767, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int verify_for(const char *dir, const char *cn) {
  char p[256];
  mbedtls_x509_crt ca, srv;
  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&srv);
  snprintf(p, sizeof p, "%s/ca.pem", dir);
  int rc = mbedtls_x509_crt_parse_file(&ca, p);
  snprintf(p, sizeof p, "%s/server.pem", dir);
  if (rc == 0) rc = mbedtls_x509_crt_parse_file(&srv, p);
  uint32_t flags = 0;
  /* 1024-bit keys keep the test fast; the profile allows them */
  mbedtls_x509_crt_profile prof = mbedtls_x509_crt_profile_default;
  prof.rsa_min_bitlen = 1024;
  if (rc == 0) rc = mbedtls_x509_crt_verify_with_profile(&srv, &ca, NULL, &prof, cn, &flags, NULL, NULL);
  mbedtls_x509_crt_free(&ca);
  mbedtls_x509_crt_free(&srv);
  return rc;
}

static void rm_dir(const char *dir) {
  static const char *const files[] = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"};
  char p[256];
  for (size_t i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    remove(p);
  }
  rmdir(dir);
}

DT_TEST(the_local_ca_signs_a_server_certificate_for_the_names) {
  char dir[64] = "/tmp/dt_emu_tls_test_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  const char *hosts[] = {"graph.microsoft.com", "10.1.2.3"};
  char err[256];
  DT_ASSERT_EQ_INT(dt__emu_tls_create(dir, hosts, 2, 1024, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(verify_for(dir, "localhost"), 0);
  DT_ASSERT_EQ_INT(verify_for(dir, "graph.microsoft.com"), 0);
  DT_ASSERT_EQ_INT(verify_for(dir, NULL), 0); /* the chain; mbedTLS 2.28 matches no IP SANs */
  /* the IP addresses are in the subjectAltName: 127.0.0.1 and 10.1.2.3 as [7] OCTET STRINGs */
  mbedtls_x509_crt srv;
  mbedtls_x509_crt_init(&srv);
  char sp[256];
  snprintf(sp, sizeof sp, "%s/server.pem", dir);
  DT_ASSERT_EQ_INT(mbedtls_x509_crt_parse_file(&srv, sp), 0);
  static const unsigned char lo[] = {0x87, 4, 127, 0, 0, 1}, ten[] = {0x87, 4, 10, 1, 2, 3};
  bool has_lo = false, has_ten = false;
  for (size_t i = 0; i + 6 <= srv.raw.len; i++) {
    has_lo = has_lo || memcmp(srv.raw.p + i, lo, 6) == 0;
    has_ten = has_ten || memcmp(srv.raw.p + i, ten, 6) == 0;
  }
  mbedtls_x509_crt_free(&srv);
  DT_ASSERT(has_lo && has_ten);
  DT_ASSERT(verify_for(dir, "example.org") != 0);
  char p[256];
  snprintf(p, sizeof p, "%s/ca-key.pem", dir);
  struct stat st;
  DT_ASSERT_EQ_INT(stat(p, &st), 0);
  DT_ASSERT_EQ_INT((int)(st.st_mode & 0777), 0600);
  /* a second run keeps the CA (trusted once) and makes a new server certificate */
  snprintf(p, sizeof p, "%s/ca.pem", dir);
  char *ca1 = slurp(p);
  DT_ASSERT_EQ_INT(dt__emu_tls_create(dir, NULL, 0, 1024, err, sizeof err), 0);
  char *ca2 = slurp(p);
  DT_ASSERT(ca1 && ca2 && strcmp(ca1, ca2) == 0);
  DT_ASSERT_EQ_INT(verify_for(dir, "localhost"), 0);
  DT_ASSERT(verify_for(dir, "graph.microsoft.com") != 0); /* not asked for this time */
  free(ca1);
  free(ca2);
  rm_dir(dir);
}

DT_TEST(bad_names_are_refused) {
  char err[256];
  const char *bad[] = {"bad host/x"};
  DT_ASSERT_EQ_INT(dt__emu_tls_create("/tmp/dt_never_made", bad, 1, 1024, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "bad host/x");
  DT_ASSERT_EQ_INT(dt__emu_tls_create("", NULL, 0, 1024, err, sizeof err), DT_EINVAL);
  DT_ASSERT(access("/tmp/dt_never_made", F_OK) != 0);
}

DT_TEST_MAIN()
