/*
 * config.c — the configuration schema, defaults, environment overrides, validation and
 * the masked dump (see config.h). Engine-neutral: the Lua config file is walked by
 * lua/config_lua.c through the setters here.
 *
 * One table (keys[]) is the single source of truth: each key's path, type, range,
 * documented environment alias, static default and place in dt_config_t. Defaults, the
 * environment, the dump and the loaders all iterate it, so a key added here is at once
 * settable from the file, from DIALTONE_*, printed by --print-config and validated.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/call_incoming.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/text.h"

#define DEFAULT_OPENID "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"
#define DEFAULT_ISSUERS "https://api.botframework.com,https://graph.microsoft.com"
#define MAX_TEXT 8192    /* longest accepted string value */
#define MAX_LIST 64      /* longest accepted list (issuers) */
#define MAX_ROUTES 10000 /* routes */

#define OFF(field) offsetof(dt_config_t, field)
#define GROUP(p, h) {p, DT_CFG_TABLE, NULL, 0, 0, false, h, 0, NULL, 0}
#define STR(p, field, def, alias, h) {p, DT_CFG_STRING, alias, 0, 0, false, h, OFF(field), def, 0}
#define SECRET(p, field, alias, h) {p, DT_CFG_STRING, alias, 0, 0, true, h, OFF(field), NULL, 0}
#define INT(p, field, def, lo, hi, h) {p, DT_CFG_INTEGER, NULL, lo, hi, false, h, OFF(field), NULL, def}
#define NUM(p, field, def, lo, hi, h) {p, DT_CFG_NUMBER, NULL, lo, hi, false, h, OFF(field), NULL, def}
#define LIST(p, field, def, h) {p, DT_CFG_STRLIST, NULL, 0, 0, false, h, OFF(field), def, 0}

