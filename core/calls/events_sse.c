/*
 * events_sse.c — GET /events (include/dialtone/events_sse.h): each stream is a bus
 * subscriber with its filters; writes that the HTTP server refuses (its per-stream limit of
 * unsent bytes, DT_ELIMIT) drop the stream instead of buffering more; one repeating timer
 * sends the heartbeats.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/events_sse.h"
#include "dialtone/graph_body.h"
#include "dialtone/notify.h"
#include "dialtone/log.h"
#include "dialtone/text.h"

#define FILTER_MAX 256

typedef struct sub_s {
  struct sub_s *next;
  dt_events_sse_t *hub;
  dt_http_request_t *req;
  char call_key[FILTER_MAX + 1]; /* "" = any */
  char flow[FILTER_MAX + 1];
  char types[FILTER_MAX + 3];    /* ",key,ended," or "" */
} sub_t;

struct dt_events_sse_s {
  dt_events_sse_options_t o;
  sub_t *subs;
  size_t n;
  uint64_t dropped;
  sub_t *replaying;   /* the stream getting its replay (NULL once it was dropped) */
  uv_timer_t heartbeat;
};

static void on_event(const dt_call_event_t *ev, void *ud);

static void sub_end(sub_t *s) {
  dt_events_sse_t *h = s->hub;
  for (sub_t **pp = &h->subs; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      h->n--;
      break;
    }
  dt_call_events_unsubscribe(h->o.bus, on_event, s);
  if (h->replaying == s) h->replaying = NULL;
  dt_http_stream_end(s->req);
  free(s);
}

static void sub_write(sub_t *s, const char *data, size_t len) {
  int rc = dt_http_stream_write(s->req, data, len);
  if (rc == 0) return;
  if (rc == DT_ELIMIT) {
    s->hub->dropped++;
    dt_log(DT_LOG_WARN, NULL, "events: %s does not keep up with the stream; dropped", s->req->remote_addr);
  }
  sub_end(s);
}

static bool passes(const sub_t *s, const dt_call_event_t *ev) {
  if (s->flow[0] && strcmp(s->flow, ev->flow) != 0) return false;
  if (s->types[0]) {
    char t[72];
    snprintf(t, sizeof t, ",%s,", ev->type);
    if (!strstr(s->types, t)) return false;
  }
  if (s->call_key[0]) {
    char k[DT_NOTIFY_MAX_ID + 1];
    if (!ev->call[0] || strlen(ev->call) > DT_NOTIFY_MAX_ID) return false;
    dt_graph_id_key(ev->call, k);
    if (strcmp(k, s->call_key) != 0) return false;
  }
  return true;
}

static void on_event(const dt_call_event_t *ev, void *ud) {
  sub_t *s = ud;
  if (!passes(s, ev)) return;
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "id: %llu\nevent: %s\ndata: ", (unsigned long long)ev->seq, ev->type);
  dt_buf_append(&b, ev->json, ev->json_len); /* one line: the JSON has no raw newlines */
  dt_buf_append(&b, "\n\n", 2);
  sub_write(s, b.data, b.len);
  dt_buf_free(&b);
}

static void on_abort(dt_http_request_t *req, void *ud) { sub_end(ud); }

static void on_heartbeat(uv_timer_t *t) {
  dt_events_sse_t *h = t->data;
  for (sub_t *s = h->subs, *next; s; s = next) {
    next = s->next;
    sub_write(s, ": ping\n\n", 8);
  }
}

int dt_events_sse_new(const dt_events_sse_options_t *o, dt_events_sse_t **out) {
  if (!o || !o->loop || !o->bus) return DT_EINVAL;
  dt_events_sse_t *h = dt_xcalloc(1, sizeof *h);
  h->o = *o;
  if (!h->o.max_subscribers) h->o.max_subscribers = 16;
  if (!h->o.heartbeat_ms) h->o.heartbeat_ms = 15000;
  uv_timer_init(o->loop, &h->heartbeat);
  h->heartbeat.data = h;
  *out = h;
  return 0;
}

