/*
 * Unit tests for core/graph/graph.c (the client): the Graph client against a fake Graph built on
 * dt_http_server, over real HTTP on 127.0.0.1 (port 0), with the real http client and
 * the real OAuth token source (the fake serves the token endpoint too).
 *
 * The fake records every request (method, target, Authorization, body) and answers the
 * way the documents show: 201 + Location + call for create, 200 + Location + operation
 * for media and participant actions, 202 for answer/reject/redirect/transfer, 204 for
 * deletes. It answers 401 with a Graph error body to any bearer token but the one it
 * issued last, and a test can queue one-off answers or hold answers back.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/oauth.h"
#include "harness/dt_test.h"
#include "harness/fake_token.h"
#include "harness/loop.h"

/* ---- the fake Graph ---- */

#define MAX_RECORDED 64

typedef struct {
  char *method, *target, *auth, *body;
} recorded_t;

typedef struct {
  int status;
  const char *location; /* may be NULL */
  const char *retry_after;
  const char *body;     /* may be NULL */
} canned_t;

typedef struct {
  dt_http_server_t *srv;
  int port;
  recorded_t rec[MAX_RECORDED];
  int nrec;          /* Graph requests (token requests are not recorded here) */
  int token_requests;
  char valid_token[32];
  canned_t queue[8]; /* one-off answers, used before the defaults */
  int nqueue;
  bool always_401;
  bool hold;         /* keep Graph requests unanswered (for cancel tests) */
  dt_http_request_t *held[8];
  int nheld;
} fake_t;

static char *dupz(const char *s) { return s ? dt_xstrdup(s) : NULL; }

/* What the documents answer for each kind of request. */
static void answer_default(fake_t *f, dt_http_request_t *req) {
  char loc[256];
  const char *p = req->path;
  if (strcmp(req->method, "DELETE") == 0) {
    respond(req, 204, NULL, NULL, NULL);
  } else if (strcmp(req->method, "GET") == 0) {
    respond(req, 200, NULL, NULL, ends_with(p, "/participants") ? "{\"value\":[]}" : "{\"id\":\"x\"}");
  } else if (ends_with(p, "/calls")) {
    snprintf(loc, sizeof loc, "http://127.0.0.1:%d%s/2e1a0b00-2db4-4022-9570-243709c565ab", f->port, p);
    respond(req, 201, loc, NULL,
            "{\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"establishing\",\"direction\":\"outgoing\","
            "\"id\":\"2e1a0b00-2db4-4022-9570-243709c565ab\"}");
  } else if (ends_with(p, "/answer") || ends_with(p, "/reject") || ends_with(p, "/redirect") ||
             ends_with(p, "/transfer") || ends_with(p, "/changeScreenSharingRole") ||
             ends_with(p, "/updateMetadata")) {
    respond(req, 202, NULL, NULL, NULL);
  } else if (ends_with(p, "/keepAlive")) {
    respond(req, 200, NULL, NULL, NULL);
  } else {
    /* An action that returns an operation. */
    const char *slash = strrchr(p, '/');
    size_t call_part = (size_t)(slash - p);
    if (ends_with(p, "/participants/invite") || ends_with(p, "/participants/muteAll"))
      call_part -= strlen("/participants");
    snprintf(loc, sizeof loc, "http://127.0.0.1:%d%.*s/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5", f->port,
             (int)call_part, p);
    respond(req, 200, loc, NULL,
            "{\"@odata.type\":\"#microsoft.graph.playPromptOperation\",\"id\":\"0fe0623f-d628-42ed-b4bd-8ac290072cc5\","
            "\"status\":\"running\",\"clientContext\":\"d45324c1-fcb5-430a-902c-f20af696537c\"}");
  }
}

