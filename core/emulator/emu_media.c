/*
 * emu_media.c — service-hosted media as Graph runs it: operations, the per-call media
 * queue (playPrompt and recordResponse run one after the other, in order), prompt
 * durations, recordings, the caller's keys and voice, and sendDtmfTones.
 *
 * Promises:
 *  - A media operation completes with changeType "deleted" on .../operations/{OPID}
 *    (upper case, no dashes, as the documents write it); cancelMediaProcessing fails the
 *    running and queued ones with 400/8508 "operationCanceled"; a recordResponse with
 *    bargeInAllowed cancels them the same way and starts at once. The tone subscription is
 *    independent of the queue.
 *  - A prompt lasts as long as its WAV file (fetched once per URL, first 64 KiB, and
 *    cached); default_prompt_ms when it cannot be fetched or read.
 *  - A recording's timing follows the documents: prompt, beep (playBeep, default true),
 *    then initialSilenceTimeout (5 s) until the caller speaks, maxSilenceTimeout (5 s)
 *    after they stop, maxRecordDuration (5 s) overall, or a stop tone. A finished recording
 *    is a real WAV (8 kHz 16-bit mono: silence, and a 440 Hz tone while the caller spoke)
 *    served at {E}/recordings/{id} to "Authorization: Bearer <recordingAccessToken>".
 *  - When the call ends, running operations are abandoned without a notification (Graph
 *    keeps no recording of a call that hung up mid-record, CS#376).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "emu_media.h"
#include "emu_notify.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_script.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define EMU_BEEP_MS 300
#define EMU_MAX_PROMPT_CACHE 4096
#define EMU_MAX_RECORDINGS 10000

enum { REC_MAXDUR = 1, REC_INITSIL, REC_MAXSIL, REC_STOPTONE };

static void start_head(emu_call_t *c, uint64_t at);

/* ------------------------------------------------------------------ operations */
static const char *op_type_name(int t) {
  switch (t) {
  case EMU_OP_PLAY: return "#microsoft.graph.playPromptOperation";
  case EMU_OP_RECORD: return "#microsoft.graph.recordOperation";
  case EMU_OP_SUBSCRIBE_TONE: return "#microsoft.graph.subscribeToToneOperation";
  case EMU_OP_DTMF: return "#microsoft.graph.sendDtmfTonesOperation";
  case EMU_OP_CANCEL_MEDIA: return "#microsoft.graph.cancelMediaProcessingOperation";
  case EMU_OP_MUTE: return "#microsoft.graph.muteParticipantOperation";
  case EMU_OP_UNMUTE: return "#microsoft.graph.unmuteParticipantOperation";
  case EMU_OP_INVITE: return "#microsoft.graph.inviteParticipantsOperation";
  case EMU_OP_MUTE_ALL: return "#microsoft.graph.muteParticipantsOperation";
  case EMU_OP_MUTE_PARTICIPANT: return "#microsoft.graph.muteParticipantOperation";
  case EMU_OP_UPDATE_RECORDING_STATUS: return "#microsoft.graph.updateRecordingStatusOperation";
  case EMU_OP_START_HOLD_MUSIC: return "#microsoft.graph.startHoldMusicOperation";
  case EMU_OP_STOP_HOLD_MUSIC: return "#microsoft.graph.stopHoldMusicOperation";
  default: return "#microsoft.graph.commsOperation";
  }
}

static const char *op_status_name(int s) {
  switch (s) {
  case EMU_OPS_NOT_STARTED: return "notStarted";
  case EMU_OPS_RUNNING: return "running";
  case EMU_OPS_COMPLETED: return "completed";
  default: return "failed";
  }
}

