/*
 * notify.c — turns commsNotifications bodies into typed events (see dialtone/notify.h).
 *
 * Owns: the shape check of a notification body, the mapping from (changeType, resource
 * URL, resourceData) to dt_event_t, and the enum/name tables for call states, operation
 * statuses and tones.
 * Promises: never trusts the input (every string is bounded, every number range-checked
 * before conversion), accepts Graph's real-world spellings (PascalCase enums, legacy
 * `resource`, `subCode`, numbers sent as strings), and does the work in two passes over
 * the parsed tree so that all error paths run before anything is allocated. It runs for
 * every notification the engine receives (20,000+ a second), so each resourceData object
 * is walked once instead of looked up key by key, and resourceData is detached from the
 * parsed tree rather than copied.
 * Also owns cJSON's process-wide allocation hooks (installed before main) and the parse
 * arena they serve (dt_notify_parse_arena, see notify.h).
 */
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/notify.h"

/* ---- parse arena and cJSON's hooks ---- */

static _Thread_local dt_notify_arena_t *tl_arena; /* allocating from it (a parse runs) */
static _Thread_local uintptr_t tl_lo, tl_hi;      /* its memory: frees there are no-ops */

static void *arena_malloc(size_t n) {
  dt_notify_arena_t *a = tl_arena;
  if (a) {
    size_t need = (n + 15) & ~(size_t)15; /* malloc's alignment */
    if (need >= n && need <= a->cap - a->used) {
      void *p = a->base + a->used;
      a->used += need;
      return p;
    }
  }
  return malloc(n); /* a body bigger than the arena spills over; freed normally */
}

static void arena_free(void *p) {
  uintptr_t u = (uintptr_t)p;
  if (u >= tl_lo && u < tl_hi) return;
  free(p);
}

__attribute__((constructor)) static void install_cjson_hooks(void) {
  cJSON_Hooks h = {.malloc_fn = arena_malloc, .free_fn = arena_free};
  cJSON_InitHooks(&h);
}

int dt_notify_parse_arena(dt_notify_arena_t *a, const char *body, size_t len, dt_event_list_t *out,
                          char *err, size_t errlen) {
  if (!a->base) {
    a->base = dt_xmalloc(DT_NOTIFY_ARENA_BYTES);
    a->cap = DT_NOTIFY_ARENA_BYTES;
  }
  a->used = 0;
  tl_lo = (uintptr_t)a->base;
  tl_hi = tl_lo + a->cap;
  tl_arena = a;
  int rc = dt_notify_parse(body, len, out, err, errlen);
  tl_arena = NULL; /* the tree stays valid until dt_event_list_free */
  if (rc < 0) dt_notify_arena_reset(a);
  return rc;
}

void dt_notify_arena_reset(dt_notify_arena_t *a) {
  a->used = 0;
  tl_lo = tl_hi = 0;
}

/* ---- small ASCII helpers (locale-independent) ---- */

static inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Case-insensitive equality of s[0..n) with the NUL-terminated lower-case literal lit. */
static bool eqn_ci(const char *s, size_t n, const char *lit) {
  size_t i = 0;
  for (; i < n && lit[i]; i++)
    if (lower(s[i]) != lit[i]) return false;
  return i == n && lit[i] == '\0';
}

static bool eq_ci(const char *s, const char *lit) { return s && eqn_ci(s, strlen(s), lit); }

/* Copies at most max bytes of s, backing off so a UTF-8 sequence is never split.
   Empty or missing strings give NULL. */
static char *dup_bounded(const char *s, size_t len, size_t max) {
  if (s == NULL || len == 0) return NULL;
  if (len > max) {
    len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    if (len == 0) return NULL;
  }
  return dt_xstrndup(s, len);
}

static char *dup_str(const cJSON *item, size_t max) {
  if (!cJSON_IsString(item) || item->valuestring == NULL) return NULL;
  return dup_bounded(item->valuestring, strlen(item->valuestring), max);
}

/* Integers that Graph may send as a number or as a string ("0"). */
static bool json_int64(const cJSON *item, int64_t *out) {
  if (cJSON_IsNumber(item)) {
    double d = item->valuedouble;
    /* Range check before the conversion: out-of-range double -> integer is UB. */
    if (!isfinite(d) || d < -9.2e18 || d > 9.2e18) return false;
    *out = (int64_t)d;
    return true;
  }
  if (cJSON_IsString(item) && item->valuestring != NULL) {
    const char *s = item->valuestring;
    char *end;
    if (*s == '\0' || strlen(s) > 24) return false;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0') return false;
    *out = v;
    return true;
  }
  return false;
}