static const dt_config_key_t keys[] = {
    STR("listen", listen, "127.0.0.1:8080", NULL, "ingress address, host:port"),
    STR("public_url", public_url, NULL, NULL, "base URL of every callbackUri (default http://{listen})"),
    STR("callback_path", callback_path, "/api/calls", NULL, "path Graph posts notifications to"),
    GROUP("tls", "HTTPS ingress: both cert and key (PEM files)"),
    STR("tls.cert", tls.cert, NULL, NULL, "certificate chain, PEM"),
    STR("tls.key", tls.key, NULL, NULL, "private key, PEM"),
    GROUP("admin", "operational endpoints (/metrics, /calls)"),
    STR("admin.listen", admin.listen, NULL, NULL,
        "separate plain-HTTP listener for /metrics and /calls, host:port (then not on listen)"),
    SECRET("admin.token", admin.token, NULL, "bearer token /metrics and /calls require"),
    NUM("admin.health_check_s", admin.health_check_s, 60, 0.05, 86400,
        "how often the key set is downloaded again and the token checked, so /healthz turns degraded and back"),
    STR("flows", flows, "flows", NULL, "directory of flow scripts (watched)"),
    GROUP("prompts", "prompt audio"),
    STR("prompts.dir", prompts.dir, NULL, NULL, "directory of prompt files (default {flows}/prompts)"),
    STR("prompts.base_url", prompts.base_url, NULL, NULL, "URL prefix Graph fetches prompts from "
                                                          "(default {public_url}/prompts)"),
    GROUP("tts", "text to speech (espeak-ng): call:say, the say helpers, prompts spoken from NAME.txt"),
    STR("tts.voice", tts.voice, "en-us", NULL, "espeak-ng voice (espeak-ng --voices lists them)"),
    STR("tts.language", tts.language, "en", NULL, "language of the prompts in prompts.dir itself (others in prompts.dir/LANG)"),
    INT("tts.rate", tts.rate, 165, 80, 450, "words per minute"),
    INT("tts.cache_mb", tts.cache_mb, 64, 1, 65536, "size bound of the speech cache {prompts.dir}/_tts (oldest deleted first)"),
    INT("tts.prompts", tts.prompts, 1, 0, 1, "1: a prompt with NAME.txt and no NAME.wav is spoken; 0: it is an error"),
    STR("recordings", recordings, "recordings", NULL, "directory where recordings are stored"),
    STR("cdr", cdr, "cdr.jsonl", NULL, "call detail records file (JSON lines)"),
    STR("cdr_spool", cdr_spool, NULL, NULL,
        "file for CDRs the cdr file cannot take (full or failing disk) once memory is full, and at shutdown"),
    {"routes", DT_CFG_ROUTES, NULL, 0, 0, false, "which flow answers a call: {match=, subject=, policy_recording=, transferred=, meeting=, flow=} entries",
     OFF(routes), NULL, 0},
    STR("routes.default", routes.default_flow, "main", NULL, "flow for calls no route matches"),
    GROUP("graph", "Microsoft Graph"),
    STR("graph.base_url", graph.base_url, NULL, "DIALTONE_GRAPH_URL",
        "Graph base URL (default https://graph.microsoft.com/{dialect} with credentials)"),
    STR("graph.dialect", graph.dialect, "v1.0", NULL, "\"v1.0\" (/communications/calls) or \"beta\" (/app/calls)"),
    STR("graph.tenant_id", graph.tenant_id, NULL, "DIALTONE_TENANT_ID", "Azure AD tenant id"),
    STR("graph.client_id", graph.client_id, NULL, "DIALTONE_CLIENT_ID", "the bot's application id"),
    SECRET("graph.client_secret", graph.client_secret, "DIALTONE_CLIENT_SECRET", "the application secret"),
    GROUP("graph.client_certificate", "certificate credentials instead of graph.client_secret (PEM files)"),
    STR("graph.client_certificate.cert", graph.client_certificate.cert, NULL, "DIALTONE_CLIENT_CERT",
        "the app's certificate (its public half is uploaded to the app registration), PEM"),
    STR("graph.client_certificate.key", graph.client_certificate.key, NULL, "DIALTONE_CLIENT_KEY",
        "the certificate's private key, PEM: each token request is a client assertion signed with it"),
    STR("graph.ca_file", graph.ca_file, NULL, "DIALTONE_CA_FILE",
        "CA bundle (PEM) trusted for Graph, the token endpoint and the key set instead of the system's "
        "(e.g. the local CA of `dialtone emulator --tls`); unset = the system's CAs"),
    STR("graph.token_url", graph.token_url, NULL, "DIALTONE_TOKEN_URL",
        "OAuth token endpoint (default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token)"),
    STR("graph.application_instance_id", graph.application_instance_id, NULL, "DIALTONE_APPLICATION_INSTANCE_ID",
        "object id of the application instance (resource account) with a phone number: calls to "
        "phone numbers carry it as their source, as Graph requires"),
    STR("graph.application_instance_name", graph.application_instance_name, NULL, NULL,
        "display name sent with graph.application_instance_id (optional)"),
    INT("graph.keepalive_interval_s", graph.keepalive_interval_s, 1800, 0, 2700,
        "keepAlive period of each established call, 900..2700 s (Graph ends a call without one "
        "for 45 minutes); 0 = never send it"),
    GROUP("inbound", "authentication of incoming notifications"),
    STR("inbound.jwks_url", inbound.jwks_url, NULL, "DIALTONE_JWKS_URL", "JWKS document URL"),
    STR("inbound.openid_config", inbound.openid_config, NULL, NULL,
        "OpenID configuration URL (default Graph's, when jwks_url is unset)"),
    LIST("inbound.issuers", inbound.issuers, DEFAULT_ISSUERS, "accepted token issuers"),
    STR("inbound.audience", inbound.audience, NULL, NULL, "required token audience (default graph.client_id)"),
    GROUP("emulator", "the embedded Graph emulator"),
    STR("emulator.listen", emulator.listen, "127.0.0.1:0", NULL, "emulator address, host:port"),
    NUM("emulator.time_scale", emulator.time_scale, 1.0, 0, 1000, "media time multiplier; 0 = instant"),
    GROUP("log", "logging"),
    STR("log.level", log.level, "info", NULL, "debug, info, warn, error or off"),
    STR("log.format", log.format, "text", NULL, "text or json"),
    GROUP("limits", "resource limits"),
    INT("limits.max_body_bytes", limits.max_body_bytes, 1 << 20, 1024, 1 << 30, "request body size"),
    INT("limits.max_header_bytes", limits.max_header_bytes, 16 * 1024, 1024, 1 << 20, "request header size"),
    INT("limits.max_connections", limits.max_connections, 10000, 1, 1000000,
        "open ingress connections (lowered to fit the open-file limit)"),
    INT("limits.max_connections_per_ip", limits.max_connections_per_ip, 0, 0, 1000000,
        "open ingress connections per client address; 0 = no cap"),
    INT("limits.header_timeout_ms", limits.header_timeout_ms, 10000, 100, 3600000,
        "time a new connection has to send its request headers"),
    INT("limits.max_body_total_bytes", limits.max_body_total_bytes, 64 << 20, 1024, 1099511627776.0,
        "request body bytes held across all connections (503 beyond)"),
    INT("limits.idle_timeout_ms", limits.idle_timeout_ms, 60000, 1, 86400000, "keep-alive idle timeout"),
    INT("limits.request_timeout_ms", limits.request_timeout_ms, 10000, 1, 3600000,
        "time to receive a whole request"),
    INT("limits.instruction_budget", limits.instruction_budget, 10000000, 1000, 1e12,
        "Lua instructions per resume of a flow"),
    INT("limits.lua_memory_bytes", limits.lua_memory_bytes, 64 << 20, 1 << 20, 68719476736.0,
        "memory of all flows together"),
    INT("limits.call_memory", limits.call_memory, 16 << 20, 64 << 10, 68719476736.0,
        "Lua memory of one call (bytes); a call over it is stopped"),
    NUM("limits.op_timeout_s", limits.op_timeout_s, 30, 0.001, 86400, "deadline of one Graph operation"),
    NUM("limits.drain_timeout_s", limits.drain_timeout_s, 30, 0, 3600, "wait for calls on shutdown"),
    INT("limits.max_calls", limits.max_calls, 100000, 1, 10000000, "concurrent calls"),
    INT("limits.cdr_spool_records", limits.cdr_spool_records, 10000, 1, 10000000,
        "CDRs kept in memory while the cdr file cannot be written"),
    GROUP("http", "what flows may reach with dialtone.http"),
    LIST("http.allow", http.allow, "localhost,127.0.0.1,[::1]",
         "host patterns flows may reach: \"host\", \"*.domain\", \"*\", each with an optional :port; "
         "default loopback only; {} = none"),
    NUM("http.timeout_s", http.timeout_s, 10, 0.001, 3600, "default timeout of a flow's request"),
    NUM("http.max_timeout_s", http.max_timeout_s, 60, 0.001, 3600, "largest timeout a flow may ask for"),
    INT("http.max_body", http.max_body, 1 << 20, 1, 1 << 30, "largest response body a flow accepts (bytes)"),
    INT("http.max_in_flight", http.max_in_flight, 100, 1, 100000, "requests in flight, all calls together"),
    {"flow_settings", DT_CFG_SETTINGS, NULL, 0, 0, false,
     "values flows read as dialtone.settings: name = string, number or boolean "
     "(DIALTONE_FLOW_SETTINGS_NAME overrides one)",
     OFF(flow_settings), NULL, 0},
};