cJSON *dt__emu_op_json(emu_call_t *c, const emu_op_t *op, bool for_notification) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "@odata.type", op_type_name(op->type));
  cJSON_AddStringToObject(j, "id", op->id);
  cJSON_AddStringToObject(j, "status", op_status_name(op->status));
  if (op->client_context) cJSON_AddStringToObject(j, "clientContext", op->client_context);
  else cJSON_AddNullToObject(j, "clientContext");
  if (op->rc) {
    cJSON *r = cJSON_AddObjectToObject(j, "resultInfo");
    cJSON_AddStringToObject(r, "@odata.type", "#microsoft.graph.resultInfo");
    cJSON_AddNumberToObject(r, "code", op->rc);
    cJSON_AddNumberToObject(r, "subcode", op->rsub);
    if (op->rmsg) cJSON_AddStringToObject(r, "message", op->rmsg);
  } else {
    cJSON_AddNullToObject(j, "resultInfo");
  }
  if (!for_notification) {
    cJSON_AddStringToObject(j, "createdDateTime", op->created);
    cJSON_AddStringToObject(j, "lastActionDateTime", op->created);
  }
  switch (op->type) {
  case EMU_OP_RECORD:
    if (op->recording_location) cJSON_AddStringToObject(j, "recordingLocation", op->recording_location);
    else cJSON_AddNullToObject(j, "recordingLocation");
    if (op->recording_token) cJSON_AddStringToObject(j, "recordingAccessToken", op->recording_token);
    else cJSON_AddNullToObject(j, "recordingAccessToken");
    /* fall through */
  case EMU_OP_PLAY:
  case EMU_OP_DTMF:
    if (op->completion_reason) cJSON_AddStringToObject(j, "completionReason", op->completion_reason);
    break;
  case EMU_OP_INVITE:
    cJSON_AddItemToObject(j, "participants",
                          op->participants ? cJSON_Duplicate(op->participants, 1) : cJSON_CreateArray());
    break;
  default: break;
  }
  (void)c;
  return j;
}