static int clamp_int(int64_t v) {
  if (v > INT_MAX) return INT_MAX;
  if (v < INT_MIN) return INT_MIN;
  return (int)v;
}

/* ---- name tables ---- */

static const char *const state_names[] = {
    [DT_CALL_STATE_UNKNOWN] = "unknown",
    [DT_CALL_STATE_INCOMING] = "incoming",
    [DT_CALL_STATE_ESTABLISHING] = "establishing",
    [DT_CALL_STATE_RINGING] = "ringing",
    [DT_CALL_STATE_ESTABLISHED] = "established",
    [DT_CALL_STATE_HOLD] = "hold",
    [DT_CALL_STATE_TRANSFERRING] = "transferring",
    [DT_CALL_STATE_TRANSFER_ACCEPTED] = "transferAccepted",
    [DT_CALL_STATE_REDIRECTING] = "redirecting",
    [DT_CALL_STATE_TERMINATING] = "terminating",
    [DT_CALL_STATE_TERMINATED] = "terminated",
};

const char *dt_call_state_name(dt_call_state_t s) {
  if ((unsigned)s >= DT_ARRAY_SIZE(state_names)) return "unknown";
  return state_names[s];
}

static dt_call_state_t state_from(const char *s, size_t n) {
  /* The lower-case forms of the table entries, compared case-insensitively. */
  static const char *const lc[] = {
      NULL, "incoming", "establishing", "ringing", "established", "hold", "transferring",
      "transferaccepted", "redirecting", "terminating", "terminated",
  };
  for (size_t i = 1; i < DT_ARRAY_SIZE(lc); i++)
    if (eqn_ci(s, n, lc[i])) return (dt_call_state_t)i;
  return DT_CALL_STATE_UNKNOWN;
}

dt_call_state_t dt_call_state_from_name(const char *s) {
  return s ? state_from(s, strlen(s)) : DT_CALL_STATE_UNKNOWN;
}

static const char *const op_status_names[] = {
    [DT_OP_STATUS_UNKNOWN] = "unknown", [DT_OP_STATUS_NOT_STARTED] = "notStarted",
    [DT_OP_STATUS_RUNNING] = "running", [DT_OP_STATUS_COMPLETED] = "completed",
    [DT_OP_STATUS_FAILED] = "failed",
};

const char *dt_op_status_name(dt_op_status_t s) {
  if ((unsigned)s >= DT_ARRAY_SIZE(op_status_names)) return "unknown";
  return op_status_names[s];
}

dt_op_status_t dt_op_status_from_name(const char *s) {
  if (s == NULL) return DT_OP_STATUS_UNKNOWN;
  if (eq_ci(s, "completed")) return DT_OP_STATUS_COMPLETED;
  if (eq_ci(s, "running")) return DT_OP_STATUS_RUNNING;
  if (eq_ci(s, "failed")) return DT_OP_STATUS_FAILED;
  if (eq_ci(s, "notstarted")) return DT_OP_STATUS_NOT_STARTED;
  return DT_OP_STATUS_UNKNOWN;
}

const char *dt_event_type_name(dt_event_type_t t) {
  switch (t) {
  case DT_EVENT_CALL_INCOMING: return "incoming";
  case DT_EVENT_CALL_STATE: return "state";
  case DT_EVENT_TONE: return "tone";
  case DT_EVENT_OPERATION: return "operation";
  case DT_EVENT_ROSTER: return "roster";
  case DT_EVENT_CALL_TERMINATED: return "terminated";
  }
  return "unknown";
}

char dt_tone_from_name(const char *name) {
  if (name == NULL) return 0;
  size_t n = strlen(name);
  if (n == 5 && eqn_ci(name, 4, "tone") && name[4] >= '0' && name[4] <= '9') return name[4];
  if (n == 1) {
    char c = lower(name[0]);
    if (c >= 'a' && c <= 'd') return (char)(c - 'a' + 'A');
    return 0;
  }
  if (eqn_ci(name, n, "star")) return '*';
  if (eqn_ci(name, n, "pound")) return '#';
  if (eqn_ci(name, n, "flash")) return 'F';
  return 0;
}

const char *dt_tone_name(char tone) {
  static const char *const digits[] = {"tone0", "tone1", "tone2", "tone3", "tone4",
                                       "tone5", "tone6", "tone7", "tone8", "tone9"};
  switch (tone) {
  case '*': return "star";
  case '#': return "pound";
  case 'A': return "a";
  case 'B': return "b";
  case 'C': return "c";
  case 'D': return "d";
  case 'F': return "flash";
  default:
    if (tone >= '0' && tone <= '9') return digits[tone - '0'];
    return NULL;
  }
}

