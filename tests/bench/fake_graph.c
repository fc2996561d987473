/*
 * fake_graph.c — see fake_graph.h: the light fixed-script fake Graph of dt_bench --light.
 * Why it is cheap: scripts are parsed once at start into text templates whose only hole is
 * the call id; a request is routed by one scan of its target (the call id carries the
 * call's index, so no hashing); notification bodies are never parsed; one token is signed
 * per run (as Graph reuses its tokens).
 */
#define _GNU_SOURCE /* memmem */
#include "fake_graph.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/jwt.h"
#include "lean_http.h"

#define MAX_SCRIPTS 16
#define MAX_STEPS 256
#define CALL_KEY "{{call}}"

typedef struct {
  char *tmpl;      /* notification body, or the request step's response body ("" = none) */
  char **pieces;   /* tmpl split at every {{call}} (after {{base}}/{{callback}} are filled in) */
  size_t *piece_len;
  size_t npieces;
  bool is_request;
  char method[8], action[48]; /* request steps: "POST", "playPrompt" ("call" for the call itself) */
  int status;
} step_t;

typedef struct {
  step_t *steps;
  size_t n;
} script_t;

typedef struct {
  struct fake_graph_s *g;
  uint64_t seq;
  char id[37];
  const script_t *s;
  size_t cursor;
  bool *consumed;
  bool busy;        /* a notification in flight (one at a time per call, as Graph) */
  bool lat_pending; /* a notification left; its first request not seen yet */
  uint64_t sent_ns;
} fcall_t;

struct fake_graph_s {
  uv_loop_t *loop;
  lh_server_t *srv;
  lh_pool_t *pool;
  int port;
  char url[64], bot_path[256], bot_host[64];
  char app_id[64], tenant_id[64];
  script_t scripts[MAX_SCRIPTS];
  size_t nscripts, next_script;
  dt_jwt_key_t *key;
  char *jwt, *jwks, *openid, *wav;
  size_t wav_len;
  bool any_request, bot_set;
  fcall_t **calls; /* by seq - base_seq */
  size_t ncalls_cap;
  uint64_t next_seq;
  dt_buf_t scratch;
  fake_stats_t st;
  fake_latency_fn lat_fn;
  void *lat_ud;
};

static char *replace_all(const char *s, const char *from, const char *to) {
  dt_buf_t b = {0};
  size_t fl = strlen(from);
  for (const char *p; (p = strstr(s, from)); s = p + fl) {
    dt_buf_append(&b, s, (size_t)(p - s));
    dt_buf_append(&b, to, strlen(to));
  }
  dt_buf_append(&b, s, strlen(s));
  dt_buf_append(&b, "", 1);
  return b.data;
}

static void step_split(step_t *st, const char *base, const char *callback) {
  char *a = replace_all(st->tmpl, "{{base}}", base);
  char *t = replace_all(a, "{{callback}}", callback);
  free(a);
  for (size_t i = 0; i < st->npieces; i++) free(st->pieces[i]);
  free(st->pieces);
  free(st->piece_len);
  size_t n = 1;
  for (const char *p = t; (p = strstr(p, CALL_KEY)); p += strlen(CALL_KEY)) n++;
  st->pieces = dt_xcalloc(n, sizeof *st->pieces);
  st->piece_len = dt_xcalloc(n, sizeof *st->piece_len);
  st->npieces = n;
  const char *s = t;
  for (size_t i = 0; i < n; i++) {
    const char *p = i + 1 < n ? strstr(s, CALL_KEY) : s + strlen(s);
    st->pieces[i] = dt_xstrndup(s, (size_t)(p - s));
    st->piece_len[i] = (size_t)(p - s);
    s = p + strlen(CALL_KEY);
  }
  free(t);
}

/* Appends the step's text with the call id in every hole. */
static void render(dt_buf_t *b, const step_t *st, const char *id) {
  for (size_t i = 0; i < st->npieces; i++) {
    if (i) dt_buf_append(b, id, 36);
    dt_buf_append(b, st->pieces[i], st->piece_len[i]);
  }
}

static size_t rendered_len(const step_t *st) {
  size_t n = (st->npieces - 1) * 36;
  for (size_t i = 0; i < st->npieces; i++) n += st->piece_len[i];
  return n;
}