/* The operation's end: "deleted" on .../operations/{OPID} (upper case, no dashes). */
static void notify_op(emu_call_t *c, const emu_op_t *op) {
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

void dt__emu_op_finish(emu_call_t *c, emu_op_t *op, int status, int code, int subcode,
                       const char *msg, const char *reason) {
  if (op->ev) {
    dt__emu_ev_cancel(op->ev);
    op->ev = NULL;
  }
  op->status = (uint8_t)status;
  op->rc = code;
  op->rsub = subcode;
  op->rmsg = msg;
  op->completion_reason = reason;
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  cJSON_AddStringToObject(tl, "type", op_type_name(op->type) + 17);
  cJSON_AddStringToObject(tl, "status", op_status_name(status));
  if (reason) cJSON_AddStringToObject(tl, "reason", reason);
  dt__emu_timeline(c, "operation", tl);
  if (c->ended) return;
  if (c->emu->faults.ops_never_complete) {
    dt__emu_timeline(c, "fault_op_never_completes", NULL);
    return;
  }
  notify_op(c, op);
}

/* ------------------------------------------------------------------ media queue */
static uint64_t clock_now(emu_call_t *c) { return dt__emu_sched_now(&c->emu->sim); }

static emu_op_t *mq_head(emu_call_t *c) { return DT_LIST_ENTRY(c->mq.head, emu_op_t, qlink); }

static void media_done(emu_call_t *c, emu_op_t *op, uint64_t at) {
  if (dt_list_linked(&c->mq, &op->qlink)) dt_list_remove(&c->mq, &op->qlink);
  op->queued = false;
  start_head(c, at);
}

static void cancel_op(emu_call_t *c, emu_op_t *op) {
  bool rec = op->type == EMU_OP_RECORD;
  if (rec) {
    free(op->recording_location);
    free(op->recording_token);
    op->recording_location = dt_xstrdup("");
    op->recording_token = dt_xstrdup("");
  }
  dt__emu_op_finish(c, op, EMU_OPS_FAILED, 400, 8508, "Action failed, the operation was cancelled.",
                    rec ? "operationCanceled" : "mediaOperationCanceled");
}

void dt__emu_media_cancel_all(emu_call_t *c, bool notify) {
  dt_list_t q = c->mq; /* taken whole: the call's queue is empty while they are cancelled */
  c->mq = (dt_list_t){0};
  emu_op_t *op;
  while ((op = DT_LIST_ENTRY(dt_list_pop_front(&q), emu_op_t, qlink)) != NULL) {
    op->queued = false;
    if (op->ev) {
      dt__emu_ev_cancel(op->ev);
      op->ev = NULL;
    }
    if (notify) cancel_op(c, op);
  }
}

void dt__emu_media_abandon(emu_call_t *c) {
  for (dt_list_node_t *n = c->mq.head; n; n = n->next) {
    const emu_op_t *op = DT_LIST_ENTRY(n, emu_op_t, qlink);
    cJSON *tl = cJSON_CreateObject();
    cJSON_AddStringToObject(tl, "op", op->id);
    cJSON_AddStringToObject(tl, "type", op_type_name(op->type) + 17);
    dt__emu_timeline(c, "operation_abandoned", tl);
  }
  dt__emu_media_cancel_all(c, false);
  for (emu_op_t *op = c->ops; op; op = op->next)
    if (op->ev) {
      dt__emu_ev_cancel(op->ev);
      op->ev = NULL;
    }
}

void dt__emu_media_enqueue(emu_call_t *c, emu_op_t *op) {
  if (op->type == EMU_OP_RECORD && op->barge_in && c->mq.head) {
    cJSON *tl = cJSON_CreateObject();
    cJSON_AddStringToObject(tl, "op", op->id);
    dt__emu_timeline(c, "barge_in", tl);
    dt__emu_media_cancel_all(c, true);
  }
  op->queued = true;
  op->status = EMU_OPS_RUNNING;
  dt_list_push_back(&c->mq, &op->qlink);
  for (size_t i = 0; i < op->nurls; i++) dt__emu_prefetch(c->emu, op->urls[i]);
  if (mq_head(c) == op) start_head(c, clock_now(c));
}

/* ------------------------------------------------------------------ prompt cache */
typedef struct {
  emu_inflight_t inflight; /* first: teardown frees through it */
  dt_emulator_t *emu;
  char *url;
} fetch_t;

static void fetch_free(emu_inflight_t *self) {
  fetch_t *f = (fetch_t *)self;
  free(f->url);
  free(f);
}

void dt__emu_prompt_cache_free(void *p) {
  emu_prompt_t *e = p;
  if (e == NULL) return;
  free(e->waiters);
  free(e);
}

static void prompt_known(dt_emulator_t *emu, const char *url, int64_t ms) {
  emu_prompt_t *e = dt_hashmap_get(&emu->prompts, url);
  if (e == NULL) return;
  e->state = 1;
  e->duration_ms = ms;
  emu_call_t **w = e->waiters;
  size_t n = e->nwaiters;
  e->waiters = NULL;
  e->nwaiters = e->capwaiters = 0;
  for (size_t i = 0; i < n; i++) {
    emu_call_t *c = w[i];
    c->waiting_fetch = false;
    if (!c->ended) start_head(c, clock_now(c));
    dt__emu_call_unref(c);
  }
  free(w);
}

static void on_fetched(const dt_http_response_t *res, void *ud) {
  fetch_t *f = ud;
  dt_emulator_t *emu = f->emu;
  dt_list_remove(&emu->inflight, &f->inflight.link);
  int64_t ms = -1;
  if (res->error == 0 && (res->status == 200 || res->status == 206)) {
    uint64_t total = 0;
    const char *cr = dt_http_response_header(res, "Content-Range");
    const char *slash = cr ? strchr(cr, '/') : NULL;
    if (slash && slash[1] != '*') total = strtoull(slash + 1, NULL, 10);
    if (res->status == 200) total = res->body_len; /* the whole file arrived */
    if (dt__emu_wav_duration(res->body, res->body_len, total, &ms) != 0) ms = -1;
  }
  if (ms < 0) {
    if (!emu->quiet)
      dt_log_debug("emulator: prompt %s: %s; using %lld ms", f->url,
                   res->error ? res->error_message : "not a WAV file",
                   (long long)emu->cfg.default_prompt_ms);
    ms = emu->cfg.default_prompt_ms;
  }
  prompt_known(emu, f->url, ms);
  fetch_free(&f->inflight);
}

void dt__emu_prefetch(dt_emulator_t *emu, const char *url) {
  if (url == NULL || url[0] == '\0' || strlen(url) > 2048) return;
  if (dt_hashmap_get(&emu->prompts, url)) return;
  if (dt_hashmap_count(&emu->prompts) >= EMU_MAX_PROMPT_CACHE) dt__emu_prompt_cache_forget_known(emu);
  emu_prompt_t *e = dt_xcalloc(1, sizeof *e);
  dt_hashmap_put(&emu->prompts, url, e);
  /* our own recordings are known without a fetch (they need a token anyway) */
  size_t ul = strlen(emu->url);
  if (strncmp(url, emu->url, ul) == 0 && strncmp(url + ul, "/recordings/", 12) == 0) {
    const emu_recording_t *r = dt__emu_recording_find(emu, url + ul + 12);
    if (r) {
      e->state = 1;
      e->duration_ms = (int64_t)r->duration_ms;
      return;
    }
  }
  if (dt_strncasecmp(url, "http://", 7) != 0 && dt_strncasecmp(url, "https://", 8) != 0) {
    e->state = 1; /* nothing to fetch: nobody waits for it yet, so decide now */
    e->duration_ms = emu->cfg.default_prompt_ms;
    return;
  }
  if (!emu->fetch_remote_prompts && !dt__emu_url_is_loopback(url)) {
    /* An emulator is a local tool: it never reaches out to the Internet (nor resolves a
       name) for a prompt unless told to. */
    e->state = 1;
    e->duration_ms = emu->cfg.default_prompt_ms;
    return;
  }
  fetch_t *f = dt_xcalloc(1, sizeof *f);
  f->inflight.free_fn = fetch_free;
  f->emu = emu;
  f->url = dt_xstrdup(url);
  dt_http_header_t h[] = {{"Range", "bytes=0-65535"}};
  dt_http_request_options_t ro = {
      .method = "GET", .url = url, .headers = h, .header_count = 1, .timeout_ms = 3000,
      .max_response_bytes = 16u << 20};
  if (dt_http_client_send(emu->http, &ro, on_fetched, f, NULL) != 0) {
    fetch_free(&f->inflight);
    e->state = 1;
    e->duration_ms = emu->cfg.default_prompt_ms;
    return;
  }
  dt_list_push_front(&emu->inflight, &f->inflight.link);
}

/* Forgets every known duration; entries that calls wait on stay (their waiters hold
   references that only the fetch's end releases). */
void dt__emu_prompt_cache_forget_known(dt_emulator_t *emu) {
  dt_hashmap_iter_t it = dt_hashmap_iter(&emu->prompts);
  for (dt_hashmap_node_t *n; (n = dt_hashmap_next(&it)) != NULL;) {
    dt_hashmap_entry_t *e = dt_hashmap_entry(n);
    emu_prompt_t *p = e->val;
    if (p->state == 1) dt__emu_prompt_cache_free(dt_hashmap_entry_remove(&emu->prompts, e));
  }
}

/* Durations of all of op's prompts, or false (and the call waits) while one is fetched. */
static bool prompts_ready(emu_call_t *c, emu_op_t *op) {
  dt_emulator_t *emu = c->emu;
  for (size_t i = 0; i < op->nurls; i++) {
    dt__emu_prefetch(emu, op->urls[i]);
    emu_prompt_t *e = dt_hashmap_get(&emu->prompts, op->urls[i]);
    if (e && e->state == 0) {
      if (!c->waiting_fetch) {
        if (e->nwaiters == e->capwaiters) {
          e->capwaiters = e->capwaiters ? e->capwaiters * 2 : 4;
          e->waiters = dt_xrealloc(e->waiters, e->capwaiters * sizeof *e->waiters);
        }
        e->waiters[e->nwaiters++] = c;
        dt__emu_call_ref(c);
        c->waiting_fetch = true;
      }
      return false;
    }
  }
  return true;
}

static int64_t prompt_ms(dt_emulator_t *emu, const char *url) {
  emu_prompt_t *e = dt_hashmap_get(&emu->prompts, url);
  return (e && e->state == 1) ? e->duration_ms : emu->cfg.default_prompt_ms;
}

/* ------------------------------------------------------------------ playing */
static void on_prompt_end(dt__emu_ev_t *ev);
static void rec_begin_beep(emu_call_t *c, emu_op_t *op, uint64_t at);

/* Simulated times are exact: each step starts when the previous one was due, however late
   a scaled clock delivered it. */
static void play_current(emu_call_t *c, emu_op_t *op, uint64_t at) {
  const char *url = op->urls[op->cur];
  char name[128];
  dt__emu_prompt_name(url, name, sizeof name);
  int64_t ms = prompt_ms(c->emu, url);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  cJSON_AddStringToObject(tl, "url", url);
  cJSON_AddStringToObject(tl, "name", name);
  cJSON_AddNumberToObject(tl, "duration_ms", (double)ms);
  if (op->type == EMU_OP_RECORD) cJSON_AddBoolToObject(tl, "record", true);
  dt__emu_timeline(c, "prompt", tl);
  op->ev = dt__emu_at_abs(&c->emu->sim, c, at + (uint64_t)ms, on_prompt_end);
  op->ev->p = op;
  dt__emu_script_trigger(c, EMU_ON_PROMPT, name, url, at);
}

static void on_prompt_end(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  emu_op_t *op = ev->p;
  op->ev = NULL;
  if (op->type == EMU_OP_RECORD) {
    rec_begin_beep(c, op, ev->due);
    return;
  }
  if (++op->cur < op->nurls) {
    play_current(c, op, ev->due);
    return;
  }
  if (op->loop) {
    op->cur = 0;
    play_current(c, op, ev->due);
    return;
  }
  dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Action completed successfully.",
                    "completedSuccessfully");
  media_done(c, op, ev->due);
}