/* ---- resource URLs ---- */

typedef enum { RES_UNKNOWN = 0, RES_CALL, RES_OPERATION, RES_PARTICIPANTS } res_kind_t;

typedef struct {
  res_kind_t kind;
  const char *call;
  size_t call_len;
  const char *op;
  size_t op_len;
} res_t;

static size_t segment_len(const char *s) {
  size_t n = 0;
  while (s[n] && s[n] != '/' && s[n] != '?' && s[n] != '#') n++;
  return n;
}

/* "/communications/calls/{id}[/operations/{op} | /participants[/...]]", "/app/calls/…",
   with or without scheme, host and version prefix. */
static res_t parse_resource(const char *url) {
  res_t r = {0};
  const char *p = url;
  for (;;) {
    const char *hit = strstr(p, "calls/");
    if (hit == NULL) return r;
    if (hit == url || hit[-1] == '/') {
      p = hit + 6;
      break;
    }
    p = hit + 6;
  }
  r.call = p;
  r.call_len = segment_len(p);
  if (r.call_len == 0) return r;
  p += r.call_len;
  if (*p == '\0' || *p == '?' || *p == '#' || (p[0] == '/' && p[1] == '\0')) {
    r.kind = RES_CALL;
    return r;
  }
  p++; /* '/' */
  size_t seg = segment_len(p);
  if (eqn_ci(p, seg, "operations") && p[seg] == '/') {
    r.op = p + seg + 1;
    r.op_len = segment_len(r.op);
    if (r.op_len > 0) r.kind = RES_OPERATION;
  } else if (eqn_ci(p, seg, "participants")) {
    r.kind = RES_PARTICIPANTS;
  }
  return r;
}

/* ---- pass 1: shape check and event count ---- */

typedef enum { CHG_UNKNOWN = 0, CHG_CREATED, CHG_UPDATED, CHG_DELETED } change_t;

typedef struct {
  const cJSON *change;
  const cJSON *resource; /* resourceUrl, else legacy resource */
  cJSON *data;
} notif_t;

static int read_notification(cJSON *item, notif_t *n, char *err, size_t errlen, int idx) {
  const cJSON *url = NULL, *legacy = NULL;
  n->change = NULL;
  n->data = NULL;
  if (!cJSON_IsObject(item))
    return dt_seterr(err, errlen, DT_EPARSE, "value[%d] is not an object", idx);
  for (cJSON *c = item->child; c; c = c->next) {
    const char *k = c->string;
    if (k == NULL) continue;
    if (k[0] == 'c' && strcmp(k, "changeType") == 0) n->change = c;
    else if (k[0] == 'r' && strcmp(k, "resourceUrl") == 0) url = c;
    else if (k[0] == 'r' && strcmp(k, "resource") == 0) legacy = c;
    else if (k[0] == 'r' && strcmp(k, "resourceData") == 0) n->data = c;
  }
  if (!cJSON_IsString(n->change))
    return dt_seterr(err, errlen, DT_EPARSE, "value[%d]: changeType missing or not a string", idx);
  n->resource = cJSON_IsString(url) ? url : legacy;
  if (!cJSON_IsString(n->resource))
    return dt_seterr(err, errlen, DT_EPARSE, "value[%d]: resourceUrl missing or not a string", idx);
  if (n->data && !cJSON_IsObject(n->data) && !cJSON_IsArray(n->data) && !cJSON_IsNull(n->data))
    return dt_seterr(err, errlen, DT_EPARSE, "value[%d]: resourceData is neither object nor array", idx);
  if (cJSON_IsNull(n->data)) n->data = NULL;
  return 0;
}

static change_t change_of(const char *s) {
  switch (lower(s[0])) {
  case 'c': return eq_ci(s, "created") ? CHG_CREATED : CHG_UNKNOWN;
  case 'u': return eq_ci(s, "updated") ? CHG_UPDATED : CHG_UNKNOWN;
  case 'd': return eq_ci(s, "deleted") ? CHG_DELETED : CHG_UNKNOWN;
  }
  return CHG_UNKNOWN;
}

/* How many events a notification turns into (0 = skipped). */
static size_t events_of(const notif_t *n, change_t chg, const res_t *res) {
  if (chg == CHG_UNKNOWN || res->kind == RES_UNKNOWN) return 0;
  if (res->kind == RES_PARTICIPANTS) return chg == CHG_DELETED ? 0 : 1;
  if (cJSON_IsArray(n->data)) {
    int k = cJSON_GetArraySize(n->data);
    return k > 0 ? (size_t)k : 1;
  }
  return 1;
}

