/*
 * flow_http.c — dialtone.http: a flow's request to a backend, on the engine's loop.
 *
 *   dialtone.http{method =, url =, headers =, query =, body = | json =, timeout =,
 *                 raise_for_status =}  ->  {status =, headers =, body =, json =}
 *
 * Owns the runtime's http state (rt->http: the options, the allowed host patterns, the
 * requests in flight, a test's stub) and one small record per request in flight.
 *
 * How a request runs: the arguments are checked (a plain Lua error names the option), the
 * host is checked against http.allow (error "not_allowed"), then the request goes to the
 * engine's flow HTTP client (core/net/http_client.c, libcurl multi on the loop: the same
 * driver Graph's requests use, a client of its own so Graph's TLS settings never apply) and
 * the call waits on it as on any primitive (dt_call_external_begin, DT_WAIT_HTTP): the
 * coroutine yields, the loop runs on. The response is copied into the call's result (status,
 * headers as a cJSON object, the body as bytes) and the call is resumed; the continuation
 * turns it into the table. Hangup, the deadline (timeout + DEADLINE_SLACK_MS), the drain and
 * the engine's close end the wait through core, which runs on_cancel: the curl transfer is
 * removed and the record freed, and nothing resumes a coroutine for it.
 *
 * Promises: one request at a time per call (the call waits for it); at most max_in_flight in
 * all; every request has a timeout (default timeout_s, at most max_timeout_s); a response body
 * over max_body_bytes fails with "too_large"; redirects are not followed (a 3xx is returned).
 * Failures raise a dialtone error object {code, message, method, url[, status]} a flow can
 * pcall; codes: timeout, refused, dns, tls, too_large, connection, not_allowed, busy, status
 * (only with raise_for_status), unanswered (a flow test's request no stub answers), hangup.
 * With a stub set (dt_runtime_set_http_stub, `dialtone test`) nothing goes to the network and
 * http.allow is not consulted: the stub answers at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/luajson.h"
#include "call_handle.h"
#include "flow_http.h"
#include "rt_state.h"

#define PRIM "dialtone.http"
#define DEFAULT_TIMEOUT_S 10.0
#define DEFAULT_MAX_TIMEOUT_S 60.0
#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define DEFAULT_MAX_IN_FLIGHT 100u
#define MAX_REQUEST_BODY ((size_t)1 << 20)
#define MAX_URL 8192
#define MAX_HEADERS 64
#define MAX_HEADER_VALUE 8192
#define MAX_JSON_DEPTH 32
#define DEADLINE_SLACK_MS 5000

struct dt_flow_http_s {
  dt_flow_http_options_t o;
  char **allow;
  size_t allow_count;
  char *allow_text; /* "a, b, c" for messages */
  unsigned in_flight;
  dt_runtime_http_stub_fn stub;
  void *stub_ud;
};

typedef struct {
  struct dt_flow_http_s *h;
  dt_call_t *call;
  dt_http_call_t *hc;
  double timeout_s;
  char what[160]; /* "GET http://…" for messages */
} req_t;

/* ---------------------------------------------------------------- state */

void dt__flow_http_new(dt_runtime_t *rt) {
  struct dt_flow_http_s *h = dt_xcalloc(1, sizeof *h);
  h->o = rt->o.http;
  if (!(h->o.timeout_s > 0)) h->o.timeout_s = DEFAULT_TIMEOUT_S;
  if (!(h->o.max_timeout_s > 0)) h->o.max_timeout_s = DEFAULT_MAX_TIMEOUT_S;
  if (h->o.timeout_s > h->o.max_timeout_s) h->o.timeout_s = h->o.max_timeout_s;
  if (!h->o.max_body_bytes) h->o.max_body_bytes = DEFAULT_MAX_BODY;
  if (!h->o.max_in_flight) h->o.max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  dt_buf_t text = {0};
  if (h->o.allow) {
    h->allow_count = h->o.allow_count;
    h->allow = dt_xcalloc(h->allow_count ? h->allow_count : 1, sizeof *h->allow);
    for (size_t i = 0; i < h->allow_count; i++) h->allow[i] = dt_xstrdup(h->o.allow[i] ? h->o.allow[i] : "");
  } else {
    static const char *const DEF[] = {"localhost", "127.0.0.1", "[::1]"};
    h->allow_count = DT_ARRAY_SIZE(DEF);
    h->allow = dt_xcalloc(h->allow_count, sizeof *h->allow);
    for (size_t i = 0; i < h->allow_count; i++) h->allow[i] = dt_xstrdup(DEF[i]);
  }
  for (size_t i = 0; i < h->allow_count; i++) {
    if (i) dt_buf_append(&text, ", ", 2);
    dt_buf_append(&text, h->allow[i], strlen(h->allow[i]));
  }
  h->allow_text = dt_xstrndup(text.data ? text.data : "", text.len);
  dt_buf_free(&text);
  h->o.allow = NULL; /* the copies above are what counts */
  rt->http = h;
}

