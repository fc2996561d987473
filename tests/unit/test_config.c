/* Unit tests for config.c (defaults, environment, validation, dump) and lua/config_lua.c
   (the config file). Every test starts from an environment without DIALTONE_* variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/call.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

extern char **environ;

static void clear_env(void) {
  char *names[256];
  size_t n = 0;
  for (char **e = environ; *e && n < DT_ARRAY_SIZE(names); e++)
    if (strncmp(*e, "DIALTONE_", 9) == 0) names[n++] = dt_xstrndup(*e, strcspn(*e, "="));
  for (size_t i = 0; i < n; i++) {
    unsetenv(names[i]);
    free(names[i]);
  }
}

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *text) {
  static char path[256];
  if (tmpdir[0] == '\0') {
    strcpy(tmpdir, "/tmp/dt_test_config_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) abort();
  }
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  if (dt_write_file_atomic(path, text, strlen(text)) != 0) abort();
  return path;
}

/* Loads text as a config file through the whole sequence; returns the rc, message in err. */
static int load_text(dt_config_t *cfg, const char *text, char *err, size_t errlen) {
  clear_env();
  const char *path = write_tmp("conf.lua", text);
  err[0] = '\0';
  return dt_config_load(cfg, path, NULL, 0, err, errlen);
}

/* Defaults plus the current environment plus one more variable, finalized. */
static int with_env(dt_config_t *cfg, const char *name, const char *value, char *err, size_t errlen) {
  setenv(name, value, 1);
  err[0] = '\0';
  dt_config_init(cfg);
  int rc = dt_config_apply_env(cfg, err, errlen);
  if (rc == 0) rc = dt_config_finalize(cfg, err, errlen);
  unsetenv(name);
  return rc;
}

DT_TEST(defaults) {
  clear_env();
  dt_config_t cfg;
  char err[512] = "";
  dt_config_init(&cfg);
  DT_ASSERT_MSG(dt_config_finalize(&cfg, err, sizeof err) == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:8080");
  DT_ASSERT_EQ_STR(cfg.public_url, "http://127.0.0.1:8080");
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "public_url"), "derived");
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "listen"), "default");
  DT_ASSERT_EQ_STR(cfg.callback_path, "/api/calls");
  DT_ASSERT(cfg.tls.cert == NULL && cfg.tls.key == NULL);
  DT_ASSERT_EQ_STR(cfg.flows, "flows");
  DT_ASSERT_EQ_STR(cfg.prompts.dir, "flows/prompts");
  DT_ASSERT_EQ_STR(cfg.prompts.base_url, "http://127.0.0.1:8080/prompts");
  DT_ASSERT_EQ_STR(cfg.recordings, "recordings");
  DT_ASSERT_EQ_STR(cfg.cdr, "cdr.jsonl");
  DT_ASSERT_EQ_INT(cfg.routes.count, 0);
  DT_ASSERT_EQ_STR(cfg.routes.default_flow, "main");
  DT_ASSERT_EQ_STR(cfg.graph.dialect, "v1.0");
  DT_ASSERT(cfg.graph.base_url == NULL && cfg.graph.client_secret == NULL && cfg.graph.token_url == NULL);
  DT_ASSERT(!dt_config_has_graph_credentials(&cfg));
  DT_ASSERT(cfg.inbound.jwks_url == NULL);
  DT_ASSERT_EQ_STR(cfg.inbound.openid_config, "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration");
  DT_ASSERT_EQ_INT(cfg.inbound.issuers.count, 2);
  DT_ASSERT_EQ_STR(cfg.inbound.issuers.items[0], "https://api.botframework.com");
  DT_ASSERT_EQ_STR(cfg.inbound.issuers.items[1], "https://graph.microsoft.com");
  DT_ASSERT(cfg.inbound.audience == NULL);
  DT_ASSERT_EQ_STR(cfg.emulator.listen, "127.0.0.1:0");
  DT_ASSERT(cfg.emulator.time_scale == 1.0);
  DT_ASSERT_EQ_STR(cfg.log.level, "info");
  DT_ASSERT_EQ_STR(cfg.log.format, "text");
  DT_ASSERT_EQ_INT(cfg.limits.max_body_bytes, 1 << 20);
  DT_ASSERT_EQ_INT(cfg.limits.max_header_bytes, 16384);
  DT_ASSERT_EQ_INT(cfg.limits.instruction_budget, 10000000);
  DT_ASSERT_EQ_INT(cfg.limits.lua_memory_bytes, 64 << 20);
  DT_ASSERT(cfg.limits.op_timeout_s == 30 && cfg.limits.drain_timeout_s == 30);
  DT_ASSERT_EQ_INT(cfg.limits.max_calls, 100000);
  dt_config_free(&cfg);
}