_Static_assert(DT_ARRAY_SIZE(keys) <= DT_CONFIG_MAX_KEYS, "raise DT_CONFIG_MAX_KEYS");

const dt_config_key_t *dt_config_schema(size_t *count) {
  *count = DT_ARRAY_SIZE(keys);
  return keys;
}

static int key_index(const char *path) {
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++)
    if (strcmp(keys[i].path, path) == 0) return (int)i;
  return -1;
}

const dt_config_key_t *dt_config_find_key(const char *path) {
  int i = path ? key_index(path) : -1;
  return i < 0 ? NULL : &keys[i];
}

void dt_config_env_name(const char *path, char *out, size_t outlen) {
  if (outlen == 0) return;
  size_t o = (size_t)snprintf(out, outlen, "DIALTONE_");
  for (const char *p = path; *p && o + 1 < outlen; p++)
    out[o++] = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
  if (o < outlen) out[o] = '\0';
}

/* ---- suggestions ------------------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      char ca = a[i - 1], cb = b[j - 1];
      if (ca >= 'A' && ca <= 'Z') ca = (char)(ca - 'A' + 'a');
      size_t cost = ca == cb ? 0 : 1;
      size_t best = diag + cost;
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *dt_config_suggest(const char *path) {
  if (path == NULL) return NULL;
  const char *dot = strrchr(path, '.');
  size_t parent_len = dot ? (size_t)(dot - path) : 0;
  const char *leaf = dot ? dot + 1 : path;
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++) {
    const char *k = keys[i].path;
    const char *kdot = strrchr(k, '.');
    size_t kparent = kdot ? (size_t)(kdot - k) : 0;
    if (kparent != parent_len || strncmp(k, path, parent_len) != 0) continue;
    const char *kleaf = kdot ? kdot + 1 : k;
    size_t d = edit_distance(leaf, kleaf);
    if (d < best_d) {
      best_d = d;
      best = kleaf;
    }
  }
  size_t len = strlen(leaf);
  size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
  return best && best_d <= limit ? best : NULL;
}

/* ---- storage ---------------------------------------------------------------------- */

static void *slot(dt_config_t *cfg, const dt_config_key_t *k) { return (char *)cfg + k->offset; }

static void strlist_clear(dt_config_strlist_t *l) {
  for (size_t i = 0; i < l->count; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

static void routes_clear(dt_config_t *cfg) {
  for (size_t i = 0; i < cfg->routes.count; i++) {
    free(cfg->routes.items[i].match);
    free(cfg->routes.items[i].flow);
    free(cfg->routes.items[i].subject);
  }
  free(cfg->routes.items);
  cfg->routes.items = NULL;
  cfg->routes.count = 0;
}

static void set_origin(dt_config_t *cfg, int index, const char *origin) {
  free(cfg->origin_[index]);
  cfg->origin_[index] = dt_xstrdup(origin ? origin : "(unknown)");
}

const char *dt_config_origin(const dt_config_t *cfg, const char *path) {
  int i = path ? key_index(path) : -1;
  return i < 0 ? NULL : cfg->origin_[i];
}

/* Replaces a string value; value NULL unsets it. */
static void put_string(dt_config_t *cfg, int i, const char *value, const char *origin) {
  char **s = slot(cfg, &keys[i]);
  free(*s);
  *s = value ? dt_xstrdup(value) : NULL;
  set_origin(cfg, i, origin);
}

static int parse_strlist_text(const char *text, dt_config_strlist_t *out, char *err, size_t errlen,
                              const char *who) {
  out->items = NULL;
  out->count = 0;
  const char *p = text;
  while (*p) {
    const char *end = strchr(p, ',');
    if (end == NULL) end = p + strlen(p);
    const char *a = p, *b = end;
    while (a < b && (*a == ' ' || *a == '\t')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
    if (b > a) {
      if (out->count == MAX_LIST) {
        strlist_clear(out);
        return dt_seterr(err, errlen, DT_ECONFIG, "%s: more than %d items", who, MAX_LIST);
      }
      out->items = dt_xrealloc(out->items, (out->count + 1) * sizeof *out->items);
      out->items[out->count++] = dt_xstrndup(a, (size_t)(b - a));
    }
    p = *end ? end + 1 : end;
  }
  return 0;
}

void dt_config_init(dt_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++) {
    const dt_config_key_t *k = &keys[i];
    cfg->origin_[i] = dt_xstrdup("default");
    switch (k->type) {
    case DT_CFG_STRING:
      *(char **)slot(cfg, k) = k->def_str ? dt_xstrdup(k->def_str) : NULL;
      break;
    case DT_CFG_INTEGER:
      *(int64_t *)slot(cfg, k) = (int64_t)k->def_num;
      break;
    case DT_CFG_NUMBER:
      *(double *)slot(cfg, k) = k->def_num;
      break;
    case DT_CFG_STRLIST:
      if (k->def_str) parse_strlist_text(k->def_str, slot(cfg, k), NULL, 0, k->path);
      break;
    case DT_CFG_TABLE:
    case DT_CFG_ROUTES:
    case DT_CFG_SETTINGS:
      break;
    }
  }
}

void dt_config_free(dt_config_t *cfg) {
  if (cfg == NULL) return;
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++) {
    const dt_config_key_t *k = &keys[i];
    if (k->type == DT_CFG_STRING) free(*(char **)slot(cfg, k));
    else if (k->type == DT_CFG_STRLIST) strlist_clear(slot(cfg, k));
    free(cfg->origin_[i]);
  }
  routes_clear(cfg);
  dt_settings_clear(&cfg->flow_settings);
  memset(cfg, 0, sizeof *cfg);
}

/* ---- setters ---------------------------------------------------------------------- */

static int unknown_key(const char *path, char *err, size_t errlen) {
  const char *s = dt_config_suggest(path);
  if (s) return dt_seterr(err, errlen, DT_ECONFIG, "%s: unknown key (did you mean %s?)", path, s);
  return dt_seterr(err, errlen, DT_ECONFIG, "%s: unknown key", path);
}

const char *dt_config_type_name(dt_config_type_t t) {
  switch (t) {
  case DT_CFG_TABLE: return "a table";
  case DT_CFG_STRING: return "a string";
  case DT_CFG_INTEGER: return "an integer";
  case DT_CFG_NUMBER: return "a number";
  case DT_CFG_STRLIST: return "a list of strings";
  case DT_CFG_ROUTES: return "a list of {match=, subject=, policy_recording=, transferred=, meeting=, flow=} tables";
  case DT_CFG_SETTINGS: return "a table of name = string, number or boolean";
  }
  return "?";
}

static int valid_flow_name(const char *s) {
  if (*s == '\0' || strlen(s) > 128) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-'))
      return 0;
  return 1;
}

int dt_config_set_string(dt_config_t *cfg, const char *path, const char *value, const char *origin,
                         char *err, size_t errlen) {
  int i = key_index(path);
  if (i < 0) return unknown_key(path, err, errlen);
  if (keys[i].type != DT_CFG_STRING)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected %s, got string", path,
                     dt_config_type_name(keys[i].type));
  if (value && strlen(value) > MAX_TEXT)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: longer than %d characters", path, MAX_TEXT);
  put_string(cfg, i, value, origin);
  return 0;
}