/* ---- pass 2: filling events ---- */

static void read_result(const cJSON *ri, dt_result_info_t *out) {
  if (!cJSON_IsObject(ri)) return;
  out->present = true;
  for (const cJSON *c = ri->child; c; c = c->next) {
    const char *k = c->string;
    int64_t v;
    if (k == NULL) continue;
    if (strcmp(k, "code") == 0) {
      if (json_int64(c, &v)) out->code = clamp_int(v);
    } else if (strcmp(k, "subcode") == 0 || strcmp(k, "subCode") == 0) {
      if (json_int64(c, &v)) out->subcode = clamp_int(v);
    } else if (strcmp(k, "message") == 0) {
      free(out->message);
      out->message = dup_str(c, DT_NOTIFY_MAX_TEXT);
    }
  }
}

static const char *odata_short_type(const char *t) {
  if (*t == '#') t++;
  if (strncmp(t, "microsoft.graph.", 16) == 0) t += 16;
  return t;
}

/* Walks resourceData once and picks out everything the event types use. */
/* A key that appears twice in one object keeps its last value; the first must not leak. */
static void replace_str(char **slot, char *value) {
  free(*slot);
  *slot = value;
}

static void read_data(dt_event_t *ev, const cJSON *rd, bool is_op) {
  const cJSON *tone = NULL;
  for (const cJSON *c = rd->child; c; c = c->next) {
    const char *k = c->string;
    if (k == NULL) continue;
    switch (k[0]) {
    case '@':
      if (is_op && strcmp(k, "@odata.type") == 0 && cJSON_IsString(c)) {
        const char *t = odata_short_type(c->valuestring);
        replace_str(&ev->op_type, dup_bounded(t, strlen(t), DT_NOTIFY_MAX_TEXT));
      }
      break;
    case 's':
      if (strcmp(k, "state") == 0 && cJSON_IsString(c))
        ev->state = state_from(c->valuestring, strlen(c->valuestring));
      else if (is_op && strcmp(k, "status") == 0 && cJSON_IsString(c))
        ev->op_status = dt_op_status_from_name(c->valuestring);
      break;
    case 'm':
      if (strcmp(k, "mediaState") == 0 && cJSON_IsObject(c)) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "audio");
        if (cJSON_IsString(a)) {
          if (eq_ci(a->valuestring, "active")) ev->media_audio = DT_MEDIA_ACTIVE;
          else if (eq_ci(a->valuestring, "inactive")) ev->media_audio = DT_MEDIA_INACTIVE;
        }
      }
      break;
    case 'r':
      if (strcmp(k, "resultInfo") == 0) read_result(c, &ev->result);
      else if (is_op && strcmp(k, "recordingLocation") == 0)
        replace_str(&ev->recording_location, dup_str(c, DT_NOTIFY_MAX_URL));
      else if (is_op && strcmp(k, "recordingAccessToken") == 0)
        replace_str(&ev->recording_access_token, dup_str(c, DT_NOTIFY_MAX_TOKEN));
      break;
    case 't':
      if (strcmp(k, "toneInfo") == 0) tone = c;
      else if (strcmp(k, "terminationReason") == 0)
        replace_str(&ev->termination_reason, dup_str(c, DT_NOTIFY_MAX_TEXT));
      break;
    case 'c':
      if (strcmp(k, "clientContext") == 0) replace_str(&ev->client_context, dup_str(c, DT_NOTIFY_MAX_TEXT));
      else if (is_op && strcmp(k, "completionReason") == 0)
        replace_str(&ev->completion_reason, dup_str(c, DT_NOTIFY_MAX_TEXT));
      break;
    }
  }
  if (cJSON_IsObject(tone)) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(tone, "tone");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(tone, "sequenceId");
    int64_t v;
    if (cJSON_IsString(t)) ev->tone = dt_tone_from_name(t->valuestring);
    if (json_int64(seq, &v)) ev->tone_sequence_id = v;
  }
}

static void fill_event(dt_event_t *ev, change_t chg, const res_t *res, cJSON *rd) {
  ev->call_id = dup_bounded(res->call, res->call_len, DT_NOTIFY_MAX_ID);
  if (res->kind == RES_OPERATION) {
    ev->type = DT_EVENT_OPERATION;
    ev->op_id = dup_bounded(res->op, res->op_len, DT_NOTIFY_MAX_ID);
    if (rd) read_data(ev, rd, true);
  } else if (res->kind == RES_PARTICIPANTS) {
    ev->type = DT_EVENT_ROSTER;
  } else {
    if (rd) read_data(ev, rd, false);
    if (chg == CHG_CREATED) ev->type = DT_EVENT_CALL_INCOMING;
    else if (chg == CHG_DELETED || ev->state == DT_CALL_STATE_TERMINATED)
      ev->type = DT_EVENT_CALL_TERMINATED;
    else if (ev->tone != 0) ev->type = DT_EVENT_TONE;
    else ev->type = DT_EVENT_CALL_STATE;
  }
  ev->resource_data = rd;
}