void dt__flow_http_free(dt_runtime_t *rt) {
  struct dt_flow_http_s *h = rt->http;
  if (!h) return;
  for (size_t i = 0; i < h->allow_count; i++) free(h->allow[i]);
  free(h->allow);
  free(h->allow_text);
  free(h);
  rt->http = NULL;
}

void dt_runtime_set_http_stub(dt_runtime_t *rt, dt_runtime_http_stub_fn fn, void *ud) {
  rt->http->stub = fn;
  rt->http->stub_ud = ud;
}

size_t dt_runtime_http_in_flight(const dt_runtime_t *rt) { return rt->http ? rt->http->in_flight : 0; }

/* ---------------------------------------------------------------- allowed hosts */

/* Splits a pattern into host and port (0 = any); false when it is malformed. */
static bool split_pattern(const char *p, char *host, size_t hostlen, int *port) {
  const char *colon;
  *port = 0;
  if (p[0] == '[') {
    const char *end = strchr(p, ']');
    if (!end) return false;
    colon = end[1] == ':' ? end + 1 : NULL;
    if (!colon && end[1]) return false;
  } else {
    colon = strrchr(p, ':');
  }
  size_t n = colon ? (size_t)(colon - p) : strlen(p);
  if (n == 0 || n >= hostlen) return false;
  memcpy(host, p, n);
  host[n] = '\0';
  if (colon) {
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (*end || v < 1 || v > 65535) return false;
    *port = (int)v;
  }
  return true;
}

bool dt__flow_http_host_allowed(const char *const *patterns, size_t n, const char *host, int port) {
  if (!host || !*host) return false;
  size_t hl = strlen(host);
  for (size_t i = 0; i < n; i++) {
    const char *p = patterns[i];
    if (!p) continue;
    if (strcmp(p, "*") == 0) return true;
    char ph[256];
    int pport;
    if (!split_pattern(p, ph, sizeof ph, &pport)) continue;
    if (pport && pport != port) continue;
    if (ph[0] == '*' && ph[1] == '.') {
      size_t sl = strlen(ph + 1); /* ".domain" */
      if (hl > sl && dt_strcasecmp(host + hl - sl, ph + 1) == 0) return true;
    } else if (strcmp(ph, "*") == 0 || dt_strcasecmp(ph, host) == 0) {
      return true;
    }
  }
  return false;
}

/* ---------------------------------------------------------------- query and JSON */

static void add_escaped(luaL_Buffer *b, const char *s, size_t n) {
  static const char HEX[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
        ch == '.' || ch == '_' || ch == '~') {
      luaL_addchar(b, (char)ch);
    } else {
      luaL_addchar(b, '%');
      luaL_addchar(b, HEX[ch >> 4]);
      luaL_addchar(b, HEX[ch & 15]);
    }
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

void dt__flow_http_push_query(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) luaL_error(L, PRIM ": query must be a table of names to values");
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, PRIM ": query names must be strings");
    int t = lua_type(L, -1);
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
      luaL_error(L, PRIM ": query value '%s' must be a string, a number or a boolean", lua_tostring(L, -2));
    lua_pop(L, 1);
    if (++n > 256) luaL_error(L, PRIM ": at most 256 query parameters");
  }
  /* the names, sorted (pointers to the table's own key strings, in a userdata) */
  const char **keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
  int keys_idx = lua_gettop(L);
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    keys[i++] = lua_tostring(L, -2);
    lua_pop(L, 1);
  }
  qsort(keys, n, sizeof *keys, cmp_str);
  lua_createtable(L, (int)n, 0); /* the "name=value" parts */
  int parts = lua_gettop(L);
  for (i = 0; i < n; i++) {
    lua_getfield(L, idx, keys[i]);
    size_t vl = 0;
    const char *v = lua_type(L, -1) == LUA_TBOOLEAN ? (lua_toboolean(L, -1) ? "true" : "false")
                                                     : lua_tolstring(L, -1, &vl);
    if (lua_type(L, -1) == LUA_TBOOLEAN) vl = strlen(v);
    luaL_Buffer b; /* nothing else touches the stack until luaL_pushresult */
    luaL_buffinit(L, &b);
    add_escaped(&b, keys[i], strlen(keys[i]));
    luaL_addchar(&b, '=');
    add_escaped(&b, v, vl);
    luaL_pushresult(&b);
    lua_rawseti(L, parts, (lua_Integer)i + 1);
    lua_pop(L, 1);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    if (i) luaL_addchar(&b, '&');
    lua_rawgeti(L, parts, (lua_Integer)i + 1);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lua_replace(L, keys_idx);
  lua_settop(L, keys_idx);
}