static void fake_handler(dt_http_request_t *req, void *ud) {
  fake_t *f = ud;
  if (fake_token_serve(req, &f->token_requests, f->valid_token, sizeof f->valid_token)) return;
  if (f->nrec < MAX_RECORDED) {
    recorded_t *r = &f->rec[f->nrec++];
    r->method = dupz(req->method);
    r->target = dupz(req->target);
    r->auth = dupz(dt_http_request_header(req, "Authorization"));
    r->body = req->body_len ? dt_xstrndup(req->body, req->body_len) : NULL;
  }
  if (f->always_401 || !fake_token_accepts(req, f->valid_token)) {
    fake_token_reject(req);
    return;
  }
  if (f->hold && f->nheld < 8) {
    f->held[f->nheld++] = req;
    return;
  }
  if (f->nqueue > 0) {
    canned_t c = f->queue[0];
    memmove(f->queue, f->queue + 1, (size_t)--f->nqueue * sizeof f->queue[0]);
    respond(req, c.status, c.location, c.retry_after, c.body);
    return;
  }
  answer_default(f, req);
}

static void fake_clear(fake_t *f) {
  for (int i = 0; i < f->nrec; i++) {
    free(f->rec[i].method);
    free(f->rec[i].target);
    free(f->rec[i].auth);
    free(f->rec[i].body);
  }
  f->nrec = 0;
}

/* ---- a test environment: loop, fake, http client, token source, graph client ---- */

typedef struct {
  uv_loop_t loop;
  fake_t fake;
  dt_http_client_t *http;
  dt_oauth_source_t *tokens;
  dt_graph_t *g;
  char base[128];
} env_t;

/* 0 = the graph client's default retry policy; tests of raw error results set 1. */
static int env_max_attempts;

static int env_init(env_t *e, dt_graph_dialect_t dialect) {
  memset(e, 0, sizeof *e);
  uv_loop_init(&e->loop);
  char err[256] = "";
  dt_http_server_options_t so = {.listen = "127.0.0.1:0", .handler = fake_handler, .handler_ud = &e->fake};
  int rc = dt_http_server_start(&e->loop, &so, &e->fake.srv, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "  server: %s\n", err);
    return rc;
  }
  e->fake.port = dt_http_server_port(e->fake.srv);
  if ((rc = dt_http_client_new(&e->loop, &(dt_http_client_options_t){0}, &e->http)) != 0) return rc;
  char token_url[128];
  snprintf(token_url, sizeof token_url, "http://127.0.0.1:%d/token", e->fake.port);
  dt_oauth_options_t to = {.token_url = token_url, .client_id = "app", .client_secret = "secret"};
  if ((rc = dt_oauth_source_new(&e->loop, e->http, &to, &e->tokens)) != 0) return rc;
  snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d/%s", e->fake.port, dialect == DT_GRAPH_BETA ? "beta" : "v1.0");
  dt_graph_options_t go = {.base_url = e->base, .dialect = dialect, .timeout_ms = 10000,
                           .max_attempts = env_max_attempts};
  return dt_graph_new(&e->loop, e->http, e->tokens, &go, &e->g);
}

static int env_close(env_t *e) {
  dt_graph_free(e->g);
  dt_oauth_source_free(e->tokens);
  int client_closed = 0, server_closed = 0;
  for (int i = 0; i < e->fake.nheld; i++) respond(e->fake.held[i], 503, NULL, NULL, NULL);
  dt_http_client_close(e->http, on_done_flag, &client_closed);
  run_until(&e->loop, &client_closed, 10);
  dt_http_server_close(e->fake.srv, on_done_flag, &server_closed);
  run_until(&e->loop, &server_closed, 10);
  fake_clear(&e->fake);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  return uv_loop_close(&e->loop);
}

/* ---- result capture ---- */

typedef struct {
  int done;
  int calls;
  int status, error;
  char error_code[64], error_message[256], location[256], op_id[64], call_id[64];
  dt_op_status_t op_status;
  int retry_after_s;
  bool has_body;
} capture_t;

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

static void on_result(const dt_graph_result_t *res, void *ud) {
  capture_t *c = ud;
  c->calls++;
  c->done = 1;
  c->status = res->status;
  c->error = res->error;
  copy(c->error_code, sizeof c->error_code, res->error_code);
  copy(c->error_message, sizeof c->error_message, res->error_message);
  copy(c->location, sizeof c->location, res->location);
  copy(c->op_id, sizeof c->op_id, res->op_id);
  copy(c->call_id, sizeof c->call_id, res->call_id);
  c->op_status = res->op_status;
  c->retry_after_s = res->retry_after_s;
  c->has_body = res->body != NULL;
  if (res->error_message == NULL) c->error_message[0] = '!'; /* contract: never NULL */
}

