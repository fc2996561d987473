/*
 * test_flow_http_backend.c — dialtone.http end to end: the engine runs flows against the Graph
 * emulator over loopback, and the flows call a real HTTP backend in this test (the
 * project's own server, core/net/http_server.c, on the same loop at 127.0.0.1): success
 * with JSON (method, query, headers and body as the backend saw them), a timeout, a refused
 * port, a host http.allow does not allow, a host name that does not resolve, a response over
 * the size limit, raise_for_status, and a hangup while a request waits (the request is
 * aborted: the backend sees its connection go, nothing is left in flight, the flow unwinds
 * with "hangup").
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

/* ---- the backend ---- */

typedef struct {
  dt_http_server_t *srv;
  int port;
  unsigned requests;
  char last_method[16], last_target[512], last_body[512], last_auth[128];
  dt_http_request_t *parked; /* /slow: never answered (freed by the server at close) */
} backend_t;

static backend_t B;

static void backend_handler(dt_http_request_t *req, void *ud) {
  backend_t *b = ud;
  b->requests++;
  snprintf(b->last_method, sizeof b->last_method, "%s", req->method);
  snprintf(b->last_target, sizeof b->last_target, "%s", req->target);
  snprintf(b->last_body, sizeof b->last_body, "%s", req->body ? req->body : "");
  const char *auth = dt_http_request_header(req, "Authorization");
  snprintf(b->last_auth, sizeof b->last_auth, "%s", auth ? auth : "");
  if (strcmp(req->path, "/rx") == 0) {
    const char *json = "{\"name\":\"amoxicillin\",\"refills\":2,\"ready\":true}";
    dt_http_header_t hs[] = {{"Content-Type", "application/json"}, {"X-Backend", "test"}};
    dt_http_respond_ex(req, 200, hs, 2, json, strlen(json));
  } else if (strcmp(req->path, "/slow") == 0) {
    b->parked = req; /* no answer */
  } else if (strcmp(req->path, "/big") == 0) {
    size_t n = 300 * 1024;
    char *big = malloc(n);
    memset(big, 'x', n);
    dt_http_respond(req, 200, "text/plain", big, n);
    free(big);
  } else {
    dt_http_respond(req, 404, "text/plain", "no such thing", 13);
  }
}

static void backend_start(dt_harness_t *h) {
  memset(&B, 0, sizeof B);
  dt_http_server_options_t o = {.listen = "127.0.0.1:0", .handler = backend_handler, .handler_ud = &B};
  char err[256];
  DT_ASSERT_EQ_INT(dt_http_server_start(&h->loop, &o, &B.srv, err, sizeof err), 0);
  B.port = dt_http_server_port(B.srv);
}

static void backend_stop(dt_harness_t *h) {
  int closed = 0;
  dt_http_server_close(B.srv, h__closed, &closed);
  H_UNTIL(h, 10000, closed);
}

/* A port nothing listens on: bound, then closed. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return 1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* The flow text with every "PORT" replaced by the backend's port. */
static int flow_with_port(const char *name, const char *text, int port) {
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  dt_buf_t b = {0};
  for (const char *p = text; *p;) {
    const char *q = strstr(p, "PORT");
    if (!q) {
      dt_buf_append(&b, p, strlen(p));
      break;
    }
    dt_buf_append(&b, p, (size_t)(q - p));
    dt_buf_append(&b, ps, strlen(ps));
    p = q + 4;
  }
  dt_buf_append(&b, "", 1);
  int rc = h_flow(&H, name, b.data);
  dt_buf_free(&b);
  return rc;
}

#define HTTP_TEST(name, ...) H_TEST(name, .time_scale = 0, __VA_ARGS__)