DT_TEST(credentials_switch_to_real_graph_and_derive_urls) {
  clear_env();
  dt_config_t cfg;
  char err[512] = "";
  dt_config_init(&cfg);
  DT_ASSERT_EQ_INT(dt_config_set_string(&cfg, "graph.tenant_id", "tenant-1", "test", err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_config_set_string(&cfg, "graph.client_id", "app-1", "test", err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_config_set_string(&cfg, "graph.client_secret", "s3cret", "test", err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_config_set_string(&cfg, "graph.dialect", "beta", "test", err, sizeof err), 0);
  DT_ASSERT_MSG(dt_config_finalize(&cfg, err, sizeof err) == 0, "%s", err);
  DT_ASSERT(dt_config_has_graph_credentials(&cfg));
  DT_ASSERT_EQ_STR(cfg.graph.base_url, "https://graph.microsoft.com/beta");
  DT_ASSERT_EQ_STR(cfg.graph.token_url, "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token");
  DT_ASSERT_EQ_STR(cfg.inbound.audience, "app-1");
  dt_config_free(&cfg);
}

/* graph.client_certificate instead of the secret: both files, readable, never beside a secret. */
DT_TEST(certificate_credentials) {
  dt_config_t cfg;
  char err[512];
  char *pem = dt_xstrdup(write_tmp("cert.pem", "-----BEGIN CERTIFICATE-----\n"));
  char *good = dt_xasprintf("return {graph = {tenant_id = 't', client_id = 'c', client_certificate = "
                            "{cert = '%s', key = '%s'}}}", pem, pem);
  DT_ASSERT_MSG(load_text(&cfg, good, err, sizeof err) == 0, "%s", err);
  DT_ASSERT(dt_config_has_graph_credentials(&cfg));
  DT_ASSERT_EQ_STR(cfg.graph.client_certificate.cert, pem);
  DT_ASSERT(cfg.graph.client_secret == NULL);
  dt_config_free(&cfg);
  free(good);
  char *half = dt_xasprintf("return {graph = {tenant_id = 't', client_id = 'c', client_certificate = {cert = '%s'}}}", pem);
  DT_ASSERT(load_text(&cfg, half, err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "graph.client_certificate.key");
  dt_config_free(&cfg);
  free(half);
  char *both = dt_xasprintf("return {graph = {tenant_id = 't', client_id = 'c', client_secret = 's', "
                            "client_certificate = {cert = '%s', key = '%s'}}}", pem, pem);
  DT_ASSERT(load_text(&cfg, both, err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "both set");
  dt_config_free(&cfg);
  free(both);
  DT_ASSERT(load_text(&cfg, "return {graph = {tenant_id = 't', client_id = 'c', client_certificate = "
                            "{cert = '/nonexistent.pem', key = '/nonexistent.pem'}}}", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "cannot read \"/nonexistent.pem\"");
  dt_config_free(&cfg);
  /* the environment names them too */
  clear_env();
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_CLIENT_CERT", pem, err, sizeof err) != 0, 1); /* key missing */
  DT_ASSERT_CONTAINS(err, "graph.client_certificate.key");
  dt_config_free(&cfg);
  free(pem);
}

DT_TEST(env_overrides_canonical_names) {
  clear_env();
  const char *cert = write_tmp("cert.pem", "cert");
  char cert_path[256];
  snprintf(cert_path, sizeof cert_path, "%s", cert);
  const char *key = write_tmp("key.pem", "key");
  setenv("DIALTONE_TLS_CERT", cert_path, 1);
  setenv("DIALTONE_TLS_KEY", key, 1);
  setenv("DIALTONE_LIMITS_OP_TIMEOUT_S", "2.5", 1);
  setenv("DIALTONE_LIMITS_MAX_CALLS", "42", 1);
  setenv("DIALTONE_INBOUND_ISSUERS", "https://a.example, https://b.example,,https://c.example", 1);
  setenv("DIALTONE_ROUTES", "+15550100=sales,28:app-id=support", 1);
  setenv("DIALTONE_ROUTES_DEFAULT", "welcome", 1);
  setenv("DIALTONE_EMULATOR_TIME_SCALE", "0", 1);
  setenv("DIALTONE_LOG_FORMAT", "json", 1);
  setenv("DIALTONE_PUBLIC_URL", "https://bot.example.com/", 1);
  setenv("DIALTONE_RECORDINGS", "", 1); /* empty counts as unset */
  dt_config_t cfg;
  char err[512] = "";
  dt_config_init(&cfg);
  int rc = dt_config_apply_env(&cfg, err, sizeof err);
  if (rc == 0) rc = dt_config_finalize(&cfg, err, sizeof err);
  clear_env();
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.tls.cert, cert_path);
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "tls.cert"), "DIALTONE_TLS_CERT");
  DT_ASSERT(cfg.limits.op_timeout_s == 2.5);
  DT_ASSERT_EQ_INT(cfg.limits.max_calls, 42);
  DT_ASSERT_EQ_INT(cfg.inbound.issuers.count, 3);
  DT_ASSERT_EQ_STR(cfg.inbound.issuers.items[1], "https://b.example");
  DT_ASSERT_EQ_INT(cfg.routes.count, 2);
  DT_ASSERT_EQ_STR(cfg.routes.items[0].match, "+15550100");
  DT_ASSERT_EQ_STR(cfg.routes.items[0].flow, "sales");
  DT_ASSERT_EQ_STR(cfg.routes.items[1].match, "28:app-id");
  DT_ASSERT_EQ_STR(cfg.routes.default_flow, "welcome");
  DT_ASSERT(cfg.emulator.time_scale == 0);
  DT_ASSERT_EQ_STR(cfg.log.format, "json");
  DT_ASSERT_EQ_STR(cfg.public_url, "https://bot.example.com"); /* trailing slash dropped */
  DT_ASSERT_EQ_STR(cfg.prompts.base_url, "https://bot.example.com/prompts");
  DT_ASSERT_EQ_STR(cfg.recordings, "recordings");
  dt_config_free(&cfg);
}

DT_TEST(env_documented_aliases) {
  clear_env();
  setenv("DIALTONE_LISTEN", "0.0.0.0:9000", 1);
  setenv("DIALTONE_GRAPH_URL", "http://127.0.0.1:9090/v1.0", 1);
  setenv("DIALTONE_TENANT_ID", "t", 1);
  setenv("DIALTONE_CLIENT_ID", "c", 1);
  setenv("DIALTONE_CLIENT_SECRET", "s", 1);
  setenv("DIALTONE_TOKEN_URL", "http://127.0.0.1:9090/token", 1);
  setenv("DIALTONE_JWKS_URL", "http://127.0.0.1:9090/keys", 1);
  setenv("DIALTONE_FLOWS", "/srv/flows", 1);
  dt_config_t cfg;
  char err[512] = "";
  dt_config_init(&cfg);
  int rc = dt_config_apply_env(&cfg, err, sizeof err);
  if (rc == 0) rc = dt_config_finalize(&cfg, err, sizeof err);
  clear_env();
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.listen, "0.0.0.0:9000");
  DT_ASSERT_EQ_STR(cfg.graph.base_url, "http://127.0.0.1:9090/v1.0");
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "graph.base_url"), "DIALTONE_GRAPH_URL");
  DT_ASSERT_EQ_STR(cfg.graph.tenant_id, "t");
  DT_ASSERT_EQ_STR(cfg.graph.client_id, "c");
  DT_ASSERT_EQ_STR(cfg.graph.client_secret, "s");
  DT_ASSERT_EQ_STR(cfg.graph.token_url, "http://127.0.0.1:9090/token");
  DT_ASSERT_EQ_STR(cfg.inbound.jwks_url, "http://127.0.0.1:9090/keys");
  DT_ASSERT(cfg.inbound.openid_config == NULL); /* jwks_url replaces the OpenID default */
  DT_ASSERT_EQ_STR(cfg.flows, "/srv/flows");
  DT_ASSERT_EQ_STR(cfg.prompts.dir, "/srv/flows/prompts");
  DT_ASSERT(dt_config_has_graph_credentials(&cfg));
  dt_config_free(&cfg);
}

