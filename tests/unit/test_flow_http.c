/*
 * test_flow_http.c — lua/flow_http.c: http.allow's host patterns, the query string and the
 * JSON body a flow's tables become, and dialtone.http in a flow answered by a stub (the
 * response table, JSON decoding, raise_for_status, failures as error objects in words,
 * "unanswered"), refused outside a call's flow, and a host http.allow does not name. The
 * network path runs end to end in tests/integration/test_flow_http_backend.c.
 */
#include "call_handle.h"
#include "dialtone/error.h"
#include "flow_http.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

#define in_flow rtf_in_flow

/* The global name as a string (tostring), for assertions. */
static const char *global(rt_fixture_t *f, const char *name) {
  lua_State *L = f->rt->L;
  lua_getglobal(L, name);
  return luaL_tolstring(L, -1, NULL);
}

DT_TEST(host_patterns) {
  const char *const pats[] = {"127.0.0.1", "[::1]", "api.example.com:8443", "*.pharmacy.example", "LOCALHOST"};
  size_t n = DT_ARRAY_SIZE(pats);
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "127.0.0.1", 80));
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "[::1]", 8080));
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "localhost", 80));
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "API.example.com", 8443));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "api.example.com", 443));
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "rx.pharmacy.example", 443));
  DT_ASSERT(dt__flow_http_host_allowed(pats, n, "a.b.pharmacy.example", 443));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "pharmacy.example", 443));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "evilpharmacy.example", 443));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "127.0.0.2", 80));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "127.1", 80));
  DT_ASSERT(!dt__flow_http_host_allowed(pats, n, "", 80));
  DT_ASSERT(!dt__flow_http_host_allowed(NULL, 0, "127.0.0.1", 80)); /* http.allow = {}: nothing */
  const char *const any[] = {"*"};
  DT_ASSERT(dt__flow_http_host_allowed(any, 1, "anything.example", 1));
  const char *const bad[] = {"[::1", "host:0", "host:x", ""};
  DT_ASSERT(!dt__flow_http_host_allowed(bad, DT_ARRAY_SIZE(bad), "host", 80));
}

static int json_text(lua_State *L) {
  dt__flow_http_push_json_text(L, 1);
  return 1;
}

DT_TEST(query_and_json_text) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  DT_ASSERT_EQ_INT(luaL_dostring(L, "return {z = 'a b&c', a = 1, m = true, u = 'é/?'}"), LUA_OK);
  dt__flow_http_push_query(L, -1);
  DT_ASSERT_EQ_STR(lua_tostring(L, -1), "a=1&m=true&u=%C3%A9%2F%3F&z=a%20b%26c");
  lua_settop(L, 0);
  DT_ASSERT_EQ_INT(luaL_dostring(L, "return {}"), LUA_OK);
  dt__flow_http_push_query(L, -1);
  DT_ASSERT_EQ_STR(lua_tostring(L, -1), "");
  lua_settop(L, 0);
  DT_ASSERT_EQ_INT(luaL_dostring(L, "return {rx = '123', items = {1, 2.5, 'x'}, nested = {ok = false}, empty = {}}"), LUA_OK);
  dt__flow_http_push_json_text(L, -1);
  cJSON *j = cJSON_Parse(lua_tostring(L, -1));
  DT_ASSERT(j != NULL);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "rx")->valuestring, "123");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 3);
  DT_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "nested"), "ok")));
  DT_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(j, "empty")));
  cJSON_Delete(j);
  lua_settop(L, 0);
  /* what JSON cannot hold is a clear error */
  static const struct {
    const char *value, *want;
  } BAD[] = {{"return {f = print}", "only tables, strings, numbers and booleans"},
             {"return {n = 0/0}", "NaN or infinite"},
             {"local t = {} t.self = t return t", "nested deeper than 32"},
             {"return {1, 2, x = 3}", "mixes list items and names"}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(BAD); i++) {
    lua_settop(L, 0);
    lua_pushcfunction(L, json_text);
    DT_ASSERT_EQ_INT(luaL_dostring(L, BAD[i].value), LUA_OK);
    DT_ASSERT(lua_pcall(L, 1, 1, 0) != LUA_OK);
    DT_ASSERT_CONTAINS(lua_tostring(L, -1), BAD[i].want);
  }
  rtf_close(&f);
}

/* ---- dialtone.http answered by a stub ---- */

static char seen[512];

static int stub(const dt_http_request_options_t *req, dt_http_response_t *res, void *ud) {
  (void)ud;
  snprintf(seen, sizeof seen, "%s %s [%zu headers] %.*s", req->method, req->url, req->header_count, (int)req->body_len,
           req->body ? req->body : "");
  static const dt_http_header_t HS[] = {{"Content-Type", "application/json; charset=utf-8"}, {"X-A", "1"}, {"x-a", "2"}};
  if (strstr(req->url, "/ok")) {
    res->status = 200;
    res->headers = HS;
    res->header_count = 3;
    res->body = "{\"a\":1,\"list\":[true]}";
    res->body_len = strlen(res->body);
  } else if (strstr(req->url, "/slow")) {
    res->error = DT_ETIMEDOUT;
    res->error_message = "stub";
  } else if (strstr(req->url, "/dns")) {
    res->error = DT_EDNS;
    res->error_message = "Could not resolve host";
  } else if (strstr(req->url, "/404")) {
    res->status = 404;
    res->body = "nope";
    res->body_len = 4;
  } else {
    return DT_ENOENT;
  }
  return 0;
}