/* ---- every typed function: method, URL, body, bearer ---- */

#define CALL "57dab8b1-894c-409a-b240-bd8beae78896"

typedef struct {
  const char *name;
  const char *method;
  const char *suffix; /* after {base}{calls path} */
  int (*start)(dt_graph_t *g, capture_t *c, cJSON **expected, dt_graph_dialect_t d);
} case_t;

static dt_invitation_t k_user = {{"user", "550fae72-d251-43ec-868c-373732c2704f", "72f988bf-86f1-41af-91ab-2d7cd011db47",
                                  "Heidi Steen"}, NULL};
static dt_media_t k_prompt = {"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"};

static int s_create(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_create_params_t p = {.callback_uri = "https://bot.contoso.com/callback", .targets = &k_user,
                                .target_count = 1, .subject = "s"};
  dt_graph_create_call_body(d, &p, x);
  return dt_graph_create_call(g, &p, on_result, c, NULL);
}
static int s_get(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_get_call(g, CALL, on_result, c, NULL);
}
static int s_delete(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_delete_call(g, CALL, on_result, c, NULL);
}
static int s_answer(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_answer_params_t p = {.callback_uri = "https://bot.contoso.com/api/calls", .prefetch = &k_prompt,
                                .prefetch_count = 1};
  dt_graph_answer_body(&p, x);
  return dt_graph_answer(g, CALL, &p, on_result, c, NULL);
}
static int s_reject(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_reject_body("busy", NULL, x);
  return dt_graph_reject(g, CALL, "busy", NULL, on_result, c, NULL);
}
static int s_redirect(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_redirect_body(&k_user, 1, 30, "https://bot.contoso.com/api/calls", x);
  dt_graph_redirect_params_t p = {.targets = &k_user, .target_count = 1, .timeout_s = 30,
                                  .callback_uri = "https://bot.contoso.com/api/calls"};
  return dt_graph_redirect(g, CALL, &p, on_result, c, NULL);
}
static int s_transfer(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_transfer_body(d, &k_user, NULL, x);
  return dt_graph_transfer(g, CALL, &k_user, NULL, on_result, c, NULL);
}
static int s_play(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_play_prompt_body(&k_prompt, 1, "ctx", x);
  return dt_graph_play_prompt(g, CALL, &k_prompt, 1, "ctx", on_result, c, NULL);
}
static int s_record(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  const char *stops[] = {"#"};
  dt_graph_record_params_t p = {.prompt = &k_prompt, .max_duration_s = 10, .play_beep = 1, .stop_tones = stops,
                                .stop_tone_count = 1, .client_context = "ctx"};
  dt_graph_record_body(&p, x);
  return dt_graph_record(g, CALL, &p, on_result, c, NULL);
}
static int s_tone(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body("ctx", x);
  return dt_graph_context_action(g, CALL, DT_GRAPH_SUBSCRIBE_TO_TONE, "ctx", on_result, c, NULL);
}
static int s_dtmf(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_send_dtmf_body("12#", 500, "ctx", x);
  return dt_graph_send_dtmf(g, CALL, "12#", 500, "ctx", on_result, c, NULL);
}
static int s_cancel_media(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body("ctx", x);
  return dt_graph_context_action(g, CALL, DT_GRAPH_CANCEL_MEDIA, "ctx", on_result, c, NULL);
}
static int s_mute(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body("ctx", x);
  return dt_graph_context_action(g, CALL, DT_GRAPH_MUTE, "ctx", on_result, c, NULL);
}
static int s_unmute(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body(NULL, x);
  return dt_graph_context_action(g, CALL, DT_GRAPH_UNMUTE, NULL, on_result, c, NULL);
}
static int s_share(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  *x = cJSON_Parse("{\"role\":\"sharer\"}");
  return dt_graph_change_screen_sharing_role(g, CALL, "sharer", on_result, c, NULL);
}
static int s_metadata(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  *x = cJSON_Parse("{\"metadata\":\"m\",\"clientContext\":\"ctx\"}");
  return dt_graph_update_metadata(g, CALL, "m", "ctx", on_result, c, NULL);
}
static int s_recording_status(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  *x = cJSON_Parse("{\"clientContext\":\"ctx\",\"status\":\"recording\"}");
  return dt_graph_update_recording_status(g, CALL, "recording", "ctx", on_result, c, NULL);
}
static int s_keepalive(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_keep_alive(g, CALL, on_result, c, NULL);
}
static int s_list(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_list_participants(g, CALL, on_result, c, NULL);
}
static int s_getp(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_get_participant(g, CALL, "p-1", on_result, c, NULL);
}
static int s_invite(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_invitation_t inv = k_user;
  inv.replaces_call_id = "a7ebfb2d-871e-419c-87af-27290b22e8db";
  dt_graph_invite_body(&inv, 1, "ctx", x);
  return dt_graph_invite(g, CALL, &inv, 1, "ctx", on_result, c, NULL);
}
static int s_mute_all(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body("ctx", x);
  return dt_graph_context_action(g, CALL, DT_GRAPH_MUTE_ALL, "ctx", on_result, c, NULL);
}
static int s_mute_p(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  dt_graph_context_body("ctx", x);
  return dt_graph_mute_participant(g, CALL, "p-1", "ctx", on_result, c, NULL);
}
static int s_remove_p(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_remove_participant(g, CALL, "p-1", on_result, c, NULL);
}
static int s_get_op(dt_graph_t *g, capture_t *c, cJSON **x, dt_graph_dialect_t d) {
  return dt_graph_get_operation(g, CALL, "op-1", on_result, c, NULL);
}