HTTP_TEST(success_with_json, .op_timeout_s = 0) {
  backend_start(&H);
  DT_ASSERT_EQ_INT(flow_with_port("main",
                                  "return function(call)\n"
                                  "  call:answer()\n"
                                  "  local r = dialtone.http{url = 'http://127.0.0.1:PORT/rx', method = 'POST',\n"
                                  "    query = {id = '123 456', lang = 'en'}, headers = {Authorization = 'Bearer t0k'},\n"
                                  "    json = {rx = '123456', items = {1, 2}}}\n"
                                  "  dialtone.log('info', 'RESULT', r.status, r.json.name, r.json.refills, r.json.ready,\n"
                                  "    r.headers['x-backend'], r.headers['content-type'], #r.body)\n"
                                  "  local g = dialtone.http{url = 'http://localhost:PORT/missing'}\n"
                                  "  dialtone.log('info', 'MISSING', g.status, g.body, g.json == nil)\n"
                                  "  local ok, e = pcall(dialtone.http, {url = 'http://127.0.0.1:PORT/missing', raise_for_status = true})\n"
                                  "  dialtone.log('info', 'RAISED', ok, e.code, e.status, e.body, e.message)\n"
                                  "  call:hangup()\n"
                                  "end\n",
                                  B.port),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 200 amoxicillin 2 true test application/json 47"));
  DT_ASSERT(h_log_has(&H, "MISSING 404 no such thing true"));
  DT_ASSERT(h_log_has(&H, "RAISED false status 404 no such thing GET http://127.0.0.1:"));
  DT_ASSERT(h_log_has(&H, "/missing answered HTTP 404 (status)"));
  DT_ASSERT_EQ_INT((int)B.requests, 3);
  backend_stop(&H);
}

HTTP_TEST(request_as_the_backend_saw_it) {
  backend_start(&H);
  DT_ASSERT_EQ_INT(flow_with_port("main",
                                  "return function(call)\n"
                                  "  call:answer()\n"
                                  "  local r = dialtone.http{url = 'http://127.0.0.1:PORT/rx?x=1', method = 'PUT',\n"
                                  "    query = {id = '123 456', b = true}, headers = {Authorization = 'Bearer t0k'},\n"
                                  "    json = {rx = '123456'}}\n"
                                  "  dialtone.log('info', 'RESULT', r.status)\n"
                                  "end\n",
                                  B.port),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 200"));
  DT_ASSERT_EQ_STR(B.last_method, "PUT");
  DT_ASSERT_EQ_STR(B.last_target, "/rx?x=1&b=true&id=123%20456");
  DT_ASSERT_EQ_STR(B.last_body, "{\"rx\":\"123456\"}");
  DT_ASSERT_EQ_STR(B.last_auth, "Bearer t0k");
  backend_stop(&H);
}

HTTP_TEST(failures_are_errors_in_words, .http = {.max_body_bytes = 100 * 1024,
                                                 .allow = (const char *const[]){"127.0.0.1", "*.invalid"},
                                                 .allow_count = 2}) {
  backend_start(&H);
  int dead = free_port();
  char flow[4096];
  snprintf(flow, sizeof flow,
           "local function try(o)\n"
           "  local ok, e = pcall(dialtone.http, o)\n"
           "  return ok and 'ok' or e.code\n"
           "end\n"
           "return function(call)\n"
           "  call:answer()\n"
           "  dialtone.log('info', 'TIMEOUT', try{url = 'http://127.0.0.1:PORT/slow', timeout = 0.3})\n"
           "  dialtone.log('info', 'REFUSED', try{url = 'http://127.0.0.1:%d/rx'})\n"
           "  dialtone.log('info', 'NOTALLOWED', try{url = 'http://localhost:PORT/rx'})\n"
           "  dialtone.log('info', 'OFFBOX', try{url = 'https://api.example.com/rx'})\n"
           "  dialtone.log('info', 'DNS', try{url = 'http://no-such-host.invalid/rx'})\n"
           "  dialtone.log('info', 'TOOBIG', try{url = 'http://127.0.0.1:PORT/big'})\n"
           "  local ok, e = pcall(dialtone.http, {url = 'http://localhost:PORT/rx'})\n"
           "  dialtone.log('info', 'MSG', e.message)\n"
           "  dialtone.log('info', 'AFTER', dialtone.http{url = 'http://127.0.0.1:PORT/rx'}.status)\n"
           "end\n",
           dead);
  DT_ASSERT_EQ_INT(flow_with_port("main", flow, B.port), 0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "TIMEOUT timeout"));
  DT_ASSERT(h_log_has(&H, "REFUSED refused"));
  DT_ASSERT(h_log_has(&H, "NOTALLOWED not_allowed"));
  DT_ASSERT(h_log_has(&H, "OFFBOX not_allowed"));
  DT_ASSERT(h_log_has(&H, "DNS dns"));
  DT_ASSERT(h_log_has(&H, "TOOBIG too_large"));
  DT_ASSERT(h_log_has(&H, "host 'localhost' is not allowed (not_allowed; http.allow is: 127.0.0.1, *.invalid)"));
  DT_ASSERT(h_log_has(&H, "AFTER 200"));
  /* nothing is left in flight once the call is over */
  H_UNTIL(&H, 10000, dt_engine_requests_in_flight(H.engine) == 0);
  DT_ASSERT_EQ_INT((int)dt_engine_requests_in_flight(H.engine), 0);
  backend_stop(&H);
}

HTTP_TEST(hangup_cancels_the_request) {
  backend_start(&H);
  DT_ASSERT_EQ_INT(flow_with_port("main",
                                  "return function(call)\n"
                                  "  call:answer()\n"
                                  "  call:on_hangup(function() dialtone.log('info', 'ON_HANGUP') end)\n"
                                  "  local ok, e = pcall(dialtone.http, {url = 'http://127.0.0.1:PORT/slow', timeout = 60})\n"
                                  "  dialtone.log('info', 'AFTER', ok, e.code)\n"
                                  "  error(e)\n"
                                  "end\n",
                                  B.port),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  H_UNTIL(&H, 20000, B.parked != NULL);
  DT_ASSERT(B.parked != NULL);
  DT_ASSERT_EQ_INT((int)dt_http_server_connection_count(B.srv), 1);
  DT_ASSERT(h_hangup(&H, id) / 100 == 2);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "AFTER false hangup"));
  DT_ASSERT(h_log_has(&H, "ON_HANGUP"));
  /* the transfer was aborted: the backend's connection went away, nothing is in flight */
  H_UNTIL(&H, 10000, dt_engine_requests_in_flight(H.engine) == 0);
  DT_ASSERT_EQ_INT((int)dt_engine_requests_in_flight(H.engine), 0);
  /* the server reads nothing more while a request is unanswered: answer it now; had the
     engine kept the connection (a kept-alive idle one), it would stay open for a minute */
  dt_http_respond(B.parked, 200, "text/plain", "late", 4);
  H_UNTIL(&H, 10000, dt_http_server_connection_count(B.srv) == 0);
  DT_ASSERT_EQ_INT((int)dt_http_server_connection_count(B.srv), 0);
  backend_stop(&H);
}