int dt_config_set_number(dt_config_t *cfg, const char *path, double value, const char *origin,
                         char *err, size_t errlen) {
  int i = key_index(path);
  if (i < 0) return unknown_key(path, err, errlen);
  const dt_config_key_t *k = &keys[i];
  if (k->type != DT_CFG_INTEGER && k->type != DT_CFG_NUMBER)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected %s, got number", path,
                     dt_config_type_name(k->type));
  const char *from = origin ? origin : "";
  if (!isfinite(value))
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected a finite number (from %s)", path, from);
  if (k->type == DT_CFG_INTEGER && value != floor(value))
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected an integer, got %g (from %s)", path, value, from);
  if (value < k->min || value > k->max)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: %.15g is out of range [%.15g, %.15g] (from %s)", path,
                     value, k->min, k->max, from);
  if (k->type == DT_CFG_INTEGER) *(int64_t *)slot(cfg, k) = (int64_t)value;
  else *(double *)slot(cfg, k) = value;
  set_origin(cfg, i, origin);
  return 0;
}

int dt_config_set_strlist(dt_config_t *cfg, const char *path, const char *const *items, size_t count,
                          const char *origin, char *err, size_t errlen) {
  int i = key_index(path);
  if (i < 0) return unknown_key(path, err, errlen);
  if (keys[i].type != DT_CFG_STRLIST)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected %s, got a list", path,
                     dt_config_type_name(keys[i].type));
  if (count > MAX_LIST)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: more than %d items", path, MAX_LIST);
  for (size_t j = 0; j < count; j++)
    if (items[j] == NULL || items[j][0] == '\0' || strlen(items[j]) > MAX_TEXT)
      return dt_seterr(err, errlen, DT_ECONFIG, "%s[%zu]: expected a non-empty string", path, j + 1);
  dt_config_strlist_t *l = slot(cfg, &keys[i]);
  strlist_clear(l);
  if (count) l->items = dt_xcalloc(count, sizeof *l->items);
  for (size_t j = 0; j < count; j++) l->items[j] = dt_xstrdup(items[j]);
  l->count = count;
  set_origin(cfg, i, origin);
  return 0;
}

void dt_config_clear_routes(dt_config_t *cfg, const char *origin) {
  routes_clear(cfg);
  set_origin(cfg, key_index("routes"), origin);
}

int dt_config_add_route(dt_config_t *cfg, const dt_config_route_t *route, char *err, size_t errlen) {
  size_t n = cfg->routes.count + 1;
  const char *match = route->match, *flow = route->flow;
  if (match && strlen(match) > MAX_TEXT)
    return dt_seterr(err, errlen, DT_ECONFIG, "routes[%zu].match: longer than %d bytes", n, MAX_TEXT);
  char why[256];
  dt_route_t r = {match, flow, route->subject, route->policy_recording, route->transferred, route->meeting};
  if (dt_route_check(&r, why, sizeof why) != 0)
    return dt_seterr(err, errlen, DT_ECONFIG, "routes[%zu]: %s", n, why);
  if (flow == NULL || !valid_flow_name(flow))
    return dt_seterr(err, errlen, DT_ECONFIG,
                     "routes[%zu].flow: expected a flow name (letters, digits, _ and -), got \"%.64s\"", n,
                     flow ? flow : "");
  if (cfg->routes.count >= MAX_ROUTES)
    return dt_seterr(err, errlen, DT_ECONFIG, "routes: more than %d routes", MAX_ROUTES);
  cfg->routes.items = dt_xrealloc(cfg->routes.items, n * sizeof *cfg->routes.items);
  dt_config_route_t *it = &cfg->routes.items[n - 1];
  *it = *route;
  it->match = match ? dt_xstrdup(match) : NULL;
  it->flow = dt_xstrdup(flow);
  it->subject = route->subject ? dt_xstrdup(route->subject) : NULL;
  cfg->routes.count = n;
  return 0;
}