static cJSON *to_json(lua_State *L, int idx, int depth, const char **why);

static cJSON *table_to_json(lua_State *L, int idx, int depth, const char **why) {
  if (depth > MAX_JSON_DEPTH) {
    *why = "nested deeper than 32 levels (or a table that contains itself)";
    return NULL;
  }
  if (!lua_checkstack(L, 4)) {
    *why = "nested too deep";
    return NULL;
  }
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  size_t count = 0;
  bool only_seq = true;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > len) only_seq = false;
    lua_pop(L, 1);
  }
  if (len > 0 && only_seq && count == (size_t)len) {
    cJSON *a = cJSON_CreateArray();
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      cJSON *item = to_json(L, lua_gettop(L), depth + 1, why);
      lua_pop(L, 1);
      if (!item) {
        cJSON_Delete(a);
        return NULL;
      }
      cJSON_AddItemToArray(a, item);
    }
    return a;
  }
  cJSON *o = cJSON_CreateObject();
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      cJSON_Delete(o);
      *why = "a table mixes list items and names (JSON object names must be strings)";
      return NULL;
    }
    cJSON *item = to_json(L, lua_gettop(L), depth + 1, why);
    if (!item) {
      lua_pop(L, 2);
      cJSON_Delete(o);
      return NULL;
    }
    cJSON_AddItemToObject(o, lua_tostring(L, -2), item);
    lua_pop(L, 1);
  }
  return o;
}

static cJSON *to_json(lua_State *L, int idx, int depth, const char **why) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (strlen(s) != n) {
      *why = "a string holds a zero byte";
      return NULL;
    }
    return cJSON_CreateString(s);
  }
  case LUA_TNUMBER: {
    double d = lua_tonumber(L, idx);
    if (!isfinite(d)) {
      *why = "a number is NaN or infinite";
      return NULL;
    }
    return cJSON_CreateNumber(d);
  }
  case LUA_TTABLE: return table_to_json(L, lua_absindex(L, idx), depth, why);
  default: *why = "only tables, strings, numbers and booleans have a JSON form"; return NULL;
  }
}

void dt__flow_http_push_json_text(lua_State *L, int idx) {
  const char *why = "cannot encode";
  cJSON *j = to_json(L, lua_absindex(L, idx), 0, &why);
  if (!j) luaL_error(L, PRIM ": json cannot be encoded: %s", why);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!text) luaL_error(L, "out of memory");
  lua_pushstring(L, text);
  free(text);
}

/* ---------------------------------------------------------------- results */

static const char *code_of(int err) {
  switch (err) {
  case DT_ETIMEDOUT: return "timeout";
  case DT_ECONNREFUSED: return "refused";
  case DT_EDNS: return "dns";
  case DT_ETLS: return "tls";
  case DT_ETOOBIG: return "too_large";
  case DT_EHANGUP: return "hangup";
  default: return "connection";
  }
}

/* The failure of a request in words, into msg. */
static void describe_error(int err, const char *detail, const char *what, size_t max_body, double timeout_s,
                           char *msg, size_t msglen) {
  if (!detail) detail = "";
  switch (err) {
  case DT_ETIMEDOUT: snprintf(msg, msglen, "%s: no complete answer within %g s (timeout)", what, timeout_s); break;
  case DT_ECONNREFUSED: snprintf(msg, msglen, "%s: connection refused (nothing listens there)", what); break;
  case DT_EDNS: snprintf(msg, msglen, "%s: the host name did not resolve (DNS): %s", what, detail); break;
  case DT_ETLS: snprintf(msg, msglen, "%s: TLS failed: %s", what, detail); break;
  case DT_ETOOBIG:
    snprintf(msg, msglen, "%s: the response is larger than %zu bytes (too large; http.max_body)", what, max_body);
    break;
  default: snprintf(msg, msglen, "%s: connection failed: %s", what, *detail ? detail : dt_strerror(err)); break;
  }
}