HTTP_TEST(misuse_is_a_clear_error) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local function msg(o) local ok, e = pcall(dialtone.http, o) return tostring(e) end\n"
                          "  dialtone.log('info', 'M1', msg{url = 'ftp://127.0.0.1/x'})\n"
                          "  dialtone.log('info', 'M2', msg{url = 'http://127.0.0.1/x', body = 'a', json = {}})\n"
                          "  dialtone.log('info', 'M3', msg{url = 'http://127.0.0.1/x', timeout = 1000})\n"
                          "  dialtone.log('info', 'M4', msg{url = 'http://127.0.0.1/x', color = 'red'})\n"
                          "  dialtone.log('info', 'M5', msg{url = 'http://127.0.0.1/x', headers = {['Bad Name'] = 'x'}})\n"
                          "  dialtone.log('info', 'M6', msg{url = 'http://127.0.0.1/x', json = {f = print}})\n"
                          "  dialtone.log('info', 'M7', msg{url = 'http://127.0.0.1/x', method = 'get'})\n"
                          "end\n"),
                   0);
  /* at load time: the flow does not compile, and the reason says why */
  const char *loader = "dialtone.http{url = 'http://127.0.0.1/'}\nreturn function(call) end\n";
  char lerr[512] = "";
  DT_ASSERT(dt_engine_load_flow(H.engine, "loader", loader, strlen(loader), lerr, sizeof lerr) != 0);
  DT_ASSERT(strstr(lerr, "dialtone.http can only be used from a call's flow (not while the flow file loads") != NULL);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "M1 dialtone.http: url 'ftp://127.0.0.1/x': the URL must start with http:// or https://"));
  DT_ASSERT(h_log_has(&H, "M2 dialtone.http: give body or json, not both"));
  DT_ASSERT(h_log_has(&H, "M3 dialtone.http: timeout must be more than 0 and at most 60 s"));
  DT_ASSERT(h_log_has(&H, "M4 ") && h_log_has(&H, "unknown option 'color'"));
  DT_ASSERT(h_log_has(&H, "M5 ") && h_log_has(&H, "header name 'Bad Name'"));
  DT_ASSERT(h_log_has(&H, "M6 ") && h_log_has(&H, "json cannot be encoded"));
  DT_ASSERT(h_log_has(&H, "M7 ") && h_log_has(&H, "method must be capital letters"));
}

DT_TEST_MAIN()