static const case_t cases[] = {
    {"create", "POST", "", s_create},
    {"get", "GET", "/" CALL, s_get},
    {"delete", "DELETE", "/" CALL, s_delete},
    {"answer", "POST", "/" CALL "/answer", s_answer},
    {"reject", "POST", "/" CALL "/reject", s_reject},
    {"redirect", "POST", "/" CALL "/redirect", s_redirect},
    {"transfer", "POST", "/" CALL "/transfer", s_transfer},
    {"playPrompt", "POST", "/" CALL "/playPrompt", s_play},
    {"record", "POST", "/" CALL "/RECORD", s_record}, /* per dialect, see below */
    {"subscribeToTone", "POST", "/" CALL "/subscribeToTone", s_tone},
    {"sendDtmfTones", "POST", "/" CALL "/sendDtmfTones", s_dtmf},
    {"cancelMediaProcessing", "POST", "/" CALL "/cancelMediaProcessing", s_cancel_media},
    {"mute", "POST", "/" CALL "/mute", s_mute},
    {"unmute", "POST", "/" CALL "/unmute", s_unmute},
    {"changeScreenSharingRole", "POST", "/" CALL "/changeScreenSharingRole", s_share},
    {"updateMetadata", "POST", "/" CALL "/updateMetadata", s_metadata},
    {"updateRecordingStatus", "POST", "/" CALL "/updateRecordingStatus", s_recording_status},
    {"keepAlive", "POST", "/" CALL "/keepAlive", s_keepalive},
    {"listParticipants", "GET", "/" CALL "/participants", s_list},
    {"getParticipant", "GET", "/" CALL "/participants/p-1", s_getp},
    {"invite", "POST", "/" CALL "/participants/invite", s_invite},
    {"muteAll", "POST", "/" CALL "/participants/muteAll", s_mute_all},
    {"muteParticipant", "POST", "/" CALL "/participants/p-1/mute", s_mute_p},
    {"removeParticipant", "DELETE", "/" CALL "/participants/p-1", s_remove_p},
    {"getOperation", "GET", "/" CALL "/operations/op-1", s_get_op},
};