/* The response headers as a cJSON object: lower-case names, repeated ones joined by ", ". */
static cJSON *headers_json(const dt_http_header_t *hs, size_t n) {
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; i < n; i++) {
    char name[128];
    size_t k = 0;
    for (const char *p = hs[i].name; *p && k + 1 < sizeof name; p++)
      name[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    name[k] = '\0';
    const char *v = hs[i].value ? hs[i].value : "";
    cJSON *old = cJSON_GetObjectItemCaseSensitive(o, name);
    if (old && cJSON_IsString(old)) {
      char *joined = dt_xasprintf("%s, %s", old->valuestring, v);
      cJSON_ReplaceItemInObjectCaseSensitive(o, name, cJSON_CreateString(joined));
      free(joined);
    } else {
      cJSON_AddStringToObject(o, name, v);
    }
  }
  return o;
}

/* Raises the dialtone error {code, message, method, url[, status]}. */
static int raise_http(lua_State *L, const char *code, const char *message, const char *method, const char *url,
                      int status) {
  dt__call_handle_error(L, code, message);
  dt__call_handle_set_string(L, "method", method);
  dt__call_handle_set_string(L, "url", url);
  if (status) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
  }
  return lua_error(L);
}

/* Pushes the headers of a stub's answer as the table a response carries (as headers_json). */
static void push_headers(lua_State *L, const dt_http_header_t *hs, size_t n) {
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    char name[128];
    size_t k = 0;
    for (const char *p = hs[i].name ? hs[i].name : ""; *p && k + 1 < sizeof name; p++)
      name[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    name[k] = '\0';
    const char *v = hs[i].value ? hs[i].value : "";
    if (lua_getfield(L, -1, name) == LUA_TSTRING) {
      lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), v);
      lua_remove(L, -2);
    } else {
      lua_pop(L, 1);
      lua_pushstring(L, v);
    }
    lua_setfield(L, -2, name);
  }
}

/* The headers table is on top of the stack: replaces it with {status, headers, body, json};
   json is decoded when the content type says JSON. With raise_status, a status of 400 or more
   raises "status" (with the body) instead. */
static int push_response(lua_State *L, int status, const char *body, size_t len, bool raise_status,
                         const char *method, const char *url) {
  if (raise_status && status >= 400) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s %.200s answered HTTP %d (status)", method, url, status);
    dt__call_handle_error(L, "status", msg);
    dt__call_handle_set_string(L, "method", method);
    dt__call_handle_set_string(L, "url", url);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, body ? body : "", len);
    lua_setfield(L, -2, "body");
    return lua_error(L);
  }
  int hidx = lua_gettop(L);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  lua_pushvalue(L, hidx);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, body ? body : "", len);
  lua_setfield(L, -2, "body");
  lua_getfield(L, hidx, "content-type");
  const char *ct = lua_tostring(L, -1);
  if (len > 0 && ct && strstr(ct, "json")) {
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j) {
      dt_lua_push_json(L, j); /* on failure (memory) j is lost: rare, and bounded by max_body */
      cJSON_Delete(j);
      lua_setfield(L, -3, "json");
    }
  }
  lua_pop(L, 1);
  lua_replace(L, hidx);
  return 1;
}

/* ---------------------------------------------------------------- the request in flight */

static void on_cancel(void *ud) {
  req_t *r = ud;
  r->h->in_flight--;
  dt_http_call_cancel(r->hc);
  free(r);
}

static void on_response(const dt_http_response_t *res, void *ud) {
  req_t *r = ud;
  dt_call_t *c = r->call;
  r->h->in_flight--;
  if (res->error) {
    char msg[512];
    describe_error(res->error, res->error_message, r->what, r->h->o.max_body_bytes, r->timeout_s, msg, sizeof msg);
    int err = res->error;
    free(r);
    dt_call_external_done(c, err, code_of(err), msg);
    return;
  }
  free(r);
  c->result.http_status = res->status;
  c->result.json = headers_json(res->headers, res->header_count);
  c->result.data = dt_xmalloc(res->body_len + 1);
  memcpy(c->result.data, res->body, res->body_len);
  c->result.data[res->body_len] = '\0';
  c->result.data_len = res->body_len;
  dt_call_external_done(c, 0, NULL, NULL);
}

