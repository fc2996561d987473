/*
 * preflight.c — `dialtone run`'s start-up checks and setting warnings (see preflight.h).
 *
 * Owns: a private HTTP client and token source on the caller's loop for the length of the
 * checks (closed before it returns), so the engine starts from a clean state. Promises:
 * the token is asked for first, then the key set; the first failure ends the checks; the
 * error line never says "HTTP 0" (transport failures are in words, http_client.h); the
 * secret is never in it. The checks take at most about 2 x 10 s (each request's timeout).
 */
#include "preflight.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dialtone/jwt.h"
#include "dialtone/log.h"
#include "dialtone/oauth.h"

#define MAX_KEYSET_BYTES (1u << 20)

typedef struct {
  uv_loop_t *loop;
  const dt_config_t *cfg;
  dt_http_client_t *http;
  dt_oauth_source_t *tokens;
  dt_client_cert_t *cert; /* certificate credentials, or NULL (the secret) */
  char *jwks_url; /* from the OpenID configuration, or inbound.jwks_url */
  bool done, closed;
  int rc;
  char *err;
  size_t errlen;
} pf_t;

const char *dt_preflight_token_hint(const char *e) {
  if (!e) return "";
  /* certificate credentials first: their refusals are invalid_client too */
  if (strstr(e, "AADSTS700027"))
    return "upload graph.client_certificate's certificate (.cer/.pem) to the app registration's Certificates & "
           "secrets, or use the key that belongs to the uploaded one";
  if (strstr(e, "AADSTS700024")) return "check this machine's clock (NTP): the client assertion is only valid 10 minutes";
  if (strstr(e, "AADSTS7000215") || strstr(e, "AADSTS7000222") || strstr(e, "invalid_client"))
    return "check graph.client_secret (the secret's Value, not its ID; secrets expire) and graph.client_id";
  if (strstr(e, "AADSTS700016") || strstr(e, "unauthorized_client"))
    return "check graph.client_id (the app registration's Application (client) ID) and graph.tenant_id";
  if (strstr(e, "AADSTS90002") || strstr(e, "AADSTS900023") || strstr(e, "invalid_tenant"))
    return "check graph.tenant_id (the Directory (tenant) ID)";
  if (strstr(e, "certificate is not trusted"))
    return "the system CA store must trust the endpoint's certificate (ca-certificates; a TLS-inspecting proxy's CA)";
  if (strstr(e, "DNS lookup failed"))
    return "check the host name, and this machine's DNS";
  if (strstr(e, "connection refused") || strstr(e, "unreachable") || strstr(e, "timed out"))
    return "check the URL, and that this machine can reach it (firewall; HTTPS_PROXY if outbound traffic needs a proxy)";
  return "";
}