/* ------------------------------------------------------------------ recording */
static void rec_update(emu_call_t *c, emu_op_t *op, uint64_t now);
static void rec_finish(emu_call_t *c, emu_op_t *op, int why, uint64_t at);

static void seg_open(emu_op_t *op, uint64_t rel) {
  if (op->seg_open) return;
  if (op->nseg == EMU_MAX_SEGMENTS) {
    op->seg_open = true; /* extend the last one */
    return;
  }
  op->seg[op->nseg].start = rel;
  op->seg[op->nseg].end = rel;
  op->nseg++;
  op->seg_open = true;
}

static void seg_close(emu_op_t *op, uint64_t rel) {
  if (!op->seg_open) return;
  if (op->nseg) op->seg[op->nseg - 1].end = rel;
  op->seg_open = false;
}

static void on_rec_deadline(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  emu_op_t *op = ev->p;
  op->ev = NULL;
  rec_finish(c, op, (int)ev->i, ev->due);
}

static void rec_start(emu_call_t *c, emu_op_t *op, uint64_t now) {
  op->phase = EMU_REC_REC;
  op->rec_start = now;
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  dt__emu_timeline(c, "recording_started", tl);
  if (c->speaking && c->speech_until > now) {
    seg_open(op, 0);
    op->spoke = true;
  }
  rec_update(c, op, now);
  dt__emu_script_trigger(c, EMU_ON_RECORD, NULL, NULL, now);
}

