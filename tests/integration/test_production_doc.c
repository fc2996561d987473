/*
 * test_production_doc.c — docs/production.md does not promise settings that do not exist:
 * every configuration key it names in backquotes is one `dialtone run` knows, and its example
 * production configuration loads (its files moved into a temporary directory) with real
 * Graph credentials (a certificate), HTTPS ingress and the admin listener as the page says.
 */
#include <ctype.h>
#include "harness/dt_test.h"
#include "harness/files.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"

static char *read_doc(void) {
  const char *src = getenv("DT_SOURCE_DIR");
  char path[512];
  snprintf(path, sizeof path, "%s/docs/production.md", src ? src : ".");
  char *text = NULL;
  size_t len = 0;
  return dt_read_file(path, 1 << 20, &text, &len) == 0 ? text : NULL;
}

static const char *const ROOTS[] = {"listen", "public_url", "callback_path", "tls", "admin", "routes",
                                    "graph", "inbound", "emulator", "log", "limits", "prompts",
                                    "recordings", "cdr", "cdr_spool", "flows"};

/* `a.b_c` with a known first segment: a configuration key the page names. */
static bool looks_like_key(const char *s, size_t n) {
  size_t first = 0;
  while (first < n && s[first] != '.') first++;
  bool root = false;
  for (size_t i = 0; i < DT_ARRAY_SIZE(ROOTS); i++)
    if (strlen(ROOTS[i]) == first && strncmp(ROOTS[i], s, first) == 0) root = true;
  if (!root) return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')) return false;
  return true;
}

DT_TEST(every_key_the_page_names_exists) {
  char *doc = read_doc();
  DT_ASSERT(doc != NULL);
  int checked = 0;
  for (const char *p = strchr(doc, '`'); p; p = strchr(p + 1, '`')) {
    const char *end = strchr(p + 1, '`');
    if (!end) break;
    size_t n = (size_t)(end - p - 1);
    if (n > 0 && n < 80 && looks_like_key(p + 1, n)) {
      char key[80];
      snprintf(key, sizeof key, "%.*s", (int)n, p + 1);
      DT_ASSERT_MSG(dt_config_find_key(key) != NULL, "docs/production.md names `%s`, which is no configuration key", key);
      checked++;
    }
    p = end;
  }
  /* the page names at least these (a check that found nothing would prove nothing) */
  DT_ASSERT(checked >= 15);
  free(doc);
}

/* Replaces every from with to in s (s is freed). */
static char *replace(char *s, const char *from, const char *to) {
  dt_buf_t b = {0};
  const char *p = s, *q;
  while ((q = strstr(p, from)) != NULL) {
    dt_buf_append(&b, p, (size_t)(q - p));
    dt_buf_append(&b, to, strlen(to));
    p = q + strlen(from);
  }
  dt_buf_append(&b, p, strlen(p));
  free(s);
  return b.data;
}

DT_TEST(the_example_production_configuration_loads) {
  char *doc = read_doc();
  DT_ASSERT(doc != NULL);
  const char *start = strstr(doc, "-- /etc/dialtone/dialtone.conf.lua (production)");
  DT_ASSERT(start != NULL);
  const char *end = strstr(start, "```");
  DT_ASSERT(end != NULL);
  char *conf = dt_xstrndup(start, (size_t)(end - start));
  free(doc);
  char dir[] = "/tmp/dt_proddoc_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/etc/tls %s/etc/flows %s/lib %s/spool && touch %s/etc/tls/fullchain.pem "
           "%s/etc/tls/privkey.pem %s/etc/app-cert.pem %s/etc/app-key.pem", dir, dir, dir, dir, dir, dir, dir, dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
  char etc[128], lib[128], spool[128];
  snprintf(etc, sizeof etc, "%s/etc", dir);
  snprintf(lib, sizeof lib, "%s/lib", dir);
  snprintf(spool, sizeof spool, "%s/spool", dir);
  conf = replace(conf, "/etc/dialtone", etc);
  conf = replace(conf, "/var/lib/dialtone", lib);
  conf = replace(conf, "/var/spool/dialtone", spool);
  char path[160];
  snprintf(path, sizeof path, "%s/dialtone.conf.lua", dir);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, conf, strlen(conf)), 0);
  free(conf);
  dt_config_t cfg;
  char err[512] = "";
  int rc = dt_config_load(&cfg, path, NULL, 0, err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  DT_ASSERT(dt_config_has_graph_credentials(&cfg));
  DT_ASSERT_EQ_STR(cfg.graph.base_url, "https://graph.microsoft.com/v1.0");
  DT_ASSERT(cfg.graph.client_certificate.cert != NULL && cfg.graph.client_secret == NULL);
  DT_ASSERT(cfg.tls.cert != NULL);
  DT_ASSERT_EQ_STR(cfg.public_url, "https://ivr.example.com");
  DT_ASSERT_EQ_STR(cfg.admin.listen, "127.0.0.1:9090");
  DT_ASSERT_EQ_STR(cfg.log.format, "json");
  dt_config_free(&cfg);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST_MAIN()