static void every_typed_function(dt_graph_dialect_t d) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, d), 0);
  const char *prefix = d == DT_GRAPH_BETA ? "/beta/app/calls" : "/v1.0/communications/calls";
  for (size_t i = 0; i < DT_ARRAY_SIZE(cases); i++) {
    const case_t *k = &cases[i];
    capture_t c = {0};
    cJSON *expected = NULL;
    int before = e.fake.nrec;
    int rc = k->start(e.g, &c, &expected, d);
    DT_ASSERT_MSG(rc == 0, "%s: start failed: %s", k->name, dt_err_name(rc));
    DT_ASSERT_MSG(run_until(&e.loop, &c.done, 10), "%s: no result", k->name);
    DT_ASSERT_MSG(c.error == 0 && c.status >= 200 && c.status < 300, "%s: status %d error %s (%s)", k->name,
                  c.status, dt_err_name(c.error), c.error_message);
    DT_ASSERT_MSG(e.fake.nrec == before + 1, "%s: %d requests", k->name, e.fake.nrec - before);
    recorded_t *r = &e.fake.rec[e.fake.nrec - 1];
    char want[256];
    const char *suffix = k->suffix;
    char fixed[128];
    const char *rec = strstr(suffix, "/RECORD");
    if (rec) {
      snprintf(fixed, sizeof fixed, "%.*s/%s", (int)(rec - suffix), suffix, dt_graph_record_action(d));
      suffix = fixed;
    }
    snprintf(want, sizeof want, "%s%s", prefix, suffix);
    DT_ASSERT_MSG(strcmp(r->method, k->method) == 0, "%s: method %s", k->name, r->method);
    DT_ASSERT_MSG(strcmp(r->target, want) == 0, "%s: target %s, want %s", k->name, r->target, want);
    DT_ASSERT_MSG(r->auth && strcmp(r->auth, "Bearer tok-1") == 0, "%s: Authorization %s", k->name,
                  r->auth ? r->auth : "(none)");
    if (expected) {
      cJSON *got = r->body ? cJSON_Parse(r->body) : NULL;
      bool ok = cJSON_Compare(got, expected, true);
      if (!ok) fprintf(stderr, "  %s: body %s\n", k->name, r->body ? r->body : "(none)");
      cJSON_Delete(got);
      cJSON_Delete(expected);
      DT_ASSERT_MSG(ok, "%s: body differs", k->name);
    } else {
      DT_ASSERT_MSG(r->body == NULL, "%s: unexpected body %s", k->name, r->body);
    }
  }
  /* One token fetch served every request. */
  DT_ASSERT_EQ_INT(e.fake.token_requests, 1);
  DT_ASSERT_EQ_INT(dt_oauth_fetch_count(e.tokens), 1);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(every_typed_function_v1) { every_typed_function(DT_GRAPH_V1); }
DT_TEST(every_typed_function_beta) { every_typed_function(DT_GRAPH_BETA); }

/* ---- results ---- */

