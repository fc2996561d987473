/* Unit tests for src/preflight.c: which public_url Graph cannot call back (http://,
   loopback, unspecified), the fix suggested for each token endpoint failure, the warnings
   for settings the mode does not use, and the check itself failing in words against a port
   nothing listens on (exit-1 path of `dialtone run`; test_startup_checks runs the binary). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dialtone/config_lua.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "harness/dt_test.h"
#include "preflight.h"

DT_TEST(public_url_must_be_public_https) {
  char why[1024];
  DT_ASSERT(!dt_preflight_public_url_problem("https://ivr.contoso.com", why, sizeof why));
  DT_ASSERT(!dt_preflight_public_url_problem("https://ivr.contoso.com:8443/x", why, sizeof why));
  DT_ASSERT(!dt_preflight_public_url_problem("HTTPS://203.0.113.7", why, sizeof why));
  DT_ASSERT(dt_preflight_public_url_problem("http://ivr.contoso.com", why, sizeof why));
  DT_ASSERT_CONTAINS(why, "public_url http://ivr.contoso.com is plain http://: Graph only calls back public HTTPS URLs");
  DT_ASSERT_CONTAINS(why, "set public_url to the https:// address");
  DT_ASSERT(dt_preflight_public_url_problem("https://127.0.0.1:8443", why, sizeof why));
  DT_ASSERT_CONTAINS(why, "is a loopback address");
  DT_ASSERT(dt_preflight_public_url_problem("http://127.0.0.1:0", why, sizeof why));
  DT_ASSERT_CONTAINS(why, "plain http:// on a loopback address");
  const char *local[] = {"https://localhost", "https://LOCALHOST:1", "https://[::1]:443", "https://0.0.0.0:8443",
                         "https://a.localhost/", "https://127.1.2.3"};
  for (size_t i = 0; i < sizeof local / sizeof *local; i++)
    DT_ASSERT_MSG(dt_preflight_public_url_problem(local[i], why, sizeof why), "%s", local[i]);
  /* names that merely start like loopback ones are public */
  DT_ASSERT(!dt_preflight_public_url_problem("https://localhost.contoso.com", why, sizeof why));
  DT_ASSERT(dt_preflight_public_url_problem(NULL, why, sizeof why));
}

DT_TEST(token_failures_get_their_fix) {
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("answered HTTP 401: invalid_client: AADSTS7000215: Invalid client secret"),
                     "check graph.client_secret");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("answered HTTP 400: unauthorized_client: AADSTS700016: not found"),
                     "check graph.client_id");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("answered HTTP 400: invalid_request: AADSTS90002: Tenant not found"),
                     "check graph.tenant_id");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("x: TLS failure: the server's certificate is not trusted (y)"), "CA store");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("x: DNS lookup failed (y)"), "DNS");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("x: connection refused (y)"), "check the URL");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("answered HTTP 401: invalid_client: AADSTS700027: not registered"),
                     "Certificates & secrets");
  DT_ASSERT_CONTAINS(dt_preflight_token_hint("answered HTTP 401: invalid_client: AADSTS700024: time range"), "clock");
  DT_ASSERT_EQ_STR(dt_preflight_token_hint("something else"), "");
  DT_ASSERT_EQ_STR(dt_preflight_token_hint(NULL), "");
}

/* An empty configuration file: everything comes from the overrides. */
static const char *empty_config(void) {
  static char path[64];
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/dt_preflight_XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
      (void)!write(fd, "return {}\n", 10);
      close(fd);
    }
  }
  return path;
}

static char *logged(const dt_config_t *cfg, bool real_graph, int *n) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  *n = dt_preflight_warn_settings(cfg, real_graph);
  dt_log_set_output(NULL);
  fclose(mem);
  return text;
}

DT_TEST(settings_the_mode_does_not_use_are_warned_about) {
  dt_config_t cfg;
  char err[512];
  dt_config_override_t emu[] = {{"inbound.jwks_url", "https://keys.example/jwks", "--test"},
                                {"listen", "127.0.0.1:0", "--listen"}};
  DT_ASSERT_MSG(dt_config_load(&cfg, empty_config(), emu, 2, err, sizeof err) == 0, "%s", err);
  int n = 0;
  char *text = logged(&cfg, false, &n);
  DT_ASSERT_EQ_INT(n, 1);
  DT_ASSERT_CONTAINS(text, "inbound.jwks_url (set by --test) is not used: without Graph credentials");
  free(text);
  dt_config_free(&cfg);
  /* nothing set: nothing to say */
  DT_ASSERT_MSG(dt_config_load(&cfg, empty_config(), emu + 1, 1, err, sizeof err) == 0, "%s", err);
  text = logged(&cfg, false, &n);
  DT_ASSERT_EQ_INT(n, 0);
  free(text);
  dt_config_free(&cfg);
  /* real Graph on a loopback http callback */
  dt_config_override_t real[] = {{"graph.tenant_id", "t", "--test"}, {"graph.client_id", "c", "--test"},
                                 {"graph.client_secret", "s", "--test"}, {"listen", "127.0.0.1:0", "--listen"}};
  DT_ASSERT_MSG(dt_config_load(&cfg, empty_config(), real, 4, err, sizeof err) == 0, "%s", err);
  text = logged(&cfg, true, &n);
  DT_ASSERT_EQ_INT(n, 1);
  DT_ASSERT_CONTAINS(text, "Graph only calls back public HTTPS URLs");
  free(text);
  dt_config_free(&cfg);
}

DT_TEST(check_fails_in_words_when_the_token_endpoint_refuses) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  DT_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
  close(fd);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/t/oauth2/v2.0/token", ntohs(a.sin_port));
  dt_config_override_t real[] = {{"graph.tenant_id", "t", "--test"}, {"graph.client_id", "c", "--test"},
                                 {"graph.client_secret", "hunter2", "--test"}, {"graph.token_url", url, "--test"}};
  dt_config_t cfg;
  char err[1024];
  DT_ASSERT_MSG(dt_config_load(&cfg, empty_config(), real, 4, err, sizeof err) == 0, "%s", err);
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_log_set_level(DT_LOG_OFF);
  err[0] = '\0';
  int rc = dt_preflight_run(&loop, &cfg, err, sizeof err);
  dt_log_set_level(DT_LOG_INFO);
  DT_ASSERT_EQ_INT(rc, DT_ECONNREFUSED);
  char want[256];
  snprintf(want, sizeof want, "cannot get a Graph token: token endpoint %s: connection refused (", url);
  DT_ASSERT_CONTAINS(err, want);
  DT_ASSERT(strstr(err, "hunter2") == NULL);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* everything it opened is closed */
  dt_config_free(&cfg);
}

DT_TEST(remove_the_empty_config) { DT_ASSERT_EQ_INT(unlink(empty_config()), 0); }

DT_TEST_MAIN()