static void fail(pf_t *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(pf_t *p, int rc, const char *fmt, ...) {
  char msg[1024];
  DT_VFORMAT(msg, fmt);
  snprintf(p->err, p->errlen, "%s", msg);
  p->rc = rc ? rc : DT_EIO;
  p->done = true;
}

/* A download that did not answer 200: the cause in words, then the fix. */
static void fail_download(pf_t *p, const char *what, const char *url, const dt_http_response_t *res,
                          const char *http_hint) {
  char why[512];
  const char *hint = res->error ? dt_preflight_token_hint(res->error_message) : http_hint;
  fail(p, res->error ? res->error : DT_EHTTP, "cannot load the inbound key set: %s %s: %s%s%s", what, url,
       dt_http_outcome(res, why, sizeof why), hint[0] ? "; " : "", hint);
}

static void on_keys(const dt_http_response_t *res, void *ud) {
  pf_t *p = ud;
  char why[512];
  if (res->error || res->status != 200) {
    fail_download(p, "key set", p->jwks_url, res,
                  "expected 200 and a JWKS document: check inbound.jwks_url (or inbound.openid_config)");
    return;
  }
  dt_jwks_t *k = NULL;
  int rc = dt_jwks_parse(res->body, res->body_len, &k, why, sizeof why);
  dt_jwks_free(k);
  if (rc != 0) {
    fail(p, rc, "cannot load the inbound key set: key set %s is not usable: %s; check inbound.jwks_url",
         p->jwks_url, why);
    return;
  }
  dt_log_info("preflight: inbound key set loaded from %s", p->jwks_url);
  p->done = true;
}

static void get_keys(pf_t *p) {
  dt_http_request_options_t r = {.method = "GET", .url = p->jwks_url, .max_response_bytes = MAX_KEYSET_BYTES};
  int rc = dt_http_client_send(p->http, &r, on_keys, p, NULL);
  if (rc != 0) fail(p, rc, "cannot load the inbound key set from %s: %s", p->jwks_url, dt_strerror(rc));
}

static void on_openid(const dt_http_response_t *res, void *ud) {
  pf_t *p = ud;
  const char *url = p->cfg->inbound.openid_config;
  char why[512];
  if (res->error || res->status != 200) {
    fail_download(p, "OpenID configuration", url, res, "check inbound.openid_config (or set inbound.jwks_url)");
    return;
  }
  char *issuer = NULL;
  int rc = dt_openid_config_parse(res->body, res->body_len, &p->jwks_url, &issuer, why, sizeof why);
  free(issuer);
  if (rc != 0) {
    fail(p, rc, "cannot load the inbound key set: OpenID configuration %s is not usable: %s", url, why);
    return;
  }
  get_keys(p);
}

static void start_keys(pf_t *p) {
  const dt_config_t *c = p->cfg;
  if (c->inbound.jwks_url) {
    p->jwks_url = dt_xstrdup(c->inbound.jwks_url);
    get_keys(p);
    return;
  }
  dt_http_request_options_t r = {.method = "GET", .url = c->inbound.openid_config, .max_response_bytes = MAX_KEYSET_BYTES};
  int rc = dt_http_client_send(p->http, &r, on_openid, p, NULL);
  if (rc != 0) fail(p, rc, "cannot load the OpenID configuration %s: %s", c->inbound.openid_config, dt_strerror(rc));
}

static void on_token(int err, const char *token, void *ud) {
  (void)token;
  pf_t *p = ud;
  if (err != 0) {
    const char *why = dt_oauth_last_error(p->tokens);
    const char *hint = dt_preflight_token_hint(why);
    fail(p, err, "cannot get a Graph token: %s%s%s", why ? why : dt_strerror(err), hint[0] ? "; " : "", hint);
    return;
  }
  dt_log_info("preflight: Graph token fetched from %s", p->cfg->graph.token_url);
  start_keys(p);
}

static void on_http_closed(void *ud) { ((pf_t *)ud)->closed = true; }

int dt_preflight_run(uv_loop_t *loop, const dt_config_t *cfg, char *err, size_t errlen) {
  pf_t p = {.loop = loop, .cfg = cfg, .err = err, .errlen = errlen};
  const char *cert_file = cfg->graph.client_certificate.cert, *key_file = cfg->graph.client_certificate.key;
  if (!cfg->graph.token_url || !cfg->graph.client_id || (!cfg->graph.client_secret && !cert_file) ||
      (!cfg->inbound.jwks_url && !cfg->inbound.openid_config))
    return dt_seterr(err, errlen, DT_ECONFIG, "the start-up check needs graph.token_url, graph.client_id, "
                                              "graph.client_secret (or graph.client_certificate) and inbound.jwks_url or "
                                              "inbound.openid_config");
  char cerr[512];
  int rc;
  if (cert_file && (rc = dt_client_cert_load(cert_file, key_file, &p.cert, cerr, sizeof cerr)) < 0)
    return dt_seterr(err, errlen, rc, "cannot use graph.client_certificate: %s", cerr);
  dt_http_client_options_t ho = {.ca_file = cfg->graph.ca_file};
  rc = dt_http_client_new(loop, &ho, &p.http);
  if (rc != 0) {
    dt_client_cert_free(p.cert);
    return dt_seterr(err, errlen, rc, "cannot create an HTTP client: %s", dt_strerror(rc));
  }
  dt_oauth_options_t to = {.token_url = cfg->graph.token_url,
                           .client_id = cfg->graph.client_id,
                           .client_secret = cfg->graph.client_secret ? cfg->graph.client_secret : "",
                           .client_cert = p.cert,
                           .quiet = true}; /* the one line is ours */
  rc = dt_oauth_source_new(loop, p.http, &to, &p.tokens);
  if (rc == 0) rc = dt_oauth_get(p.tokens, on_token, &p, NULL);
  if (rc != 0) fail(&p, rc, "cannot ask %s for a token: %s", cfg->graph.token_url, dt_strerror(rc));
  while (!p.done && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  if (!p.done) fail(&p, DT_EIO, "the start-up check stopped before it ended");
  dt_oauth_source_free(p.tokens);
  dt_http_client_close(p.http, on_http_closed, &p);
  while (!p.closed && uv_run(loop, UV_RUN_ONCE) != 0) {
  }
  dt_client_cert_free(p.cert); /* after the token source that borrowed it */
  free(p.jwks_url);
  return p.rc;
}

/* ---- settings that cannot work as given ---- */

static bool host_is_local(const char *host, size_t n) {
  static const char *const local[] = {"localhost", "127.", "[::1]", "0.0.0.0", "[::]", "::1"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(local); i++) {
    size_t l = strlen(local[i]);
    if (local[i][l - 1] == '.' ? (n > l && dt_strncasecmp(host, local[i], l) == 0)
                               : (n == l && dt_strncasecmp(host, local[i], l) == 0))
      return true;
  }
  return n > 10 && dt_strncasecmp(host + n - 10, ".localhost", 10) == 0;
}

bool dt_preflight_public_url_problem(const char *url, char *out, size_t outlen) {
  if (!url) url = "";
  bool https = dt_strncasecmp(url, "https://", 8) == 0;
  const char *host = strstr(url, "://");
  host = host ? host + 3 : url;
  size_t n = strcspn(host, "/?#");
  /* the host without its port ([v6]:port, name:port) */
  const char *colon = NULL;
  if (host[0] == '[') {
    const char *close = memchr(host, ']', n);
    if (close) n = (size_t)(close - host) + 1;
  } else if ((colon = memchr(host, ':', n)) != NULL) {
    n = (size_t)(colon - host);
  }
  bool local = host_is_local(host, n);
  if (https && !local) return false;
  snprintf(out, outlen,
           "public_url %s %s: Graph only calls back public HTTPS URLs, so no call will reach this engine; set "
           "public_url to the https:// address Graph reaches it at (dialtone's own tls.cert/tls.key, or a reverse "
           "proxy in front; docs/operator.md)",
           url[0] ? url : "(unset)",
           !https && local ? "is plain http:// on a loopback address" : !https ? "is plain http://" : "is a loopback address");
  return true;
}

static bool operator_set(const dt_config_t *cfg, const char *key) {
  const char *o = dt_config_origin(cfg, key);
  return o && strcmp(o, "default") != 0 && strcmp(o, "derived") != 0;
}

int dt_preflight_warn_settings(const dt_config_t *cfg, bool real_graph) {
  int n = 0;
  if (real_graph) {
    char why[1024];
    if (dt_preflight_public_url_problem(cfg->public_url, why, sizeof why)) {
      dt_log_warn("%s", why);
      n++;
    }
    return n;
  }
  /* The embedded emulator signs notifications with its own key and issues its own
     tokens: these only apply to real Graph. */
  static const char *const real_only[] = {"inbound.jwks_url", "inbound.openid_config", "inbound.audience",
                                          "inbound.issuers", "graph.token_url", "graph.ca_file"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(real_only); i++) {
    if (!operator_set(cfg, real_only[i])) continue;
    dt_log_warn("%s (set by %s) is not used: without Graph credentials (graph.tenant_id, graph.client_id, "
                "graph.client_secret) calls go to the embedded emulator, which issues its own tokens and signs "
                "notifications with its own key; set the credentials to use it, or remove it",
                real_only[i], dt_config_origin(cfg, real_only[i]));
    n++;
  }
  return n;
}
