/*
 * emu_notify.c — notifications to the bot: commsNotifications bodies in the documents'
 * shapes, signed delivery, and per-call ordering.
 *
 * Promises: a call's notifications are POSTed one at a time, in the order they were
 * queued (the next leaves when the previous one was answered or failed), to the URL given
 * when each was queued. Each carries "Authorization: Bearer <RS256 JWT>" (iss
 * https://api.botframework.com, aud = app id, tid, exp = now + 300 s). The token is signed
 * once and reused until less than 60 s of it are left: RSA signing costs milliseconds and
 * must never be paid per notification. Every body carries both the current `resourceUrl`
 * (/communications/calls/...) and the legacy `resource` (/app/calls/...), as real
 * deliveries do. Failed deliveries are recorded in the timeline and not retried (Graph
 * documents no retry policy for calling callbacks). Fault injection (issue 6) hooks in
 * deliver_next().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "emu_notify.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_timeline.h"
#include "emu_util.h"

typedef struct {
  emu_inflight_t inflight; /* first: teardown frees through it */
  emu_call_t *q;
  emu_nq_t *item;
} delivery_t;

static void delivery_free(emu_inflight_t *self) {
  delivery_t *d = (delivery_t *)self;
  dt__emu_nq_item_free(d->item);
  free(d);
}

const char *dt__emu_jwt(dt_emulator_t *emu) {
  int64_t now = dt_unix_time();
  if (emu->jwt && emu->jwt_exp - now > 60) return emu->jwt;
  cJSON *claims = cJSON_CreateObject();
  cJSON_AddStringToObject(claims, "aud", emu->app_id);
  cJSON_AddStringToObject(claims, "iss", "https://api.botframework.com");
  cJSON_AddNumberToObject(claims, "iat", (double)now);
  cJSON_AddNumberToObject(claims, "nbf", (double)now);
  cJSON_AddNumberToObject(claims, "exp", (double)(now + 300));
  cJSON_AddStringToObject(claims, "tid", emu->tenant_id);
  cJSON_AddStringToObject(claims, "appid", "26a18ebc-cdf7-4a6a-91cb-beb352805e81");
  char *tok = NULL;
  int rc = dt_jwt_sign(emu->key, claims, &tok);
  cJSON_Delete(claims);
  if (rc != 0 || tok == NULL) {
    dt_log_error("emulator: cannot sign the notification token (%d)", rc);
    return emu->jwt ? emu->jwt : "";
  }
  free(emu->jwt);
  emu->jwt = tok;
  emu->jwt_exp = now + 300;
  return emu->jwt;
}

/* PascalCase enum values, as some real deliveries carry them (fault "pascal_case"). */
static void pascalize(cJSON *node) {
  static const char *const keys[] = {"changeType", "state", "status", "direction", "audio",
                                     "endpointType"};
  if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
    cJSON *it;
    cJSON_ArrayForEach(it, node) {
      if (cJSON_IsString(it) && it->string) {
        for (size_t i = 0; i < DT_ARRAY_SIZE(keys); i++)
          if (strcmp(it->string, keys[i]) == 0 && it->valuestring[0])
            it->valuestring[0] = (char)toupper((unsigned char)it->valuestring[0]);
      } else {
        pascalize(it);
      }
    }
  }
}

static void deliver_next(emu_call_t *q);

static void on_delivered(const dt_http_response_t *res, void *ud) {
  delivery_t *d = ud;
  emu_call_t *q = d->q;
  dt_emulator_t *emu = q->emu;
  dt_list_remove(&emu->inflight, &d->inflight.link);
  bool failed = res->error != 0 || res->status < 200 || res->status >= 300;
  if (emu->metrics)
    dt_metrics_inc(emu->metrics, "dt_emulator_notifications_total", failed ? "result=\"failed\"" : "result=\"ok\"");
  if (failed) {
    emu->n_notify_failed++;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "url", d->item->url);
    cJSON_AddStringToObject(f, "summary", d->item->summary);
    cJSON_AddNumberToObject(f, "status", res->status);
    if (res->error) cJSON_AddStringToObject(f, "error", res->error_message);
    dt__emu_timeline(q, "notification_failed", f);
    if (!emu->quiet)
      dt_log(DT_LOG_WARN, q->id, "emulator: notification to %s failed: status %d %s",
             d->item->url, res->status, res->error_message ? res->error_message : "");
  }
  dt__emu_nq_item_free(d->item);
  free(d);
  q->nq_busy = false;
  deliver_next(q);
  dt__emu_call_unref(q);
}

/* Queue events are not owned by the call (ending a call must not stall its queue): they
   hold a reference instead. */
