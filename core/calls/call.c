/*
 * call.c — the call registry and the engine-neutral half of every flow primitive.
 *
 * Owns: the calls (hash table by dt_graph_id_key(call id) plus a list for iteration),
 * each call's tone buffer (deduplicated by sequence id, kept in sequence order), its one
 * waiting primitive with a generation counter, its in-flight operations (each a dt_op_t
 * with the Graph request it is waiting on and, once Graph names it, the operation id its
 * completion notification will carry), completions that arrived before their response,
 * notifications for not-yet-known outbound calls, tombstones of ended calls (so late
 * duplicates do nothing), the winding down of a call after its flow, and the CDR line.
 *
 * Promises (see call.h): O(1) work per event, one result per primitive, nothing waits
 * forever, hangup cancels, no request after the call is gone. Never calls Lua: the flow
 * runtime is reached only through the hooks, which always run at loop top level.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dialtone/call.h"
#include "dialtone/cdr.h"
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"

#define EARLY_MAX 8              /* early completions kept per call */
#define EARLY_TTL_MS 30000
#define ORPHAN_MAX 8             /* abandoned Graph operations remembered per call */
#define TOMB_TTL_MS (10 * 60 * 1000)
#define TOMB_MAX 65536
#define LIMBO_MAX 4096
#define LIMBO_TTL_MS 10000
#define LIMBO_WINDOW_MS 10000    /* keep unknown-call events this long after a dial */
#define KEY_MAX (DT_NOTIFY_MAX_ID + 1)

enum {
  ROLE_MAIN = 1,   /* the waiting primitive's request/operation */
  ROLE_CANCEL,     /* cancelMediaProcessing for a barge-in */
  ROLE_POLL,       /* GET operation at the deadline */
  ROLE_DOWNLOAD,   /* recording download */
  ROLE_DELETE,     /* winding down: DELETE or reject */
  ROLE_ERRPROMPT,  /* winding down: the error prompt */
  ROLE_AUTOSUB,    /* outbound call established: subscribeToTone, then start its flow */
  ROLE_FIRE,       /* fire and forget */
};

/* Winding-down stages (call->stage while wait == NONE and the flow is done). */
enum { WD_NONE = 0, WD_PROMPT, WD_DELETE, WD_AWAIT_END };

/* Gather stages. */
enum { G_PROMPT_SENT = 0, G_PROMPT_RUNNING, G_COLLECT };
/* Play stages. */
enum { P_SENT = 0, P_RUNNING, P_CANCELLING };
/* Record stages. */
enum { R_SENT = 0, R_RUNNING, R_DOWNLOADING };

typedef struct {
  dt_op_status_t status;
  bool has_result;
  int code, subcode;
  char *message;
  char *completion_reason;
  char *location;
  char *token;
} completion_t;

typedef struct early_s {
  struct early_s *next;
  char *key;
  uint64_t at;
  completion_t c;
} early_t;

struct dt_op_s {
  dt_op_t *next;
  dt_call_t *call;
  dt_graph_req_t *req;
  dt_http_call_t *http;
  uint32_t gen;
  uint8_t role;
  bool orphan;
  char *key;        /* normalised Graph operation id */
  char *graph_id;   /* as Graph wrote it */
  char *aux;        /* dial: flow name; download: the record's completion */
  char *aux2;       /* dial: target text */
  dt_recjob_t *job; /* download: the recording store's job (forgotten, never cancelled) */
  uint64_t created_ms;
};

typedef struct tomb_s {
  struct tomb_s *hnext, *fnext;
  uint64_t expires;
  char key[];
} tomb_t;

typedef struct limbo_s {
  struct limbo_s *next;
  uint64_t at;
  char *key;
  dt_event_t ev;
} limbo_t;

/* Calls started from C (dt_calls_pin_flow, dt_calls_dial). */
typedef struct pin_s {
  struct pin_s *next;
  char *key;
  char *flow;
} pin_t;
#define PIN_MAX 1024

typedef struct bare_dial_s {
  struct bare_dial_s *next;
  dt_calls_t *reg;
  dt_graph_req_t *req;
  char *flow, *to;
} bare_dial_t;

struct dt_calls_s {
  dt_calls_options_t o;
  char *callback_uri, *recordings_dir, *default_flow;
  dt_route_t *routes;
  size_t nroutes;
  dt_call_t **buckets;
  size_t nbuckets, count;
  dt_call_t *head;
  tomb_t **tbuckets;
  size_t ntbuckets, ntomb;
  tomb_t *thead, *ttail;
  limbo_t *limbo, *limbo_tail;
  size_t nlimbo;
  unsigned dials;
  uint64_t last_dial_ms;
  pin_t *pins;                /* incoming calls whose flow was named from C */
  size_t npins;
  bare_dial_t *bare_dials;    /* dt_calls_dial requests in flight */
  size_t unfreed;
  bool draining, closing;
  uv_timer_t close_timer;
  void (*close_done)(void *);
  void *close_ud;
};

/* ---------------------------------------------------------------- small helpers */

static uint64_t hash_key(const char *k) {
  uint64_t h = 1469598103934665603ULL;
  for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ULL;
  return h;
}

static char *xstrdup_or_null(const char *s) { return s ? dt_xstrdup(s) : NULL; }

static void completion_free(completion_t *c) {
  free(c->message);
  free(c->completion_reason);
  free(c->location);
  free(c->token);
  memset(c, 0, sizeof *c);
}