static void on_beep_end(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  emu_op_t *op = ev->p;
  op->ev = NULL;
  rec_start(c, op, ev->due);
}

static void rec_begin_beep(emu_call_t *c, emu_op_t *op, uint64_t at) {
  if (!op->beep) {
    rec_start(c, op, at);
    return;
  }
  op->phase = EMU_REC_BEEP;
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  dt__emu_timeline(c, "beep", tl);
  op->ev = dt__emu_at_abs(&c->emu->sim, c, at + EMU_BEEP_MS, on_beep_end);
  op->ev->p = op;
}

static void rec_update(emu_call_t *c, emu_op_t *op, uint64_t now) {
  uint64_t hard = op->rec_start + (uint64_t)op->max_duration_ms;
  uint64_t due;
  int why;
  if (op->seg_open) {
    due = hard;
    why = REC_MAXDUR;
  } else if (op->spoke) {
    due = op->rec_start + op->last_speech_end + (uint64_t)op->max_silence_ms;
    why = REC_MAXSIL;
  } else {
    due = op->rec_start + (uint64_t)op->initial_silence_ms;
    why = REC_INITSIL;
  }
  if (hard <= due) {
    due = hard;
    why = REC_MAXDUR;
  }
  (void)now;
  if (op->ev) dt__emu_ev_cancel(op->ev);
  op->ev = dt__emu_at_abs(&c->emu->sim, c, due, on_rec_deadline);
  op->ev->p = op;
  op->ev->i = why;
}

static emu_recording_t *recording_add(dt_emulator_t *emu, emu_op_t *op, uint64_t duration) {
  emu_recording_t *r = dt_xcalloc(1, sizeof *r);
  dt_guid(r->id);
  dt__emu_random_token(r->token, 44);
  r->duration_ms = duration;
  r->nseg = op->nseg;
  memcpy(r->seg, op->seg, sizeof r->seg);
  dt_hashmap_put(&emu->recordings, r->id, r);
  if (emu->rec_tail) emu->rec_tail->fnext = r;
  else emu->rec_head = r;
  emu->rec_tail = r;
  if (++emu->nrec > EMU_MAX_RECORDINGS) {
    emu_recording_t *old = emu->rec_head;
    emu->rec_head = old->fnext;
    dt_hashmap_del(&emu->recordings, old->id);
    free(old);
    emu->nrec--;
  }
  if (emu->recordings_dir) {
    char *wav = NULL;
    size_t len = 0;
    dt__emu_wav_build(r->duration_ms, r->seg, r->nseg, &wav, &len);
    char *path = dt_xasprintf("%s/%s.wav", emu->recordings_dir, r->id);
    if (dt_write_file_atomic(path, wav, len) != 0 && !emu->quiet)
      dt_log_warn("emulator: cannot write %s", path);
    free(path);
    free(wav);
  }
  return r;
}