static int load_scripts(fake_graph_t *g, const char *path, char *err, size_t errlen) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, 4u << 20, &text, &len) != 0) {
    snprintf(err, errlen, "cannot read %s", path);
    return -1;
  }
  cJSON *j = cJSON_Parse(text);
  free(text);
  const cJSON *c;
  int rc = 0;
  if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1) rc = -1;
  cJSON_ArrayForEach(c, j) {
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(c, "steps");
    int n = cJSON_GetArraySize(steps);
    if (g->nscripts == MAX_SCRIPTS || !cJSON_IsArray(steps) || n < 2 || n > MAX_STEPS) {
      rc = -1;
      break;
    }
    script_t *s = &g->scripts[g->nscripts++];
    s->steps = dt_xcalloc((size_t)n, sizeof *s->steps);
    const cJSON *x;
    cJSON_ArrayForEach(x, steps) {
      step_t *st = &s->steps[s->n++];
      const cJSON *notify = cJSON_GetObjectItemCaseSensitive(x, "notify");
      const cJSON *req = cJSON_GetObjectItemCaseSensitive(x, "request");
      if (cJSON_IsObject(notify)) {
        st->tmpl = cJSON_PrintUnformatted(notify);
      } else if (cJSON_IsString(req) &&
                 sscanf(req->valuestring, "%7s %47s", st->method, st->action) == 2) {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(x, "body");
        st->is_request = true;
        st->status = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "status"));
        st->tmpl = body ? cJSON_PrintUnformatted(body) : dt_xstrdup("");
        if (st->status < 200 || st->status > 299) rc = -1;
      } else {
        rc = -1;
        st->tmpl = dt_xstrdup("");
      }
      step_split(st, "", "");
    }
    if (s->steps[s->n - 1].is_request) rc = -1; /* a script ends with its terminated notification */
  }
  cJSON_Delete(j);
  if (rc) snprintf(err, errlen, "%s: expected [{\"steps\":[{\"notify\":{...}} | {\"request\":\"METHOD action\","
                                "\"status\":2xx,\"body\":{...}}, ...]}, ...] ending with a notification",
                   path);
  return rc;
}

/* ------------------------------------------------------------------ calls */

static void call_free(fake_graph_t *g, fcall_t *c) {
  g->calls[c->seq] = NULL;
  g->st.calls_active--;
  free(c->consumed);
  free(c);
}

static void pump(fake_graph_t *g, fcall_t *c);

static void on_notified(int status, void *ud) {
  fcall_t *c = ud;
  fake_graph_t *g = c->g;
  c->busy = false;
  if (status == 202) g->st.notifications_accepted++;
  else g->st.notifications_failed++;
  if (!g->pool) return; /* reset: the calls are being freed */
  if (c->cursor >= c->s->n) {
    if (status == 202) g->st.calls_terminated++;
    call_free(g, c);
    return;
  }
  pump(g, c);
}

static void send_notification(fake_graph_t *g, fcall_t *c, const step_t *st) {
  dt_buf_t *b = &g->scratch;
  dt_buf_reset(b);
  dt_buf_appendf(b,
                 "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                 "User-Agent: dt_bench-light\r\nContent-Length: %zu\r\n\r\n",
                 g->bot_path, g->bot_host, g->jwt, rendered_len(st));
  render(b, st, c->id);
  c->busy = true;
  c->lat_pending = true;
  c->sent_ns = uv_hrtime();
  g->st.notifications_sent++;
  lh_pool_send(g->pool, b->data, b->len, on_notified, c);
}

static void pump(fake_graph_t *g, fcall_t *c) {
  while (!c->busy && c->cursor < c->s->n) {
    const step_t *st = &c->s->steps[c->cursor];
    if (st->is_request) {
      if (!c->consumed[c->cursor]) return;
      c->cursor++;
      continue;
    }
    c->cursor++;
    send_notification(g, c, st);
  }
}

void fake_graph_place_call(fake_graph_t *g) {
  if (!g->bot_set) return;
  if (g->next_seq == g->ncalls_cap) {
    size_t cap = g->ncalls_cap ? g->ncalls_cap * 2 : 65536;
    g->calls = dt_xrealloc(g->calls, cap * sizeof *g->calls);
    memset(g->calls + g->ncalls_cap, 0, (cap - g->ncalls_cap) * sizeof *g->calls);
    g->ncalls_cap = cap;
  }
  fcall_t *c = dt_xcalloc(1, sizeof *c);
  c->seq = g->next_seq++;
  snprintf(c->id, sizeof c->id, "fa4e0000-0000-4000-8000-%012" PRIx64, c->seq);
  c->s = &g->scripts[g->next_script++ % g->nscripts];
  c->g = g;
  c->consumed = dt_xcalloc(c->s->n, sizeof *c->consumed);
  g->calls[c->seq] = c;
  g->st.calls_placed++;
  g->st.calls_active++;
  pump(g, c);
}

/* ------------------------------------------------------------------ requests */

static const char GENERIC_OP[] =
    "{\"@odata.type\":\"#microsoft.graph.commsOperation\",\"id\":\"0fa4e000-0000-4000-8000-000000000000\","
    "\"status\":\"completed\",\"clientContext\":null,\"resultInfo\":null}";

