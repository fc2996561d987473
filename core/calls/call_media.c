/*
 * call_media.c — the media primitives: play (with barge-in), gather (prompt, type-ahead,
 * first-digit and inter-digit timeouts, terminators, barge-in with cancelMediaProcessing),
 * record (stop tones, the completion reasons, the recording handed to the store and listed
 * in the CDR at once, a late recording still stored).
 *
 * Promises: a gather never completes past a tone whose earlier sequence ids are missing
 * until its timeout; a barge-in's cancel is confirmed before the gather ends, so the next
 * prompt is not cut.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

/* A play's start, shared by play and hold music: 0 and the wait begun, 1 when keys typed
   ahead barge in at once (result "barged"), or a refusal. */
static int play_begin(dt_call_t *c, const dt_media_t *prompts, size_t n, bool barge_in) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (n == 0 || prompts == NULL) return DT_EINVAL;
  if (barge_in && c->tone_len > 0) { /* the caller is already typing ahead */
    dt__call_result_clear(&c->result);
    c->result.reason = "barged";
    return 1;
  }
  dt__call_wait_begin(c, DT_WAIT_PLAY);
  c->w.barge_in = barge_in;
  dt__call_live_prompt(c, prompts, n);
  return 0;
}

int dt_call_play(dt_call_t *c, const dt_media_t *prompts, size_t n, bool barge_in) {
  int rc = play_begin(c, prompts, n, barge_in);
  if (rc) return rc;
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_play_prompt(c->reg->o.graph, c->id, prompts, n, NULL, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

/* The prompts copied into one block (the flow's strings go when the primitive returns). */
static dt_media_t *media_copy(const dt_media_t *m, size_t n) {
  size_t bytes = n * sizeof *m;
  for (size_t i = 0; i < n; i++)
    bytes += strlen(m[i].uri) + 1 + (m[i].resource_id ? strlen(m[i].resource_id) + 1 : 0);
  dt_media_t *out = dt_xmalloc(bytes);
  char *p = (char *)(out + n);
  for (size_t i = 0; i < n; i++) {
    size_t u = strlen(m[i].uri) + 1;
    out[i].uri = memcpy(p, m[i].uri, u);
    p += u;
    out[i].resource_id = NULL;
    if (m[i].resource_id) {
      size_t r = strlen(m[i].resource_id) + 1;
      out[i].resource_id = memcpy(p, m[i].resource_id, r);
      p += r;
    }
  }
  return out;
}

int dt_call_play_loop(dt_call_t *c, const dt_media_t *prompts, size_t n, bool barge_in, int64_t timeout_ms) {
  int rc = play_begin(c, prompts, n, barge_in);
  if (rc) return rc;
  c->w.loop = 1;
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_play_prompt_loop(c->reg->o.graph, c->id, prompts, n, NULL, c->reg->on_response, op, &op->req);
  if (rc == DT_EUNSUPPORTED) { /* v1.0: no loop parameter; the engine plays them again */
    c->loop_media = media_copy(prompts, n);
    c->loop_n = n;
    rc = dt_graph_play_prompt(c->reg->o.graph, c->id, prompts, n, NULL, c->reg->on_response, op, &op->req);
  }
  if (rc < 0) return dt__call_started(c, op, rc, 0);
  /* no deadline while the music plays: it ends by a key, the timeout or the call's end
     (the requests themselves are bounded by the Graph client's deadline) */
  if (timeout_ms >= 0) dt__call_arm(c, (uint64_t)timeout_ms);
  return 0;
}

/* The hold music's timeout: stop it; the cancel's answer ends the play with "timeout". */
void dt__call_play_loop_timeout(dt_call_t *c) {
  c->w.done_reason = "timeout";
  if (c->stage == P_SENT) { /* op_running sends the cancel once Graph names the operation */
    c->w.cancel = 1;
  } else if (c->stage == P_RUNNING) {
    dt__call_send_cancel(c);
    c->stage = P_CANCELLING;
    if (c->w.cancel == 3) {
      c->result.reason = "timeout";
      dt__call_wait_finish(c, 0);
      return;
    }
  }
  dt__call_arm(c, dt__call_op_timeout(c)); /* then the usual deadline */
}

/* v1.0 hold music: the prompts ended; send them again (true), unless the loop is over. */
static bool play_again(dt_call_t *c) {
  if (!c->w.loop || !c->loop_media || c->w.cancel || c->w.done_reason) return false;
  dt_op_t *op = dt__call_main_op(c);
  int rc = dt_graph_play_prompt(c->reg->o.graph, c->id, c->loop_media, c->loop_n, NULL, c->reg->on_response, op,
                                &op->req);
  if (rc < 0) {
    dt__call_op_free(op);
    dt__call_wait_fail(c, rc, "playPrompt", "playPrompt (hold music, again) could not be sent: %s", dt_strerror(rc));
    return true;
  }
  c->stage = P_SENT;
  return true;
}

void dt__call_send_cancel(dt_call_t *c) {
  dt_op_t *op = dt__call_op_new(c, ROLE_CANCEL);
  int rc =
      dt_graph_context_action(c->reg->o.graph, c->id, DT_GRAPH_CANCEL_MEDIA, NULL, c->reg->on_response, op, &op->req);
  if (rc < 0) {
    dt__call_op_free(op);
    c->w.cancel = 3;
    return;
  }
  c->w.cancel = 2;
}

void dt__call_play_done(dt_call_t *c, const completion_t *comp) {
  if (c->w.cancel == 2) return; /* barging: the cancel's answer ends the play */
  if (comp->status == DT_OP_STATUS_FAILED) {
    if (dt__call_is_cancelled(comp)) {
      c->result.reason = c->w.done_reason ? c->w.done_reason : c->w.cancel ? "barged" : "cancelled";
      dt__call_wait_finish(c, 0);
    } else {
      dt__call_fail_op(c, comp, "playPrompt");
    }
    return;
  }
  if (play_again(c)) return;
  c->result.reason = c->w.done_reason ? c->w.done_reason : (c->w.loop && c->w.cancel) ? "barged" : "completed";
  dt__call_wait_finish(c, 0);
}

void dt__call_gather_finish(dt_call_t *c, bool notify) {
  size_t nd = c->w.done_digits, used = c->w.done_used;
  if (nd > c->tone_len) nd = c->tone_len;
  char *digits = dt_xstrndup(c->tones, nd);
  dt__call_tones_consume(c, used);
  if (nd < c->w.min) digits[0] = '\0';
  c->result.digits = digits;
  c->result.reason = c->w.done_reason ? c->w.done_reason : "timeout";
  if (digits[0]) dt_call_log_digits(c, digits);
  if (notify) dt__call_wait_finish(c, 0);
  else dt__call_wait_end_quiet(c);
}

/* After a tone (or type-ahead at the start): is the gather complete? */
void dt__call_gather_check(dt_call_t *c, bool notify) {
  const char *reason;
  size_t nd;
  size_t used = dt_gather_scan(c->tones, dt__call_tones_ready(c), c->w.max, c->w.terminators, &reason, &nd);
  if (c->tone_len > 0 && c->stage != G_COLLECT) { /* barge into the prompt */
    if (c->stage == G_PROMPT_RUNNING) dt__call_send_cancel(c);
    else c->w.cancel = 1;
    c->stage = G_COLLECT;
  }
  if (used) {
    c->w.done_reason = reason;
    c->w.done_used = (uint8_t)used;
    c->w.done_digits = (uint8_t)nd;
    if (c->w.cancel == 2) { /* finish when the cancel is confirmed, so the next prompt is not cut */
      dt__call_arm(c, dt__call_op_timeout(c));
      return;
    }
    dt__call_gather_finish(c, notify);
    return;
  }
  if (c->tone_len > 0) dt__call_arm(c, c->w.inter_digit_ms);
}

int dt_call_gather(dt_call_t *c, const dt_gather_params_t *p) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (p->max < 1 || p->max > 64 || p->min > p->max || (p->terminators && strlen(p->terminators) > 7))
    return DT_EINVAL;
  dt__call_wait_begin(c, DT_WAIT_GATHER);
  c->w.max = (uint8_t)p->max;
  c->w.min = (uint8_t)p->min;
  c->w.timeout_ms = p->timeout_ms;
  c->w.inter_digit_ms = p->inter_digit_ms ? p->inter_digit_ms : p->timeout_ms;
  snprintf(c->w.terminators, sizeof c->w.terminators, "%s", p->terminators ? p->terminators : "");
  if (p->flush) c->tone_len = 0;
  if (c->tone_len > 0) { /* type-ahead: no prompt */
    c->stage = G_COLLECT;
    dt__call_gather_check(c, false);
    if (c->wait == DT_WAIT_NONE) return 1;
    return 0;
  }
  if (p->prompt_count > 0) {
    c->stage = G_PROMPT_SENT;
    dt__call_live_prompt(c, p->prompts, p->prompt_count);
    dt_op_t *op = dt__call_main_op(c);
    rc = dt_graph_play_prompt(c->reg->o.graph, c->id, p->prompts, p->prompt_count, NULL, c->reg->on_response, op,
                              &op->req);
    return dt__call_started(c, op, rc, dt__call_op_timeout(c));
  }
  c->stage = G_COLLECT;
  dt__call_arm(c, c->w.timeout_ms);
  return 0;
}

void dt__call_gather_prompt_done(dt_call_t *c, const completion_t *comp) {
  if (c->stage == G_COLLECT) { /* digits came first; the prompt's end changes nothing */
    if (c->w.cancel == 1) {
      c->w.cancel = 3;
      if (c->w.done_reason) dt__call_gather_finish(c, true);
    }
    return;
  }
  if (comp && comp->status == DT_OP_STATUS_FAILED && !dt__call_is_cancelled(comp)) {
    dt__call_fail_op(c, comp, "playPrompt");
    return;
  }
  c->stage = G_COLLECT;
  dt__call_arm(c, c->w.timeout_ms);
}

void dt__call_gather_timeout(dt_call_t *c) {
  if (!c->w.done_reason && dt__call_tones_ready(c) < c->tone_len) {
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
        dt__call_arm(c, dt__call_op_timeout(c));
        return;
      }
      dt__call_gather_finish(c, true);
      return;
    }
  }
  if (!c->w.done_reason) {
    c->w.done_reason = "timeout";
    c->w.done_used = c->tone_len;
    c->w.done_digits = c->tone_len;
    if (c->w.cancel == 2) { /* the barge-in's cancel is on its way: end when it is confirmed */
      dt__call_arm(c, dt__call_op_timeout(c));
      return;
    }
  }
  dt__call_gather_finish(c, true);
}