int dt_config_set_text(dt_config_t *cfg, const char *path, const char *text, const char *origin,
                       char *err, size_t errlen) {
  int i = key_index(path);
  if (i < 0) return unknown_key(path, err, errlen);
  const dt_config_key_t *k = &keys[i];
  const char *who = origin ? origin : path;
  if (text == NULL) text = "";
  switch (k->type) {
  case DT_CFG_STRING:
    return dt_config_set_string(cfg, path, text, origin, err, errlen);
  case DT_CFG_INTEGER:
  case DT_CFG_NUMBER: {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    while (end && (*end == ' ' || *end == '\t')) end++;
    if (text[0] == '\0' || end == text || *end != '\0' || errno == ERANGE)
      return dt_seterr(err, errlen, DT_ECONFIG, "%s: expected %s for %s, got \"%.64s\"", who,
                       dt_config_type_name(k->type), path, text);
    return dt_config_set_number(cfg, path, v, origin, err, errlen);
  }
  case DT_CFG_STRLIST: {
    dt_config_strlist_t l;
    int rc = parse_strlist_text(text, &l, err, errlen, who);
    if (rc) return rc;
    rc = dt_config_set_strlist(cfg, path, (const char *const *)l.items, l.count, origin, err, errlen);
    strlist_clear(&l);
    return rc;
  }
  case DT_CFG_ROUTES: {
    dt_config_strlist_t l;
    int rc = parse_strlist_text(text, &l, err, errlen, who);
    if (rc) return rc;
    dt_config_clear_routes(cfg, origin);
    for (size_t j = 0; j < l.count && rc == 0; j++) {
      char *eq = strrchr(l.items[j], '=');
      if (eq == NULL) {
        rc = dt_seterr(err, errlen, DT_ECONFIG, "%s: expected match=flow pairs, got \"%.64s\"", who,
                       l.items[j]);
        break;
      }
      *eq = '\0';
      char sub[256];
      rc = dt_config_add_route(cfg, &(dt_config_route_t){.match = l.items[j], .flow = eq + 1}, sub, sizeof sub);
      if (rc) dt_seterr(err, errlen, rc, "%s: %s", who, sub);
    }
    strlist_clear(&l);
    return rc;
  }
  case DT_CFG_SETTINGS:
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: set each setting with DIALTONE_FLOW_SETTINGS_<NAME>", who);
  case DT_CFG_TABLE:
    break;
  }
  return dt_seterr(err, errlen, DT_ECONFIG, "%s: is a group of keys; set its members (%s.*)", path, path);
}

/* ---- environment ------------------------------------------------------------------ */

int dt_config_set_setting(dt_config_t *cfg, const char *name, dt_setting_type_t type, const char *str, double num,
                          bool flag, const char *origin, char *err, size_t errlen) {
  int rc = dt_settings_set(&cfg->flow_settings, name, type, str, num, flag, err, errlen);
  if (rc == 0) set_origin(cfg, key_index("flow_settings"), origin);
  return rc;
}

extern char **environ;

/* DIALTONE_FLOW_SETTINGS_NAME=value, one variable a setting (the file's setting of that
   name in any case, else a new lower-case one). */
static int apply_env_settings(dt_config_t *cfg, char *err, size_t errlen) {
  static const char PREFIX[] = "DIALTONE_FLOW_SETTINGS_";
  for (char **e = environ; e && *e; e++) {
    if (strncmp(*e, PREFIX, sizeof PREFIX - 1) != 0) continue;
    const char *name = *e + sizeof PREFIX - 1, *eq = strchr(name, '=');
    if (eq == NULL || eq == name || eq[1] == '\0') continue;
    char var[128], sub[256];
    snprintf(var, sizeof var, "%.*s", (int)(eq - *e), *e);
    char *n = dt_xstrndup(name, (size_t)(eq - name));
    int rc = dt_settings_set_text(&cfg->flow_settings, n, eq + 1, sub, sizeof sub);
    free(n);
    if (rc) return dt_seterr(err, errlen, rc, "%s: %s", var, sub);
    set_origin(cfg, key_index("flow_settings"), var);
  }
  return 0;
}

int dt_config_apply_env(dt_config_t *cfg, char *err, size_t errlen) {
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++) {
    const dt_config_key_t *k = &keys[i];
    if (k->type == DT_CFG_TABLE) continue;
    char name[96];
    dt_config_env_name(k->path, name, sizeof name);
    const char *value = getenv(name);
    const char *used = name;
    if (value && value[0] == '\0') value = NULL;
    if (k->alias) {
      const char *alias = getenv(k->alias);
      if (alias && alias[0] != '\0') {
        if (value && strcmp(value, alias) != 0)
          return dt_seterr(err, errlen, DT_ECONFIG,
                           "%s and %s are both set, to different values; unset one of them", k->alias, name);
        value = alias;
        used = k->alias;
      }
    }
    if (value == NULL) continue;
    int rc = dt_config_set_text(cfg, k->path, value, used, err, errlen);
    if (rc) return rc;
  }
  return apply_env_settings(cfg, err, errlen);
}

/* ---- validation ------------------------------------------------------------------- */

/* Parses "host:port", "[v6]:port". Returns the port or -1. */
static int parse_hostport(const char *s) {
  if (s == NULL || *s == '\0') return -1;
  const char *colon;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close == s + 1 || close[1] != ':') return -1;
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || memchr(s, ':', (size_t)(colon - s))) return -1;
  }
  const char *p = colon + 1;
  if (*p == '\0' || strlen(p) > 5) return -1;
  long port = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    port = port * 10 + (*p - '0');
  }
  return port <= 65535 ? (int)port : -1;
}

static int is_url(const char *s) {
  return strncmp(s, "http://", 7) == 0 ? s[7] != '\0' : strncmp(s, "https://", 8) == 0 && s[8] != '\0';
}