const emu_recording_t *dt__emu_recording_find(dt_emulator_t *emu, const char *id) {
  char key[40];
  size_t n = strcspn(id, "?#/");
  if (n >= sizeof key) return NULL;
  memcpy(key, id, n);
  key[n] = '\0';
  return dt_hashmap_get(&emu->recordings, key);
}

void dt__emu_recording_free(void *p) { free(p); }

static void rec_finish(emu_call_t *c, emu_op_t *op, int why, uint64_t at) {
  dt_emulator_t *emu = c->emu;
  uint64_t rel = at > op->rec_start ? at - op->rec_start : 0;
  seg_close(op, rel);
  if (why == REC_INITSIL) {
    op->recording_location = dt_xstrdup("");
    op->recording_token = dt_xstrdup("");
    cJSON *tl = cJSON_CreateObject();
    cJSON_AddStringToObject(tl, "op", op->id);
    cJSON_AddStringToObject(tl, "reason", "initialSilenceTimeout");
    dt__emu_timeline(c, "recording", tl);
    dt__emu_op_finish(c, op, EMU_OPS_FAILED, 400, 0,
                      "Action failed, initial silence timeout reached.", "initialSilenceTimeout");
    media_done(c, op, at);
    return;
  }
  emu_recording_t *r = recording_add(emu, op, rel);
  op->recording_location = dt_xasprintf("%s/recordings/%s", emu->url, r->id);
  op->recording_token = dt_xstrdup(r->token);
  uint64_t spoken = 0;
  for (size_t i = 0; i < op->nseg; i++) spoken += op->seg[i].end - op->seg[i].start;
  const char *reason, *msg;
  int sub;
  switch (why) {
  case REC_STOPTONE:
    reason = "stopToneDetected";
    msg = "Action completed, stop tone detected.";
    sub = 0;
    break;
  case REC_MAXSIL:
    reason = "maxSilenceTimeout";
    msg = "Action completed, max silence timeout reached.";
    sub = 0;
    break;
  default:
    reason = "maxRecordDurationReached";
    msg = "Action completed, max record duration reached.";
    sub = 8515;
  }
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  cJSON_AddStringToObject(tl, "url", op->recording_location);
  cJSON_AddNumberToObject(tl, "duration_ms", (double)rel);
  cJSON_AddNumberToObject(tl, "spoken_ms", (double)spoken);
  cJSON_AddStringToObject(tl, "reason", reason);
  dt__emu_timeline(c, "recording", tl);
  dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, sub, msg, reason);
  media_done(c, op, at);
}

/* ------------------------------------------------------------------ the head of the queue */
static void start_head(emu_call_t *c, uint64_t at) {
  emu_op_t *op = mq_head(c);
  if (op == NULL || op->started || c->ended) return;
  if (!prompts_ready(c, op)) {
    op->waiting_fetch = true;
    return;
  }
  op->waiting_fetch = false;
  op->started = true;
  if (op->type == EMU_OP_PLAY) {
    if (op->nurls == 0) {
      dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Action completed successfully.",
                        "completedSuccessfully");
      media_done(c, op, at);
      return;
    }
    play_current(c, op, at);
    return;
  }
  if (op->nurls > 0) {
    op->phase = EMU_REC_PROMPT;
    play_current(c, op, at);
  } else {
    rec_begin_beep(c, op, at);
  }
}

/* ------------------------------------------------------------------ the caller */
static emu_op_t *head_record(emu_call_t *c) {
  emu_op_t *op = mq_head(c);
  return (op && op->started && op->type == EMU_OP_RECORD) ? op : NULL;
}

/* With bargeInAllowed, the caller's voice or keys cut the record's prompt short. */
static bool barge_into_prompt(emu_call_t *c, emu_op_t *op, uint64_t now) {
  if (op->phase == EMU_REC_REC || !op->barge_in) return false;
  if (op->ev) {
    dt__emu_ev_cancel(op->ev);
    op->ev = NULL;
  }
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  dt__emu_timeline(c, "barge_in", tl);
  rec_start(c, op, now);
  return true;
}