DT_TEST(env_errors_name_the_variable) {
  dt_config_t cfg;
  char err[512];
  clear_env();
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_LIMITS_MAX_CALLS", "lots", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "DIALTONE_LIMITS_MAX_CALLS");
  DT_ASSERT_CONTAINS(err, "integer");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_LIMITS_OP_TIMEOUT_S", "-1", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "limits.op_timeout_s");
  DT_ASSERT_CONTAINS(err, "out of range");
  DT_ASSERT_CONTAINS(err, "DIALTONE_LIMITS_OP_TIMEOUT_S");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_LIMITS_MAX_CALLS", "1.5", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "expected an integer");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_ROUTES", "sales", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "DIALTONE_ROUTES");
  dt_config_free(&cfg);
  /* alias and canonical name disagreeing is an error naming both */
  clear_env();
  setenv("DIALTONE_GRAPH_BASE_URL", "http://a/v1.0", 1);
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_GRAPH_URL", "http://b/v1.0", err, sizeof err), DT_ECONFIG);
  clear_env();
  DT_ASSERT_CONTAINS(err, "DIALTONE_GRAPH_URL");
  DT_ASSERT_CONTAINS(err, "DIALTONE_GRAPH_BASE_URL");
  dt_config_free(&cfg);
}

typedef struct {
  const char *var, *value, *expect_key, *expect_text;
} bad_case_t;