static void strip_trailing_slashes(char *s) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '/' && !(n >= 2 && s[n - 2] == '/')) s[--n] = '\0';
}

static int bad(const dt_config_t *cfg, char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad(const dt_config_t *cfg, char *err, size_t errlen, const char *path, const char *fmt, ...) {
  int i = key_index(path);
  const char *origin = i >= 0 ? cfg->origin_[i] : "?";
  char what[512];
  DT_VFORMAT(what, fmt);
  return dt_seterr(err, errlen, DT_ECONFIG, "%s: %s (from %s)", path, what, origin);
}

static void derive(dt_config_t *cfg, const char *path, char *value) {
  put_string(cfg, key_index(path), value, "derived");
  free(value);
}

/* graph.application_instance_id / _name: printable, at most 256 bytes; a name needs the id. */
/* Certificate credentials: both files, readable, and not beside a client secret (which
   of the two would be used is not a question an operator should have to ask). */
static int check_client_certificate(dt_config_t *cfg, char *err, size_t errlen) {
  const char *cert = cfg->graph.client_certificate.cert, *key = cfg->graph.client_certificate.key;
  if (!cert && !key) return 0;
  if (!cert || !key)
    return bad(cfg, err, errlen, cert ? "graph.client_certificate.key" : "graph.client_certificate.cert",
               "certificate credentials need both cert and key; set the missing one or unset both");
  const char *files[] = {cert, key};
  const char *names[] = {"graph.client_certificate.cert", "graph.client_certificate.key"};
  for (int i = 0; i < 2; i++)
    if (access(files[i], R_OK) != 0) return bad(cfg, err, errlen, names[i], "cannot read \"%.200s\"", files[i]);
  if (cfg->graph.client_secret)
    return bad(cfg, err, errlen, "graph.client_certificate",
               "and graph.client_secret are both set: use one (the certificate, or the secret)");
  return 0;
}

static int check_application_instance(const dt_config_t *cfg, char *err, size_t errlen) {
  const char *id = cfg->graph.application_instance_id, *name = cfg->graph.application_instance_name;
  if (name && !id)
    return bad(cfg, err, errlen, "graph.application_instance_name", "is set but graph.application_instance_id is not");
  const char *keys[] = {"graph.application_instance_id", "graph.application_instance_name"};
  const char *vals[] = {id, name};
  for (int i = 0; i < 2; i++) {
    const char *v = vals[i];
    if (v == NULL) continue;
    size_t n = strnlen(v, 257);
    if (n == 0 || n > 256) return bad(cfg, err, errlen, keys[i], "must be 1 to 256 characters");
    for (size_t k = 0; k < n; k++)
      if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f || (i == 0 && v[k] == ' '))
        return bad(cfg, err, errlen, keys[i], "must hold no control characters%s", i == 0 ? " or spaces" : "");
  }
  return 0;
}

static int check_url(const dt_config_t *cfg, const char *path, char *value, char *err, size_t errlen) {
  if (value == NULL) return 0;
  if (!is_url(value))
    return bad(cfg, err, errlen, path, "expected an http:// or https:// URL, got \"%.200s\"", value);
  strip_trailing_slashes(value);
  return 0;
}