int dt_call_record(dt_call_t *c, const dt_graph_record_params_t *p) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt__call_wait_begin(c, DT_WAIT_RECORD);
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
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_record(c->reg->o.graph, c->id, &q, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c) + extra * 1000);
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
  dt__call_op_free(op);
  if (!current) return;
  if (res->err) {
    c->result.http_status = res->http_status;
    dt__call_wait_fail(c, DT_EIO, "recordingDownload", "recording download failed: %s",
              res->message ? res->message : dt_strerror(res->err));
    return;
  }
  c->result.file = dt_xstrdup(res->path);
  c->result.duration = res->duration;
  dt__call_wait_finish(c, 0);
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
  dt_op_t *op = wait ? dt__call_op_new(c, ROLE_DOWNLOAD) : NULL;
  *rc = dt_recstore_add(r->o.recstore, &rec, wait ? recording_stored : NULL, op, op ? &op->job : NULL);
  if (*rc < 0) {
    if (op) dt__call_op_free(op);
    return NULL;
  }
  char *path = dt_xasprintf("%s/%s.wav", r->recordings_dir, name);
  if (c->log.recordings.len < 8192) dt__call_log_item(&c->log.recordings, path);
  dt__call_eventf(c, "recording", "file", path);
  free(path);
  return op;
}