/* The value of name in the query (percent-decoded), "" if absent; false if too long or bad. */
static bool query_param(const char *q, const char *name, char *out, size_t outlen) {
  out[0] = '\0';
  size_t nl = strlen(name);
  for (const char *p = q; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t o = 0;
      for (size_t i = nl + 1; i < len; i++) {
        char ch = p[i];
        if (ch == '%') {
          if (i + 2 >= len || !isxdigit((unsigned char)p[i + 1]) || !isxdigit((unsigned char)p[i + 2])) return false;
          char hex[3] = {p[i + 1], p[i + 2], 0};
          long v = strtol(hex, NULL, 16);
          if (v <= 0) return false;
          ch = (char)v;
          i += 2;
        } else if (ch == '+') {
          ch = ' ';
        }
        if (o + 1 >= outlen) return false;
        out[o++] = ch;
      }
      out[o] = '\0';
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return true;
}

static bool types_ok(const char *t) {
  static const char *const known[] = {"started", "answered", "prompt", "key", "recording", "transfer",
                                      "error", "ended", "reload", "tags"};
  char copy[FILTER_MAX + 8];
  snprintf(copy, sizeof copy, "%s", t);
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    bool ok = false;
    for (size_t i = 0; i < DT_ARRAY_SIZE(known); i++) ok |= strcmp(tok, known[i]) == 0;
    if (!ok) return false;
  }
  return true;
}

static void replay_one(const dt_call_event_t *ev, void *ud) {
  dt_events_sse_t *h = ud;
  if (h->replaying) on_event(ev, h->replaying);
}

void dt_events_sse_open(dt_events_sse_t *h, dt_http_request_t *req) {
  sub_t tmp = {0};
  char since[32];
  const char *q = req->query ? req->query : "";
  if (!query_param(q, "call", tmp.call_key, sizeof tmp.call_key) || !query_param(q, "flow", tmp.flow, sizeof tmp.flow) ||
      !query_param(q, "types", tmp.types + 1, sizeof tmp.types - 2) || !query_param(q, "since", since, sizeof since) ||
      !types_ok(tmp.types + 1) || strlen(tmp.call_key) > DT_NOTIFY_MAX_ID) {
    dt_http_respond(req, 400, "text/plain", "bad filter: call=ID, flow=NAME, types=started,answered,prompt,key,"
                                            "recording,transfer,error,ended,reload,tags, since=SEQ\n", 115);
    return;
  }
  const char *last = dt_http_request_header(req, "Last-Event-ID");
  if (!since[0] && last) snprintf(since, sizeof since, "%s", last);
  char *end = NULL;
  unsigned long long after = since[0] ? strtoull(since, &end, 10) : 0;
  if (since[0] && (!end || *end)) {
    dt_http_respond(req, 400, "text/plain", "bad since: a sequence number\n", 29);
    return;
  }
  if (h->n >= h->o.max_subscribers) {
    dt_http_respond(req, 503, "text/plain", "too many event streams\n", 23);
    return;
  }
  sub_t *s = dt_xcalloc(1, sizeof *s);
  *s = tmp;
  s->hub = h;
  s->req = req;
  if (tmp.call_key[0]) dt_graph_id_key(tmp.call_key, s->call_key);
  if (tmp.types[1]) {
    s->types[0] = ',';
    size_t l = strlen(s->types);
    s->types[l] = ',';
    s->types[l + 1] = '\0';
  }
  if (dt_call_events_subscribe(h->o.bus, on_event, s) != 0) {
    free(s);
    dt_http_respond(req, 503, "text/plain", "too many event streams\n", 23);
    return;
  }
  dt_http_header_t hd[] = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"},
                           {"X-Accel-Buffering", "no"}};
  if (dt_http_stream_begin(req, 200, hd, 3, on_abort, s) != 0) {
    dt_call_events_unsubscribe(h->o.bus, on_event, s);
    free(s);
    return;
  }
  s->next = h->subs;
  h->subs = s;
  h->n++;
  if (!uv_is_active((uv_handle_t *)&h->heartbeat))
    uv_timer_start(&h->heartbeat, on_heartbeat, h->o.heartbeat_ms, h->o.heartbeat_ms);
  char hello[64];
  int n = snprintf(hello, sizeof hello, ": dialtone events (last %llu)\nretry: 2000\n\n",
                   (unsigned long long)dt_call_events_last_seq(h->o.bus));
  sub_write(s, hello, (size_t)n);
  bool alive = false;
  for (sub_t *x = h->subs; x; x = x->next) alive |= x == s;
  if (alive && since[0]) {
    h->replaying = s;
    dt_call_events_replay(h->o.bus, after, replay_one, h);
    h->replaying = NULL;
  }
}

size_t dt_events_sse_count(const dt_events_sse_t *h) { return h ? h->n : 0; }
uint64_t dt_events_sse_dropped(const dt_events_sse_t *h) { return h ? h->dropped : 0; }

static void hub_closed(uv_handle_t *t) { free(t->data); }

void dt_events_sse_close(dt_events_sse_t *h) {
  if (!h) return;
  while (h->subs) sub_end(h->subs);
  uv_timer_stop(&h->heartbeat);
  uv_close((uv_handle_t *)&h->heartbeat, hub_closed);
}
