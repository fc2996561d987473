/*
 * call_ops.c — a call's in-flight operations (dt_op_t): each Graph request a call sent and,
 * once Graph names it, the operation id its completion notification will carry; what Graph
 * said of a finished operation (completion_t); completions that came before the response
 * naming their operation (kept EARLY_MAX per call, EARLY_TTL_MS); and orphans (operations of
 * a wait that ended, kept ORPHAN_MAX per call so their completion is dropped quietly).
 *
 * Promises: freeing an operation cancels its request and forgets its recording job (the
 * recording is still stored); nothing here ends a wait or calls a hook.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

bool dt__call_res_ok(const dt_graph_result_t *res) {
  return res->error == 0 && res->status >= 200 && res->status < 300;
}

void dt__call_completion_free(completion_t *c) {
  free(c->message);
  free(c->completion_reason);
  free(c->location);
  free(c->token);
  memset(c, 0, sizeof *c);
}

/* Reads an operation object (response body or GET operation). */
void dt__call_completion_from_json(const cJSON *o, completion_t *c) {
  memset(c, 0, sizeof *c);
  if (!cJSON_IsObject(o)) return;
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "status");
  if (cJSON_IsString(s)) c->status = dt_op_status_from_name(s->valuestring);
  const cJSON *ri = cJSON_GetObjectItemCaseSensitive(o, "resultInfo");
  if (cJSON_IsObject(ri)) {
    c->has_result = true;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ri, "code");
    if (cJSON_IsNumber(v)) c->code = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(ri, "subcode");
    if (!v) v = cJSON_GetObjectItemCaseSensitive(ri, "subCode");
    if (cJSON_IsNumber(v)) c->subcode = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(ri, "message");
    if (cJSON_IsString(v)) c->message = dt_xstrdup(v->valuestring);
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "completionReason");
  if (cJSON_IsString(v) && v->valuestring[0]) c->completion_reason = dt_xstrdup(v->valuestring);
  v = cJSON_GetObjectItemCaseSensitive(o, "recordingLocation");
  if (cJSON_IsString(v) && v->valuestring[0]) c->location = dt_xstrdup(v->valuestring);
  v = cJSON_GetObjectItemCaseSensitive(o, "recordingAccessToken");
  if (cJSON_IsString(v) && v->valuestring[0]) c->token = dt_xstrdup(v->valuestring);
}

/* Takes the strings over from the event (the event list frees NULL fields happily). */
void dt__call_completion_from_event(dt_event_t *ev, completion_t *c) {
  memset(c, 0, sizeof *c);
  c->status = ev->op_status;
  c->has_result = ev->result.present;
  c->code = ev->result.code;
  c->subcode = ev->result.subcode;
  c->message = ev->result.message;
  ev->result.message = NULL;
  c->completion_reason = ev->completion_reason;
  ev->completion_reason = NULL;
  c->location = ev->recording_location;
  ev->recording_location = NULL;
  c->token = ev->recording_access_token;
  ev->recording_access_token = NULL;
}

dt_op_t *dt__call_op_new(dt_call_t *c, uint8_t role) {
  dt_op_t *op = dt_xcalloc(1, sizeof *op);
  op->call = c;
  op->role = role;
  op->gen = c->gen;
  op->created_ms = dt_now_ms();
  op->next = c->ops;
  c->ops = op;
  return op;
}

void dt__call_op_free(dt_op_t *op) {
  dt_call_t *c = op->call;
  for (dt_op_t **pp = &c->ops; *pp; pp = &(*pp)->next)
    if (*pp == op) {
      *pp = op->next;
      break;
    }
  if (op->req) {
    if (op->role == ROLE_MAIN && op->aux) c->reg->dials--; /* a dial nobody will answer */
    dt_graph_req_cancel(op->req);
  }
  if (op->http) dt_http_call_cancel(op->http);
  dt_recjob_forget(op->job); /* the recording is still fetched and stored */
  free(op->key);
  free(op->graph_id);
  free(op->aux);
  free(op->aux2);
  free(op);
}

dt_op_t *dt__call_op_find(dt_call_t *c, const char *key) {
  for (dt_op_t *op = c->ops; op; op = op->next)
    if (op->key && strcmp(op->key, key) == 0) return op;
  return NULL;
}

dt_op_t *dt__call_op_main(dt_call_t *c) {
  for (dt_op_t *op = c->ops; op; op = op->next)
    if (op->role == ROLE_MAIN && op->gen == c->gen && op->key && !op->orphan) return op;
  return NULL;
}

static void early_free(early_t *e) {
  free(e->key);
  dt__call_completion_free(&e->c);
  free(e);
}

static void early_remove(dt_call_t *c, early_t *e) {
  dt_list_remove(&c->early, &e->link);
  early_free(e);
}

/* Takes the early completion for key out of the call's list, if there is one. */
bool dt__call_early_take(dt_call_t *c, const char *key, completion_t *out) {
  for (dt_list_node_t *n = c->early.head; n; n = n->next) {
    early_t *e = DT_LIST_ENTRY(n, early_t, link);
    if (strcmp(e->key, key) == 0) {
      *out = e->c;
      memset(&e->c, 0, sizeof e->c);
      early_remove(c, e);
      return true;
    }
  }
  return false;
}

void dt__call_early_add(dt_call_t *c, const char *key, completion_t *comp) {
  uint64_t now = dt_now_ms();
  size_t kept = 0;
  for (dt_list_node_t *n = c->early.head, *next; n; n = next) {
    next = n->next;
    early_t *e = DT_LIST_ENTRY(n, early_t, link);
    if (now - e->at > EARLY_TTL_MS || kept >= EARLY_MAX - 1) early_remove(c, e);
    else kept++;
  }
  early_t *e = dt_xcalloc(1, sizeof *e);
  e->key = dt_xstrdup(key);
  e->at = now;
  e->c = *comp;
  memset(comp, 0, sizeof *comp);
  dt_list_push_front(&c->early, &e->link);
}

void dt__call_early_clear(dt_call_t *c) {
  early_t *e;
  while ((e = DT_LIST_ENTRY(dt_list_pop_front(&c->early), early_t, link)) != NULL) early_free(e);
}

/* Forgets the operations of the wait that just ended: requests in flight are cancelled;
   operations Graph is still running are kept as orphans so that their completion is
   dropped quietly instead of lingering as an unmatched completion. */
void dt__call_ops_drop_wait(dt_call_t *c, uint32_t gen) {
  dt_op_t *op = c->ops;
  size_t orphans = 0;
  while (op) {
    dt_op_t *next = op->next;
    bool of_wait = op->gen == gen && (op->role == ROLE_MAIN || op->role == ROLE_CANCEL ||
                                      op->role == ROLE_POLL || op->role == ROLE_DOWNLOAD);
    if (of_wait && op->role == ROLE_CANCEL && op->req) {
      op->role = ROLE_FIRE; /* a cancel must still reach Graph, or the prompt plays on */
    } else if (of_wait) {
      if (op->req || op->http || !op->key) dt__call_op_free(op);
      else op->orphan = true;
    }
    op = next;
  }
  for (op = c->ops; op; op = op->next)
    if (op->orphan) orphans++;
  while (orphans > ORPHAN_MAX) {
    dt_op_t *oldest = NULL;
    for (op = c->ops; op; op = op->next)
      if (op->orphan) oldest = op; /* the list is newest first */
    dt__call_op_free(oldest);
    orphans--;
  }
}