DT_TEST(validation_errors) {
  static const bad_case_t cases[] = {
      {"DIALTONE_GRAPH_DIALECT", "v2", "graph.dialect", "\"v1.0\" or \"beta\""},
      {"DIALTONE_LISTEN", "8080", "listen", "host:port"},
      {"DIALTONE_LISTEN", "127.0.0.1:70000", "listen", "host:port"},
      {"DIALTONE_LISTEN", "127.0.0.1:", "listen", "host:port"},
      {"DIALTONE_EMULATOR_LISTEN", "nowhere", "emulator.listen", "host:port"},
      {"DIALTONE_TLS_CERT", "/etc/hostname", "tls.key", "both tls.cert and tls.key"},
      {"DIALTONE_CALLBACK_PATH", "api/calls", "callback_path", "starting with /"},
      {"DIALTONE_PUBLIC_URL", "bot.example.com", "public_url", "http:// or https://"},
      {"DIALTONE_LOG_LEVEL", "loud", "log.level", "debug, info"},
      {"DIALTONE_LOG_FORMAT", "xml", "log.format", "text or json"},
      {"DIALTONE_ROUTES_DEFAULT", "../etc/passwd", "routes.default", "flow name"},
      {"DIALTONE_CLIENT_ID", "app", "graph.tenant_id, graph.client_secret: missing", "together"},
      {"DIALTONE_GRAPH_URL", "http://127.0.0.1:9/v1.0", "graph.base_url", "graph.client_id"},
      {"DIALTONE_INBOUND_ISSUERS", " , ", "inbound.issuers", "at least one"},
      {"DIALTONE_LIMITS_MAX_BODY_BYTES", "10", "limits.max_body_bytes", "out of range"},
      {"DIALTONE_EMULATOR_TIME_SCALE", "nan", "emulator.time_scale", "finite"},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(cases); i++) {
    dt_config_t cfg;
    char err[512];
    clear_env();
    int rc = with_env(&cfg, cases[i].var, cases[i].value, err, sizeof err);
    dt_config_free(&cfg);
    DT_ASSERT_MSG(rc == DT_ECONFIG, "%s=%s accepted", cases[i].var, cases[i].value);
    DT_ASSERT_MSG(strstr(err, cases[i].expect_key) && strstr(err, cases[i].expect_text),
                  "%s=%s: \"%s\" lacks %s / %s", cases[i].var, cases[i].value, err, cases[i].expect_key,
                  cases[i].expect_text);
  }
  /* tls files must be readable; the error names the key and the variable it came from */
  clear_env();
  setenv("DIALTONE_TLS_KEY", "/nonexistent/key.pem", 1);
  dt_config_t cfg;
  char err[512];
  int rc = with_env(&cfg, "DIALTONE_TLS_CERT", "/nonexistent/cert.pem", err, sizeof err);
  clear_env();
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(rc, DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "tls.cert: cannot read");
  DT_ASSERT_CONTAINS(err, "DIALTONE_TLS_CERT");
  /* jwks_url and openid_config together */
  clear_env();
  setenv("DIALTONE_INBOUND_OPENID_CONFIG", "https://x.example/.well-known/openid-configuration", 1);
  rc = with_env(&cfg, "DIALTONE_JWKS_URL", "https://x.example/keys", err, sizeof err);
  clear_env();
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(rc, DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "not both");
}

