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
#include "emu_internal.h"

typedef struct {
  emu_nq_t base;
  char chain[37];
  char summary[96];
  bool delayed;
  bool duplicate; /* a copy made by the duplicate fault: never duplicated again */
} nq_item_t;

typedef struct {
  emu_inflight_t inflight; /* first: teardown frees through it */
  emu_call_t *q;
  nq_item_t *item;
} delivery_t;

static void item_free(nq_item_t *it);

static void delivery_free(emu_inflight_t *self) {
  delivery_t *d = (delivery_t *)self;
  item_free(d->item);
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

static void item_free(nq_item_t *it) {
  free(it->base.url);
  free(it->base.body);
  free(it);
}

static void on_delivered(const dt_http_response_t *res, void *ud) {
  delivery_t *d = ud;
  emu_call_t *q = d->q;
  dt_emulator_t *emu = q->emu;
  dt__emu_inflight_del(emu, &d->inflight);
  bool failed = res->error != 0 || res->status < 200 || res->status >= 300;
  if (emu->metrics)
    dt_metrics_inc(emu->metrics, "dt_emulator_notifications_total", failed ? "result=\"failed\"" : "result=\"ok\"");
  if (failed) {
    emu->n_notify_failed++;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "url", d->item->base.url);
    cJSON_AddStringToObject(f, "summary", d->item->summary);
    cJSON_AddNumberToObject(f, "status", res->status);
    if (res->error) cJSON_AddStringToObject(f, "error", res->error_message);
    dt__emu_timeline(q, "notification_failed", f);
    if (!emu->quiet)
      dt_log(DT_LOG_WARN, q->id, "emulator: notification to %s failed: status %d %s",
             d->item->base.url, res->status, res->error_message ? res->error_message : "");
  }
  item_free(d->item);
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

static void send_item(emu_call_t *q, nq_item_t *it) {
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
      .url = it->base.url,
      .headers = h,
      .header_count = DT_ARRAY_SIZE(h),
      .body = it->base.body,
      .body_len = it->base.len,
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
  if (rc == 0) dt__emu_inflight_add(emu, &d->inflight);
  if (rc != 0) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "url", it->base.url);
    cJSON_AddStringToObject(f, "summary", it->summary);
    cJSON_AddStringToObject(f, "error", "cannot send");
    dt__emu_timeline(q, "notification_failed", f);
    item_free(it);
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
  if (q->nq_busy || q->nq_head == NULL || emu->closing) return;
  emu_faults_t *f = &emu->faults;
  /* fault: reorder swaps the head with the next one */
  if (f->reorder_notifications > 0 && q->nq_head->next &&
      dt__emu_rand01(emu) < f->reorder_notifications) {
    emu_nq_t *a = q->nq_head, *b = a->next;
    a->next = b->next;
    b->next = a;
    q->nq_head = b;
    if (q->nq_tail == b) q->nq_tail = a;
    dt__emu_timeline(q, "fault_reordered", NULL);
  }
  nq_item_t *it = (nq_item_t *)q->nq_head;
  q->nq_head = it->base.next;
  if (q->nq_head == NULL) q->nq_tail = NULL;
  it->base.next = NULL;
  if (it->delayed) {
    send_item(q, it);
    return;
  }
  if (f->drop_notifications > 0 && dt__emu_rand01(emu) < f->drop_notifications) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "summary", it->summary);
    dt__emu_timeline(q, "fault_dropped", j);
    item_free(it);
    deliver_next(q);
    return;
  }
  if (!it->duplicate && f->duplicate_notifications > 0 && dt__emu_rand01(emu) < f->duplicate_notifications) {
    nq_item_t *dup = dt_xmalloc(sizeof *dup);
    *dup = *it;
    dup->duplicate = true;
    dup->base.url = dt_xstrdup(it->base.url);
    dup->base.body = dt_xstrdup(it->base.body);
    dup->base.next = q->nq_head;
    q->nq_head = &dup->base;
    if (q->nq_tail == NULL) q->nq_tail = &dup->base;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "summary", it->summary);
    dt__emu_timeline(q, "fault_duplicated", j);
  }
  if (!it->delayed && f->delay_notifications > 0 && dt__emu_rand01(emu) < f->delay_notifications) {
    /* back at the head, so the queue (and teardown) still owns it */
    it->delayed = true;
    it->base.next = q->nq_head;
    q->nq_head = &it->base;
    if (q->nq_tail == NULL) q->nq_tail = &it->base;
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
  nq_item_t *it = dt_xcalloc(1, sizeof *it);
  it->base.url = dt_xstrdup(url);
  it->base.body = cJSON_PrintUnformatted(env);
  it->base.len = strlen(it->base.body);
  snprintf(it->chain, sizeof it->chain, "%s", about->chain_id);
  snprintf(it->summary, sizeof it->summary, "%s", summary ? summary : change_type);
  cJSON_Delete(env);
  if (q->nq_tail) q->nq_tail->next = &it->base;
  else q->nq_head = &it->base;
  q->nq_tail = &it->base;
  deliver_next(q);
}

void dt__emu_notify_call(emu_call_t *c, const char *change_type, cJSON *fields,
                         const char *summary) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "@odata.type", "#microsoft.graph.call");
  if (fields) {
    cJSON *it = fields->child;
    while (it) {
      cJSON *next = it->next;
      cJSON_AddItemToObject(d, it->string, cJSON_DetachItemViaPointer(fields, it));
      it = next;
    }
    cJSON_Delete(fields);
  }
  dt__emu_notify(c, c->callback_uri, change_type, NULL, c, d, summary);
}

void dt__emu_notify_op(emu_call_t *c, const emu_op_t *op) {
  char up[40], suffix[64], summary[96];
  dt__emu_id_upper(op->id, up, sizeof up);
  snprintf(suffix, sizeof suffix, "/operations/%s", up);
  cJSON *d = dt__emu_op_json(c, op, true);
  const char *type = dt__emu_json_str(d, "@odata.type");
  snprintf(summary, sizeof summary, "%s %s", type ? type + 17 : "operation",
           op->status == EMU_OPS_COMPLETED ? "completed" : op->status == EMU_OPS_FAILED ? "failed"
                                                                                       : "running");
  dt__emu_notify(c, c->callback_uri, "deleted", suffix, c, d, summary);
}

void dt__emu_nq_free(emu_call_t *c) {
  emu_nq_t *n = c->nq_head;
  while (n) {
    emu_nq_t *next = n->next;
    item_free((nq_item_t *)n);
    n = next;
  }
  c->nq_head = c->nq_tail = NULL;
}