static void event_free(dt_event_t *ev) {
  DT_FREE_ALL(ev->call_id, ev->op_id, ev->result.message, ev->termination_reason, ev->op_type, ev->client_context,
              ev->completion_reason, ev->recording_location, ev->recording_access_token);
  cJSON_Delete(ev->resource_data);
}

void dt_event_list_free(dt_event_list_t *list) {
  if (list == NULL) return;
  for (size_t i = 0; i < list->count; i++) event_free(&list->events[i]);
  free(list->events);
  list->events = NULL;
  list->count = 0;
}

int dt_notify_parse(const char *body, size_t len, dt_event_list_t *out, char *err, size_t errlen) {
  out->events = NULL;
  out->count = 0;
  if (body == NULL || len == 0) return dt_seterr(err, errlen, DT_EPARSE, "empty body");
  if (len > DT_NOTIFY_MAX_BODY)
    return dt_seterr(err, errlen, DT_ETOOBIG, "body of %zu bytes exceeds %d", len, DT_NOTIFY_MAX_BODY);

  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
  if (root == NULL) return dt_seterr(err, errlen, DT_EPARSE, "not valid JSON");
  int rc = 0;
  /* cJSON stops after the first value; anything but whitespace after it is garbage. */
  for (const char *p = end; p < body + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
      rc = dt_seterr(err, errlen, DT_EPARSE, "trailing bytes after the JSON value");
      goto done;
    }
  }
  cJSON *value = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "value") : NULL;
  if (!cJSON_IsArray(value)) {
    rc = dt_seterr(err, errlen, DT_EPARSE, "not a commsNotifications object (no \"value\" array)");
    goto done;
  }

  /* Pass 1: every shape error is found before anything is allocated. */
  size_t total = 0;
  int idx = 0;
  for (cJSON *item = value->child; item; item = item->next, idx++) {
    notif_t n;
    if (idx >= DT_NOTIFY_MAX_NOTIFICATIONS) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "more than %d notifications", DT_NOTIFY_MAX_NOTIFICATIONS);
      goto done;
    }
    if ((rc = read_notification(item, &n, err, errlen, idx)) != 0) goto done;
    res_t res = parse_resource(n.resource->valuestring);
    total += events_of(&n, change_of(n.change->valuestring), &res);
    if (total > DT_NOTIFY_MAX_NOTIFICATIONS) {
      rc = dt_seterr(err, errlen, DT_EPARSE, "more than %d notifications", DT_NOTIFY_MAX_NOTIFICATIONS);
      goto done;
    }
  }
  if (total == 0) goto done;

  /* Pass 2: cannot fail. resourceData subtrees are detached and handed to the events. */
  dt_event_t *events = dt_xcalloc(total, sizeof *events);
  size_t count = 0;
  for (cJSON *item = value->child; item; item = item->next) {
    notif_t n;
    read_notification(item, &n, NULL, 0, 0);
    change_t chg = change_of(n.change->valuestring);
    res_t res = parse_resource(n.resource->valuestring);
    if (events_of(&n, chg, &res) == 0) continue;
    cJSON *data = n.data;
    if (data) cJSON_DetachItemViaPointer(item, data);
    if (res.kind == RES_PARTICIPANTS) {
      if (data && !cJSON_IsArray(data)) {
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, data);
        data = arr;
      }
      fill_event(&events[count++], chg, &res, data);
    } else if (cJSON_IsArray(data) && data->child) {
      cJSON *el;
      while ((el = data->child) != NULL) {
        cJSON_DetachItemViaPointer(data, el);
        /* Non-object elements carry nothing an event could use. */
        if (!cJSON_IsObject(el)) {
          cJSON_Delete(el);
          el = NULL;
        }
        fill_event(&events[count++], chg, &res, el);
      }
      cJSON_Delete(data);
    } else {
      if (cJSON_IsArray(data)) {
        cJSON_Delete(data);
        data = NULL;
      }
      fill_event(&events[count++], chg, &res, data);
    }
  }
  out->events = events;
  out->count = count;

done:
  cJSON_Delete(root);
  return rc;
}
