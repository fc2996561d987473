/*
 * live_view.c — the admin listener's live view (live_view.h): /events, /dashboard, /cdrs,
 * /flows. Bounded: /cdrs reads at most the file's last 1 MiB and returns at most 500
 * records; /flows lists at most 512 flows; /events is events_sse.c's.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/events_sse.h"
#include "dialtone/text.h"
#include "live_view.h"

extern const char *const dt_dashboard_html;
extern const size_t dt_dashboard_html_len;

#define TAIL_BYTES (1u << 20)
#define CDR_LIMIT_MAX 500
#define FLOWS_MAX 512

struct dt_live_view_s {
  dt_live_view_options_t o;
  char *cdr_path, *flows_dir;
  dt_events_sse_t *sse;
};

dt_live_view_t *dt_live_view_new(const dt_live_view_options_t *o) {
  dt_live_view_t *lv = dt_xcalloc(1, sizeof *lv);
  lv->o = *o;
  lv->cdr_path = o->cdr_path ? dt_xstrdup(o->cdr_path) : NULL;
  lv->flows_dir = o->flows_dir ? dt_xstrdup(o->flows_dir) : NULL;
  dt_events_sse_options_t so = {.loop = o->loop, .bus = o->bus, .max_subscribers = o->max_subscribers,
                                .heartbeat_ms = o->heartbeat_ms};
  if (dt_events_sse_new(&so, &lv->sse) != 0) lv->sse = NULL;
  return lv;
}

void dt_live_view_set_version_source(dt_live_view_t *lv, unsigned (*fn)(void *ud, const char *name), void *ud) {
  lv->o.flow_version = fn;
  lv->o.flow_version_ud = ud;
}

void dt_live_view_close(dt_live_view_t *lv) {
  if (!lv) return;
  dt_events_sse_close(lv->sse);
  free(lv->cdr_path);
  free(lv->flows_dir);
  free(lv);
}

void dt_live_view_tail_json(const char *path, unsigned limit, dt_buf_t *out) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  dt_buf_append(out, "[", 1);
  if (!f) {
    dt_buf_append(out, "]", 1);
    return;
  }
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  long from = size > (long)TAIL_BYTES ? size - (long)TAIL_BYTES : 0;
  char *text = NULL;
  size_t n = 0;
  if (size > 0 && fseek(f, from, SEEK_SET) == 0) {
    text = dt_xmalloc((size_t)(size - from) + 1);
    n = fread(text, 1, (size_t)(size - from), f);
    text[n] = '\0';
  }
  fclose(f);
  /* complete lines only: skip a first line cut by the window, and an unfinished last one */
  char *start = text;
  if (start && from > 0) {
    char *nl = strchr(start, '\n');
    start = nl ? nl + 1 : text + n;
  }
  char *end = text ? text + n : NULL;
  while (end && end > start && end[-1] != '\n') end--;
  /* walk back over `limit` lines */
  char *p = end;
  unsigned lines = 0;
  while (p && p > start && lines < limit) {
    char *q = p - 1; /* the '\n' of this line */
    while (q > start && q[-1] != '\n') q--;
    lines++;
    p = q;
  }
  bool first = true;
  while (p && p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    cJSON *j = cJSON_ParseWithLength(p, len);
    if (cJSON_IsObject(j)) { /* only records, so the answer is always valid JSON */
      if (!first) dt_buf_append(out, ",", 1);
      dt_buf_append(out, p, len);
      first = false;
    }
    cJSON_Delete(j);
    p += len + 1;
  }
  free(text);
  dt_buf_append(out, "]", 1);
}

static unsigned query_limit(const char *q) {
  const char *l = q ? strstr(q, "limit=") : NULL;
  if (!l || (l != q && l[-1] != '&')) return 50;
  long v = strtol(l + 6, NULL, 10);
  return v < 1 ? 1 : v > CDR_LIMIT_MAX ? CDR_LIMIT_MAX : (unsigned)v;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void flows_json(dt_live_view_t *lv, dt_buf_t *b) {
  char *names[FLOWS_MAX];
  size_t n = 0;
  DIR *d = lv->flows_dir ? opendir(lv->flows_dir) : NULL;
  for (struct dirent *e; d && (e = readdir(d)) && n < FLOWS_MAX;) {
    size_t l = strlen(e->d_name);
    if (l > 4 && l < 200 && strcmp(e->d_name + l - 4, ".lua") == 0 && e->d_name[0] != '.')
      names[n++] = dt_xstrndup(e->d_name, l - 4);
  }
  if (d) closedir(d);
  qsort(names, n, sizeof names[0], name_cmp);
  dt_buf_append(b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned v = lv->o.flow_version ? lv->o.flow_version(lv->o.flow_version_ud, names[i]) : 0;
    dt_buf_append(b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
    dt_text_json_string(b, names[i]);
    dt_buf_appendf(b, ",\"version\":%u}", v);
    free(names[i]);
  }
  dt_buf_append(b, "]", 1);
}

bool dt_live_view_route(dt_ingress_t *ing, dt_http_request_t *req, void *ud) {
  dt_live_view_t *lv = ud;
  const char *p = req->path;
  const char *route = strcmp(p, "/events") == 0      ? "/events"
                      : strcmp(p, "/dashboard") == 0 ? "/dashboard"
                      : strcmp(p, "/cdrs") == 0      ? "/cdrs"
                      : strcmp(p, "/flows") == 0     ? "/flows"
                                                     : NULL;
  if (!route) return false;
  dt_http_request_set_route(req, route);
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    dt_http_respond(req, 405, "text/plain", "method not allowed\n", 19);
    return true;
  }
  if (!dt_ingress_admin_allowed(ing, req)) return true;
  if (route[1] == 'e') {
    if (strcmp(req->method, "HEAD") == 0) /* no stream to hold open for a HEAD */
      dt_http_respond(req, 200, "text/event-stream", NULL, 0);
    else if (lv->sse) dt_events_sse_open(lv->sse, req);
    else dt_http_respond(req, 503, "text/plain", "no event stream\n", 16);
    return true;
  }
  if (route[1] == 'd') {
    dt_http_header_t h[] = {{"Content-Type", "text/html; charset=utf-8"}, {"Cache-Control", "no-cache"},
                            {"Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
                                                       "script-src 'unsafe-inline'"}};
    dt_http_respond_ex(req, 200, h, 3, dt_dashboard_html, dt_dashboard_html_len);
    return true;
  }
  dt_buf_t b = {0};
  if (route[1] == 'c') dt_live_view_tail_json(lv->cdr_path, query_limit(req->query), &b);
  else flows_json(lv, &b);
  dt_http_respond(req, 200, "application/json", b.data, b.len);
  dt_buf_free(&b);
  return true;
}