DT_TEST(setters_reject_wrong_types_and_unknown_keys) {
  dt_config_t cfg;
  char err[512];
  dt_config_init(&cfg);
  DT_ASSERT_EQ_INT(dt_config_set_string(&cfg, "limits.max_calls", "5", "t", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "limits.max_calls: expected an integer, got string");
  DT_ASSERT_EQ_INT(dt_config_set_number(&cfg, "listen", 5, "t", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "listen: expected a string, got number");
  DT_ASSERT_EQ_INT(dt_config_set_text(&cfg, "graph.dialct", "beta", "--x", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_STR(err, "graph.dialct: unknown key (did you mean dialect?)");
  DT_ASSERT_EQ_INT(dt_config_set_text(&cfg, "graph", "x", "--x", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_config_set_text(&cfg, "listen", "127.0.0.1:1", "--listen", err, sizeof err), 0);
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "listen"), "--listen");
  dt_config_free(&cfg);
}

DT_TEST(type_names) {
  DT_ASSERT_EQ_STR(dt_config_type_name(DT_CFG_INTEGER), "an integer");
  DT_ASSERT_EQ_STR(dt_config_type_name(DT_CFG_STRLIST), "a list of strings");
  DT_ASSERT_EQ_STR(dt_config_type_name(DT_CFG_ROUTES), "a list of {match=, subject=, policy_recording=, transferred=, meeting=, flow=} tables");
  DT_ASSERT_EQ_STR(dt_config_type_name((dt_config_type_t)99), "?");
}

DT_TEST(suggestions) {
  DT_ASSERT_EQ_STR(dt_config_suggest("graph.dialct"), "dialect");
  DT_ASSERT_EQ_STR(dt_config_suggest("flow"), "flows");
  DT_ASSERT_EQ_STR(dt_config_suggest("limits.op_timeout"), "op_timeout_s");
  DT_ASSERT_EQ_STR(dt_config_suggest("grahp"), "graph");
  DT_ASSERT_EQ_STR(dt_config_suggest("tls.Cert"), "cert");
  DT_ASSERT(dt_config_suggest("completely_unrelated") == NULL);
  DT_ASSERT(dt_config_suggest("graph.listen") == NULL); /* listen is not a sibling there */
  char name[64];
  dt_config_env_name("limits.op_timeout_s", name, sizeof name);
  DT_ASSERT_EQ_STR(name, "DIALTONE_LIMITS_OP_TIMEOUT_S");
}

DT_TEST(bound_port_rewrites_derived_urls_only) {
  clear_env();
  dt_config_t cfg;
  char err[512];
  dt_config_init(&cfg);
  DT_ASSERT_EQ_INT(dt_config_set_text(&cfg, "listen", "127.0.0.1:0", "--listen", err, sizeof err), 0);
  DT_ASSERT_MSG(dt_config_finalize(&cfg, err, sizeof err) == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.public_url, "http://127.0.0.1:0");
  dt_config_bound_port(&cfg, 43210);
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:43210");
  DT_ASSERT_EQ_STR(cfg.public_url, "http://127.0.0.1:43210");
  DT_ASSERT_EQ_STR(cfg.prompts.base_url, "http://127.0.0.1:43210/prompts");
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "listen"), "--listen");
  dt_config_free(&cfg);
  /* an explicit public_url is left alone */
  dt_config_init(&cfg);
  dt_config_set_text(&cfg, "listen", "127.0.0.1:0", "--listen", err, sizeof err);
  dt_config_set_text(&cfg, "public_url", "https://bot.example.com", "t", err, sizeof err);
  DT_ASSERT_EQ_INT(dt_config_finalize(&cfg, err, sizeof err), 0);
  dt_config_bound_port(&cfg, 5555);
  DT_ASSERT_EQ_STR(cfg.public_url, "https://bot.example.com");
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:5555");
  dt_config_free(&cfg);
}

DT_TEST(dump_masks_secret_and_round_trips) {
  clear_env();
  dt_config_t cfg;
  char err[512];
  int rc = load_text(&cfg,
                     "return { graph = { tenant_id = 't', client_id = 'c', client_secret = 'TOPSECRET-42' },\n"
                     "  routes = { { match = '+15550100', flow = 'sales' }, default = 'main' },\n"
                     "  limits = { op_timeout_s = 0.25 } }\n",
                     err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  dt_buf_t b = {0};
  dt_config_dump(&cfg, &b);
  DT_ASSERT(strstr(b.data, "TOPSECRET") == NULL);
  DT_ASSERT_CONTAINS(b.data, "client_secret = \"********\"");
  DT_ASSERT_CONTAINS(b.data, "op_timeout_s = 0.25");
  DT_ASSERT_CONTAINS(b.data, "{ match = \"+15550100\", flow = \"sales\" }");
  dt_config_free(&cfg);
  /* the dump is itself a valid config file that loads to the same values */
  dt_config_t again;
  rc = load_text(&again, b.data, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s\n%s", err, b.data);
  DT_ASSERT_EQ_STR(again.graph.client_secret, "********");
  DT_ASSERT_EQ_INT(again.routes.count, 1);
  DT_ASSERT(again.limits.op_timeout_s == 0.25);
  DT_ASSERT_EQ_STR(again.graph.base_url, "https://graph.microsoft.com/v1.0");
  dt_buf_free(&b);
  dt_config_free(&again);
}

/* Routes on what Graph says about the call (issue 12 point 4): every condition kept, dumped
   in a form that loads back to the same routes. */
DT_TEST(routes_with_incoming_context_conditions_load_and_round_trip) {
  clear_env();
  dt_config_t cfg;
  char err[512];
  int rc = load_text(&cfg,
                     "return { routes = {\n"
                     "  { policy_recording = true, flow = 'recorder' },\n"
                     "  { match = 'app-1', meeting = true, subject = 'Incident*', flow = 'incident' },\n"
                     "  { transferred = false, match = '*', flow = 'main' } } }\n",
                     err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_INT(cfg.routes.count, 3);
  DT_ASSERT(cfg.routes.items[0].match == NULL);
  DT_ASSERT_EQ_INT(cfg.routes.items[0].policy_recording, DT_ROUTE_YES);
  DT_ASSERT_EQ_STR(cfg.routes.items[1].subject, "Incident*");
  DT_ASSERT_EQ_INT(cfg.routes.items[1].meeting, DT_ROUTE_YES);
  DT_ASSERT_EQ_INT(cfg.routes.items[2].transferred, DT_ROUTE_NO);
  dt_buf_t b = {0};
  dt_config_dump(&cfg, &b);
  DT_ASSERT_CONTAINS(b.data, "{ policy_recording = true, flow = \"recorder\" }");
  DT_ASSERT_CONTAINS(b.data, "{ match = \"app-1\", subject = \"Incident*\", meeting = true, flow = \"incident\" }");
  DT_ASSERT_CONTAINS(b.data, "{ match = \"*\", transferred = false, flow = \"main\" }");
  dt_config_free(&cfg);
  dt_config_t again;
  rc = load_text(&again, b.data, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s\n%s", err, b.data);
  DT_ASSERT_EQ_INT(again.routes.count, 3);
  DT_ASSERT_EQ_INT(again.routes.items[0].policy_recording, DT_ROUTE_YES);
  DT_ASSERT_EQ_STR(again.routes.items[1].subject, "Incident*");
  dt_buf_free(&b);
  dt_config_free(&again);
}

DT_TEST(lua_good_file) {
  clear_env();
  setenv("MY_TEST_SECRET", "from-env", 1);
  dt_config_t cfg;
  char err[512];
  int rc = load_text(&cfg,
                     "-- a comment\n"
                     "local port = 8000 + 80\n"
                     "return {\n"
                     "  listen = '127.0.0.1:' .. port,\n"
                     "  flows = 'myflows',\n"
                     "  prompts = { base_url = 'https://cdn.example.com/p' },\n"
                     "  routes = { { match = 'app-1', flow = 'support' }, { match = '+1555', flow = 'sales' } },\n"
                     "  graph = { dialect = 'beta', tenant_id = 't', client_id = 'c',\n"
                     "            client_secret = getenv('MY_TEST_SECRET') },\n"
                     "  inbound = { issuers = 'https://only.example', audience = 'aud-x' },\n"
                     "  emulator = { time_scale = 0 },\n"
                     "  log = { level = 'debug' },\n"
                     "  limits = { max_calls = 5, op_timeout_s = 1.5, instruction_budget = 1e6 },\n"
                     "}\n",
                     err, sizeof err);
  unsetenv("MY_TEST_SECRET");
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:8080");
  DT_ASSERT_EQ_STR(cfg.flows, "myflows");
  DT_ASSERT_EQ_STR(cfg.prompts.dir, "myflows/prompts");
  DT_ASSERT_EQ_STR(cfg.prompts.base_url, "https://cdn.example.com/p");
  DT_ASSERT_EQ_INT(cfg.routes.count, 2);
  DT_ASSERT_EQ_STR(cfg.routes.items[1].flow, "sales");
  DT_ASSERT_EQ_STR(cfg.graph.dialect, "beta");
  DT_ASSERT_EQ_STR(cfg.graph.client_secret, "from-env");
  DT_ASSERT_EQ_INT(cfg.inbound.issuers.count, 1);
  DT_ASSERT_EQ_STR(cfg.inbound.audience, "aud-x");
  DT_ASSERT(cfg.emulator.time_scale == 0);
  DT_ASSERT_EQ_STR(cfg.log.level, "debug");
  DT_ASSERT_EQ_INT(cfg.limits.max_calls, 5);
  DT_ASSERT_EQ_INT(cfg.limits.instruction_budget, 1000000);
  DT_ASSERT(cfg.limits.op_timeout_s == 1.5);
  DT_ASSERT_CONTAINS(dt_config_origin(&cfg, "flows"), "conf.lua");
  dt_config_free(&cfg);
}

DT_TEST(lua_env_beats_file_and_flags_beat_env) {
  clear_env();
  const char *path = write_tmp("prec.lua", "return { listen = '127.0.0.1:1', flows = 'a', cdr = 'file.jsonl' }");
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  setenv("DIALTONE_LISTEN", "127.0.0.1:2", 1);
  setenv("DIALTONE_FLOWS", "b", 1);
  dt_config_override_t ov[] = {{"flows", "c", "--flows"}};
  dt_config_t cfg;
  char err[512];
  int rc = dt_config_load(&cfg, p, ov, 1, err, sizeof err);
  clear_env();
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.cdr, "file.jsonl");
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:2");
  DT_ASSERT_EQ_STR(cfg.flows, "c");
  DT_ASSERT_EQ_STR(dt_config_origin(&cfg, "flows"), "--flows");
  dt_config_free(&cfg);
}

DT_TEST(lua_unknown_key_with_suggestion) {
  dt_config_t cfg;
  char err[512];
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { graph = { dialct = 'beta' } }", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "conf.lua: graph.dialct: unknown key (did you mean dialect?)");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { flow = 'x' }", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "flow: unknown key (did you mean flows?)");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { banana = 1 }", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "banana: unknown key");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { routes = { { match = 'a', flw = 'b' } } }", err, sizeof err),
                   DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "routes[1].flw: unknown key");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { routes = { deflt = 'x' } }", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "routes.deflt: unknown key (did you mean default?)");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return { 'listen' }", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "keys must be names");
  dt_config_free(&cfg);
}