static void on_retry_ev(dt__emu_ev_t *ev) {
  emu_call_t *q = ev->p;
  q->nq_busy = false;
  deliver_next(q);
  dt__emu_call_unref(q);
}

static void send_item(emu_call_t *q, emu_nq_t *it) {
  dt_emulator_t *emu = q->emu;
  char *auth = dt_xasprintf("Bearer %s", dt__emu_jwt(emu));
  char msgid[37];
  dt_guid(msgid);
  dt_http_header_t h[] = {
      {"Authorization", auth},
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
      {"User-Agent", "Microsoft-Skype/3.0,(Calling/1.0) dialtone-emulator"},
      {"X-Microsoft-Skype-Chain-Id", it->chain},
      {"X-Microsoft-Skype-Message-Id", msgid},
  };
  dt_http_request_options_t ro = {
      .method = "POST",
      .url = it->url,
      .headers = h,
      .header_count = DT_ARRAY_SIZE(h),
      .body = it->body,
      .body_len = it->len,
      .timeout_ms = 10000,
  };
  delivery_t *d = dt_xcalloc(1, sizeof *d);
  d->inflight.free_fn = delivery_free;
  d->q = q;
  d->item = it;
  dt__emu_call_ref(q);
  q->nq_busy = true;
  emu->n_notifications++;
  if (emu->probe_fn) emu->probe_fn(DT_EMU_PROBE_NOTIFY, q->id, uv_hrtime(), emu->probe_ud);
  int rc = dt_http_client_send(emu->http, &ro, on_delivered, d, NULL);
  free(auth);
  if (rc == 0) dt_list_push_front(&emu->inflight, &d->inflight.link);
  if (rc != 0) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "url", it->url);
    cJSON_AddStringToObject(f, "summary", it->summary);
    cJSON_AddStringToObject(f, "error", "cannot send");
    dt__emu_timeline(q, "notification_failed", f);
    dt__emu_nq_item_free(it);
    free(d);
    emu->n_notify_failed++;
    /* keep the queue moving, but not recursively (the reference passes to the event) */
    dt__emu_ev_t *ev = dt__emu_at(&emu->real, NULL, 0, on_retry_ev);
    ev->p = q;
  }
}

static void on_delay_ev(dt__emu_ev_t *ev) {
  emu_call_t *q = ev->p;
  q->nq_busy = false;
  deliver_next(q);
  dt__emu_call_unref(q);
}

static void deliver_next(emu_call_t *q) {
  dt_emulator_t *emu = q->emu;
  if (q->nq_busy || q->nq.head == NULL || emu->closing) return;
  emu_faults_t *f = &emu->faults;
  /* fault: reorder swaps the head with the next one */
  if (f->reorder_notifications > 0 && dt_list_count(&q->nq) > 1 &&
      dt__emu_rand01(emu) < f->reorder_notifications) {
    dt_list_node_t *a = dt_list_pop_front(&q->nq), *b = dt_list_pop_front(&q->nq);
    dt_list_push_front(&q->nq, a);
    dt_list_push_front(&q->nq, b);
    dt__emu_timeline(q, "fault_reordered", NULL);
  }
  emu_nq_t *it = DT_LIST_ENTRY(dt_list_pop_front(&q->nq), emu_nq_t, link);
  if (it->delayed) {
    send_item(q, it);
    return;
  }
  if (f->drop_notifications > 0 && dt__emu_rand01(emu) < f->drop_notifications) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "summary", it->summary);
    dt__emu_timeline(q, "fault_dropped", j);
    dt__emu_nq_item_free(it);
    deliver_next(q);
    return;
  }
  if (!it->duplicate && f->duplicate_notifications > 0 && dt__emu_rand01(emu) < f->duplicate_notifications) {
    emu_nq_t *dup = dt_xmalloc(sizeof *dup);
    *dup = *it;
    dup->duplicate = true;
    dup->url = dt_xstrdup(it->url);
    dup->body = dt_xstrdup(it->body);
    dup->link = (dt_list_node_t){0};
    dt_list_push_front(&q->nq, &dup->link);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "summary", it->summary);
    dt__emu_timeline(q, "fault_duplicated", j);
  }
  if (!it->delayed && f->delay_notifications > 0 && dt__emu_rand01(emu) < f->delay_notifications) {
    /* back at the head, so the queue (and teardown) still owns it */
    it->delayed = true;
    dt_list_push_front(&q->nq, &it->link);
    q->nq_busy = true;
    dt__emu_call_ref(q);
    dt__emu_ev_t *ev = dt__emu_at(&emu->real, NULL, f->delay_ms > 0 ? f->delay_ms : 1000, on_delay_ev);
    ev->p = q;
    return;
  }
  send_item(q, it);
}