DT_TEST(create_call_result_has_call_id_and_location) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t c = {0};
  cJSON *x = NULL;
  DT_ASSERT_EQ_INT(s_create(e.g, &c, &x, DT_GRAPH_V1), 0);
  cJSON_Delete(x);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 201);
  DT_ASSERT_EQ_STR(c.call_id, "2e1a0b00-2db4-4022-9570-243709c565ab");
  DT_ASSERT_CONTAINS(c.location, "/v1.0/communications/calls/2e1a0b00-2db4-4022-9570-243709c565ab");
  DT_ASSERT_EQ_STR(c.op_id, "");
  DT_ASSERT_EQ_STR(c.error_message, "");
  /* A 201 with only a Location (graph-participant-invite.md, "Join channel meeting
     without media"): the id comes from the Location. */
  char loc[128];
  snprintf(loc, sizeof loc, "http://127.0.0.1:%d/beta/app/calls/90ED37DCD8E34E119DE330A955DDA06F", e.fake.port);
  e.fake.queue[e.fake.nqueue++] = (canned_t){201, loc, NULL, NULL};
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(s_create(e.g, &c2, &x, DT_GRAPH_V1), 0);
  cJSON_Delete(x);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.status, 201);
  DT_ASSERT_EQ_STR(c2.call_id, "90ED37DCD8E34E119DE330A955DDA06F");
  DT_ASSERT(!c2.has_body);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(operation_answers) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_play_prompt(e.g, CALL, &k_prompt, 1, "ctx", on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_STR(c.op_id, "0fe0623f-d628-42ed-b4bd-8ac290072cc5");
  DT_ASSERT_EQ_INT(c.op_status, DT_OP_STATUS_RUNNING);
  DT_ASSERT_CONTAINS(c.location, "/communications/calls/" CALL "/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5");
  DT_ASSERT_EQ_STR(c.call_id, ""); /* only for create */
  /* subscribeToTone answers a completed operation; invite (beta doc) answers "Running". */
  e.fake.queue[e.fake.nqueue++] = (canned_t){200, NULL, NULL,
      "{\"@odata.type\":\"#microsoft.graph.subscribeToToneOperation\",\"clientContext\":\"c\",\"id\":\"op-2\",\"status\":\"completed\"}"};
  e.fake.queue[e.fake.nqueue++] = (canned_t){200, NULL, NULL,
      "{\"clientContext\":\"clientContext-value\",\"createdDateTime\":\"2018-03-19T09:46:02Z\",\"id\":\"id-value\","
      "\"lastActionDateTime\":\"2018-03-19T09:46:02Z\",\"status\":\"Running\"}"};
  capture_t c2 = {0}, c3 = {0};
  DT_ASSERT_EQ_INT(dt_graph_context_action(e.g, CALL, DT_GRAPH_SUBSCRIBE_TO_TONE, "c", on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_STR(c2.op_id, "op-2");
  DT_ASSERT_EQ_INT(c2.op_status, DT_OP_STATUS_COMPLETED);
  DT_ASSERT_EQ_INT(dt_graph_invite(e.g, CALL, &k_user, 1, NULL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c3.done, 10));
  DT_ASSERT_EQ_STR(c3.op_id, "id-value");
  DT_ASSERT_EQ_INT(c3.op_status, DT_OP_STATUS_RUNNING);
  /* graph-participant-invite.md: 202 Accepted with only a Location to the operation. */
  char loc[200];
  snprintf(loc, sizeof loc, "http://127.0.0.1:%d/beta/app/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/"
           "0fe0623f-d628-42ed-b4bd-8ac290072cc5", e.fake.port);
  e.fake.queue[e.fake.nqueue++] = (canned_t){202, loc, NULL, NULL};
  capture_t c4 = {0};
  DT_ASSERT_EQ_INT(dt_graph_invite(e.g, CALL, &k_user, 1, NULL, on_result, &c4, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c4.done, 10));
  DT_ASSERT_EQ_INT(c4.status, 202);
  DT_ASSERT_EQ_STR(c4.op_id, "0fe0623f-d628-42ed-b4bd-8ac290072cc5");
  DT_ASSERT_EQ_INT(c4.op_status, DT_OP_STATUS_UNKNOWN);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(graph_error_body_is_egraph_with_code_and_message) {
  env_t e;
  env_max_attempts = 1; /* see the 429 as it comes, not retried (test_graph_retry covers retries) */
  int rc = env_init(&e, DT_GRAPH_V1);
  env_max_attempts = 0;
  DT_ASSERT_EQ_INT(rc, 0);
  e.fake.queue[e.fake.nqueue++] = (canned_t){404, NULL, NULL,
      "{\"error\":{\"code\":\"itemNotFound\",\"message\":\"Call not found.\",\"innerError\":{\"request-id\":\"r\"}}}"};
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 404);
  DT_ASSERT_EQ_INT(c.error, DT_EGRAPH);
  DT_ASSERT_EQ_STR(c.error_code, "itemNotFound");
  DT_ASSERT_EQ_STR(c.error_message, "Call not found.");
  DT_ASSERT(c.has_body);
  /* An error without a Graph body still has a message; 429 carries Retry-After. */
  e.fake.queue[e.fake.nqueue++] = (canned_t){429, NULL, "7", NULL};
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.status, 429);
  DT_ASSERT_EQ_INT(c2.error, DT_EGRAPH);
  DT_ASSERT_EQ_INT(c2.retry_after_s, 7);
  DT_ASSERT_EQ_STR(c2.error_code, "");
  DT_ASSERT(c2.error_message[0] != '\0');
  DT_ASSERT_EQ_INT(c.retry_after_s, -1);
  DT_ASSERT(dt_graph_failing(e.g) == NULL); /* 4xx: Graph answers; the request was wrong */
  /* a 5xx makes Graph "failing" (for /healthz) until an answer below 500 */
  e.fake.queue[e.fake.nqueue++] = (canned_t){503, NULL, NULL, NULL};
  capture_t c3 = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c3.done, 10));
  DT_ASSERT_EQ_INT(c3.status, 503);
  DT_ASSERT(dt_graph_failing(e.g) != NULL);
  DT_ASSERT_CONTAINS(dt_graph_failing(e.g), "Graph answering 503 to POST http://127.0.0.1:");
  e.fake.queue[e.fake.nqueue++] = (canned_t){404, NULL, NULL, NULL};
  capture_t c4 = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c4, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c4.done, 10));
  DT_ASSERT(dt_graph_failing(e.g) == NULL);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- tokens ---- */