/* A completion that carries a recording nobody waits for any more (the wait ended first):
   the recording is still stored. */
void dt__call_recording_orphan(dt_call_t *c, const completion_t *comp) {
  if (!comp->location || !c->reg->o.recstore || !c->reg->recordings_dir) return;
  bool known;
  int rc;
  recording_submit(c, comp, record_reason(comp, &known), false, &rc);
  if (rc < 0) dt_log(DT_LOG_ERROR, c->id, "a late recording could not be kept: %s", dt_strerror(rc));
}

void dt__call_record_done(dt_call_t *c, const completion_t *comp) {
  bool known;
  const char *reason = record_reason(comp, &known);
  if (comp->status == DT_OP_STATUS_FAILED && !comp->location && !known) {
    dt__call_fail_op(c, comp, "record");
    return;
  }
  c->result.reason = reason;
  c->result.completion_reason = dt__xstrdup_or_null(comp->completion_reason);
  c->result.location = dt__xstrdup_or_null(comp->location);
  dt_calls_t *r = c->reg;
  if (comp->location && r->recordings_dir && r->o.recstore) {
    int rc;
    if (recording_submit(c, comp, reason, true, &rc)) {
      c->stage = R_DOWNLOADING;
      dt__call_arm(c, dt__call_op_timeout(c));
      return;
    }
    dt__call_wait_fail(c, DT_EIO, "recordingStore", "the recording could not be handed to the store: %s", dt_strerror(rc));
    return;
  }
  dt__call_wait_finish(c, 0);
}