/* Reads an operation object (response body or GET operation). */
static void completion_from_json(const cJSON *o, completion_t *c) {
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
static void completion_from_event(dt_event_t *ev, completion_t *c) {
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

static void result_clear(dt_call_result_t *r) {
  free(r->error_code);
  free(r->message);
  free(r->digits);
  free(r->completion_reason);
  free(r->location);
  free(r->file);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

const char *dt_wait_kind_name(dt_wait_kind_t k) {
  static const char *const names[DT_WAIT__COUNT] = {
      "none", "answer", "reject", "redirect", "play", "gather", "record", "transfer",
      "invite", "participants", "action", "sleep", "hangup", "dial"};
  return (unsigned)k < DT_WAIT__COUNT ? names[k] : "unknown";
}

const char *dt_outcome_name(dt_outcome_t o) {
  switch (o) {
  case DT_OUTCOME_COMPLETED: return "completed";
  case DT_OUTCOME_HANGUP: return "hangup";
  case DT_OUTCOME_ERROR: return "error";
  case DT_OUTCOME_REJECTED: return "rejected";
  case DT_OUTCOME_REDIRECTED: return "redirected";
  case DT_OUTCOME_TRANSFERRED: return "transferred";
  case DT_OUTCOME_UNANSWERED: return "unanswered";
  case DT_OUTCOME_DRAINED: return "drained";
  default: return "unknown";
  }
}

/* ---------------------------------------------------------------- tones */

static bool tone_seq_seen(const dt_call_t *c, int64_t seq) {
  if (c->tone_max_seq < 0 || seq > c->tone_max_seq) return false;
  if (seq == c->tone_max_seq) return true;
  uint64_t d = (uint64_t)(c->tone_max_seq - 1 - seq);
  return d < 64 && (c->tone_seen & (1ULL << d));
}

/* Sequence ids start at 1 (Graph's toneInfo.sequenceId is "an incremental identifier used
   for ordering DTMF events"). A hole older than the 64 ids the bitmap remembers is given up. */
static void tone_advance_contig(dt_call_t *c) {
  if (c->tone_max_seq - c->tone_contig > 64) c->tone_contig = c->tone_max_seq - 64;
  while (tone_seq_seen(c, c->tone_contig + 1)) c->tone_contig++;
}

/* Buffered tones a gather may use: those before the first one whose earlier sequence ids
   have not all arrived (a reordered notification may still bring them). */
static size_t tones_ready(const dt_call_t *c) {
  size_t n = 0;
  while (n < c->tone_len && (c->tone_seq[n] <= 0 || c->tone_seq[n] <= c->tone_contig)) n++;
  return n;
}

int dt_call_tone_push(dt_call_t *c, int64_t seq, char tone) {
  if (seq > 0) {
    if (c->tone_max_seq < 0) {
      c->tone_max_seq = seq;
      c->tone_seen = 0;
    } else if (seq > c->tone_max_seq) {
      uint64_t shift = (uint64_t)(seq - c->tone_max_seq);
      c->tone_seen = shift >= 64 ? 0 : (c->tone_seen << shift) | (1ULL << (shift - 1));
      c->tone_max_seq = seq;
    } else if (seq == c->tone_max_seq) {
      return 0;
    } else {
      uint64_t d = (uint64_t)(c->tone_max_seq - 1 - seq);
      if (d >= 64 || (c->tone_seen & (1ULL << d))) return 0;
      c->tone_seen |= 1ULL << d;
    }
  }
  if (seq > 0) tone_advance_contig(c);
  if (tone == 0) return 1; /* seen, consumed elsewhere (record stop tones) */
  if (c->tone_len == DT_TONE_BUFFER) {
    dt_log(DT_LOG_WARN, c->id, "tone buffer full; dropping the oldest digit '%c'", c->tones[0]);
    memmove(c->tones, c->tones + 1, DT_TONE_BUFFER - 1);
    memmove(c->tone_seq, c->tone_seq + 1, (DT_TONE_BUFFER - 1) * sizeof c->tone_seq[0]);
    c->tone_len--;
  }
  /* Keep sequence order: a tone delivered out of order goes before later ones still
     in the buffer. */
  size_t i = c->tone_len;
  if (seq > 0)
    while (i > 0 && c->tone_seq[i - 1] > seq) i--;
  memmove(c->tones + i + 1, c->tones + i, c->tone_len - i);
  memmove(c->tone_seq + i + 1, c->tone_seq + i, (c->tone_len - i) * sizeof c->tone_seq[0]);
  c->tones[i] = tone;
  c->tone_seq[i] = seq;
  c->tone_len++;
  return 1;
}

static void tones_consume(dt_call_t *c, size_t n) {
  if (n > c->tone_len) n = c->tone_len;
  memmove(c->tones, c->tones + n, c->tone_len - n);
  memmove(c->tone_seq, c->tone_seq + n, (c->tone_len - n) * sizeof c->tone_seq[0]);
  c->tone_len = (uint8_t)(c->tone_len - n);
}

size_t dt_gather_scan(const char *buf, size_t len, unsigned max, const char *terminators,
                      const char **reason, size_t *ndigits) {
  for (size_t i = 0; i < len; i++) {
    if (terminators && terminators[0] && strchr(terminators, buf[i])) {
      *reason = "terminator";
      *ndigits = i;
      return i + 1;
    }
    if (max > 0 && i + 1 >= max) {
      *reason = "max";
      *ndigits = i + 1;
      return i + 1;
    }
  }
  *reason = NULL;
  *ndigits = 0;
  return 0;
}

/* ---------------------------------------------------------------- registry */

static void reg_grow(dt_calls_t *r) {
  size_t n = r->nbuckets ? r->nbuckets * 2 : 64;
  dt_call_t **b = dt_xcalloc(n, sizeof *b);
  for (size_t i = 0; i < r->nbuckets; i++) {
    dt_call_t *c = r->buckets[i];
    while (c) {
      dt_call_t *next = c->hnext;
      size_t h = hash_key(c->key) & (n - 1);
      c->hnext = b[h];
      b[h] = c;
      c = next;
    }
  }
  free(r->buckets);
  r->buckets = b;
  r->nbuckets = n;
}

static dt_call_t *reg_find(dt_calls_t *r, const char *key) {
  if (r->nbuckets == 0) return NULL;
  for (dt_call_t *c = r->buckets[hash_key(key) & (r->nbuckets - 1)]; c; c = c->hnext)
    if (strcmp(c->key, key) == 0) return c;
  return NULL;
}

static void reg_insert(dt_calls_t *r, dt_call_t *c) {
  if (r->count + 1 > r->nbuckets) reg_grow(r);
  size_t h = hash_key(c->key) & (r->nbuckets - 1);
  c->hnext = r->buckets[h];
  r->buckets[h] = c;
  r->count++;
  c->prev = NULL;
  c->next = r->head;
  if (r->head) r->head->prev = c;
  r->head = c;
  if (r->o.metrics) dt_metrics_set(r->o.metrics, "dt_calls_active", NULL, (double)r->count);
}

static void reg_remove(dt_calls_t *r, dt_call_t *c) {
  dt_call_t **pp = &r->buckets[hash_key(c->key) & (r->nbuckets - 1)];
  while (*pp && *pp != c) pp = &(*pp)->hnext;
  if (*pp) {
    *pp = c->hnext;
    r->count--;
  }
  if (c->prev) c->prev->next = c->next;
  else if (r->head == c) r->head = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = c->hnext = NULL;
  if (r->o.metrics) dt_metrics_set(r->o.metrics, "dt_calls_active", NULL, (double)r->count);
}

dt_call_t *dt_calls_find(dt_calls_t *r, const char *call_id) {
  size_t n = strlen(call_id);
  if (n >= KEY_MAX) return NULL;
  char key[KEY_MAX];
  dt_graph_id_key(call_id, key);
  return reg_find(r, key);
}

size_t dt_calls_count(const dt_calls_t *r) { return r->count; }
dt_call_t *dt_calls_first(dt_calls_t *r) { return r->head; }

/* Tombstones: keys of ended calls, so that late duplicates of "created" start nothing. */
static void tomb_pop(dt_calls_t *r) {
  tomb_t *t = r->thead;
  r->thead = t->fnext;
  if (!r->thead) r->ttail = NULL;
  tomb_t **pp = &r->tbuckets[hash_key(t->key) & (r->ntbuckets - 1)];
  while (*pp && *pp != t) pp = &(*pp)->hnext;
  if (*pp) *pp = t->hnext;
  r->ntomb--;
  free(t);
}

static void tomb_expire(dt_calls_t *r, uint64_t now) {
  while (r->thead && (r->thead->expires <= now || r->ntomb > TOMB_MAX)) tomb_pop(r);
}

static bool tomb_has(dt_calls_t *r, const char *key) {
  if (!r->ntbuckets) return false;
  for (tomb_t *t = r->tbuckets[hash_key(key) & (r->ntbuckets - 1)]; t; t = t->hnext)
    if (strcmp(t->key, key) == 0) return t->expires > dt_now_ms();
  return false;
}

static void tomb_add(dt_calls_t *r, const char *key) {
  uint64_t now = dt_now_ms();
  tomb_expire(r, now);
  if (!r->ntbuckets) {
    r->ntbuckets = 1024;
    r->tbuckets = dt_xcalloc(r->ntbuckets, sizeof *r->tbuckets);
  }
  size_t klen = strlen(key);
  tomb_t *t = dt_xmalloc(sizeof *t + klen + 1);
  memcpy(t->key, key, klen + 1);
  t->expires = now + TOMB_TTL_MS;
  t->fnext = NULL;
  size_t h = hash_key(key) & (r->ntbuckets - 1);
  t->hnext = r->tbuckets[h];
  r->tbuckets[h] = t;
  if (r->ttail) r->ttail->fnext = t;
  else r->thead = t;
  r->ttail = t;
  r->ntomb++;
}

/* ---------------------------------------------------------------- operations */

static dt_op_t *op_new(dt_call_t *c, uint8_t role) {
  dt_op_t *op = dt_xcalloc(1, sizeof *op);
  op->call = c;
  op->role = role;
  op->gen = c->gen;
  op->created_ms = dt_now_ms();
  op->next = c->ops;
  c->ops = op;
  return op;
}

static void op_free(dt_op_t *op) {
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

static dt_op_t *op_find_key(dt_call_t *c, const char *key) {
  for (dt_op_t *op = c->ops; op; op = op->next)
    if (op->key && strcmp(op->key, key) == 0) return op;
  return NULL;
}

static dt_op_t *op_main_with_key(dt_call_t *c) {
  for (dt_op_t *op = c->ops; op; op = op->next)
    if (op->role == ROLE_MAIN && op->gen == c->gen && op->key && !op->orphan) return op;
  return NULL;
}

static void early_free(early_t *e) {
  free(e->key);
  completion_free(&e->c);
  free(e);
}

/* Takes the early completion for key out of the call's list, if there is one. */
static bool early_take(dt_call_t *c, const char *key, completion_t *out) {
  for (early_t **pp = (early_t **)&c->early; *pp; pp = &(*pp)->next) {
    early_t *e = *pp;
    if (strcmp(e->key, key) == 0) {
      *pp = e->next;
      *out = e->c;
      memset(&e->c, 0, sizeof e->c);
      early_free(e);
      return true;
    }
  }
  return false;
}

static void early_add(dt_call_t *c, const char *key, completion_t *comp) {
  uint64_t now = dt_now_ms();
  size_t n = 0;
  early_t **pp = (early_t **)&c->early;
  while (*pp) {
    early_t *e = *pp;
    if (now - e->at > EARLY_TTL_MS || n >= EARLY_MAX - 1) {
      *pp = e->next;
      early_free(e);
      continue;
    }
    n++;
    pp = &e->next;
  }
  early_t *e = dt_xcalloc(1, sizeof *e);
  e->key = dt_xstrdup(key);
  e->at = now;
  e->c = *comp;
  memset(comp, 0, sizeof *comp);
  e->next = c->early;
  c->early = e;
}

static void early_clear(dt_call_t *c) {
  early_t *e = c->early;
  while (e) {
    early_t *next = e->next;
    early_free(e);
    e = next;
  }
  c->early = NULL;
}

/* ---------------------------------------------------------------- waits */

static void graph_cb(const dt_graph_result_t *res, void *ud);
static void on_timer(uv_timer_t *t);
static void wind_down(dt_call_t *c, const char *prompt);
static void send_end(dt_call_t *c);
static void call_finalize(dt_call_t *c);
static void op_completed(dt_call_t *c, dt_op_t *op, completion_t *comp);
static void start_flow(dt_call_t *c);

static unsigned op_timeout(const dt_call_t *c) { return c->reg->o.op_timeout_ms; }

static void arm(dt_call_t *c, uint64_t ms) { uv_timer_start(&c->timer, on_timer, ms, 0); }

static void wait_begin(dt_call_t *c, dt_wait_kind_t k) {
  result_clear(&c->result);
  memset(&c->w, 0, sizeof c->w);
  c->wait = (uint8_t)k;
  c->stage = 0;
  c->gen++;
  c->wait_since_ms = dt_now_ms();
}

/* Forgets the operations of the wait that just ended: requests in flight are cancelled;
   operations Graph is still running are kept as orphans so that their completion is
   dropped quietly instead of lingering as an unmatched completion. */
static void ops_drop_wait(dt_call_t *c, uint32_t gen) {
  dt_op_t *op = c->ops;
  size_t orphans = 0;
  while (op) {
    dt_op_t *next = op->next;
    bool of_wait = op->gen == gen && (op->role == ROLE_MAIN || op->role == ROLE_CANCEL ||
                                      op->role == ROLE_POLL || op->role == ROLE_DOWNLOAD);
    if (of_wait && op->role == ROLE_CANCEL && op->req) {
      op->role = ROLE_FIRE; /* a cancel must still reach Graph, or the prompt plays on */
    } else if (of_wait) {
      if (op->req || op->http || !op->key) op_free(op);
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
    op_free(oldest);
    orphans--;
  }
}

static void wait_end_quiet(dt_call_t *c) {
  uint32_t gen = c->gen;
  uv_timer_stop(&c->timer);
  c->wait = DT_WAIT_NONE;
  c->stage = 0;
  c->gen++;
  ops_drop_wait(c, gen);
}

/* Ends the wait and tells the runtime. The call must not be touched afterwards by the
   caller: the runtime may resume the flow, which may finish the call. */
static void wait_finish(dt_call_t *c, int err) {
  wait_end_quiet(c);
  c->result.err = err;
  if (err && !c->result.message) c->result.message = dt_xstrdup(dt_strerror(err));
  c->reg->o.hooks.on_result(c, c->reg->o.hooks.ud);
}

static void wait_fail(dt_call_t *c, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void wait_fail(dt_call_t *c, int err, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  free(c->result.error_code);
  c->result.error_code = xstrdup_or_null(code);
  free(c->result.message);
  c->result.message = dt_xstrdup(msg);
  wait_finish(c, err);
}

static void fail_graph(dt_call_t *c, const dt_graph_result_t *res, const char *what) {
  int err = res->error ? res->error : DT_EGRAPH;
  c->result.http_status = res->status;
  if (res->status)
    wait_fail(c, err, res->error_code, "%s failed: %s (HTTP %d)", what,
              res->error_message && res->error_message[0] ? res->error_message : "no message",
              res->status);
  else
    wait_fail(c, err, res->error_code ? res->error_code : dt_err_name(err), "%s failed: %s", what,
              res->error_message && res->error_message[0] ? res->error_message : dt_strerror(err));
}

static void fail_op(dt_call_t *c, const completion_t *comp, const char *what) {
  c->result.code = comp->code;
  c->result.subcode = comp->subcode;
  wait_fail(c, DT_EGRAPH, comp->completion_reason ? comp->completion_reason : "operationFailed",
            "%s failed: %s (code %d, subcode %d)", what, comp->message ? comp->message : "no message",
            comp->code, comp->subcode);
}

static bool is_cancelled(const completion_t *comp) {
  if (comp->subcode == 8508) return true;
  const char *r = comp->completion_reason;
  return r && (dt_strcasecmp(r, "operationCanceled") == 0 || dt_strcasecmp(r, "mediaOperationCanceled") == 0);
}

static int guard(dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return DT_ESTATE;
  if (dt_call_is_gone(c)) return DT_EHANGUP;
  if (c->wait != DT_WAIT_NONE) return DT_EBUSY;
  return 0;
}

bool dt_call_is_gone(const dt_call_t *c) {
  return (c->flags & (DT_CALLF_TERMINATED | DT_CALLF_ENDED | DT_CALLF_RELEASED)) != 0;
}

static void log_json_item(dt_buf_t *b, const char *text) {
  if (b->len) dt_buf_append(b, ",", 1);
  dt_cdr_json_string(b, text);
}

void dt_call_log_digits(dt_call_t *c, const char *digits) {
  if (c->log.digits.len < 4096) log_json_item(&c->log.digits, digits);
}

/* ---------------------------------------------------------------- identities */

static const char *const ID_KINDS[] = {"phone", "user", "applicationInstance", "application",
                                       "guest", "device", "acsUser", "spoolUser", "encrypted",
                                       "onPremises"};

/* "user:ID", "+1555…" for phones, NULL if the set names nobody. Caller frees. */
static char *identity_text(const cJSON *set) {
  if (!cJSON_IsObject(set)) return NULL;
  for (size_t i = 0; i < DT_ARRAY_SIZE(ID_KINDS); i++) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
    if (!cJSON_IsObject(o)) continue;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "displayName");
    const char *v = cJSON_IsString(id) ? id->valuestring : cJSON_IsString(name) ? name->valuestring : "";
    if (i == 0) return dt_xstrdup(v);
    return dt_xasprintf("%s:%s", ID_KINDS[i], v);
  }
  return NULL;
}

static char *invitation_text(const dt_identity_t *id) {
  if (!id || !id->kind) return NULL;
  if (strcmp(id->kind, "phone") == 0) return dt_xstrdup(id->id ? id->id : "");
  return dt_xasprintf("%s:%s", id->kind, id->id ? id->id : (id->display_name ? id->display_name : ""));
}

const char *dt_calls_route(const dt_calls_t *r, const char *const *ids, size_t n) {
  for (size_t i = 0; i < r->nroutes; i++) {
    const char *m = r->routes[i].match;
    if (strcmp(m, "*") == 0) return r->routes[i].flow;
    for (size_t j = 0; j < n; j++)
      if (ids[j] && dt_strcasecmp(ids[j], m) == 0) return r->routes[i].flow;
  }
  return r->default_flow;
}

/* ---------------------------------------------------------------- call life */

static dt_call_t *call_new(dt_calls_t *r, const char *id, dt_call_direction_t dir) {
  dt_call_t *c = dt_xcalloc(1, sizeof *c);
  c->reg = r;
  c->id = dt_xstrdup(id);
  c->key = dt_xmalloc(strlen(id) + 1);
  dt_graph_id_key(id, c->key);
  c->direction = dir;
  c->tone_max_seq = -1;
  c->start_ms = dt_clock_unix_ms();
  c->start_mono_ms = dt_now_ms();
  uv_timer_init(r->o.loop, &c->timer);
  c->timer.data = c;
  r->unfreed++;
  reg_insert(r, c);
  return c;
}

static void reg_closed(uv_handle_t *h);

static void call_closed(uv_handle_t *h) {
  dt_call_t *c = h->data;
  dt_calls_t *r = c->reg;
  result_clear(&c->result);
  dt_buf_free(&c->log.digits);
  dt_buf_free(&c->log.recordings);
  dt_buf_free(&c->log.transfers);
  free(c->id);
  free(c->key);
  free(c->from);
  free(c->to);
  free(c->flow);
  free(c->dialed_by);
  free(c->error);
  free(c->transfer_target);
  free(c->end_message);
  free(c);
  r->unfreed--;
  if (r->closing && r->unfreed == 0 && !uv_is_closing((uv_handle_t *)&r->close_timer))
    uv_close((uv_handle_t *)&r->close_timer, reg_closed);
}

static void call_release(dt_call_t *c) {
  if (c->flags & DT_CALLF_RELEASED) return;
  dt_calls_t *r = c->reg;
  c->flags |= DT_CALLF_RELEASED;
  uv_timer_stop(&c->timer);
  c->wait = DT_WAIT_NONE;
  c->gen++;
  while (c->ops) op_free(c->ops);
  early_clear(c);
  reg_remove(r, c);
  if (!r->closing) tomb_add(r, c->key);
  if (r->o.hooks.on_release) r->o.hooks.on_release(c, r->o.hooks.ud);
  uv_close((uv_handle_t *)&c->timer, call_closed);
}

/* The call's CDR fields, flat (borrowed from the call). */
static void call_cdr_record(const dt_call_t *c, dt_cdr_record_t *rec) {
  *rec = (dt_cdr_record_t){.call_id = c->id,
                           .direction = c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing",
                           .from = c->from,
                           .to = c->to,
                           .flow = c->flow,
                           .flow_version = c->flow_version,
                           .start_ms = c->start_ms,
                           .answer_ms = c->answer_ms,
                           .end_ms = c->end_ms,
                           .outcome = dt_outcome_name(c->outcome),
                           .digits = c->log.digits.data,
                           .digits_len = c->log.digits.len,
                           .recordings = c->log.recordings.data,
                           .recordings_len = c->log.recordings.len,
                           .transfers = c->log.transfers.data,
                           .transfers_len = c->log.transfers.len,
                           .error = c->error,
                           .end_code = c->end_code,
                           .end_subcode = c->end_subcode,
                           .end_message = c->end_message};
}

static void call_finalize(dt_call_t *c) {
  if (c->flags & DT_CALLF_RELEASED) return;
  dt_calls_t *r = c->reg;
  if (!(c->flags & DT_CALLF_CDR)) {
    c->flags |= DT_CALLF_CDR;
    if (!c->end_ms) c->end_ms = dt_clock_unix_ms();
    if (!c->outcome) c->outcome = DT_OUTCOME_COMPLETED;
    if (r->o.cdr) {
      dt_cdr_record_t rec;
      call_cdr_record(c, &rec);
      dt_cdr_write(r->o.cdr, &rec);
    }
    if (r->o.metrics) {
      char labels[96];
      snprintf(labels, sizeof labels, "direction=\"%s\",outcome=\"%s\"",
               c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing", dt_outcome_name(c->outcome));
      dt_metrics_inc(r->o.metrics, "dt_calls_total", labels);
    }
    dt_log(DT_LOG_INFO, c->id, "call ended: %s%s%s", dt_outcome_name(c->outcome), c->error ? ": " : "",
           c->error ? c->error : "");
  }
  call_release(c);
}

static void start_flow(dt_call_t *c) {
  dt_calls_t *r = c->reg;
  c->flags |= DT_CALLF_STARTED | DT_CALLF_FLOW;
  int rc = r->o.hooks.on_start ? r->o.hooks.on_start(c, r->o.hooks.ud) : DT_EUNSUPPORTED;
  if (rc < 0 && !(c->flags & DT_CALLF_FLOW_DONE)) {
    char msg[256];
    snprintf(msg, sizeof msg, "flow \"%s\" could not start: %s", c->flow ? c->flow : "?", dt_strerror(rc));
    dt_log(DT_LOG_ERROR, c->id, "%s", msg);
    dt_call_flow_done(c, DT_OUTCOME_ERROR, msg, NULL);
  }
}

void dt_call_flow_done(dt_call_t *c, dt_outcome_t outcome, const char *error, const char *prompt) {
  if (c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) return;
  c->flags |= DT_CALLF_FLOW_DONE;
  c->flags &= (uint16_t)~DT_CALLF_FLOW;
  if (c->wait != DT_WAIT_NONE) wait_end_quiet(c);
  if (error && !c->error) c->error = dt_xstrdup(error);
  if (!c->outcome) {
    if (outcome == DT_OUTCOME_NONE || outcome == DT_OUTCOME_COMPLETED)
      outcome = ((c->flags & DT_CALLF_TERMINATED) && !(c->flags & DT_CALLF_ENDED)) ? DT_OUTCOME_HANGUP
                                                                                   : DT_OUTCOME_COMPLETED;
    c->outcome = outcome;
  }
  c->stage = WD_NONE;
  wind_down(c, prompt);
}

static void wind_down(dt_call_t *c, const char *prompt) {
  if (c->flags & DT_CALLF_RELEASED) return;
  if (c->flags & DT_CALLF_TERMINATED) {
    call_finalize(c);
    return;
  }
  if (c->flags & DT_CALLF_ENDED) {
    c->stage = WD_AWAIT_END;
    arm(c, op_timeout(c));
    return;
  }
  if (prompt && (c->flags & DT_CALLF_ESTABLISHED)) {
    dt_op_t *op = op_new(c, ROLE_ERRPROMPT);
    dt_media_t m = {.uri = prompt};
    if (dt_graph_play_prompt(c->reg->o.graph, c->id, &m, 1, NULL, graph_cb, op, &op->req) == 0) {
      c->stage = WD_PROMPT;
      arm(c, op_timeout(c));
      return;
    }
    op_free(op);
  }
  send_end(c);
}

/* Hangs the call up (or rejects it if it was never answered) while winding down. */
static void send_end(dt_call_t *c) {
  dt_calls_t *r = c->reg;
  for (dt_op_t *op = c->ops, *next; op; op = next) { /* the error prompt is over */
    next = op->next;
    if (op->role == ROLE_ERRPROMPT) op_free(op);
  }
  dt_op_t *op = op_new(c, ROLE_DELETE);
  int rc;
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(r->o.graph, c->id, c->outcome == DT_OUTCOME_REJECTED ? "busy" : "none", NULL,
                         graph_cb, op, &op->req);
  else
    rc = dt_graph_delete_call(r->o.graph, c->id, graph_cb, op, &op->req);
  c->flags |= DT_CALLF_DELETING | DT_CALLF_ENDED;
  c->stage = WD_DELETE;
  if (rc < 0) {
    op_free(op);
    c->flags |= DT_CALLF_TERMINATED;
    call_finalize(c);
    return;
  }
  arm(c, op_timeout(c));
}

/* ---------------------------------------------------------------- primitives */

static dt_op_t *main_op(dt_call_t *c) { return op_new(c, ROLE_MAIN); }

/* Common tail of a primitive that sent its request: arms the deadline. */
static int started(dt_call_t *c, dt_op_t *op, int rc, uint64_t deadline_ms) {
  if (rc < 0) {
    op_free(op);
    wait_end_quiet(c);
    return rc;
  }
  arm(c, deadline_ms);
  return 0;
}

int dt_call_answer(dt_call_t *c, const char *const *modalities, size_t nmod, const dt_media_t *prefetch,
                   size_t nprefetch) {
  int rc = guard(c);
  if (rc) return rc;
  if (c->direction == DT_CALL_OUTGOING || (c->flags & DT_CALLF_ANSWERED)) {
    result_clear(&c->result);
    c->result.reason = "established";
    return 1;
  }
  wait_begin(c, DT_WAIT_ANSWER);
  dt_graph_answer_params_t p = {.callback_uri = c->reg->callback_uri,
                                .modalities = modalities,
                                .modality_count = nmod,
                                .prefetch = prefetch,
                                .prefetch_count = nprefetch};
  dt_op_t *op = main_op(c);
  rc = dt_graph_answer(c->reg->o.graph, c->id, &p, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

static void answer_subscribe(dt_call_t *c) {
  if (c->flags & DT_CALLF_SUBSCRIBED) {
    c->result.reason = "established";
    wait_finish(c, 0);
    return;
  }
  c->stage = 2;
  dt_op_t *op = main_op(c);
  int rc = dt_graph_subscribe_to_tone(c->reg->o.graph, c->id, NULL, graph_cb, op, &op->req);
  if (rc < 0) {
    op_free(op);
    wait_fail(c, rc, "subscribeToTone", "subscribeToTone could not be sent: %s", dt_strerror(rc));
  }
}

static void answered(dt_call_t *c) {
  c->flags |= DT_CALLF_ANSWERED;
  if (c->flags & DT_CALLF_ESTABLISHED) answer_subscribe(c);
  else c->stage = 1;
}

int dt_call_reject(dt_call_t *c, const char *reason) {
  int rc = guard(c);
  if (rc) return rc;
  if (c->direction != DT_CALL_INCOMING || (c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    return DT_ESTATE;
  wait_begin(c, DT_WAIT_REJECT);
  dt_op_t *op = main_op(c);
  rc = dt_graph_reject(c->reg->o.graph, c->id, reason ? reason : "none", NULL, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

int dt_call_redirect(dt_call_t *c, const dt_invitation_t *targets, size_t n, int timeout_s) {
  int rc = guard(c);
  if (rc) return rc;
  if (n == 0) return DT_EINVAL;
  if (c->direction != DT_CALL_INCOMING || (c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    return DT_ESTATE;
  wait_begin(c, DT_WAIT_REDIRECT);
  free(c->transfer_target);
  c->transfer_target = invitation_text(&targets[0].identity);
  dt_op_t *op = main_op(c);
  rc = dt_graph_redirect(c->reg->o.graph, c->id, targets, n, timeout_s, c->reg->callback_uri, graph_cb, op,
                         &op->req);
  return started(c, op, rc, op_timeout(c));
}

int dt_call_play(dt_call_t *c, const dt_media_t *prompts, size_t n, bool barge_in) {
  int rc = guard(c);
  if (rc) return rc;
  if (n == 0) return DT_EINVAL;
  if (barge_in && c->tone_len > 0) { /* the caller is already typing ahead */
    result_clear(&c->result);
    c->result.reason = "barged";
    return 1;
  }
  wait_begin(c, DT_WAIT_PLAY);
  c->w.barge_in = barge_in;
  dt_op_t *op = main_op(c);
  rc = dt_graph_play_prompt(c->reg->o.graph, c->id, prompts, n, NULL, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

static void send_cancel(dt_call_t *c) {
  dt_op_t *op = op_new(c, ROLE_CANCEL);
  int rc = dt_graph_cancel_media(c->reg->o.graph, c->id, NULL, graph_cb, op, &op->req);
  if (rc < 0) {
    op_free(op);
    c->w.cancel = 3;
    return;
  }
  c->w.cancel = 2;
}

static void gather_finish(dt_call_t *c, bool notify) {
  size_t nd = c->w.done_digits, used = c->w.done_used;
  if (nd > c->tone_len) nd = c->tone_len;
  char *digits = dt_xstrndup(c->tones, nd);
  tones_consume(c, used);
  if (nd < c->w.min) digits[0] = '\0';
  c->result.digits = digits;
  c->result.reason = c->w.done_reason ? c->w.done_reason : "timeout";
  if (digits[0]) dt_call_log_digits(c, digits);
  if (notify) wait_finish(c, 0);
  else wait_end_quiet(c);
}

/* After a tone (or type-ahead at the start): is the gather complete? */
static void gather_check(dt_call_t *c, bool notify) {
  const char *reason;
  size_t nd;
  size_t used = dt_gather_scan(c->tones, tones_ready(c), c->w.max, c->w.terminators, &reason, &nd);
  if (c->tone_len > 0 && c->stage != G_COLLECT) { /* barge into the prompt */
    if (c->stage == G_PROMPT_RUNNING) send_cancel(c);
    else c->w.cancel = 1;
    c->stage = G_COLLECT;
  }
  if (used) {
    c->w.done_reason = reason;
    c->w.done_used = (uint8_t)used;
    c->w.done_digits = (uint8_t)nd;
    if (c->w.cancel == 2) { /* finish when the cancel is confirmed, so the next prompt is not cut */
      arm(c, op_timeout(c));
      return;
    }
    gather_finish(c, notify);
    return;
  }
  if (c->tone_len > 0) arm(c, c->w.inter_digit_ms);
}

int dt_call_gather(dt_call_t *c, const dt_gather_params_t *p) {
  int rc = guard(c);
  if (rc) return rc;
  if (p->max < 1 || p->max > 64 || p->min > p->max || (p->terminators && strlen(p->terminators) > 7))
    return DT_EINVAL;
  wait_begin(c, DT_WAIT_GATHER);
  c->w.max = (uint8_t)p->max;
  c->w.min = (uint8_t)p->min;
  c->w.timeout_ms = p->timeout_ms;
  c->w.inter_digit_ms = p->inter_digit_ms ? p->inter_digit_ms : p->timeout_ms;
  snprintf(c->w.terminators, sizeof c->w.terminators, "%s", p->terminators ? p->terminators : "");
  if (p->flush) c->tone_len = 0;
  if (c->tone_len > 0) { /* type-ahead: no prompt */
    c->stage = G_COLLECT;
    gather_check(c, false);
    if (c->wait == DT_WAIT_NONE) return 1;
    return 0;
  }
  if (p->prompt_count > 0) {
    c->stage = G_PROMPT_SENT;
    dt_op_t *op = main_op(c);
    rc = dt_graph_play_prompt(c->reg->o.graph, c->id, p->prompts, p->prompt_count, NULL, graph_cb, op,
                              &op->req);
    return started(c, op, rc, op_timeout(c));
  }
  c->stage = G_COLLECT;
  arm(c, c->w.timeout_ms);
  return 0;
}

static void gather_prompt_done(dt_call_t *c, const completion_t *comp) {
  if (c->stage == G_COLLECT) { /* digits came first; the prompt's end changes nothing */
    if (c->w.cancel == 1) {
      c->w.cancel = 3;
      if (c->w.done_reason) gather_finish(c, true);
    }
    return;
  }
  if (comp && comp->status == DT_OP_STATUS_FAILED && !is_cancelled(comp)) {
    fail_op(c, comp, "playPrompt");
    return;
  }
  c->stage = G_COLLECT;
  arm(c, c->w.timeout_ms);
}

static void gather_timeout(dt_call_t *c) {
  if (!c->w.done_reason && tones_ready(c) < c->tone_len) {
    /* a key before the buffered ones never came (lost, not late): go on without it */
    dt_log(DT_LOG_WARN, c->id, "tone sequence id %lld never arrived; the later keys are used without it",
           (long long)c->tone_contig + 1);
    if (c->reg->o.metrics) dt_metrics_inc(c->reg->o.metrics, "dt_tones_missing_total", NULL);
    c->tone_contig = c->tone_max_seq;
    const char *reason;
    size_t nd;
    size_t used = dt_gather_scan(c->tones, c->tone_len, c->w.max, c->w.terminators, &reason, &nd);
    if (used) {
      c->w.done_reason = reason;
      c->w.done_used = (uint8_t)used;
      c->w.done_digits = (uint8_t)nd;
      if (c->w.cancel == 2) {
        arm(c, op_timeout(c));
        return;
      }
      gather_finish(c, true);
      return;
    }
  }
  if (!c->w.done_reason) {
    c->w.done_reason = "timeout";
    c->w.done_used = c->tone_len;
    c->w.done_digits = c->tone_len;
    if (c->w.cancel == 2) { /* the barge-in's cancel is on its way: end when it is confirmed */
      arm(c, op_timeout(c));
      return;
    }
  }
  gather_finish(c, true);
}

int dt_call_record(dt_call_t *c, const dt_graph_record_params_t *p) {
  int rc = guard(c);
  if (rc) return rc;
  wait_begin(c, DT_WAIT_RECORD);
  size_t k = 0;
  for (size_t i = 0; i < p->stop_tone_count && k + 1 < sizeof c->w.stop_tones; i++) {
    const char *t = p->stop_tones[i];
    char tone = strlen(t) == 1 ? t[0] : dt_tone_from_name(t);
    if (tone) c->w.stop_tones[k++] = tone;
  }
  dt_graph_record_params_t q = *p;
  q.client_context = NULL;
  uint64_t extra = (uint64_t)(p->max_duration_s ? p->max_duration_s : 5) +
                   (uint64_t)(p->initial_silence_s ? p->initial_silence_s : 5) +
                   (uint64_t)(p->max_silence_s ? p->max_silence_s : 5);
  dt_op_t *op = main_op(c);
  rc = dt_graph_record(c->reg->o.graph, c->id, &q, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c) + extra * 1000);
}

static const char *record_reason(const completion_t *comp, bool *known) {
  static const struct { const char *graph, *ours; bool ok; } map[] = {
      {"stopToneDetected", "stop_tone", true},
      {"maxRecordDurationReached", "max_duration", true},
      {"initialSilenceTimeout", "initial_silence", true},
      {"maxSilenceTimeout", "max_silence", true},
      {"operationCanceled", "cancelled", true},
      {"playPromptFailed", "prompt_failed", false},
      {"playBeepFailed", "beep_failed", false},
      {"mediaReceiveTimeout", "media_timeout", false},
      {"unspecifiedError", "error", false},
  };
  *known = true;
  if (comp->completion_reason) {
    for (size_t i = 0; i < DT_ARRAY_SIZE(map); i++)
      if (dt_strcasecmp(comp->completion_reason, map[i].graph) == 0) {
        *known = map[i].ok;
        return map[i].ours;
      }
  }
  if (comp->subcode == 8515) return "max_duration";
  if (comp->subcode == 8508) return "cancelled";
  *known = comp->status != DT_OP_STATUS_FAILED;
  return "completed";
}

/* The recording store finished the download this record wait is waiting for. */
static void recording_stored(const dt_recstore_result_t *res, void *ud) {
  dt_op_t *op = ud;
  dt_call_t *c = op->call;
  op->job = NULL;
  bool current = op->gen == c->gen && c->wait == DT_WAIT_RECORD;
  op_free(op);
  if (!current) return;
  if (res->err) {
    c->result.http_status = res->http_status;
    wait_fail(c, DT_EIO, "recordingDownload", "recording download failed: %s",
              res->message ? res->message : dt_strerror(res->err));
    return;
  }
  c->result.file = dt_xstrdup(res->path);
  c->result.duration = res->duration;
  wait_finish(c, 0);
}

/* Hands a recording Graph reported over to the store (journaled before it is fetched)
   and lists it in the CDR at once: the file will be there even if the call is not.
   Returns the job's op when cb is wanted, NULL otherwise or on failure (*rc says). */
static dt_op_t *recording_submit(dt_call_t *c, const completion_t *comp, const char *reason, bool wait, int *rc) {
  dt_calls_t *r = c->reg;
  unsigned n = ++c->nrecord;
  /* the file name: the call key with anything but [A-Za-z0-9_-] replaced (a call id is
     Graph's text: it must not pick the directory), at most 180 characters of it */
  char name[200];
  size_t k = 0;
  for (const char *p = c->key; *p && k < 180; p++, k++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    name[k] = ok ? ch : '_';
  }
  snprintf(name + k, sizeof name - k, "-%u", n);
  dt_recording_t rec = {.name = name,
                        .location = comp->location,
                        .token = comp->token,
                        .call_id = c->id,
                        .flow = c->flow,
                        .from = c->from,
                        .to = c->to,
                        .reason = reason,
                        .completion_reason = comp->completion_reason};
  dt_op_t *op = wait ? op_new(c, ROLE_DOWNLOAD) : NULL;
  *rc = dt_recstore_add(r->o.recstore, &rec, wait ? recording_stored : NULL, op, op ? &op->job : NULL);
  if (*rc < 0) {
    if (op) op_free(op);
    return NULL;
  }
  char *path = dt_xasprintf("%s/%s.wav", r->recordings_dir, name);
  if (c->log.recordings.len < 8192) log_json_item(&c->log.recordings, path);
  free(path);
  return op;
}

/* A completion that carries a recording nobody waits for any more (the wait ended first):
   the recording is still stored. */
static void recording_orphan(dt_call_t *c, const completion_t *comp) {
  if (!comp->location || !c->reg->o.recstore || !c->reg->recordings_dir) return;
  bool known;
  int rc;
  recording_submit(c, comp, record_reason(comp, &known), false, &rc);
  if (rc < 0) dt_log(DT_LOG_ERROR, c->id, "a late recording could not be kept: %s", dt_strerror(rc));
}

static void record_done(dt_call_t *c, const completion_t *comp) {
  bool known;
  const char *reason = record_reason(comp, &known);
  if (comp->status == DT_OP_STATUS_FAILED && !comp->location && !known) {
    fail_op(c, comp, "record");
    return;
  }
  c->result.reason = reason;
  c->result.completion_reason = xstrdup_or_null(comp->completion_reason);
  c->result.location = xstrdup_or_null(comp->location);
  dt_calls_t *r = c->reg;
  if (comp->location && r->recordings_dir && r->o.recstore) {
    int rc;
    if (recording_submit(c, comp, reason, true, &rc)) {
      c->stage = R_DOWNLOADING;
      arm(c, op_timeout(c));
      return;
    }
    wait_fail(c, DT_EIO, "recordingStore", "the recording could not be handed to the store: %s", dt_strerror(rc));
    return;
  }
  wait_finish(c, 0);
}

int dt_call_transfer(dt_call_t *c, const dt_invitation_t *target, const dt_identity_t *transferee) {
  int rc = guard(c);
  if (rc) return rc;
  wait_begin(c, DT_WAIT_TRANSFER);
  free(c->transfer_target);
  c->transfer_target = invitation_text(&target->identity);
  dt_op_t *op = main_op(c);
  rc = dt_graph_transfer(c->reg->o.graph, c->id, target, transferee, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

static void log_transfer(dt_call_t *c, const char *result) {
  dt_buf_t *b = &c->log.transfers;
  if (b->len > 8192) return;
  if (b->len) dt_buf_append(b, ",", 1);
  dt_buf_append(b, "{\"target\":", 10);
  dt_cdr_json_string(b, c->transfer_target ? c->transfer_target : "");
  dt_buf_append(b, ",\"result\":", 10);
  dt_cdr_json_string(b, result);
  dt_buf_append(b, "}", 1);
}

static void transfer_success(dt_call_t *c) {
  c->flags |= DT_CALLF_ENDED;
  if (!c->outcome) c->outcome = DT_OUTCOME_TRANSFERRED;
  log_transfer(c, "transferred");
  c->result.reason = "transferred";
  wait_finish(c, 0);
}

int dt_call_invite(dt_call_t *c, const dt_invitation_t *parts, size_t n) {
  int rc = guard(c);
  if (rc) return rc;
  if (n == 0) return DT_EINVAL;
  wait_begin(c, DT_WAIT_INVITE);
  dt_op_t *op = main_op(c);
  rc = dt_graph_invite(c->reg->o.graph, c->id, parts, n, NULL, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

int dt_call_participants(dt_call_t *c) {
  int rc = guard(c);
  if (rc) return rc;
  wait_begin(c, DT_WAIT_PARTICIPANTS);
  dt_op_t *op = main_op(c);
  rc = dt_graph_list_participants(c->reg->o.graph, c->id, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

int dt_call_action(dt_call_t *c, dt_action_t action, const char *arg) {
  int rc = guard(c);
  if (rc) return rc;
  dt_graph_t *g = c->reg->o.graph;
  wait_begin(c, DT_WAIT_ACTION);
  dt_op_t *op = main_op(c);
  switch (action) {
  case DT_ACTION_MUTE: rc = dt_graph_mute(g, c->id, NULL, graph_cb, op, &op->req); break;
  case DT_ACTION_UNMUTE: rc = dt_graph_unmute(g, c->id, NULL, graph_cb, op, &op->req); break;
  case DT_ACTION_MUTE_ALL: rc = dt_graph_mute_all(g, c->id, NULL, graph_cb, op, &op->req); break;
  case DT_ACTION_SCREEN_SHARING:
    rc = dt_graph_change_screen_sharing_role(g, c->id, arg, graph_cb, op, &op->req);
    break;
  case DT_ACTION_UPDATE_METADATA:
    rc = dt_graph_update_metadata(g, c->id, arg, NULL, graph_cb, op, &op->req);
    break;
  case DT_ACTION_SEND_DTMF: rc = dt_graph_send_dtmf(g, c->id, arg, 0, NULL, graph_cb, op, &op->req); break;
  case DT_ACTION_CANCEL_MEDIA: rc = dt_graph_cancel_media(g, c->id, NULL, graph_cb, op, &op->req); break;
  default: rc = DT_EINVAL;
  }
  return started(c, op, rc, op_timeout(c));
}

int dt_call_sleep(dt_call_t *c, uint64_t ms) {
  int rc = guard(c);
  if (rc) return rc;
  wait_begin(c, DT_WAIT_SLEEP);
  arm(c, ms);
  return 0;
}

int dt_call_hangup(dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return DT_ESTATE;
  if (dt_call_is_gone(c)) { /* already over: nothing to send */
    result_clear(&c->result);
    c->result.reason = "completed";
    return 1;
  }
  int rc = guard(c);
  if (rc) return rc;
  wait_begin(c, DT_WAIT_HANGUP);
  dt_op_t *op = main_op(c);
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(c->reg->o.graph, c->id, "none", NULL, graph_cb, op, &op->req);
  else
    rc = dt_graph_delete_call(c->reg->o.graph, c->id, graph_cb, op, &op->req);
  return started(c, op, rc, op_timeout(c));
}

int dt_call_hangup_async(dt_call_t *c) {
  if (dt_call_is_gone(c) || (c->flags & DT_CALLF_DELETING)) return 0;
  dt_op_t *op = op_new(c, ROLE_FIRE);
  int rc;
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(c->reg->o.graph, c->id, "none", NULL, graph_cb, op, &op->req);
  else
    rc = dt_graph_delete_call(c->reg->o.graph, c->id, graph_cb, op, &op->req);
  if (rc < 0) {
    op_free(op);
    return rc;
  }
  c->flags |= DT_CALLF_ENDED | DT_CALLF_DELETING;
  return 0;
}

int dt_call_dial(dt_call_t *c, const dt_graph_create_params_t *p, const char *flow, const char *to_text) {
  int rc = guard(c);
  if (rc) return rc;
  if (!flow || !flow[0]) return DT_EINVAL;
  dt_calls_t *r = c->reg;
  if (r->draining || r->closing) return DT_ESTATE;
  wait_begin(c, DT_WAIT_DIAL);
  dt_graph_create_params_t q = *p;
  q.callback_uri = r->callback_uri;
  dt_op_t *op = main_op(c);
  op->aux = dt_xstrdup(flow);
  op->aux2 = xstrdup_or_null(to_text);
  rc = dt_graph_create_call(r->o.graph, &q, graph_cb, op, &op->req);
  if (rc == 0) {
    r->dials++;
    op->orphan = false;
  }
  return started(c, op, rc, op_timeout(c));
}

/* ---------------------------------------------------------------- responses */

static bool res_ok(const dt_graph_result_t *res) {
  return res->error == 0 && res->status >= 200 && res->status < 300;
}

static const char *wait_what(const dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_ANSWER: return c->stage == 2 ? "subscribeToTone" : "answer";
  case DT_WAIT_PLAY:
  case DT_WAIT_GATHER: return "playPrompt";
  case DT_WAIT_RECORD: return "record";
  case DT_WAIT_PARTICIPANTS: return "list participants";
  case DT_WAIT_HANGUP: return "hang up";
  case DT_WAIT_DIAL: return "create call";
  default: return dt_wait_kind_name((dt_wait_kind_t)c->wait);
  }
}

/* A request finished with no operation to wait for (202/204, or 200 without one). */
static void accepted(dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (c->stage == 0) answered(c);
    else {
      c->flags |= DT_CALLF_SUBSCRIBED;
      c->result.reason = "established";
      wait_finish(c, 0);
    }
    return;
  case DT_WAIT_REJECT:
    c->flags |= DT_CALLF_ENDED;
    if (!c->outcome) c->outcome = DT_OUTCOME_REJECTED;
    c->result.reason = "rejected";
    wait_finish(c, 0);
    return;
  case DT_WAIT_REDIRECT:
    c->flags |= DT_CALLF_ENDED;
    if (!c->outcome) c->outcome = DT_OUTCOME_REDIRECTED;
    log_transfer(c, "redirected");
    c->result.reason = "redirected";
    wait_finish(c, 0);
    return;
  case DT_WAIT_PLAY:
    c->result.reason = c->w.cancel ? "barged" : "completed";
    wait_finish(c, 0);
    return;
  case DT_WAIT_GATHER: gather_prompt_done(c, NULL); return;
  case DT_WAIT_RECORD:
    wait_fail(c, DT_EGRAPH, "noOperation", "record returned no operation to wait for");
    return;
  case DT_WAIT_TRANSFER:
    c->stage = 1; /* the outcome comes as call state notifications */
    return;
  case DT_WAIT_HANGUP:
    c->flags |= DT_CALLF_ENDED;
    c->result.reason = "completed";
    wait_finish(c, 0);
    return;
  default:
    c->result.reason = "completed";
    wait_finish(c, 0);
    return;
  }
}

/* Graph says the operation is running; its completion will be a notification. */
static void op_running(dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_PLAY:
    if (c->stage == P_SENT) c->stage = P_RUNNING;
    if (c->w.cancel == 1) {
      send_cancel(c);
      c->stage = P_CANCELLING;
    }
    break;
  case DT_WAIT_GATHER:
    if (c->stage == G_PROMPT_SENT) c->stage = G_PROMPT_RUNNING;
    else if (c->stage == G_COLLECT && c->w.cancel == 1) send_cancel(c);
    break;
  case DT_WAIT_RECORD: c->stage = R_RUNNING; break;
  default: break;
  }
}

static void play_done(dt_call_t *c, const completion_t *comp) {
  if (c->w.cancel == 2) return; /* barging: the cancel's answer ends the play */
  if (comp->status == DT_OP_STATUS_FAILED) {
    if (is_cancelled(comp)) {
      c->result.reason = c->w.cancel ? "barged" : "cancelled";
      wait_finish(c, 0);
    } else {
      fail_op(c, comp, "playPrompt");
    }
    return;
  }
  c->result.reason = "completed";
  wait_finish(c, 0);
}

/* The current wait's operation finished (op is freed here). */
static void op_completed(dt_call_t *c, dt_op_t *op, completion_t *comp) {
  op_free(op);
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (comp->status == DT_OP_STATUS_FAILED) {
      fail_op(c, comp, wait_what(c));
    } else if (c->stage == 0) {
      answered(c);
    } else {
      c->flags |= DT_CALLF_SUBSCRIBED;
      c->result.reason = "established";
      wait_finish(c, 0);
    }
    return;
  case DT_WAIT_PLAY: play_done(c, comp); return;
  case DT_WAIT_GATHER: gather_prompt_done(c, comp); return;
  case DT_WAIT_RECORD: record_done(c, comp); return;
  case DT_WAIT_TRANSFER:
    if (comp->status == DT_OP_STATUS_FAILED) {
      log_transfer(c, "failed");
      fail_op(c, comp, "transfer");
    } else {
      c->stage = 1;
    }
    return;
  default:
    if (comp->status == DT_OP_STATUS_FAILED) {
      fail_op(c, comp, wait_what(c));
      return;
    }
    c->result.reason = "completed";
    wait_finish(c, 0);
    return;
  }
}

static cJSON *participants_json(const cJSON *body) {
  cJSON *out = cJSON_CreateArray();
  const cJSON *value = cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "value") : NULL;
  const cJSON *p;
  cJSON_ArrayForEach(p, value) {
    if (!cJSON_IsObject(p)) continue;
    cJSON *o = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    if (cJSON_IsString(id)) cJSON_AddStringToObject(o, "id", id->valuestring);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "info");
    const cJSON *set = cJSON_IsObject(info) ? cJSON_GetObjectItemCaseSensitive(info, "identity") : NULL;
    for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS); i++) {
      const cJSON *ident = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
      if (!cJSON_IsObject(ident)) continue;
      const cJSON *iid = cJSON_GetObjectItemCaseSensitive(ident, "id");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(ident, "displayName");
      cJSON_AddStringToObject(o, ID_KINDS[i], cJSON_IsString(iid) ? iid->valuestring : "");
      if (cJSON_IsString(name)) cJSON_AddStringToObject(o, "name", name->valuestring);
      break;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "isMuted");
    cJSON_AddBoolToObject(o, "muted", cJSON_IsTrue(m));
    m = cJSON_GetObjectItemCaseSensitive(p, "isInLobby");
    cJSON_AddBoolToObject(o, "in_lobby", cJSON_IsTrue(m));
    cJSON_AddItemToArray(out, o);
  }
  return out;
}

static void limbo_replay(dt_calls_t *r, dt_call_t *c);
static dt_call_t *outbound_new(dt_calls_t *r, const char *id, char **flow, char **to);

static void dial_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  dt_calls_t *r = c->reg;
  r->last_dial_ms = dt_now_ms();
  if (!res_ok(res) || !res->call_id) {
    op_free(op);
    if (res_ok(res)) wait_fail(c, DT_EGRAPH, "noCallId", "create call returned no call id");
    else fail_graph(c, res, "create call");
    return;
  }
  dt_call_t *nc = outbound_new(r, res->call_id, &op->aux, &op->aux2);
  op_free(op);
  nc->dialed_by = dt_xstrdup(c->id);
  c->result.new_call = nc;
  c->result.reason = "created";
  wait_finish(c, 0);
  if (!(nc->flags & DT_CALLF_RELEASED)) limbo_replay(r, nc);
}

static void main_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  if (c->wait == DT_WAIT_DIAL) {
    dial_response(c, op, res);
    return;
  }
  if (!res_ok(res)) {
    op_free(op);
    if (c->wait == DT_WAIT_HANGUP && res->status == 404) { /* already gone */
      c->flags |= DT_CALLF_ENDED;
      c->result.reason = "completed";
      wait_finish(c, 0);
      return;
    }
    if (res->status == 404 && c->wait != DT_WAIT_DIAL) {
      /* the call ended under the request (its termination notification is on its way or
         lost): that is a hangup, not a Graph failure */
      dt_log(DT_LOG_INFO, c->id, "%s: the call is gone (404); treating it as a hangup", wait_what(c));
      c->flags |= DT_CALLF_TERMINATED;
      c->state = DT_CALL_STATE_TERMINATED;
      if (!c->end_ms) c->end_ms = dt_clock_unix_ms();
      wait_fail(c, DT_EHANGUP, "hangup", "the call has ended");
      return;
    }
    if (c->wait == DT_WAIT_GATHER && c->stage == G_COLLECT) { /* the prompt no longer matters */
      gather_prompt_done(c, NULL);
      return;
    }
    if (c->wait == DT_WAIT_TRANSFER) log_transfer(c, "failed");
    fail_graph(c, res, wait_what(c));
    return;
  }
  if (c->wait == DT_WAIT_PARTICIPANTS) {
    op_free(op);
    c->result.json = participants_json(res->body);
    c->result.reason = "completed";
    wait_finish(c, 0);
    return;
  }
  /* An operation still running completes by notification. A 202 with only a Location
     (no operation body, e.g. updateMetadata) says the action was accepted: only media
     and invite operations are waited for then. */
  bool media = c->wait == DT_WAIT_PLAY || c->wait == DT_WAIT_GATHER || c->wait == DT_WAIT_RECORD ||
               c->wait == DT_WAIT_INVITE;
  bool running = res->op_status == DT_OP_STATUS_RUNNING || res->op_status == DT_OP_STATUS_NOT_STARTED ||
                 (res->op_status == DT_OP_STATUS_UNKNOWN && media);
  if (res->op_id && running) {
    size_t n = strlen(res->op_id);
    op->graph_id = dt_xstrdup(res->op_id);
    op->key = dt_xmalloc(n + 1);
    dt_graph_id_key(res->op_id, op->key);
    completion_t comp;
    if (early_take(c, op->key, &comp)) {
      op_completed(c, op, &comp);
      completion_free(&comp);
      return;
    }
    op_running(c);
    return;
  }
  if (res->op_status == DT_OP_STATUS_COMPLETED || res->op_status == DT_OP_STATUS_FAILED) {
    completion_t comp;
    completion_from_json(res->body, &comp);
    if (comp.status == DT_OP_STATUS_UNKNOWN) comp.status = res->op_status;
    op_completed(c, op, &comp);
    completion_free(&comp);
    return;
  }
  op_free(op);
  accepted(c);
}

/* A response for a wait that is over (hangup, deadline): remember a running operation so
   its completion is dropped; hang up a call created for a dial nobody waits for. */
static void stale_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  if (op->aux && op->role == ROLE_MAIN && res_ok(res) && res->call_id) {
    dt_call_t *nc = outbound_new(c->reg, res->call_id, &op->aux, &op->aux2);
    op_free(op);
    dt_call_flow_done(nc, DT_OUTCOME_UNANSWERED, "the dialing flow ended before the call was created", NULL);
    return;
  }
  if (res_ok(res) && res->op_id && res->op_status != DT_OP_STATUS_COMPLETED &&
      res->op_status != DT_OP_STATUS_FAILED) {
    size_t n = strlen(res->op_id);
    op->key = dt_xmalloc(n + 1);
    dt_graph_id_key(res->op_id, op->key);
    completion_t comp;
    if (early_take(c, op->key, &comp)) {
      completion_free(&comp);
      op_free(op);
      return;
    }
    op->orphan = true;
    return;
  }
  op_free(op);
}

static void graph_cb(const dt_graph_result_t *res, void *ud) {
  dt_op_t *op = ud;
  dt_call_t *c = op->call;
  if (dt_log_get_level() <= DT_LOG_DEBUG)
    dt_log(DT_LOG_DEBUG, c->id, "response %d (role %d, op %s %s) waiting %s stage %u%s", res->status, op->role,
           res->op_id ? res->op_id : "-", dt_op_status_name(res->op_status),
           dt_wait_kind_name((dt_wait_kind_t)c->wait), c->stage, op->gen == c->gen ? "" : " (stale)");
  if (op->role == ROLE_MAIN && op->aux) c->reg->dials--;
  op->req = NULL;
  bool current = op->gen == c->gen && c->wait != DT_WAIT_NONE;
  switch (op->role) {
  case ROLE_MAIN:
    if (!current) stale_response(c, op, res);
    else main_response(c, op, res);
    return;
  case ROLE_CANCEL:
    op_free(op);
    if (!current) return;
    c->w.cancel = 3;
    if (c->wait == DT_WAIT_PLAY) {
      c->result.reason = "barged";
      wait_finish(c, 0);
    } else if (c->wait == DT_WAIT_GATHER && c->w.done_reason) {
      gather_finish(c, true);
    }
    return;
  case ROLE_POLL: {
    char *mkey = op->aux;
    op->aux = NULL;
    op_free(op);
    if (!current) {
      free(mkey);
      return;
    }
    dt_op_t *mainop = mkey ? op_find_key(c, mkey) : NULL;
    free(mkey);
    completion_t comp;
    completion_from_json(res_ok(res) ? res->body : NULL, &comp);
    if (mainop && (comp.status == DT_OP_STATUS_COMPLETED || comp.status == DT_OP_STATUS_FAILED)) {
      op_completed(c, mainop, &comp);
      completion_free(&comp);
      return;
    }
    completion_free(&comp);
    wait_fail(c, DT_ETIMEDOUT, "timeout", "%s: the operation did not complete within %u s", wait_what(c),
              op_timeout(c) / 1000);
    return;
  }
  case ROLE_DELETE:
    op_free(op);
    if (!res_ok(res)) { /* gone already (404) or refused: nothing more will come */
      c->flags |= DT_CALLF_TERMINATED;
      call_finalize(c);
      return;
    }
    c->stage = WD_AWAIT_END;
    return;
  case ROLE_ERRPROMPT:
    if (res_ok(res) && res->op_id && res->op_status != DT_OP_STATUS_COMPLETED &&
        res->op_status != DT_OP_STATUS_FAILED) {
      size_t n = strlen(res->op_id);
      op->key = dt_xmalloc(n + 1);
      dt_graph_id_key(res->op_id, op->key);
      completion_t comp;
      if (!early_take(c, op->key, &comp)) return; /* wait for its completion */
      completion_free(&comp);
    }
    op_free(op);
    if (c->stage == WD_PROMPT) send_end(c);
    return;
  case ROLE_AUTOSUB:
    op_free(op);
    if (res_ok(res)) c->flags |= DT_CALLF_SUBSCRIBED;
    else dt_log(DT_LOG_WARN, c->id, "subscribeToTone failed (HTTP %d); the flow will get no digits", res->status);
    start_flow(c);
    return;
  default: op_free(op); return;
  }
}

/* ---------------------------------------------------------------- timers */

static void deadline(dt_call_t *c) {
  dt_op_t *op = op_main_with_key(c);
  if (op && op->graph_id && !c->w.polling) {
    c->w.polling = 1;
    dt_op_t *p = op_new(c, ROLE_POLL);
    p->aux = dt_xstrdup(op->key);
    if (dt_graph_get_operation(c->reg->o.graph, c->id, op->graph_id, graph_cb, p, &p->req) == 0) {
      arm(c, op_timeout(c) / 4 + 1000);
      return;
    }
    op_free(p);
  }
  wait_fail(c, DT_ETIMEDOUT, "timeout", "%s did not finish within its deadline", wait_what(c));
}

static void on_timer(uv_timer_t *t) {
  dt_call_t *c = t->data;
  if (c->flags & DT_CALLF_RELEASED) return;
  if (c->wait == DT_WAIT_NONE) {
    if (!(c->flags & DT_CALLF_FLOW_DONE)) return;
    if (c->stage == WD_PROMPT) {
      send_end(c);
    } else {
      dt_log(DT_LOG_WARN, c->id, "no termination notification after hang-up; ending the call record");
      c->flags |= DT_CALLF_TERMINATED;
      call_finalize(c);
    }
    return;
  }
  switch (c->wait) {
  case DT_WAIT_SLEEP:
    c->result.reason = "completed";
    wait_finish(c, 0);
    return;
  case DT_WAIT_GATHER:
    if (c->stage == G_COLLECT) {
      gather_timeout(c);
      return;
    }
    break;
  case DT_WAIT_RECORD:
    if (c->stage == R_DOWNLOADING) {
      wait_fail(c, DT_ETIMEDOUT, "timeout",
                "the recording download did not finish in time (it goes on in the background: the file "
                "and its sidecar will be written under %s)", c->reg->recordings_dir);
      return;
    }
    break;
  default: break;
  }
  deadline(c);
}

/* ---------------------------------------------------------------- notifications */

static void on_state(dt_call_t *c, dt_event_t *ev) {
  dt_call_state_t s = ev->state;
  if (s == DT_CALL_STATE_ESTABLISHED && !(c->flags & DT_CALLF_ESTABLISHED)) {
    c->flags |= DT_CALLF_ESTABLISHED;
    if (!c->answer_ms) c->answer_ms = dt_clock_unix_ms();
  }
  /* establishing after established is the documented reordering, not a regression */
  if (s != DT_CALL_STATE_UNKNOWN && !(s == DT_CALL_STATE_ESTABLISHING && (c->flags & DT_CALLF_ESTABLISHED)))
    c->state = s;
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (c->stage == 1 && (c->flags & DT_CALLF_ESTABLISHED)) answer_subscribe(c);
    return;
  case DT_WAIT_TRANSFER:
    if (s == DT_CALL_STATE_TRANSFER_ACCEPTED) {
      transfer_success(c);
    } else if (s == DT_CALL_STATE_ESTABLISHED && ev->result.present && ev->result.code >= 400) {
      c->result.code = ev->result.code;
      c->result.subcode = ev->result.subcode;
      log_transfer(c, "failed");
      wait_fail(c, DT_EGRAPH, "transferFailed", "transfer failed: %s (code %d, subcode %d)",
                ev->result.message ? ev->result.message : "no message", ev->result.code, ev->result.subcode);
    }
    return;
  default: break;
  }
  if (c->direction == DT_CALL_OUTGOING && !(c->flags & (DT_CALLF_STARTED | DT_CALLF_FLOW_DONE)) &&
      (c->flags & DT_CALLF_ESTABLISHED)) {
    c->flags |= DT_CALLF_STARTED;
    dt_op_t *op = op_new(c, ROLE_AUTOSUB);
    if (dt_graph_subscribe_to_tone(c->reg->o.graph, c->id, NULL, graph_cb, op, &op->req) < 0) {
      op_free(op);
      start_flow(c);
    }
  }
}

static void on_tone(dt_call_t *c, dt_event_t *ev) {
  if (ev->tone == 0) return;
  if (c->wait == DT_WAIT_RECORD && c->w.stop_tones[0] && strchr(c->w.stop_tones, ev->tone)) {
    dt_call_tone_push(c, ev->tone_sequence_id, 0); /* the recording consumed it */
    return;
  }
  if (!dt_call_tone_push(c, ev->tone_sequence_id, ev->tone)) {
    if (c->reg->o.metrics) dt_metrics_inc(c->reg->o.metrics, "dt_tones_duplicate_total", NULL);
    return;
  }
  switch (c->wait) {
  case DT_WAIT_PLAY:
    if (!c->w.barge_in || c->w.cancel) return;
    if (c->stage == P_RUNNING) {
      send_cancel(c);
      c->stage = P_CANCELLING;
      if (c->w.cancel == 3) { /* could not send the cancel: report the barge-in anyway */
        c->result.reason = "barged";
        wait_finish(c, 0);
      }
    } else {
      c->w.cancel = 1;
    }
    return;
  case DT_WAIT_GATHER: gather_check(c, true); return;
  default: return;
  }
}

static void on_operation(dt_call_t *c, dt_event_t *ev) {
  if (ev->op_status != DT_OP_STATUS_COMPLETED && ev->op_status != DT_OP_STATUS_FAILED) return;
  if (!ev->op_id || strlen(ev->op_id) >= KEY_MAX) return;
  char key[KEY_MAX];
  dt_graph_id_key(ev->op_id, key);
  completion_t comp;
  completion_from_event(ev, &comp);
  dt_op_t *op = op_find_key(c, key);
  if (!op) {
    early_add(c, key, &comp);
    completion_free(&comp);
    return;
  }
  if (op->orphan) {
    op_free(op);
    recording_orphan(c, &comp);
  } else if (op->role == ROLE_ERRPROMPT) {
    op_free(op);
    if (c->stage == WD_PROMPT && c->wait == DT_WAIT_NONE) send_end(c);
  } else if (op->role == ROLE_MAIN && op->gen == c->gen && c->wait != DT_WAIT_NONE) {
    op_completed(c, op, &comp);
  } else {
    op_free(op);
  }
  completion_free(&comp);
}

static void on_terminated(dt_call_t *c, dt_event_t *ev) {
  if (c->flags & DT_CALLF_TERMINATED) return;
  c->flags |= DT_CALLF_TERMINATED;
  c->state = DT_CALL_STATE_TERMINATED;
  c->end_ms = dt_clock_unix_ms();
  if (ev->result.present) {
    c->end_code = ev->result.code;
    c->end_subcode = ev->result.subcode;
    c->end_message = xstrdup_or_null(ev->result.message);
  } else if (ev->termination_reason) {
    c->end_message = dt_xstrdup(ev->termination_reason);
  }
  if (c->wait != DT_WAIT_NONE) {
    switch (c->wait) {
    case DT_WAIT_REJECT:
    case DT_WAIT_REDIRECT:
      accepted(c);
      return;
    case DT_WAIT_HANGUP:
      c->flags |= DT_CALLF_ENDED;
      c->result.reason = "completed";
      wait_finish(c, 0);
      return;
    case DT_WAIT_TRANSFER:
      /* Only Graph's "transfer completed" (7015) ends the call as transferred. stage 1 means
         no more than that Graph accepted the request: the target may still be ringing, and
         a caller who hangs up then was not transferred (transferAccepted, had it come, has
         already finished this wait). */
      if (ev->result.present && ev->result.subcode == 7015) {
        transfer_success(c);
        return;
      }
      log_transfer(c, "hangup");
      break;
    default: break;
    }
    wait_fail(c, DT_EHANGUP, "hangup", "the call has ended");
    return;
  }
  if (c->flags & DT_CALLF_FLOW_DONE) {
    call_finalize(c);
    return;
  }
  if (!(c->flags & DT_CALLF_FLOW)) { /* no flow ran (yet) */
    if (!c->outcome)
      c->outcome = (c->direction == DT_CALL_OUTGOING && !(c->flags & DT_CALLF_ESTABLISHED)) ? DT_OUTCOME_UNANSWERED
                                                                                            : DT_OUTCOME_HANGUP;
    call_finalize(c);
  }
  /* else: the flow runs now (its result is being delivered) and meets the hangup at its
     next primitive */
}

static void dispatch_one(dt_call_t *c, dt_event_t *ev) {
  if (c->flags & DT_CALLF_RELEASED) return;
  if (dt_log_get_level() <= DT_LOG_DEBUG)
    dt_log(DT_LOG_DEBUG, c->id, "event %s state %s op %s/%s tone %c seq %lld; waiting %s stage %u",
           dt_event_type_name(ev->type), dt_call_state_name(ev->state), ev->op_id ? ev->op_id : "-",
           dt_op_status_name(ev->op_status), ev->tone ? ev->tone : '-', (long long)ev->tone_sequence_id,
           dt_wait_kind_name((dt_wait_kind_t)c->wait), c->stage);
  switch (ev->type) {
  case DT_EVENT_CALL_STATE: on_state(c, ev); return;
  case DT_EVENT_TONE:
    if (ev->state == DT_CALL_STATE_ESTABLISHED && !(c->flags & DT_CALLF_ESTABLISHED)) on_state(c, ev);
    on_tone(c, ev);
    return;
  case DT_EVENT_OPERATION: on_operation(c, ev); return;
  case DT_EVENT_CALL_TERMINATED: on_terminated(c, ev); return;
  default: return;
  }
}

static char *pin_take(dt_calls_t *r, const char *key);

static void incoming(dt_calls_t *r, dt_event_t *ev, const char *key) {
  if (reg_find(r, key) || tomb_has(r, key)) return; /* a duplicate "created" */
  dt_call_t *c = call_new(r, ev->call_id, DT_CALL_INCOMING);
  c->state = DT_CALL_STATE_INCOMING;
  const cJSON *rd = ev->resource_data;
  const char *ids[16];
  size_t nids = 0;
  if (cJSON_IsObject(rd)) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(rd, "source");
    if (cJSON_IsObject(src)) c->from = identity_text(cJSON_GetObjectItemCaseSensitive(src, "identity"));
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(rd, "targets");
    const cJSON *t;
    cJSON_ArrayForEach(t, targets) {
      const cJSON *set = cJSON_GetObjectItemCaseSensitive(t, "identity");
      if (!c->to) c->to = identity_text(set);
      for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS) && nids < DT_ARRAY_SIZE(ids); i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
        const cJSON *id = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "id") : NULL;
        if (cJSON_IsString(id)) ids[nids++] = id->valuestring;
      }
    }
  }
  char *pinned = pin_take(r, key);
  c->flow = pinned ? pinned : dt_xstrdup(dt_calls_route(r, ids, nids));
  dt_log(DT_LOG_INFO, c->id, "incoming call from %s to %s: flow %s", c->from ? c->from : "?",
         c->to ? c->to : "?", c->flow);
  if (r->draining || r->closing || (r->o.max_calls && r->count > r->o.max_calls)) {
    c->flags |= DT_CALLF_STARTED;
    c->outcome = DT_OUTCOME_REJECTED;
    dt_call_flow_done(c, DT_OUTCOME_REJECTED, r->draining || r->closing ? "draining" : "too many calls", NULL);
    return;
  }
  start_flow(c);
}

/* Takes over *flow and *to. */
static dt_call_t *outbound_new(dt_calls_t *r, const char *id, char **flow, char **to) {
  dt_call_t *nc = call_new(r, id, DT_CALL_OUTGOING);
  nc->state = DT_CALL_STATE_ESTABLISHING;
  nc->flow = *flow;
  *flow = NULL;
  nc->to = *to;
  *to = NULL;
  dt_log(DT_LOG_INFO, nc->id, "outbound call to %s created: flow %s", nc->to ? nc->to : "?",
         nc->flow ? nc->flow : "?");
  return nc;
}

static void limbo_free(limbo_t *l) {
  free(l->key);
  dt_event_list_t tmp = {dt_xmalloc(sizeof l->ev), 1};
  tmp.events[0] = l->ev;
  dt_event_list_free(&tmp);
  free(l);
}

/* Notifications for a call not known yet, kept in arrival order (so expired ones are at
   the head) while an outbound call is being created. */
static void limbo_add(dt_calls_t *r, dt_event_t *ev, const char *key) {
  uint64_t now = dt_now_ms();
  while (r->limbo && now - r->limbo->at > LIMBO_TTL_MS) {
    limbo_t *l = r->limbo;
    r->limbo = l->next;
    limbo_free(l);
    r->nlimbo--;
  }
  if (!r->limbo) r->limbo_tail = NULL;
  if (r->nlimbo >= LIMBO_MAX) return;
  limbo_t *l = dt_xcalloc(1, sizeof *l);
  l->at = now;
  l->key = dt_xstrdup(key);
  l->ev = *ev;
  memset(ev, 0, sizeof *ev); /* taken over */
  if (r->limbo_tail) r->limbo_tail->next = l;
  else r->limbo = l;
  r->limbo_tail = l;
  r->nlimbo++;
}

static void limbo_replay(dt_calls_t *r, dt_call_t *c) {
  /* take this call's events out first: dispatching them may add to the list */
  limbo_t *mine = NULL, **tail = &mine, **pp = &r->limbo, *last = NULL;
  while (*pp) {
    limbo_t *l = *pp;
    if (strcmp(l->key, c->key) != 0) {
      last = l;
      pp = &l->next;
      continue;
    }
    *pp = l->next;
    r->nlimbo--;
    l->next = NULL;
    *tail = l;
    tail = &l->next;
  }
  r->limbo_tail = last;
  while (mine) {
    limbo_t *l = mine;
    mine = l->next;
    if (!(c->flags & DT_CALLF_RELEASED)) dispatch_one(c, &l->ev);
    limbo_free(l);
  }
}

void dt_calls_dispatch(dt_calls_t *r, dt_event_list_t *list) {
  char key[KEY_MAX];
  for (size_t i = 0; i < list->count; i++) {
    dt_event_t *ev = &list->events[i];
    if (!ev->call_id || strlen(ev->call_id) >= KEY_MAX) continue;
    dt_graph_id_key(ev->call_id, key);
    if (ev->type == DT_EVENT_CALL_INCOMING) {
      if (!r->closing) incoming(r, ev, key);
      continue;
    }
    dt_call_t *c = reg_find(r, key);
    if (c) {
      dispatch_one(c, ev);
      continue;
    }
    if (tomb_has(r, key)) continue;
    if (r->dials > 0 || (r->last_dial_ms && dt_now_ms() - r->last_dial_ms < LIMBO_WINDOW_MS)) {
      limbo_add(r, ev, key);
      continue;
    }
    if (r->o.metrics) dt_metrics_inc(r->o.metrics, "dt_notifications_unknown_call_total", NULL);
    dt_log(DT_LOG_DEBUG, ev->call_id, "notification (%s) for an unknown call ignored", dt_event_type_name(ev->type));
  }
}

/* ---------------------------------------------------------------- calls started from C */

int dt_calls_pin_flow(dt_calls_t *r, const char *call_id, const char *flow) {
  if (!call_id || !call_id[0] || strlen(call_id) >= KEY_MAX || !flow || !flow[0]) return DT_EINVAL;
  if (r->closing) return DT_ECLOSED;
  if (r->npins >= PIN_MAX) return DT_EBUSY;
  pin_t *p = dt_xcalloc(1, sizeof *p);
  p->key = dt_xmalloc(strlen(call_id) + 1);
  dt_graph_id_key(call_id, p->key);
  p->flow = dt_xstrdup(flow);
  p->next = r->pins;
  r->pins = p;
  r->npins++;
  return 0;
}

/* The flow pinned for this incoming call (the caller owns it), or NULL. */
static char *pin_take(dt_calls_t *r, const char *key) {
  for (pin_t **pp = &r->pins; *pp; pp = &(*pp)->next) {
    pin_t *p = *pp;
    if (strcmp(p->key, key) != 0) continue;
    *pp = p->next;
    r->npins--;
    char *flow = p->flow;
    free(p->key);
    free(p);
    return flow;
  }
  return NULL;
}

static void bare_dial_free(bare_dial_t *d) {
  dt_calls_t *r = d->reg;
  for (bare_dial_t **pp = &r->bare_dials; *pp; pp = &(*pp)->next)
    if (*pp == d) {
      *pp = d->next;
      break;
    }
  r->dials--;
  free(d->flow);
  free(d->to);
  free(d);
}

static void bare_dial_cb(const dt_graph_result_t *res, void *ud) {
  bare_dial_t *d = ud;
  dt_calls_t *r = d->reg;
  d->req = NULL;
  r->last_dial_ms = dt_now_ms();
  if (!res_ok(res) || !res->call_id) {
    dt_log(DT_LOG_WARN, NULL, "dial to %s (flow %s): create call failed: %d %s", d->to ? d->to : "?", d->flow,
           res->status, res->error_message && res->error_message[0] ? res->error_message : "no call id");
    bare_dial_free(d);
    return;
  }
  dt_call_t *nc = outbound_new(r, res->call_id, &d->flow, &d->to);
  bare_dial_free(d);
  if (!(nc->flags & DT_CALLF_RELEASED)) limbo_replay(r, nc);
}

int dt_calls_dial(dt_calls_t *r, const dt_graph_create_params_t *p, const char *flow, const char *to_text) {
  if (!p || !flow || !flow[0]) return DT_EINVAL;
  if (r->draining || r->closing) return DT_ESTATE;
  bare_dial_t *d = dt_xcalloc(1, sizeof *d);
  d->reg = r;
  d->flow = dt_xstrdup(flow);
  d->to = xstrdup_or_null(to_text);
  dt_graph_create_params_t q = *p;
  q.callback_uri = r->callback_uri;
  d->next = r->bare_dials;
  r->bare_dials = d;
  r->dials++;
  int rc = dt_graph_create_call(r->o.graph, &q, bare_dial_cb, d, &d->req);
  if (rc < 0) bare_dial_free(d);
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- registry life */

int dt_calls_new(const dt_calls_options_t *opts, dt_calls_t **out) {
  if (!opts->loop || !opts->graph || !opts->callback_uri || !opts->hooks.on_result) return DT_EINVAL;
  dt_calls_t *r = dt_xcalloc(1, sizeof *r);
  r->o = *opts;
  r->callback_uri = dt_xstrdup(opts->callback_uri);
  r->recordings_dir = xstrdup_or_null(opts->recordings_dir);
  r->default_flow = dt_xstrdup(opts->default_flow ? opts->default_flow : "main");
  if (!r->o.op_timeout_ms) r->o.op_timeout_ms = 60000;
  r->nroutes = opts->route_count;
  if (r->nroutes) {
    r->routes = dt_xcalloc(r->nroutes, sizeof *r->routes);
    for (size_t i = 0; i < r->nroutes; i++) {
      r->routes[i].match = dt_xstrdup(opts->routes[i].match ? opts->routes[i].match : "*");
      r->routes[i].flow = dt_xstrdup(opts->routes[i].flow ? opts->routes[i].flow : r->default_flow);
    }
  }
  r->o.routes = NULL;
  r->o.callback_uri = r->callback_uri;
  r->o.recordings_dir = r->recordings_dir;
  r->o.default_flow = r->default_flow;
  uv_timer_init(opts->loop, &r->close_timer);
  r->close_timer.data = r;
  if (r->o.metrics) {
    dt_metrics_describe(r->o.metrics, "dt_calls_active", "gauge", "Calls in the registry.");
    dt_metrics_describe(r->o.metrics, "dt_calls_total", "counter", "Calls ended, by direction and outcome.");
    dt_metrics_describe(r->o.metrics, "dt_tones_duplicate_total", "counter",
                        "Tone notifications dropped as duplicates (same sequence id).");
    dt_metrics_describe(r->o.metrics, "dt_tones_missing_total", "counter",
                        "Gathers that gave up waiting for a key with an earlier sequence id.");
    dt_metrics_describe(r->o.metrics, "dt_notifications_unknown_call_total", "counter",
                        "Notifications for calls the engine does not know (ignored).");
    dt_metrics_set(r->o.metrics, "dt_calls_active", NULL, 0);
  }
  *out = r;
  return 0;
}

static void reg_closed(uv_handle_t *h) {
  dt_calls_t *r = h->data;
  while (r->thead) tomb_pop(r);
  free(r->tbuckets);
  while (r->limbo) {
    limbo_t *l = r->limbo;
    r->limbo = l->next;
    limbo_free(l);
  }
  while (r->pins) free(pin_take(r, r->pins->key));
  for (size_t i = 0; i < r->nroutes; i++) {
    free((char *)r->routes[i].match);
    free((char *)r->routes[i].flow);
  }
  free(r->routes);
  free(r->buckets);
  free(r->callback_uri);
  free(r->recordings_dir);
  free(r->default_flow);
  void (*done)(void *) = r->close_done;
  void *ud = r->close_ud;
  free(r);
  if (done) done(ud);
}

void dt_calls_drain(dt_calls_t *r) { r->draining = true; }

static bool needs_drain_hangup(const dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return false;
  return !dt_call_is_gone(c) || c->wait != DT_WAIT_NONE;
}

void dt_calls_hangup_all(dt_calls_t *r) {
  r->draining = true;
  /* Failing a wait resumes its flow, which may end calls (and take them out of the list):
     start over from the head after each one rather than trust a saved next pointer.
     Each call is handled once (it is gone and not waiting afterwards). */
  for (;;) {
    dt_call_t *c = r->head;
    while (c && !needs_drain_hangup(c)) c = c->next;
    if (!c) return;
    if (!c->outcome) c->outcome = DT_OUTCOME_DRAINED;
    if (!dt_call_is_gone(c) && dt_call_hangup_async(c) < 0) {
      c->flags |= DT_CALLF_ENDED; /* nothing could be sent: do not try again */
      dt_log(DT_LOG_WARN, c->id, "drain: the hang-up could not be sent");
    }
    if (c->wait != DT_WAIT_NONE) wait_fail(c, DT_EHANGUP, "hangup", "the engine is shutting down");
  }
}

void dt_calls_close(dt_calls_t *r, void (*done)(void *ud), void *ud) {
  r->closing = true;
  r->draining = true;
  r->close_done = done;
  r->close_ud = ud;
  while (r->bare_dials) { /* the process is going away: nobody waits for these calls */
    dt_graph_req_cancel(r->bare_dials->req);
    bare_dial_free(r->bare_dials);
  }
  while (r->head) {
    dt_call_t *c = r->head;
    if (c->wait != DT_WAIT_NONE) wait_end_quiet(c);
    if (!c->outcome) c->outcome = DT_OUTCOME_DRAINED;
    if (!(c->flags & DT_CALLF_TERMINATED) && !(c->flags & DT_CALLF_ENDED)) dt_call_hangup_async(c);
    call_finalize(c); /* cancels what hangup_async sent: the process is going away */
  }
  if (r->unfreed == 0) uv_close((uv_handle_t *)&r->close_timer, reg_closed);
}

void dt_calls_render_json(dt_calls_t *r, dt_buf_t *b) {
  uint64_t now = dt_now_ms();
  dt_buf_append(b, "[", 1);
  for (dt_call_t *c = r->head; c; c = c->next) {
    if (c != r->head) dt_buf_append(b, ",", 1);
    dt_buf_append(b, "{\"id\":", 6);
    dt_cdr_json_string(b, c->id);
    dt_buf_append(b, ",\"direction\":", 13);
    dt_cdr_json_string(b, c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing");
    dt_buf_append(b, ",\"flow\":", 8);
    if (c->flow) dt_cdr_json_string(b, c->flow);
    else dt_buf_append(b, "null", 4);
    dt_buf_appendf(b, ",\"flow_version\":%u,\"state\":", c->flow_version);
    dt_cdr_json_string(b, dt_call_state_name(c->state));
    dt_buf_appendf(b, ",\"age_s\":%.3f,\"waiting\":", (double)(now - c->start_mono_ms) / 1000.0);
    if (c->wait != DT_WAIT_NONE) {
      dt_cdr_json_string(b, dt_wait_kind_name((dt_wait_kind_t)c->wait));
      dt_buf_appendf(b, ",\"waiting_s\":%.3f", (double)(now - c->wait_since_ms) / 1000.0);
    } else {
      dt_cdr_json_string(b, (c->flags & DT_CALLF_FLOW_DONE) ? "ending" : "running");
      dt_buf_append(b, ",\"waiting_s\":null", 17);
    }
    dt_buf_appendf(b, ",\"buffered_digits\":%u}", (unsigned)c->tone_len);
  }
  dt_buf_append(b, "]", 1);
}