int dt_config_finalize(dt_config_t *cfg, char *err, size_t errlen) {
  int rc;
  /* addresses */
  if (parse_hostport(cfg->listen) < 0)
    return bad(cfg, err, errlen, "listen", "expected host:port (e.g. 127.0.0.1:8080), got \"%.200s\"",
               cfg->listen ? cfg->listen : "(unset)");
  if (cfg->admin.listen && parse_hostport(cfg->admin.listen) < 0)
    return bad(cfg, err, errlen, "admin.listen", "expected host:port (e.g. 127.0.0.1:9090), got \"%.200s\"",
               cfg->admin.listen);
  if (parse_hostport(cfg->emulator.listen) < 0)
    return bad(cfg, err, errlen, "emulator.listen", "expected host:port (e.g. 127.0.0.1:0), got \"%.200s\"",
               cfg->emulator.listen ? cfg->emulator.listen : "(unset)");

  /* TLS: both or neither, and readable */
  if ((cfg->tls.cert == NULL) != (cfg->tls.key == NULL))
    return bad(cfg, err, errlen, cfg->tls.cert ? "tls.key" : "tls.cert",
               "HTTPS needs both tls.cert and tls.key; set the missing one or unset both");
  if (cfg->tls.cert && access(cfg->tls.cert, R_OK) != 0)
    return bad(cfg, err, errlen, "tls.cert", "cannot read \"%.200s\"", cfg->tls.cert);
  if (cfg->tls.key && access(cfg->tls.key, R_OK) != 0)
    return bad(cfg, err, errlen, "tls.key", "cannot read \"%.200s\"", cfg->tls.key);

  if (cfg->http.timeout_s > cfg->http.max_timeout_s)
    return bad(cfg, err, errlen, "http.timeout_s", "(%g s) is larger than http.max_timeout_s (%g s)",
               cfg->http.timeout_s, cfg->http.max_timeout_s);

  /* the public URL, the callback path and prompts */
  if (cfg->public_url == NULL)
    derive(cfg, "public_url", dt_xasprintf("%s://%s", cfg->tls.cert ? "https" : "http", cfg->listen));
  if ((rc = check_url(cfg, "public_url", cfg->public_url, err, errlen))) return rc;
  if (cfg->callback_path == NULL || cfg->callback_path[0] != '/')
    return bad(cfg, err, errlen, "callback_path", "expected a path starting with /, got \"%.200s\"",
               cfg->callback_path ? cfg->callback_path : "(unset)");
  const char *dirs[] = {"flows", "recordings", "cdr"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(dirs); i++) {
    const char *v = *(char **)slot(cfg, &keys[key_index(dirs[i])]);
    if (v == NULL || v[0] == '\0') return bad(cfg, err, errlen, dirs[i], "must not be empty");
  }
  if (cfg->prompts.dir == NULL) derive(cfg, "prompts.dir", dt_xasprintf("%s/prompts", cfg->flows));
  if (cfg->prompts.base_url == NULL)
    derive(cfg, "prompts.base_url", dt_xasprintf("%s/prompts", cfg->public_url));
  if ((rc = check_url(cfg, "prompts.base_url", cfg->prompts.base_url, err, errlen))) return rc;

  /* routes */
  if (cfg->routes.default_flow == NULL || !valid_flow_name(cfg->routes.default_flow))
    return bad(cfg, err, errlen, "routes.default",
               "expected a flow name (letters, digits, _ and -), got \"%.64s\"",
               cfg->routes.default_flow ? cfg->routes.default_flow : "(unset)");

  /* Graph */
  if (cfg->graph.dialect == NULL ||
      (strcmp(cfg->graph.dialect, "v1.0") != 0 && strcmp(cfg->graph.dialect, "beta") != 0))
    return bad(cfg, err, errlen, "graph.dialect", "must be \"v1.0\" or \"beta\", got \"%.64s\"",
               cfg->graph.dialect ? cfg->graph.dialect : "(unset)");
  if (cfg->graph.keepalive_interval_s != 0 && cfg->graph.keepalive_interval_s < 900)
    return bad(cfg, err, errlen, "graph.keepalive_interval_s",
               "must be 0 (off) or 900..2700 (Graph asks for 15 to 45 minutes), got %lld",
               (long long)cfg->graph.keepalive_interval_s);
  if ((rc = check_application_instance(cfg, err, errlen))) return rc;
  if ((rc = check_client_certificate(cfg, err, errlen))) return rc;
  if (cfg->graph.ca_file && access(cfg->graph.ca_file, R_OK) != 0)
    return bad(cfg, err, errlen, "graph.ca_file", "cannot read \"%.200s\"", cfg->graph.ca_file);
  const char *cred_keys[] = {"graph.tenant_id", "graph.client_id", "graph.client_secret"};
  const char *creds[] = {cfg->graph.tenant_id, cfg->graph.client_id,
                         cfg->graph.client_secret ? cfg->graph.client_secret : cfg->graph.client_certificate.cert};
  int have = 0;
  for (int i = 0; i < 3; i++) have += creds[i] != NULL;
  if (have > 0 && have < 3) {
    char missing[128] = "";
    for (int i = 0; i < 3; i++)
      if (creds[i] == NULL)
        snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
                 cred_keys[i]);
    return dt_seterr(err, errlen, DT_ECONFIG,
                     "%s: missing: Graph credentials are graph.tenant_id, graph.client_id and "
                     "graph.client_secret (or graph.client_certificate) together; set the missing ones, or "
                     "none to use the embedded emulator",
                     missing);
  }
  if (have == 0 && cfg->graph.base_url)
    return bad(cfg, err, errlen, "graph.base_url",
               "is set but graph.tenant_id, graph.client_id and graph.client_secret are not: set them "
               "(any values work against `dialtone emulator`) or unset graph.base_url to use the "
               "embedded emulator");
  if (have == 3) {
    if (cfg->graph.base_url == NULL)
      derive(cfg, "graph.base_url", dt_xasprintf("https://graph.microsoft.com/%s", cfg->graph.dialect));
    if (cfg->graph.token_url == NULL)
      derive(cfg, "graph.token_url",
             dt_xasprintf("https://login.microsoftonline.com/%s/oauth2/v2.0/token", cfg->graph.tenant_id));
  }
  if ((rc = check_url(cfg, "graph.base_url", cfg->graph.base_url, err, errlen))) return rc;
  if ((rc = check_url(cfg, "graph.token_url", cfg->graph.token_url, err, errlen))) return rc;

  /* inbound authentication */
  if (cfg->inbound.jwks_url && cfg->inbound.openid_config)
    return bad(cfg, err, errlen, "inbound.openid_config",
               "set inbound.jwks_url or inbound.openid_config, not both");
  if (cfg->inbound.jwks_url == NULL && cfg->inbound.openid_config == NULL)
    put_string(cfg, key_index("inbound.openid_config"), DEFAULT_OPENID, "default");
  if ((rc = check_url(cfg, "inbound.jwks_url", cfg->inbound.jwks_url, err, errlen))) return rc;
  if ((rc = check_url(cfg, "inbound.openid_config", cfg->inbound.openid_config, err, errlen))) return rc;
  if (cfg->inbound.issuers.count == 0)
    return bad(cfg, err, errlen, "inbound.issuers", "needs at least one issuer");
  if (cfg->inbound.audience == NULL && cfg->graph.client_id)
    put_string(cfg, key_index("inbound.audience"), cfg->graph.client_id, "derived");

  /* logging */
  if (cfg->log.level == NULL || dt_log_level_from_name(cfg->log.level) < 0)
    return bad(cfg, err, errlen, "log.level", "must be debug, info, warn, error or off, got \"%.64s\"",
               cfg->log.level ? cfg->log.level : "(unset)");
  if (cfg->log.format == NULL || (strcmp(cfg->log.format, "text") != 0 && strcmp(cfg->log.format, "json") != 0))
    return bad(cfg, err, errlen, "log.format", "must be text or json, got \"%.64s\"",
               cfg->log.format ? cfg->log.format : "(unset)");
  return 0;
}