DT_TEST(lua_wrong_types) {
  static const struct {
    const char *text, *expect;
  } cases[] = {
      {"return { limits = { op_timeout_s = '30' } }", "limits.op_timeout_s: expected a number, got string"},
      {"return { listen = 8080 }", "listen: expected a string, got number"},
      {"return { graph = 'graph.microsoft.com' }", "graph: expected a table, got string"},
      {"return { limits = { max_calls = 2.5 } }", "limits.max_calls: expected an integer, got 2.5"},
      {"return { limits = { max_calls = 0 } }", "limits.max_calls: 0 is out of range"},
      {"return { inbound = { issuers = { 'a', 7 } } }", "inbound.issuers[2]: expected a string, got number"},
      {"return { inbound = { issuers = { x = 'a' } } }", "inbound.issuers: expected a list of strings"},
      {"return { routes = { 'main' } }", "routes[1]: expected a table {match=, flow=}, got string"},
      {"return { routes = { { match = '+1' } } }", "routes[1].flow: missing"},
      {"return { routes = { { match = '+1', flow = 'no/slash' } } }", "routes[1].flow: expected a flow name"},
      {"return { routes = { { flow = 'x' } } }", "routes[1]: no condition (give match"},
      {"return { routes = { { policy_recording = 'yes', flow = 'x' } } }",
       "routes[1].policy_recording: expected true or false, got string"},
      {"return { routes = { { subject = '', flow = 'x' } } }", "routes[1]: subject: expected a pattern of 1 to 256 bytes"},
      {"return { routes = { { meeting = true, flow = 'x', subjct = 'a' } } }", "routes[1].subjct: unknown key (a route has match, subject"},
      {"return { tls = { cert = true } }", "tls.cert: expected a string, got boolean"},
      {"return { graph = { dialect = 'v2' } }", "graph.dialect: must be \"v1.0\" or \"beta\""},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(cases); i++) {
    dt_config_t cfg;
    char err[512];
    int rc = load_text(&cfg, cases[i].text, err, sizeof err);
    dt_config_free(&cfg);
    DT_ASSERT_MSG(rc == DT_ECONFIG, "accepted: %s", cases[i].text);
    DT_ASSERT_MSG(strstr(err, cases[i].expect) != NULL, "%s\n  got: %s\n  want: %s", cases[i].text, err,
                  cases[i].expect);
  }
}