static void call_request(fake_graph_t *g, lh_conn_t *conn, const char *method, const char *rest, size_t n) {
  /* rest: "{id}" or "{id}/{action}" */
  fcall_t *c = NULL;
  if (n >= 36) {
    uint64_t seq = strtoull(rest + 24, NULL, 16);
    if (seq < g->next_seq && g->calls[seq] && memcmp(g->calls[seq]->id, rest, 36) == 0) c = g->calls[seq];
  }
  g->st.requests++;
  if (!c) {
    g->st.unexpected_requests++;
    static const char nf[] = "{\"error\":{\"code\":\"itemNotFound\",\"message\":\"no such call\"}}";
    lh_respond(conn, 404, NULL, nf, sizeof nf - 1);
    return;
  }
  if (c->lat_pending) {
    c->lat_pending = false;
    if (g->lat_fn) g->lat_fn(c->sent_ns, uv_hrtime() - c->sent_ns, g->lat_ud);
  }
  const char *action = "call";
  size_t alen = 4;
  if (n > 37 && rest[36] == '/') {
    action = rest + 37;
    alen = n - 37;
  }
  bool *consumed = c->consumed;
  for (size_t i = c->cursor; i < c->s->n; i++) {
    const step_t *st = &c->s->steps[i];
    if (!st->is_request || consumed[i]) continue;
    if (!g->any_request && (strcmp(st->method, method) != 0 || strlen(st->action) != alen ||
                            memcmp(st->action, action, alen) != 0))
      continue;
    consumed[i] = true;
    dt_buf_t *b = &g->scratch;
    dt_buf_reset(b);
    render(b, st, c->id);
    lh_respond(conn, st->status, NULL, b->data ? b->data : "", b->len);
    pump(g, c);
    return;
  }
  g->st.unexpected_requests++;
  lh_respond(conn, 200, NULL, GENERIC_OP, sizeof GENERIC_OP - 1);
}

static void on_request(lh_conn_t *conn, const char *method, const char *target, size_t n, const char *body,
                       size_t body_len, void *ud) {
  fake_graph_t *g = ud;
  (void)body;
  (void)body_len;
  static const char calls[] = "/communications/calls/";
  const char *p = memmem(target, n, calls, sizeof calls - 1);
  if (p) {
    p += sizeof calls - 1;
    const char *q = memchr(p, '?', n - (size_t)(p - target));
    call_request(g, conn, method, p, (size_t)((q ? q : target + n) - p));
    return;
  }
  g->st.other_requests++;
  if (strstr(target, "/oauth2/v2.0/token")) {
    static const char tok[] = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
                              "\"access_token\":\"dt-bench-light-access-token\"}";
    lh_respond(conn, 200, NULL, tok, sizeof tok - 1);
  } else if (strcmp(target, "/.well-known/openid-configuration") == 0) {
    lh_respond(conn, 200, NULL, g->openid, strlen(g->openid));
  } else if (strcmp(target, "/discovery/keys") == 0) {
    lh_respond(conn, 200, NULL, g->jwks, strlen(g->jwks));
  } else if (strncmp(target, "/recordings/", 12) == 0) {
    lh_respond(conn, 200, "audio/wav", g->wav, g->wav_len);
  } else {
    static const char nf[] = "{\"error\":{\"code\":\"NotFound\"}}";
    lh_respond(conn, 404, NULL, nf, sizeof nf - 1);
  }
}

/* ------------------------------------------------------------------ life */

static void put_le(char *p, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (char)(v >> (8 * i));
}

/* Half a second of silence, 8 kHz 16-bit mono PCM: what a voicemail download fetches. */
static void make_wav(fake_graph_t *g) {
  const uint32_t data = 8000;
  g->wav_len = 44 + data;
  g->wav = dt_xcalloc(1, g->wav_len);
  char *w = g->wav;
  memcpy(w, "RIFF", 4);
  put_le(w + 4, 36 + data, 4);
  memcpy(w + 8, "WAVEfmt ", 8);
  put_le(w + 16, 16, 4);
  put_le(w + 20, 1, 2);
  put_le(w + 22, 1, 2);
  put_le(w + 24, 8000, 4);
  put_le(w + 28, 16000, 4);
  put_le(w + 32, 2, 2);
  put_le(w + 34, 16, 2);
  memcpy(w + 36, "data", 4);
  put_le(w + 40, data, 4);
}