DT_TEST(in_a_flow_with_a_stub) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  lua_newtable(L);
  dt__flow_http_open(L);
  lua_setglobal(L, "d");
  /* outside a call's flow */
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.http{url = 'http://127.0.0.1/'}"), "dialtone.http can only be used from a call's flow");
  dt_call_t c;
  rtf_call(&c, "call-1", "main");
  /* no stub, no client: a host http.allow does not name is refused first, in words */
  DT_ASSERT_CONTAINS(in_flow(&f, &c, "d.http{url = 'https://api.example.com/x'}"),
                     "not_allowed: GET https://api.example.com/x: host 'api.example.com' is not allowed "
                     "(not_allowed; http.allow is: localhost, 127.0.0.1, [::1])");
  dt_runtime_set_http_stub(f.rt, stub, NULL);
  DT_ASSERT(in_flow(&f, &c,
                    "local r = d.http{url = 'https://api.example.com/ok', query = {q = 'x y'}, json = {rx = '1'}}\n"
                    "R = table.concat({r.status, r.headers['content-type'], r.headers['x-a'], r.body, r.json.a,\n"
                    "                  tostring(r.json.list[1])}, '|')") == NULL);
  DT_ASSERT_EQ_STR(seen, "POST https://api.example.com/ok?q=x%20y [1 headers] {\"rx\":\"1\"}");
  DT_ASSERT_EQ_STR(global(&f, "R"), "200|application/json; charset=utf-8|1, 2|{\"a\":1,\"list\":[true]}|1|true");
  DT_ASSERT(in_flow(&f, &c, "local r = d.http{url = 'https://x/404', method = 'DELETE'} R = r.status .. r.body .. tostring(r.json)") == NULL);
  DT_ASSERT_EQ_STR(seen, "DELETE https://x/404 [0 headers] ");
  DT_ASSERT_EQ_STR(global(&f, "R"), "404nopenil");
  DT_ASSERT(in_flow(&f, &c,
                    "local ok, e = pcall(d.http, {url = 'https://x/404', raise_for_status = true})\n"
                    "R = table.concat({tostring(ok), e.code, e.status, e.body, e.method, e.url, e.message}, '|')") == NULL);
  DT_ASSERT_EQ_STR(global(&f, "R"), "false|status|404|nope|GET|https://x/404|GET https://x/404 answered HTTP 404 (status)");
  DT_ASSERT_CONTAINS(in_flow(&f, &c, "d.http{url = 'https://x/slow', timeout = 2}"),
                     "timeout: GET https://x/slow: no complete answer within 2 s (timeout)");
  DT_ASSERT_CONTAINS(in_flow(&f, &c, "d.http{url = 'https://x/dns'}"),
                     "dns: GET https://x/dns: the host name did not resolve (DNS): Could not resolve host");
  DT_ASSERT_CONTAINS(in_flow(&f, &c, "d.http{url = 'https://x/none'}"),
                     "unanswered: GET https://x/none: no t:http_stub answers this request (unanswered)");
  /* arguments are checked before anything is sent */
  seen[0] = '\0';
  static const struct {
    const char *code, *want;
  } CASES[] = {
      {"d.http{}", "dialtone.http: url is required"},
      {"d.http('x')", "bad argument #1"},
      {"d.http{url = 'x://y'}", "url 'x://y'"},
      {"d.http{url = 'https://x/ok', query = {1}}", "query names must be strings"},
      {"d.http{url = 'https://x/ok', query = {a = {}}}", "query value 'a' must be a string, a number or a boolean"},
      {"d.http{url = 'https://x/ok', headers = {A = 'x\\r\\nB: y'}}", "holds a line break"},
      {"d.http{url = 'https://x/ok', headers = {A = 1}}", "header 'A' must be a string"},
      {"d.http{url = 'https://x/ok', body = {}}", "body must be a string"},
      {"d.http{url = 'https://x/ok', timeout = 0}", "timeout must be more than 0 and at most 60 s"},
      {"d.http{url = 'https://x/ok', timeout = 'x'}", "timeout must be a number"},
      {"d.http{url = 'https://x/ok', raise_for_status = 1}", "raise_for_status must be a boolean"},
      {"d.http{url = 'https://x/ok', method = 'TOOLONGMETHODNAMEX'}", "method must be 1 to 16 capital letters"},
      {"d.http{url = string.rep('h', 9000)}", "url must be 1 to 8192 bytes"},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(CASES); i++) DT_ASSERT_CONTAINS(in_flow(&f, &c, CASES[i].code), CASES[i].want);
  DT_ASSERT_EQ_STR(seen, "");
  rtf_close(&f);
}

DT_TEST_MAIN()