void dt__emu_caller_tone(emu_call_t *c, char tone, uint64_t at) {
  if (c->ended) return;
  const char *name = dt__emu_tone_name(tone);
  if (name == NULL) return;
  /* scripted keys happen at their event's due time, which the (scaled) clock may have passed */
  uint64_t now = at ? at : dt__emu_sched_now(&c->emu->sim);
  cJSON *tl = cJSON_CreateObject();
  char t[2] = {tone, 0};
  cJSON_AddStringToObject(tl, "tone", t);
  bool live = c->state == EMU_CS_ESTABLISHED;
  if (!live) cJSON_AddStringToObject(tl, "ignored", "call not established");
  else if (!c->tone_subscribed) cJSON_AddStringToObject(tl, "ignored", "no tone subscription");
  dt__emu_timeline(c, "tone", tl);
  if (!live) return;
  if (c->tone_subscribed) {
    c->tone_seq++;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "state", "established");
    cJSON *ti = cJSON_AddObjectToObject(f, "toneInfo");
    cJSON_AddStringToObject(ti, "@odata.type", "#microsoft.graph.toneInfo");
    cJSON_AddNumberToObject(ti, "sequenceId", (double)c->tone_seq);
    cJSON_AddStringToObject(ti, "tone", name);
    char summary[48];
    snprintf(summary, sizeof summary, "tone %s #%lld", name, (long long)c->tone_seq);
    dt__emu_notify_call(c, "updated", f, summary);
  }
  emu_op_t *op = head_record(c);
  if (op == NULL) return;
  if (op->phase == EMU_REC_REC) {
    if (strchr(op->stop_tones, tone)) {
      if (op->ev) {
        dt__emu_ev_cancel(op->ev);
        op->ev = NULL;
      }
      rec_finish(c, op, REC_STOPTONE, now);
    }
  } else {
    barge_into_prompt(c, op, now);
  }
}

static void on_speech_end(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->speech_timer = NULL;
  c->speaking = false;
  emu_op_t *op = head_record(c);
  if (op && op->phase == EMU_REC_REC && op->seg_open) {
    uint64_t rel = ev->due > op->rec_start ? ev->due - op->rec_start : 0;
    seg_close(op, rel);
    op->last_speech_end = rel;
    rec_update(c, op, ev->due);
  }
}

void dt__emu_caller_speak(emu_call_t *c, int64_t ms, uint64_t at) {
  if (c->ended || ms <= 0) return;
  if (ms > 3600000) ms = 3600000;
  uint64_t clock = dt__emu_sched_now(&c->emu->sim);
  uint64_t now = at && at <= clock ? at : clock;
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddNumberToObject(tl, "ms", (double)ms);
  dt__emu_timeline(c, "speak", tl);
  uint64_t until = now + (uint64_t)ms;
  if (!c->speaking || until > c->speech_until) {
    if (!c->speaking) c->speech_start = now;
    c->speaking = true;
    c->speech_until = until;
    if (c->speech_timer) dt__emu_ev_cancel(c->speech_timer);
    c->speech_timer = dt__emu_at_abs(&c->emu->sim, c, until, on_speech_end);
  }
  if (c->state != EMU_CS_ESTABLISHED) return;
  emu_op_t *op = head_record(c);
  if (op == NULL) return;
  if (op->phase == EMU_REC_REC) {
    seg_open(op, now > op->rec_start ? now - op->rec_start : 0);
    op->spoke = true;
    rec_update(c, op, now);
  } else {
    barge_into_prompt(c, op, now);
  }
}

/* ------------------------------------------------------------------ sendDtmfTones */
static void on_dtmf_done(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  emu_op_t *op = ev->p;
  op->ev = NULL;
  dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Action completed successfully.",
                    "completedSuccessfully");
}

void dt__emu_dtmf_start(emu_call_t *c, emu_op_t *op) {
  size_t n = op->tones ? strlen(op->tones) : 0;
  int64_t gap = op->tone_delay_ms > 0 ? op->tone_delay_ms : 0;
  int64_t total = (int64_t)n * 100 + (n > 1 ? (int64_t)(n - 1) * gap : 0);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "op", op->id);
  cJSON_AddStringToObject(tl, "tones", op->tones ? op->tones : "");
  dt__emu_timeline(c, "dtmf_sent", tl);
  op->ev = dt__emu_at(&c->emu->sim, c, total, on_dtmf_done);
  op->ev->p = op;
}