/* The continuation: the call's result into the response table, or the error. The request's
   method and URL are at 1 and 2 (see l_http); ctx 1 = raise_for_status. */
static int k_http(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  dt_call_t *c = dt__call_handle_self(L);
  const char *method = lua_tostring(L, 1), *url = lua_tostring(L, 2);
  if (c->result.err == DT_EHANGUP) return dt__call_handle_raise_result(L, c);
  if (c->result.err) {
    const char *code = c->result.error_code ? c->result.error_code : code_of(c->result.err);
    return raise_http(L, code, c->result.message, method, url, 0);
  }
  if (c->result.json) dt_lua_push_json(L, c->result.json);
  else lua_newtable(L);
  return push_response(L, c->result.http_status, c->result.data, c->result.data_len, ctx == 1, method, url);
}

/* ---------------------------------------------------------------- dialtone.http */

static const char *const OPTS[] = {"method", "url", "headers", "query", "body", "json", "timeout",
                                   "raise_for_status", NULL};

static bool is_token_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* headers = {Name = "value"} at the top of the stack into a userdata array pushed above it
   (the strings stay referenced by the headers table). */
static dt_http_header_t *check_headers(lua_State *L, size_t *count, bool *has_ct) {
  int t = lua_gettop(L);
  if (!lua_istable(L, t)) luaL_error(L, PRIM ": headers must be a table of names to values");
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, PRIM ": header names must be strings");
    const char *name = lua_tostring(L, -2);
    size_t nl = strlen(name);
    if (nl == 0 || nl > 256) luaL_error(L, PRIM ": header name '%s' must be 1 to 256 characters", name);
    for (const char *p = name; *p; p++)
      if (!is_token_char(*p)) luaL_error(L, PRIM ": header name '%s' has a character a header name cannot have", name);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, PRIM ": header '%s' must be a string", name);
    size_t vl;
    const char *v = lua_tolstring(L, -1, &vl);
    if (vl > MAX_HEADER_VALUE) luaL_error(L, PRIM ": header '%s' is longer than %d bytes", name, MAX_HEADER_VALUE);
    for (size_t k = 0; k < vl; k++)
      if (v[k] == '\r' || v[k] == '\n' || v[k] == '\0')
        luaL_error(L, PRIM ": header '%s' holds a line break or a zero byte", name);
    lua_pop(L, 1);
    if (++n > MAX_HEADERS) luaL_error(L, PRIM ": at most %d headers", MAX_HEADERS);
  }
  /* one slot more for the Content-Type json = adds */
  dt_http_header_t *hs = lua_newuserdatauv(L, (n + 1) * sizeof *hs, 0);
  size_t i = 0;
  *has_ct = false;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    hs[i].name = lua_tostring(L, -2);
    hs[i].value = lua_tostring(L, -1);
    if (dt_strcasecmp(hs[i].name, "content-type") == 0) *has_ct = true;
    i++;
    lua_pop(L, 1);
  }
  *count = i;
  return hs;
}

/* The URL's scheme, host and port as curl reads them; false (and why) when it is not one. */
static bool url_parts(const char *url, char *host, size_t hostlen, int *port, char *why, size_t whylen) {
  CURLU *u = curl_url();
  if (!u) {
    snprintf(why, whylen, "out of memory");
    return false;
  }
  char *scheme = NULL, *h = NULL, *p = NULL;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK) uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  if (uc == CURLUE_OK) uc = curl_url_get(u, CURLUPART_HOST, &h, 0);
  if (uc == CURLUE_OK) uc = curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
  bool ok = uc == CURLUE_OK;
  if (!ok) snprintf(why, whylen, "not a valid URL: %s", curl_url_strerror(uc));
  else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    snprintf(why, whylen, "the URL must start with http:// or https://");
    ok = false;
  } else if (strlen(h) >= hostlen) {
    snprintf(why, whylen, "the host name is too long");
    ok = false;
  } else {
    snprintf(host, hostlen, "%s", h);
    *port = atoi(p);
  }
  curl_free(scheme);
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(u);
  return ok;
}