void dt__emu_notify(emu_call_t *q, const char *url, const char *change_type,
                    const char *resource_suffix, emu_call_t *about, cJSON *data,
                    const char *summary) {
  dt_emulator_t *emu = q->emu;
  if (emu->closing) {
    cJSON_Delete(data);
    return;
  }
  char rurl[256], legacy[256];
  snprintf(rurl, sizeof rurl, "/communications/calls/%s%s", about->id,
           resource_suffix ? resource_suffix : "");
  snprintf(legacy, sizeof legacy, "/app/calls/%s%s", about->id,
           resource_suffix ? resource_suffix : "");
  if (cJSON_IsObject(data)) {
    if (!cJSON_HasObjectItem(data, "@odata.id")) cJSON_AddStringToObject(data, "@odata.id", rurl);
    if (!cJSON_HasObjectItem(data, "@odata.etag")) {
      char etag[32];
      snprintf(etag, sizeof etag, "W/\"%d\"", ++about->etag);
      cJSON_AddStringToObject(data, "@odata.etag", etag);
    }
  }
  cJSON *env = cJSON_CreateObject();
  cJSON_AddStringToObject(env, "@odata.type", "#microsoft.graph.commsNotifications");
  cJSON *arr = cJSON_AddArrayToObject(env, "value");
  cJSON *n = cJSON_CreateObject();
  cJSON_AddStringToObject(n, "@odata.type", "#microsoft.graph.commsNotification");
  cJSON_AddStringToObject(n, "changeType", change_type);
  cJSON_AddStringToObject(n, "resource", legacy);
  cJSON_AddStringToObject(n, "resourceUrl", rurl);
  if (url) cJSON_AddStringToObject(n, "callbackUri", url);
  cJSON_AddItemToObject(n, "resourceData", data);
  cJSON_AddItemToArray(arr, n);
  if (emu->faults.pascal_case) pascalize(env);

  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "changeType", change_type);
  cJSON_AddStringToObject(tl, "resource", rurl);
  if (summary) cJSON_AddStringToObject(tl, "summary", summary);
  if (about != q) cJSON_AddStringToObject(tl, "about", about->id);
  dt__emu_timeline(q, "notification", tl);
  if (about != q) {
    cJSON *tl2 = cJSON_CreateObject();
    cJSON_AddStringToObject(tl2, "changeType", change_type);
    cJSON_AddStringToObject(tl2, "resource", rurl);
    if (summary) cJSON_AddStringToObject(tl2, "summary", summary);
    cJSON_AddStringToObject(tl2, "via", q->id);
    dt__emu_timeline(about, "notification", tl2);
  }

  if (url == NULL || url[0] == '\0') {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "summary", summary ? summary : change_type);
    cJSON_AddStringToObject(f, "error", "no callback URL");
    dt__emu_timeline(q, "notification_failed", f);
    cJSON_Delete(env);
    return;
  }
  emu_nq_t *it = dt_xcalloc(1, sizeof *it);
  it->url = dt_xstrdup(url);
  it->body = cJSON_PrintUnformatted(env);
  it->len = strlen(it->body);
  snprintf(it->chain, sizeof it->chain, "%s", about->chain_id);
  snprintf(it->summary, sizeof it->summary, "%s", summary ? summary : change_type);
  cJSON_Delete(env);
  dt_list_push_back(&q->nq, &it->link);
  deliver_next(q);
}

void dt__emu_notify_call(emu_call_t *c, const char *change_type, cJSON *fields,
                         const char *summary) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "@odata.type", "#microsoft.graph.call");
  dt__emu_json_merge(d, fields);
  dt__emu_notify(c, c->callback_uri, change_type, NULL, c, d, summary);
}

void dt__emu_notify_state(emu_call_t *c, int st, const char *graph_state) {
  dt__emu_call_set_state(c, st);
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", graph_state);
  dt__emu_notify_call(c, "updated", f, graph_state);
}

void dt__emu_notify_roster(emu_call_t *c) {
  if (!c->multiparty || c->ended) return;
  cJSON *arr = cJSON_CreateArray();
  cJSON *p;
  cJSON_ArrayForEach(p, c->participants) {
    cJSON *d = cJSON_Duplicate(p, 1);
    char oid[160];
    snprintf(oid, sizeof oid, "/communications/calls/%s/participants/%s", c->id,
             dt__emu_json_str(p, "id") ? dt__emu_json_str(p, "id") : "");
    cJSON_AddStringToObject(d, "@odata.id", oid);
    cJSON_AddItemToArray(arr, d);
  }
  char summary[48];
  snprintf(summary, sizeof summary, "roster %d", cJSON_GetArraySize(arr));
  dt__emu_notify(c, c->callback_uri, "updated", "/participants", c, arr, summary);
}