DT_TEST(unauthorized_refetches_token_and_retries_once) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 1);
  /* The service revokes tok-1: the next request gets a 401, the client drops the token,
     fetches tok-2 and sends the same request again, once. */
  snprintf(e.fake.valid_token, sizeof e.fake.valid_token, "revoked");
  int before = e.fake.nrec;
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(dt_graph_play_prompt(e.g, CALL, &k_prompt, 1, "ctx", on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.calls, 1);
  DT_ASSERT_EQ_INT(c2.status, 200);
  DT_ASSERT_EQ_INT(c2.error, 0);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec - before, 2);
  DT_ASSERT_EQ_STR(e.fake.rec[before].auth, "Bearer tok-1");
  DT_ASSERT_EQ_STR(e.fake.rec[before + 1].auth, "Bearer tok-2");
  DT_ASSERT_EQ_STR(e.fake.rec[before].body, e.fake.rec[before + 1].body);
  DT_ASSERT_EQ_STR(e.fake.rec[before + 1].target, "/v1.0/communications/calls/" CALL "/playPrompt");
  /* A service that keeps refusing: exactly one retry, then the 401 is the result. */
  e.fake.always_401 = true;
  before = e.fake.nrec;
  capture_t c3 = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c3.done, 10));
  run_for(&e.loop, 100);
  DT_ASSERT_EQ_INT(c3.calls, 1);
  DT_ASSERT_EQ_INT(c3.status, 401);
  DT_ASSERT_EQ_INT(c3.error, DT_EGRAPH);
  DT_ASSERT_EQ_STR(c3.error_code, "InvalidAuthenticationToken");
  DT_ASSERT_EQ_INT(e.fake.nrec - before, 2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* Several requests refused at once fetch one new token, not one each. */
DT_TEST(burst_of_401_fetches_one_token) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t first = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &first, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &first.done, 10));
  snprintf(e.fake.valid_token, sizeof e.fake.valid_token, "revoked");
  capture_t c[5] = {{0}};
  for (int i = 0; i < 5; i++) DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c[i], NULL), 0);
  for (int i = 0; i < 5; i++) {
    DT_ASSERT(run_until(&e.loop, &c[i].done, 10));
    DT_ASSERT_EQ_INT(c[i].status, 200);
  }
  DT_ASSERT_EQ_INT(e.fake.token_requests, 2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* A 401 that arrives after another request already fetched a fresh token must not throw
   the fresh token away: the request is resent with it, no third fetch. */
DT_TEST(late_401_reuses_the_newer_token) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t warm = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &warm, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &warm.done, 10));
  e.fake.hold = true;
  capture_t a = {0}, b = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &a, NULL), 0);
  DT_ASSERT_EQ_INT(dt_graph_delete_call(e.g, CALL, on_result, &b, NULL), 0);
  for (int i = 0; i < 500 && e.fake.nheld < 2; i++) run_for(&e.loop, 20);
  DT_ASSERT_EQ_INT(e.fake.nheld, 2);
  e.fake.hold = false;
  snprintf(e.fake.valid_token, sizeof e.fake.valid_token, "revoked");
  dt_http_request_t *ra = e.fake.held[0], *rb = e.fake.held[1];
  e.fake.nheld = 0;
  const char *unauth = "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"expired\"}}";
  respond(ra, 401, NULL, NULL, unauth);
  int a_or_b = 0;
  for (int i = 0; i < 500 && !a.done && !b.done; i++) run_for(&e.loop, 20);
  a_or_b = a.done + b.done;
  DT_ASSERT_EQ_INT(a_or_b, 1);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 2);
  respond(rb, 401, NULL, NULL, unauth);
  for (int i = 0; i < 500 && !(a.done && b.done); i++) run_for(&e.loop, 20);
  DT_ASSERT(a.done && b.done);
  DT_ASSERT(a.status >= 200 && a.status < 300);
  DT_ASSERT(b.status >= 200 && b.status < 300);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- cancel ---- */