/* A flow test's stub answers at once (no yield). The stack holds what l_http left. */
static int answer_from_stub(lua_State *L, struct dt_flow_http_s *h, const dt_http_request_options_t *rq,
                            bool raise_status, double timeout, const char *what) {
  dt_http_response_t res;
  memset(&res, 0, sizeof res);
  int rc = h->stub(rq, &res, h->stub_ud);
  if (rc == DT_ENOENT) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s: no t:http_stub answers this request (unanswered)", what);
    return raise_http(L, "unanswered", msg, rq->method, rq->url, 0);
  }
  if (rc == 0 && res.error == 0 && res.body_len > h->o.max_body_bytes) res.error = DT_ETOOBIG;
  if (rc != 0 || res.error) {
    char msg[512];
    int err = rc ? rc : res.error;
    describe_error(err, res.error_message, what, h->o.max_body_bytes, timeout, msg, sizeof msg);
    return raise_http(L, code_of(err), msg, rq->method, rq->url, 0);
  }
  push_headers(L, res.headers, res.header_count);
  return push_response(L, res.status, res.body, res.body_len, raise_status, rq->method, rq->url);
}

static int l_http(lua_State *L) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  struct dt_flow_http_s *h = rt->http;
  dt_call_t *c = dt__call_handle_self(L);
  if (!c)
    return luaL_error(L, PRIM " can only be used from a call's flow (not while the flow file loads: call it "
                         "inside the function the file returns)");
  if (!lua_isyieldable(L))
    return luaL_error(L, PRIM " cannot wait here (inside a metamethod, iterator or sort comparator?); call it "
                         "from the flow's own code");
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  dt__call_handle_check_options(L, 1, PRIM, OPTS);
  /* 2: the URL with its query */
  if (lua_getfield(L, 1, "url") != LUA_TSTRING) return luaL_error(L, PRIM ": url is required (a string)");
  size_t ulen;
  const char *url0 = lua_tolstring(L, 2, &ulen);
  if (ulen == 0 || ulen > MAX_URL || strlen(url0) != ulen)
    return luaL_error(L, PRIM ": url must be 1 to %d bytes", MAX_URL);
  if (lua_getfield(L, 1, "query") != LUA_TNIL) {
    dt__flow_http_push_query(L, 3);
    if (lua_rawlen(L, -1) > 0)
      lua_pushfstring(L, "%s%s%s", url0, strchr(url0, '?') ? "&" : "?", lua_tostring(L, -1));
    else
      lua_pushvalue(L, 2);
    lua_replace(L, 2);
    if (lua_rawlen(L, 2) > MAX_URL) return luaL_error(L, PRIM ": url with its query is longer than %d bytes", MAX_URL);
  }
  lua_settop(L, 2);
  const char *url = lua_tostring(L, 2);
  /* 3: the method */
  lua_getfield(L, 1, "body");
  lua_getfield(L, 1, "json");
  if (!lua_isnil(L, -2) && !lua_isnil(L, -1)) return luaL_error(L, PRIM ": give body or json, not both");
  bool has_body = !lua_isnil(L, -2) || !lua_isnil(L, -1);
  lua_settop(L, 2);
  if (lua_getfield(L, 1, "method") != LUA_TNIL) {
    if (lua_type(L, 3) != LUA_TSTRING) return luaL_error(L, PRIM ": method must be a string such as \"GET\"");
    const char *m = lua_tostring(L, 3);
    size_t ml = strlen(m);
    if (ml == 0 || ml > 16) return luaL_error(L, PRIM ": method must be 1 to 16 capital letters");
    for (const char *p = m; *p; p++)
      if (*p < 'A' || *p > 'Z') return luaL_error(L, PRIM ": method must be capital letters such as \"POST\", got '%s'", m);
  } else {
    lua_pop(L, 1);
    lua_pushstring(L, has_body ? "POST" : "GET");
  }
  const char *method = lua_tostring(L, 3);
  /* 4, 5: headers (the table, its array) */
  size_t nh = 0;
  bool has_ct = false;
  dt_http_header_t *hs = NULL;
  if (lua_getfield(L, 1, "headers") != LUA_TNIL) {
    hs = check_headers(L, &nh, &has_ct);
  } else {
    hs = lua_newuserdatauv(L, sizeof *hs, 0);
  }
  /* 6: the body */
  if (lua_getfield(L, 1, "json") != LUA_TNIL) {
    dt__flow_http_push_json_text(L, -1);
    lua_replace(L, -2);
    if (!has_ct) {
      hs[nh].name = "Content-Type";
      hs[nh].value = "application/json";
      nh++;
    }
  } else {
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "body") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, PRIM ": body must be a string (json = {...} sends a table)");
  }
  size_t blen = 0;
  const char *body = lua_isnil(L, -1) ? NULL : lua_tolstring(L, -1, &blen);
  if (blen > MAX_REQUEST_BODY) return luaL_error(L, PRIM ": the request body is larger than %d bytes", (int)MAX_REQUEST_BODY);
  /* timeout, raise_for_status */
  double timeout = h->o.timeout_s;
  int t = lua_getfield(L, 1, "timeout");
  if (t != LUA_TNIL) {
    if (t != LUA_TNUMBER) return luaL_error(L, PRIM ": timeout must be a number of seconds");
    timeout = lua_tonumber(L, -1);
    if (!(timeout > 0 && timeout <= h->o.max_timeout_s)) {
      char msg[160];
      snprintf(msg, sizeof msg, PRIM ": timeout must be more than 0 and at most %g s (http.max_timeout_s)",
               h->o.max_timeout_s);
      return luaL_error(L, "%s", msg);
    }
  }
  lua_pop(L, 1);
  t = lua_getfield(L, 1, "raise_for_status");
  if (t != LUA_TNIL && t != LUA_TBOOLEAN) return luaL_error(L, PRIM ": raise_for_status must be a boolean");
  bool raise_status = lua_toboolean(L, -1);
  lua_pop(L, 1);
  char host[256] = "", why[200];
  int port = 0;
  if (!url_parts(url, host, sizeof host, &port, why, sizeof why)) return luaL_error(L, PRIM ": url '%s': %s", url, why);
  char what[160];
  snprintf(what, sizeof what, "%s %.140s", method, url);
  long timeout_ms = (long)ceil(timeout * 1000.0);
  dt_http_request_options_t rq = {.method = method, .url = url, .headers = hs, .header_count = nh, .body = body,
                                  .body_len = blen, .timeout_ms = timeout_ms, .max_response_bytes = h->o.max_body_bytes};
  if (h->stub) return answer_from_stub(L, h, &rq, raise_status, timeout, what);

  if (!dt__flow_http_host_allowed((const char *const *)h->allow, h->allow_count, host, port)) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s: host '%s' is not allowed (not_allowed; http.allow is: %s)", what, host,
             h->allow_text[0] ? h->allow_text : "empty");
    return raise_http(L, "not_allowed", msg, method, url, 0);
  }
  if (!h->o.client)
    return raise_http(L, "connection", PRIM ": not available (the engine has no HTTP client for flows)", method, url, 0);
  if (h->in_flight >= h->o.max_in_flight) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s: %u requests are in flight already (busy; http.max_in_flight)", what, h->in_flight);
    return raise_http(L, "busy", msg, method, url, 0);
  }
  if ((c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) || dt_call_is_gone(c)) return dt__call_handle_hangup(L);
  req_t *r = dt_xcalloc(1, sizeof *r);
  r->h = h;
  r->call = c;
  r->timeout_s = timeout;
  snprintf(r->what, sizeof r->what, "%s", what);
  /* the client copies what it needs; its callback never runs inside send */
  int rc = dt_http_client_send(h->o.client, &rq, on_response, r, &r->hc);
  if (rc == 0) {
    rc = dt_call_external_begin(c, DT_WAIT_HTTP, (uint64_t)timeout_ms + DEADLINE_SLACK_MS, on_cancel, r);
    if (rc != 0) dt_http_call_cancel(r->hc);
  }
  if (rc != 0) {
    free(r);
    if (rc == DT_EHANGUP || rc == DT_ESTATE) return dt__call_handle_hangup(L);
    char msg[300];
    snprintf(msg, sizeof msg, "%s: the request could not be sent: %s", what, dt_strerror(rc));
    return raise_http(L, "connection", msg, method, url, 0);
  }
  h->in_flight++;
  lua_settop(L, 3);
  lua_replace(L, 1); /* 1 method, 2 url: what the continuation reads */
  return lua_yieldk(L, 0, raise_status ? 1 : 0, k_http);
}

void dt__flow_http_open(lua_State *L) {
  lua_pushcfunction(L, l_http);
  lua_setfield(L, -2, "http");
}