void dt_config_bound_port(dt_config_t *cfg, int port) {
  if (cfg->listen == NULL || parse_hostport(cfg->listen) != 0 || port <= 0) return;
  char *colon = strrchr(cfg->listen, ':');
  char *listen = dt_xasprintf("%.*s:%d", (int)(colon - cfg->listen), cfg->listen, port);
  int li = key_index("listen");
  char *origin = dt_xstrdup(cfg->origin_[li]);
  put_string(cfg, li, listen, origin);
  free(origin);
  free(listen);
  if (strcmp(dt_config_origin(cfg, "public_url"), "derived") == 0)
    derive(cfg, "public_url", dt_xasprintf("%s://%s", cfg->tls.cert ? "https" : "http", cfg->listen));
  if (strcmp(dt_config_origin(cfg, "prompts.base_url"), "derived") == 0)
    derive(cfg, "prompts.base_url", dt_xasprintf("%s/prompts", cfg->public_url));
}

bool dt_config_has_graph_credentials(const dt_config_t *cfg) {
  return cfg->graph.base_url && cfg->graph.tenant_id && cfg->graph.client_id &&
         (cfg->graph.client_secret || cfg->graph.client_certificate.cert);
}

/* ---- dump ------------------------------------------------------------------------- */


void dt_config_dump(const dt_config_t *cfg, dt_buf_t *out) {
  dt_buf_appendf(out, "-- dialtone %s configuration (origin of each value in comments)\nreturn {\n",
                 DIALTONE_VERSION);
  /* Open groups, outermost first (graph, then graph.client_certificate). */
  enum { MAX_DEPTH = 4 };
  const char *open[MAX_DEPTH];
  int depth = 0;
  static const char spaces[] = "          ";
  for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++) {
    const dt_config_key_t *k = &keys[i];
    while (depth > 0) {
      size_t glen = strlen(open[depth - 1]);
      if (strncmp(k->path, open[depth - 1], glen) == 0 && k->path[glen] == '.') break;
      depth--;
      dt_buf_appendf(out, "%.*s},\n", 2 * (depth + 1), spaces);
    }
    const char *indent = spaces + sizeof spaces - 1 - 2 * (depth + 1);
    const char *leaf = depth ? k->path + strlen(open[depth - 1]) + 1 : k->path;
    void *v = slot((dt_config_t *)cfg, k);
    switch (k->type) {
    case DT_CFG_TABLE:
      dt_buf_appendf(out, "%s%s = {\n", indent, leaf);
      if (depth < MAX_DEPTH) open[depth++] = k->path;
      continue;
    case DT_CFG_ROUTES: {
      dt_buf_appendf(out, "%s%s = {  -- %s\n", indent, leaf, cfg->origin_[i]);
      for (size_t r = 0; r < cfg->routes.count; r++) {
        const dt_config_route_t *it = &cfg->routes.items[r];
        dt_buf_appendf(out, "    { ");
        if (it->match) {
          dt_buf_appendf(out, "match = ");
          dt_text_lua_string(out, it->match);
          dt_buf_appendf(out, ", ");
        }
        if (it->subject) {
          dt_buf_appendf(out, "subject = ");
          dt_text_lua_string(out, it->subject);
          dt_buf_appendf(out, ", ");
        }
        static const char *const yn[] = {"", "true", "false"};
        if (it->policy_recording) dt_buf_appendf(out, "policy_recording = %s, ", yn[it->policy_recording]);
        if (it->transferred) dt_buf_appendf(out, "transferred = %s, ", yn[it->transferred]);
        if (it->meeting) dt_buf_appendf(out, "meeting = %s, ", yn[it->meeting]);
        dt_buf_appendf(out, "flow = ");
        dt_text_lua_string(out, it->flow);
        dt_buf_appendf(out, " },\n");
      }
      if (depth < MAX_DEPTH) open[depth++] = k->path;
      continue;
    }
    case DT_CFG_STRING: {
      const char *s = *(char **)v;
      if (s == NULL) {
        dt_buf_appendf(out, "%s-- %s = nil\n", indent, leaf);
        continue;
      }
      dt_buf_appendf(out, "%s%s = ", indent, leaf);
      if (k->secret) dt_buf_appendf(out, "\"********\"");
      else dt_text_lua_string(out, s);
      dt_buf_appendf(out, ",  -- %s%s\n", cfg->origin_[i], k->secret ? " (masked)" : "");
      continue;
    }
    case DT_CFG_INTEGER:
      dt_buf_appendf(out, "%s%s = %lld,  -- %s\n", indent, leaf, (long long)*(int64_t *)v, cfg->origin_[i]);
      continue;
    case DT_CFG_NUMBER:
      dt_buf_appendf(out, "%s%s = %.15g,  -- %s\n", indent, leaf, *(double *)v, cfg->origin_[i]);
      continue;
    case DT_CFG_SETTINGS:
      dt_buf_appendf(out, "%s%s = {  -- %s\n", indent, leaf, cfg->origin_[i]);
      dt_settings_dump(v, "    ", out);
      dt_buf_appendf(out, "%s},\n", indent);
      continue;
    case DT_CFG_STRLIST: {
      const dt_config_strlist_t *l = v;
      dt_buf_appendf(out, "%s%s = {", indent, leaf);
      for (size_t j = 0; j < l->count; j++) {
        dt_buf_appendf(out, "%s", j ? ", " : " ");
        dt_text_lua_string(out, l->items[j]);
      }
      dt_buf_appendf(out, " },  -- %s\n", cfg->origin_[i]);
      continue;
    }
    }
  }
  while (depth > 0) {
    depth--;
    dt_buf_appendf(out, "%.*s},\n", 2 * (depth + 1), spaces);
  }
  dt_buf_appendf(out, "}\n");
}