/* http.* (dialtone.http): loopback by default, a list from the file or the environment, {}
   allows nothing, and a default timeout above the maximum is refused naming the key. */
DT_TEST(http_allow_and_limits) {
  dt_config_t cfg;
  char err[512];
  DT_ASSERT_EQ_INT(load_text(&cfg, "return {}", err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)cfg.http.allow.count, 3);
  DT_ASSERT_EQ_STR(cfg.http.allow.items[0], "localhost");
  DT_ASSERT_EQ_STR(cfg.http.allow.items[1], "127.0.0.1");
  DT_ASSERT_EQ_STR(cfg.http.allow.items[2], "[::1]");
  DT_ASSERT(cfg.http.timeout_s == 10 && cfg.http.max_timeout_s == 60);
  DT_ASSERT_EQ_INT((int)cfg.http.max_body, 1 << 20);
  DT_ASSERT_EQ_INT((int)cfg.http.max_in_flight, 100);
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return {http = {allow = {'*.crm.example:443'}, timeout_s = 2, max_body = 4096}}", err,
                             sizeof err), 0);
  DT_ASSERT_EQ_INT((int)cfg.http.allow.count, 1);
  DT_ASSERT_EQ_STR(cfg.http.allow.items[0], "*.crm.example:443");
  DT_ASSERT(cfg.http.timeout_s == 2);
  DT_ASSERT_EQ_INT((int)cfg.http.max_body, 4096);
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return {http = {allow = {}}}", err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)cfg.http.allow.count, 0);
  dt_config_free(&cfg);
  DT_ASSERT(load_text(&cfg, "return {http = {timeout_s = 90}}", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "http.timeout_s");
  DT_ASSERT_CONTAINS(err, "http.max_timeout_s");
  dt_config_free(&cfg);
  clear_env();
  DT_ASSERT_EQ_INT(with_env(&cfg, "DIALTONE_HTTP_ALLOW", "10.0.0.5,*.b.example", err, sizeof err), 0);
  DT_ASSERT_EQ_INT((int)cfg.http.allow.count, 2);
  DT_ASSERT_EQ_STR(cfg.http.allow.items[1], "*.b.example");
  dt_config_free(&cfg);
}

DT_TEST(lua_must_return_a_table) {
  dt_config_t cfg;
  char err[512];
  DT_ASSERT_EQ_INT(load_text(&cfg, "listen = '127.0.0.1:1'", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "must return a table (got nil)");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "return 'x'", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "got string");
  dt_config_free(&cfg);
}

DT_TEST(lua_syntax_and_runtime_errors_report_file_and_line) {
  dt_config_t cfg;
  char err[512];
  DT_ASSERT_EQ_INT(load_text(&cfg, "return {\n  listen = '1.2.3.4:5'\n  flows = 'x'\n}\n", err, sizeof err),
                   DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "conf.lua:3:");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "local t = nil\n\nreturn { listen = t.x }\n", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "conf.lua:3:");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "\nerror('custom problem')\n", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "conf.lua:2: custom problem");
  dt_config_free(&cfg);
}