DT_TEST(cancel_while_waiting_for_token) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t c = {0};
  dt_graph_req_t *r = NULL;
  /* No token yet: the request waits for the token fetch. */
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, &r), 0);
  DT_ASSERT(r != NULL);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 1);
  dt_graph_req_cancel(r);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 0);
  /* Let the token fetch finish: the cancelled request is never sent, never called back. */
  capture_t other = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &other, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &other.done, 10));
  run_for(&e.loop, 100);
  DT_ASSERT_EQ_INT(c.calls, 0);
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(cancel_in_flight) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t warm = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &warm, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &warm.done, 10));
  e.fake.hold = true;
  capture_t c = {0};
  dt_graph_req_t *r = NULL;
  DT_ASSERT_EQ_INT(dt_graph_play_prompt(e.g, CALL, &k_prompt, 1, NULL, on_result, &c, &r), 0);
  /* Wait until the fake has the request, then cancel it and let the fake answer. */
  int *held = &e.fake.nheld;
  DT_ASSERT(run_until(&e.loop, held, 10));
  dt_graph_req_cancel(r);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 0);
  respond(e.fake.held[0], 200, NULL, NULL, "{\"id\":\"op\",\"status\":\"running\"}");
  e.fake.nheld = 0;
  run_for(&e.loop, 200);
  DT_ASSERT_EQ_INT(c.calls, 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* dt_graph_free cancels everything: no callback, nothing leaked (ASan/valgrind). */
DT_TEST(free_with_requests_pending) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  capture_t c[3] = {{0}};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c[0], NULL), 0); /* waits for the token */
  DT_ASSERT(run_until(&e.loop, &c[0].done, 10));
  e.fake.hold = true;
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c[1], NULL), 0);
  DT_ASSERT_EQ_INT(dt_graph_delete_call(e.g, CALL, on_result, &c[2], NULL), 0);
  int two = 0;
  for (int i = 0; i < 200 && e.fake.nheld < 2; i++) run_for(&e.loop, 20);
  two = e.fake.nheld == 2;
  DT_ASSERT(two);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 2);
  dt_graph_free(e.g);
  e.g = NULL;
  run_for(&e.loop, 100);
  DT_ASSERT_EQ_INT(c[1].calls + c[2].calls, 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- transport failure ---- */

DT_TEST(connection_refused_is_a_transport_error) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e, DT_GRAPH_V1), 0);
  /* A second client pointed at a port nobody listens on (bind, read the port, close). */
  uv_tcp_t probe;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(&e.loop, &probe);
  uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0);
  struct sockaddr_storage name;
  int namelen = sizeof name;
  uv_tcp_getsockname(&probe, (struct sockaddr *)&name, &namelen);
  int dead_port = ntohs(((struct sockaddr_in *)&name)->sin_port);
  uv_close((uv_handle_t *)&probe, NULL);
  run_for(&e.loop, 20);
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d/v1.0", dead_port);
  dt_graph_t *g2 = NULL;
  DT_ASSERT_EQ_INT(dt_graph_new(&e.loop, e.http, NULL, &(dt_graph_options_t){.base_url = base}, &g2), 0);
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(g2, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT(c.error != 0 && c.error != DT_EGRAPH);
  DT_ASSERT(c.error_message[0] != '\0' && c.error_message[0] != '!');
  DT_ASSERT_MSG(strncmp(c.error_message, "connection refused (", 20) == 0, "%s", c.error_message);
  DT_ASSERT_CONTAINS(dt_graph_failing(g2), "Graph unreachable: GET ");
  DT_ASSERT_CONTAINS(dt_graph_failing(g2), ": connection refused (");
  dt_graph_free(g2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST_MAIN()