int fake_graph_start(uv_loop_t *loop, const char *scripts_path, const char *app_id, const char *tenant_id,
                     fake_graph_t **out, char *err, size_t errlen) {
  fake_graph_t *g = dt_xcalloc(1, sizeof *g);
  g->loop = loop;
  snprintf(g->app_id, sizeof g->app_id, "%s", app_id);
  snprintf(g->tenant_id, sizeof g->tenant_id, "%s", tenant_id);
  if (load_scripts(g, scripts_path, err, errlen) != 0) {
    fake_graph_close(g);
    return -1;
  }
  if (dt_jwt_key_generate("dt-bench-light", 2048, &g->key) != 0) {
    snprintf(err, errlen, "cannot generate the signing key");
    fake_graph_close(g);
    return -1;
  }
  /* one token for the run, as Graph reuses its tokens: iss/aud/tid as the emulator signs them */
  int64_t now = dt_unix_time();
  cJSON *claims = cJSON_CreateObject();
  cJSON_AddStringToObject(claims, "aud", g->app_id);
  cJSON_AddStringToObject(claims, "iss", "https://api.botframework.com");
  cJSON_AddNumberToObject(claims, "iat", (double)now);
  cJSON_AddNumberToObject(claims, "nbf", (double)now);
  cJSON_AddNumberToObject(claims, "exp", (double)(now + 6 * 3600));
  cJSON_AddStringToObject(claims, "tid", g->tenant_id);
  cJSON_AddStringToObject(claims, "appid", "26a18ebc-cdf7-4a6a-91cb-beb352805e81");
  int rc = dt_jwt_sign(g->key, claims, &g->jwt);
  cJSON_Delete(claims);
  g->jwks = dt_jwt_key_jwks_json(g->key);
  if (rc != 0 || !g->jwt || !g->jwks) {
    snprintf(err, errlen, "cannot sign the notification token");
    fake_graph_close(g);
    return -1;
  }
  make_wav(g);
  int r = lh_server_start(loop, 0, on_request, g, &g->srv, &g->port);
  if (r) {
    snprintf(err, errlen, "cannot listen: %s", uv_strerror(r));
    fake_graph_close(g);
    return -1;
  }
  snprintf(g->url, sizeof g->url, "http://127.0.0.1:%d", g->port);
  g->openid = dt_xasprintf("{\"issuer\":\"https://api.botframework.com\",\"jwks_uri\":\"%s/discovery/keys\","
                           "\"id_token_signing_alg_values_supported\":[\"RS256\"]}",
                           g->url);
  *out = g;
  return 0;
}

const char *fake_graph_url(const fake_graph_t *g) { return g->url; }

int fake_graph_set_bot(fake_graph_t *g, const char *bot_url, bool any_request, unsigned conns) {
  int off = 0;
  if (sscanf(bot_url, "http://%63[^/]%n", g->bot_host, &off) != 1) return -1;
  snprintf(g->bot_path, sizeof g->bot_path, "%s", bot_url[off] ? bot_url + off : "/");
  lh_pool_close(g->pool);
  g->pool = lh_pool_new(g->loop, bot_url, conns);
  if (!g->pool) return -1;
  g->any_request = any_request;
  for (size_t i = 0; i < g->nscripts; i++)
    for (size_t k = 0; k < g->scripts[i].n; k++) step_split(&g->scripts[i].steps[k], g->url, bot_url);
  g->bot_set = true;
  return 0;
}

void fake_graph_on_latency(fake_graph_t *g, fake_latency_fn fn, void *ud) {
  g->lat_fn = fn;
  g->lat_ud = ud;
}

fake_stats_t fake_graph_stats(const fake_graph_t *g) { return g->st; }

void fake_graph_reset(fake_graph_t *g) {
  lh_pool_t *p = g->pool;
  g->pool = NULL; /* on_notified sees the reset */
  lh_pool_close(p);
  for (uint64_t i = 0; i < g->next_seq; i++)
    if (g->calls && g->calls[i]) call_free(g, g->calls[i]);
  g->bot_set = false;
  memset(&g->st, 0, sizeof g->st);
}

void fake_graph_close(fake_graph_t *g) {
  if (!g) return;
  fake_graph_reset(g);
  lh_server_close(g->srv);
  for (size_t i = 0; i < g->nscripts; i++) {
    for (size_t k = 0; k < g->scripts[i].n; k++) {
      step_t *st = &g->scripts[i].steps[k];
      for (size_t p = 0; p < st->npieces; p++) free(st->pieces[p]);
      free(st->pieces);
      free(st->piece_len);
      free(st->tmpl);
    }
    free(g->scripts[i].steps);
  }
  free(g->calls);
  dt_jwt_key_free(g->key);
  free(g->jwt);
  free(g->jwks);
  free(g->openid);
  free(g->wav);
  dt_buf_free(&g->scratch);
  free(g);
}