DT_TEST(lua_sandbox_and_limits) {
  dt_config_t cfg;
  char err[512];
  const char *denied[] = {"os.exit(3)", "io.write('x')", "require('os')", "load('return 1')()",
                          "dofile('/etc/passwd')", "debug.traceback()"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(denied); i++) {
    char text[128];
    snprintf(text, sizeof text, "%s\nreturn {}", denied[i]);
    int rc = load_text(&cfg, text, err, sizeof err);
    dt_config_free(&cfg);
    DT_ASSERT_MSG(rc == DT_ECONFIG && strstr(err, "conf.lua:1:"), "%s: rc %d %s", denied[i], rc, err);
  }
  DT_ASSERT_EQ_INT(load_text(&cfg, "local n = 0\nwhile true do n = n + 1 end", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "conf.lua:2: the configuration ran for more than");
  dt_config_free(&cfg);
  DT_ASSERT_EQ_INT(load_text(&cfg, "local s = string.rep('x', 1 << 20)\nlocal t = {}\n"
                                   "for i = 1, 64 do t[i] = s .. i end\nreturn {}",
                             err, sizeof err),
                   DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "memory");
  dt_config_free(&cfg);
  /* binary chunks are refused */
  DT_ASSERT_EQ_INT(load_text(&cfg, "\x1bLua", err, sizeof err), DT_ECONFIG);
  dt_config_free(&cfg);
}

DT_TEST(lua_missing_files) {
  clear_env();
  dt_config_t cfg;
  char err[512];
  DT_ASSERT_EQ_INT(dt_config_load(&cfg, "/nonexistent/dialtone.conf.lua", NULL, 0, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "/nonexistent/dialtone.conf.lua: no such file");
  dt_config_free(&cfg);
  /* the default file may be missing: run from a directory without one */
  char cwd[512];
  DT_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
  write_tmp("placeholder", "");
  DT_ASSERT_EQ_INT(chdir(tmpdir), 0);
  unlink(DT_CONFIG_DEFAULT_FILE);
  int rc = dt_config_load(&cfg, NULL, NULL, 0, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.listen, "127.0.0.1:8080");
  dt_config_free(&cfg);
  /* ...but when it exists it is read */
  write_tmp(DT_CONFIG_DEFAULT_FILE, "return { cdr = 'from-default.jsonl' }");
  rc = dt_config_load(&cfg, NULL, NULL, 0, err, sizeof err);
  unlink(DT_CONFIG_DEFAULT_FILE);
  DT_ASSERT_EQ_INT(chdir(cwd), 0);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.cdr, "from-default.jsonl");
  dt_config_free(&cfg);
}

DT_TEST(zz_cleanup_tmpdir) {
  if (tmpdir[0]) {
    const char *files[] = {"conf.lua", "cert.pem", "key.pem", "prec.lua", "placeholder"};
    for (size_t i = 0; i < DT_ARRAY_SIZE(files); i++) {
      char p[256];
      snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
      unlink(p);
    }
    DT_ASSERT_EQ_INT(rmdir(tmpdir), 0);
  }
}

DT_TEST(keepalive_interval_is_0_or_15_to_45_minutes) {
  clear_env();
  dt_config_t cfg;
  char err[512] = "";
  dt_config_init(&cfg);
  DT_ASSERT_MSG(dt_config_finalize(&cfg, err, sizeof err) == 0, "%s", err);
  DT_ASSERT_EQ_INT((int)cfg.graph.keepalive_interval_s, 1800);
  dt_config_free(&cfg);
  const char *ok[] = {"0", "900", "2700"};
  for (size_t i = 0; i < 3; i++) {
    DT_ASSERT_MSG(with_env(&cfg, "DIALTONE_GRAPH_KEEPALIVE_INTERVAL_S", ok[i], err, sizeof err) == 0, "%s", err);
    DT_ASSERT_EQ_INT((int)cfg.graph.keepalive_interval_s, atoi(ok[i]));
    dt_config_free(&cfg);
  }
  DT_ASSERT(with_env(&cfg, "DIALTONE_GRAPH_KEEPALIVE_INTERVAL_S", "899", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "graph.keepalive_interval_s: must be 0 (off) or 900..2700");
  dt_config_free(&cfg);
  DT_ASSERT(with_env(&cfg, "DIALTONE_GRAPH_KEEPALIVE_INTERVAL_S", "2701", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "graph.keepalive_interval_s");
  dt_config_free(&cfg);
}

DT_TEST(application_instance_is_checked) {
  clear_env();
  dt_config_t cfg;
  char err[512] = "";
  DT_ASSERT_MSG(with_env(&cfg, "DIALTONE_APPLICATION_INSTANCE_ID", "5a1e2c3d-0000-4000-8000-00000000f00d", err,
                         sizeof err) == 0, "%s", err);
  DT_ASSERT_EQ_STR(cfg.graph.application_instance_id, "5a1e2c3d-0000-4000-8000-00000000f00d");
  dt_config_free(&cfg);
  unsetenv("DIALTONE_APPLICATION_INSTANCE_ID");
  DT_ASSERT(with_env(&cfg, "DIALTONE_GRAPH_APPLICATION_INSTANCE_ID", "has space", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "graph.application_instance_id: must hold no control characters or spaces");
  dt_config_free(&cfg);
  unsetenv("DIALTONE_GRAPH_APPLICATION_INSTANCE_ID");
  DT_ASSERT(with_env(&cfg, "DIALTONE_GRAPH_APPLICATION_INSTANCE_NAME", "Front desk", err, sizeof err) != 0);
  DT_ASSERT_CONTAINS(err, "graph.application_instance_name: is set but graph.application_instance_id is not");
  dt_config_free(&cfg);
  unsetenv("DIALTONE_GRAPH_APPLICATION_INSTANCE_NAME");
}

DT_TEST_MAIN()
