/*
 * recstore.c — the recordings journal, downloads with bounded retries and atomic storage
 * (see recstore.h).
 *
 * Owns: one job per recording not yet stored (its journal entry, its download or its
 * retry timer, the caller's callback until it is forgotten), a FIFO of jobs waiting for a
 * download slot, and the files under {dir}. Promises: the journal entry is durable
 * (fsync of the file and of the directory) before the first byte is fetched; the .wav
 * and its sidecar are durable before the journal entry goes; a callback runs at most
 * once and never from inside dt_recstore_add; no access token reaches the log. A write
 * that fails (full disk, I/O error) leaves no file behind — no temporary file, no .wav
 * without its sidecar — keeps the journal entry, and is counted, logged and retried.
 *
 * Off the loop: every file operation made per recording (the journal entry's write, fsync
 * and directory fsync; the .wav and sidecar atomic writes and the directory fsync; the
 * journal entry's unlink) runs in libuv's thread pool (uv_queue_work), at most one request
 * per job at a time, in the order above: the download starts from the journal request's
 * completion, and the callback runs from the completion of the request that stored the
 * files and then removed the journal entry. The thread side (io_run) gets plain copies of
 * paths and bytes and returns an errno; it never touches the loop, the store or the job.
 * A job with a request in flight is freed only from that request's completion, so close
 * waits for it (its journal entry or files end up as the request leaves them, which the
 * next start's resume handles). dt_recstore_resume (start-up, before traffic) and the
 * close's rmdir of an empty journal directory stay synchronous.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/list.h"
#include "dialtone/log.h"
#include "dialtone/recstore.h"
#include "dialtone/wav.h"

#define NAME_MAX_LEN 200
#define JOURNAL_MAX_BYTES (64 * 1024)
#define FIELD_MAX 8192 /* longest location/token/field kept */

struct dt_recjob_s {
  dt_list_node_t link;      /* in st->jobs: every live job */
  dt_list_node_t qlink;     /* in st->queue while waiting for a download slot */
  dt_recstore_t *st;
  char *name, *location, *token, *call_id, *flow, *from, *to, *reason, *completion_reason;
  int64_t created_ms;       /* Unix ms the recording was journaled */
  unsigned attempts;
  int last_status;
  dt_http_call_t *http;
  uv_timer_t timer;         /* retry backoff; closed when the job ends */
  struct io_s *io;          /* the thread-pool request in flight, if any */
  bool dead, timer_closed;  /* unlinked from the store; freed once both closed and !io */
  dt_recstore_fn cb;
  void *ud;
};

/* One thread-pool request: plain copies in, an errno out. */
enum { IO_JOURNAL, IO_STORE, IO_FAIL };
typedef struct io_s {
  uv_work_t req;
  dt_recjob_t *j;           /* loop side only */
  int kind;
  bool mkdirs;              /* IO_JOURNAL: create dir and jdir first */
  char *dir, *jdir, *jpath; /* the recordings directory, the journal's, the entry */
  char *wav, *side;         /* {dir}/{name}.wav, .json */
  char *text;               /* the journal entry or the sidecar */
  size_t text_len;
  char *body;               /* IO_STORE: the recording */
  size_t body_len;
  double dur;
  int fetch_err;            /* IO_FAIL: why the fetch failed for good (DT_E*) */
  char *msg;                /* IO_FAIL: the same in words */
  int err;                  /* set by the thread: errno of the failed step, 0 = done */
} io_t;

struct dt_recstore_s {
  dt_recstore_options_t o;
  char *dir, *jdir;
  bool jdir_made;
  dt_list_t jobs;           /* every live job, newest first; its count is the pending gauge */
  dt_list_t queue;          /* FIFO of jobs waiting for a download slot */
  size_t inflight, unfreed;
  uint64_t stored, failed;
  bool closing;
  dt_done_t close_done;
};

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  return dt_xstrndup(s, n > FIELD_MAX ? FIELD_MAX : n);
}

static bool name_ok(const char *n) {
  size_t len = n ? strlen(n) : 0;
  if (len == 0 || len > NAME_MAX_LEN || n[0] == '.') return false;
  for (size_t i = 0; i < len; i++) {
    char ch = n[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

/* Seconds of audio in a RIFF/WAVE buffer, 0 if it cannot tell. */
static double wav_seconds(const void *data, size_t len) {
  dt_wav_info_t w;
  return dt_wav_parse(data, len, &w, NULL, 0) == 0 ? dt_wav_seconds(&w, len) : 0;
}

/* ---------------------------------------------------------------- durable files */
/* dt_write_file_atomic_mode (temporary file, fsync, rename; on failure no temporary file
   stays, path is untouched and errno says why) and dt_fsync_dir, from common.h. */

static void count_write_error(dt_recstore_t *st) {
  if (st->o.metrics) dt_metrics_inc(st->o.metrics, "dt_recordings_write_errors_total", NULL);
}

static bool file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static char *journal_path(const dt_recstore_t *st, const char *name) {
  return dt_xasprintf("%s/%s.json", st->jdir, name);
}

static void add_str(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

/* The journal entry's text: everything needed to fetch and describe the recording again. */
static char *journal_text(const dt_recjob_t *j) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", j->name);
  cJSON_AddStringToObject(o, "location", j->location);
  add_str(o, "token", j->token);
  add_str(o, "call_id", j->call_id);
  add_str(o, "flow", j->flow);
  add_str(o, "from", j->from);
  add_str(o, "to", j->to);
  add_str(o, "reason", j->reason);
  add_str(o, "completion_reason", j->completion_reason);
  cJSON_AddNumberToObject(o, "created_ms", (double)j->created_ms);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

/* Synchronous removal, for dt_recstore_resume only (start-up, before traffic). */
static void journal_remove_now(dt_recstore_t *st, const char *name) {
  char *path = journal_path(st, name);
  if (unlink(path) == 0) dt_fsync_dir(st->jdir);
  free(path);
}

/* The sidecar {dir}/{name}.json: what the recording is, or why it could not be fetched. */
static char *sidecar_text(const dt_recjob_t *j, const char *wav_path, double dur, size_t bytes, const char *error) {
  char created[32], stored[32];
  dt_clock_format_iso(j->created_ms, created);
  dt_clock_format_iso(dt_clock_unix_ms(), stored);
  cJSON *o = cJSON_CreateObject();
  add_str(o, "call_id", j->call_id ? j->call_id : "");
  add_str(o, "flow", j->flow ? j->flow : "");
  if (error) cJSON_AddNullToObject(o, "file");
  else cJSON_AddStringToObject(o, "file", wav_path);
  cJSON_AddStringToObject(o, "location", j->location);
  add_str(o, "reason", j->reason ? j->reason : "");
  add_str(o, "completion_reason", j->completion_reason);
  cJSON_AddNumberToObject(o, "duration_s", round(dur * 1000.0) / 1000.0);
  cJSON_AddNumberToObject(o, "bytes", (double)bytes);
  cJSON_AddStringToObject(o, "created", created);
  cJSON_AddStringToObject(o, error ? "failed" : "stored", stored);
  add_str(o, "from", j->from);
  add_str(o, "to", j->to);
  cJSON_AddNumberToObject(o, "attempts", j->attempts);
  if (error) cJSON_AddStringToObject(o, "error", error);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  size_t n = strlen(text);
  text = dt_xrealloc(text, n + 2);
  text[n] = '\n';
  text[n + 1] = '\0';
  return text;
}

/* ---------------------------------------------------------------- the thread side */

/* Removes the journal entry (durably); a missing entry is no error. */
static void io_unlink_journal(const io_t *io) {
  if (unlink(io->jpath) == 0) dt_fsync_dir(io->jdir);
}

/* Runs in the thread pool: touches only io's own buffers and the files. */
static void io_run(uv_work_t *req) {
  io_t *io = req->data;
  int e = 0;
  switch (io->kind) {
  case IO_JOURNAL:
    if (io->mkdirs) {
      if (mkdir(io->dir, 0755) != 0 && errno != EEXIST) e = errno;
      else if (mkdir(io->jdir, 0700) != 0 && errno != EEXIST) e = errno;
      if (e) break;
    }
    if (dt_write_file_atomic_mode(io->jpath, io->text, io->text_len, 0600) != 0) e = errno;
    else dt_fsync_dir(io->jdir);
    break;
  case IO_STORE:
    if (dt_write_file_atomic_mode(io->wav, io->body, io->body_len, 0644) != 0) {
      e = errno;
    } else if (dt_write_file_atomic_mode(io->side, io->text, io->text_len, 0644) != 0) {
      /* no .wav without its sidecar: a half-stored recording would look stored */
      e = errno;
      unlink(io->wav);
    }
    if (e) break;
    dt_fsync_dir(io->dir); /* .wav and sidecar durable before the journal entry goes */
    io_unlink_journal(io);
    break;
  case IO_FAIL:
    if (dt_write_file_atomic_mode(io->side, io->text, io->text_len, 0644) != 0) {
      e = errno; /* the failure is not on disk: the journal entry stays */
      break;
    }
    dt_fsync_dir(io->dir);
    io_unlink_journal(io);
    break;
  }
  io->err = e;
}

static void io_free(io_t *io) {
  DT_FREE_ALL(io->dir, io->jdir, io->jpath, io->wav, io->side, io->text, io->body, io->msg);
  free(io);
}

/* ---------------------------------------------------------------- jobs */

static void pump(dt_recstore_t *st);
static void maybe_closed(dt_recstore_t *st);
static void io_done(uv_work_t *req, int status);

static void gauge(dt_recstore_t *st) {
  if (st->o.metrics)
    dt_metrics_set(st->o.metrics, "dt_recordings_pending", NULL, (double)dt_list_count(&st->jobs));
}

/* Frees an unlinked job once its timer is closed and no request of its is in flight. */
static void job_maybe_free(dt_recjob_t *j) {
  if (!j->dead || !j->timer_closed || j->io) return;
  dt_recstore_t *st = j->st;
  DT_FREE_ALL(j->name, j->location, j->token, j->call_id, j->flow, j->from, j->to, j->reason, j->completion_reason);
  free(j);
  st->unfreed--;
  maybe_closed(st);
}

static void job_closed(uv_handle_t *h) {
  dt_recjob_t *j = h->data;
  j->timer_closed = true;
  job_maybe_free(j);
}

static void dequeue(dt_recstore_t *st, dt_recjob_t *j) {
  if (dt_list_linked(&st->queue, &j->qlink)) dt_list_remove(&st->queue, &j->qlink);
}

/* Takes the job out of the store; it is freed once its timer is closed and its request
   (if any) has completed. */
static void job_unlink(dt_recjob_t *j) {
  dt_recstore_t *st = j->st;
  dequeue(st, j);
  if (j->http) {
    dt_http_call_cancel(j->http);
    j->http = NULL;
    st->inflight--;
  }
  dt_list_remove(&st->jobs, &j->link);
  j->dead = true;
  gauge(st);
  uv_timer_stop(&j->timer);
  uv_close((uv_handle_t *)&j->timer, job_closed);
}

static dt_recjob_t *job_new(dt_recstore_t *st, const dt_recording_t *r, int64_t created_ms) {
  dt_recjob_t *j = dt_xcalloc(1, sizeof *j);
  j->st = st;
  j->name = dt_xstrdup(r->name);
  j->location = dup_or_null(r->location);
  j->token = dup_or_null(r->token);
  j->call_id = dup_or_null(r->call_id);
  j->flow = dup_or_null(r->flow);
  j->from = dup_or_null(r->from);
  j->to = dup_or_null(r->to);
  j->reason = dup_or_null(r->reason);
  j->completion_reason = dup_or_null(r->completion_reason);
  j->created_ms = created_ms;
  uv_timer_init(st->o.loop, &j->timer);
  j->timer.data = j;
  dt_list_push_front(&st->jobs, &j->link);
  st->unfreed++;
  gauge(st);
  return j;
}

static void enqueue(dt_recstore_t *st, dt_recjob_t *j) {
  if (!dt_list_linked(&st->queue, &j->qlink)) dt_list_push_back(&st->queue, &j->qlink);
}

/* A request for job j with the paths filled in; text (owned) may be NULL. */
static io_t *io_new(dt_recjob_t *j, int kind, char *text) {
  dt_recstore_t *st = j->st;
  io_t *io = dt_xcalloc(1, sizeof *io);
  io->j = j;
  io->kind = kind;
  io->dir = dt_xstrdup(st->dir);
  io->jdir = dt_xstrdup(st->jdir);
  io->jpath = journal_path(st, j->name);
  io->wav = dt_xasprintf("%s/%s.wav", st->dir, j->name);
  io->side = dt_xasprintf("%s/%s.json", st->dir, j->name);
  io->text = text;
  io->text_len = text ? strlen(text) : 0;
  io->req.data = io;
  return io;
}

static void io_start(io_t *io) {
  dt_recjob_t *j = io->j;
  j->io = io;
  /* fails only without a work callback */
  (void)uv_queue_work(j->st->o.loop, &io->req, io_run, io_done);
}

/* The job is over for good: write the failure's sidecar, then report (from io_done). */
static void job_fail(dt_recjob_t *j, int err, const char *msg) {
  io_t *io = io_new(j, IO_FAIL, NULL);
  io->text = sidecar_text(j, io->wav, 0, 0, msg);
  io->text_len = strlen(io->text);
  io->fetch_err = err;
  io->msg = dt_xstrdup(msg);
  io_start(io);
}

/* Tells the caller (if still interested) and unlinks the job. */
static void job_report(dt_recjob_t *j, int err, const char *msg, const io_t *io) {
  dt_recstore_fn cb = j->cb;
  void *ud = j->ud;
  dt_recstore_result_t res = {.err = err,
                              .http_status = j->last_status,
                              .path = io->wav,
                              .duration = err ? 0 : io->dur,
                              .bytes = err ? 0 : io->body_len,
                              .attempts = j->attempts,
                              .message = err ? msg : NULL};
  j->cb = NULL;
  if (!j->dead) job_unlink(j);
  if (cb) cb(&res, ud);
}

static void on_retry_timer(uv_timer_t *t) {
  dt_recjob_t *j = t->data;
  dt_recstore_t *st = j->st;
  if (st->closing) return;
  enqueue(st, j);
  pump(st);
}

static bool retryable(int status) {
  return status == 0 || status == 408 || status == 425 || status == 429 || status >= 500;
}

static void retry_later(dt_recjob_t *j, const dt_http_response_t *res, const char *why) {
  dt_recstore_t *st = j->st;
  uint64_t delay = st->o.backoff_ms;
  for (unsigned i = 1; i < j->attempts && delay < st->o.backoff_max_ms; i++) delay *= 2;
  const char *ra = res ? dt_http_response_header(res, "Retry-After") : NULL;
  if (ra) {
    char *end = NULL;
    long s = strtol(ra, &end, 10);
    if (end != ra && s > 0 && (uint64_t)s * 1000 > delay) delay = (uint64_t)s * 1000;
  }
  if (delay > st->o.backoff_max_ms) delay = st->o.backoff_max_ms;
  if (st->o.metrics) dt_metrics_inc(st->o.metrics, "dt_recording_fetch_retries_total", NULL);
  dt_log(DT_LOG_WARN, j->call_id, "recording %s: attempt %u failed (%s); retrying in %llu ms", j->name,
         j->attempts, why, (unsigned long long)delay);
  uv_timer_start(&j->timer, on_retry_timer, delay, 0);
}

/* A request of job j completed (on the loop). */
static void io_done(uv_work_t *req, int status) {
  io_t *io = req->data;
  dt_recjob_t *j = io->j;
  dt_recstore_t *st = j->st;
  j->io = NULL;
  int e = status == 0 ? io->err : ECANCELED;
  char why[512];
  switch (io->kind) {
  case IO_JOURNAL:
    if (e == 0) {
      st->jdir_made = true;
    } else {
      if (st->o.metrics) dt_metrics_inc(st->o.metrics, "dt_recordings_journal_errors_total", NULL);
      dt_log(DT_LOG_ERROR, j->call_id, "recording %s: cannot write its journal entry under %s: %s; fetching anyway",
             j->name, st->jdir, strerror(e));
    }
    if (!j->dead && !st->closing) {
      enqueue(st, j);
      pump(st);
    }
    break;
  case IO_STORE:
    if (e == 0) {
      st->stored++;
      if (st->o.metrics) dt_metrics_inc(st->o.metrics, "dt_recordings_total", "result=\"stored\"");
      dt_log(DT_LOG_INFO, j->call_id, "recording stored as %s (%.1f s, %zu bytes, %u attempt%s)", io->wav, io->dur,
             io->body_len, j->attempts, j->attempts == 1 ? "" : "s");
      job_report(j, 0, NULL, io);
    } else {
      /* a full or failing disk: keep the journal entry and try again later (the download
         is repeated: the body is not kept in memory meanwhile) */
      snprintf(why, sizeof why, "cannot write %s or its sidecar: %s", io->wav, strerror(e));
      count_write_error(st);
      if (!j->dead && !st->closing) retry_later(j, NULL, why);
    }
    break;
  case IO_FAIL: {
    const char *msg = io->msg;
    st->failed++;
    if (st->o.metrics) dt_metrics_inc(st->o.metrics, "dt_recordings_total", "result=\"failed\"");
    dt_log(DT_LOG_ERROR, j->call_id, "recording %s could not be fetched after %u attempt%s: %s", j->name,
           j->attempts, j->attempts == 1 ? "" : "s", msg);
    if (e) {
      /* the failure is not on disk: the journal entry stays, so the next start tries again */
      count_write_error(st);
      dt_log(DT_LOG_ERROR, j->call_id,
             "recording %s: cannot write its sidecar under %s: %s; its journal entry stays for the next start",
             j->name, st->dir, strerror(e));
    }
    job_report(j, io->fetch_err, msg, io);
    break;
  }
  }
  io_free(io);
  if (!st->closing) pump(st);
  job_maybe_free(j); /* may free the store too: nothing after this */
}

static void on_response(const dt_http_response_t *res, void *ud) {
  dt_recjob_t *j = ud;
  dt_recstore_t *st = j->st;
  j->http = NULL;
  st->inflight--;
  j->last_status = res->status;
  char why[256];
  if (res->error == 0 && res->status == 200) {
    io_t *io = io_new(j, IO_STORE, NULL);
    io->dur = wav_seconds(res->body, res->body_len);
    io->text = sidecar_text(j, io->wav, io->dur, res->body_len, NULL);
    io->text_len = strlen(io->text);
    io->body = dt_xmalloc(res->body_len ? res->body_len : 1);
    memcpy(io->body, res->body, res->body_len);
    io->body_len = res->body_len;
    io_start(io);
    pump(st);
    return;
  }
  if (res->error) snprintf(why, sizeof why, "%s", res->error_message && res->error_message[0] ? res->error_message
                                                                                             : dt_strerror(res->error));
  else snprintf(why, sizeof why, "HTTP %d", res->status);
  bool young = dt_clock_unix_ms() - j->created_ms < (int64_t)st->o.max_age_s * 1000;
  if (retryable(res->error ? 0 : res->status) && young) retry_later(j, res, why);
  else job_fail(j, res->error ? res->error : DT_EHTTP, why);
  pump(st);
}

static void fetch(dt_recjob_t *j) {
  dt_recstore_t *st = j->st;
  j->attempts++;
  char *auth = j->token ? dt_xasprintf("Bearer %s", j->token) : NULL;
  dt_http_header_t h = {"Authorization", auth};
  dt_http_request_options_t req = {.method = "GET",
                                   .url = j->location,
                                   .headers = auth ? &h : NULL,
                                   .header_count = auth ? 1 : 0,
                                   .timeout_ms = (long)st->o.attempt_timeout_ms,
                                   .max_response_bytes = st->o.max_bytes};
  int rc = dt_http_client_send(st->o.http, &req, on_response, j, &j->http);
  free(auth);
  if (rc == 0) {
    st->inflight++;
    return;
  }
  j->http = NULL;
  char why[128];
  snprintf(why, sizeof why, "cannot start the download: %s", dt_strerror(rc));
  if (rc == DT_EINVAL) job_fail(j, rc, why); /* a URL curl refuses will never work */
  else retry_later(j, NULL, why);
}

static void pump(dt_recstore_t *st) {
  while (!st->closing && st->queue.head && st->inflight < st->o.max_inflight)
    fetch(DT_LIST_ENTRY(dt_list_pop_front(&st->queue), dt_recjob_t, qlink));
}

/* ---------------------------------------------------------------- API */

int dt_recstore_new(const dt_recstore_options_t *opts, dt_recstore_t **out) {
  if (!opts->loop || !opts->http || !opts->dir || !opts->dir[0]) return DT_EINVAL;
  dt_recstore_t *st = dt_xcalloc(1, sizeof *st);
  st->o = *opts;
  st->dir = dt_xstrdup(opts->dir);
  size_t n = strlen(st->dir);
  while (n > 1 && st->dir[n - 1] == '/') st->dir[--n] = '\0';
  st->jdir = dt_xasprintf("%s/.journal", st->dir);
  st->o.dir = st->dir;
  if (!st->o.max_bytes) st->o.max_bytes = 32u << 20;
  if (!st->o.attempt_timeout_ms) st->o.attempt_timeout_ms = 60000;
  if (!st->o.backoff_ms) st->o.backoff_ms = 500;
  if (!st->o.backoff_max_ms) st->o.backoff_max_ms = 30000;
  if (st->o.backoff_max_ms < st->o.backoff_ms) st->o.backoff_max_ms = st->o.backoff_ms;
  if (!st->o.max_age_s) st->o.max_age_s = 86400;
  if (!st->o.max_inflight) st->o.max_inflight = 32;
  if (st->o.metrics) {
    static const dt_metrics_family_t families[] = {
        {"dt_recordings_total", "counter", "Recordings stored or failed for good, by result."},
        {"dt_recording_fetch_retries_total", "counter", "Recording downloads retried after a failed attempt."},
        {"dt_recordings_pending", "gauge", "Recordings journaled and not yet stored."},
        {"dt_recordings_write_errors_total", "counter",
         "Recordings or sidecars that could not be written (full or failing disk); retried."},
        {"dt_recordings_journal_errors_total", "counter",
         "Journal entries that could not be written (the download goes on without one)."},
    };
    dt_metrics_describe_all(st->o.metrics, families, DT_ARRAY_SIZE(families));
    dt_metrics_set(st->o.metrics, "dt_recordings_pending", NULL, 0);
    dt_metrics_add(st->o.metrics, "dt_recordings_write_errors_total", NULL, 0);
    dt_metrics_add(st->o.metrics, "dt_recordings_journal_errors_total", NULL, 0);
  }
  *out = st;
  return 0;
}

int dt_recstore_add(dt_recstore_t *st, const dt_recording_t *rec, dt_recstore_fn cb, void *ud, dt_recjob_t **job) {
  if (job) *job = NULL;
  if (st->closing) return DT_ECLOSED;
  if (!name_ok(rec->name) || !rec->location || !rec->location[0]) return DT_EINVAL;
  dt_recjob_t *j = job_new(st, rec, dt_clock_unix_ms());
  j->cb = cb;
  j->ud = ud;
  /* the fetch starts once the entry is durable (io_done) */
  io_t *io = io_new(j, IO_JOURNAL, journal_text(j));
  io->mkdirs = !st->jdir_made;
  io_start(io);
  if (job) *job = j;
  return 0;
}

void dt_recjob_forget(dt_recjob_t *j) {
  if (!j) return;
  j->cb = NULL;
  j->ud = NULL;
}

static char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int dt_recstore_resume(dt_recstore_t *st) {
  if (st->closing) return DT_ECLOSED;
  DIR *d = opendir(st->jdir);
  if (!d) return errno == ENOENT ? 0 : DT_EIO;
  st->jdir_made = true;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *fn = de->d_name;
    size_t len = strlen(fn);
    if (fn[0] == '.') continue;
    char *full = dt_xasprintf("%s/%s", st->jdir, fn);
    if (strstr(fn, ".tmp.")) { /* a journal write cut short: the entry was never complete */
      unlink(full);
      free(full);
      continue;
    }
    if (len < 6 || strcmp(fn + len - 5, ".json") != 0) {
      free(full);
      continue;
    }
    char *text = NULL;
    size_t tl = 0;
    cJSON *o = NULL;
    if (dt_read_file(full, JOURNAL_MAX_BYTES, &text, &tl) == 0) o = cJSON_ParseWithLength(text, tl);
    free(text);
    const char *name = jstr(o, "name"), *loc = jstr(o, "location");
    if (!o || !name_ok(name) || strncmp(fn, name, len - 5) != 0 || strlen(name) != len - 5 || !loc) {
      dt_log(DT_LOG_ERROR, NULL, "recordings journal: %s is not a journal entry; left alone", full);
      cJSON_Delete(o);
      free(full);
      continue;
    }
    char *wav = dt_xasprintf("%s/%s.wav", st->dir, name);
    char *side = dt_xasprintf("%s/%s.json", st->dir, name);
    bool done = file_exists(wav) && file_exists(side);
    free(wav);
    free(side);
    if (done) { /* stored just before the process stopped */
      journal_remove_now(st, name);
    } else {
      dt_recording_t r = {.name = name,
                          .location = loc,
                          .token = jstr(o, "token"),
                          .call_id = jstr(o, "call_id"),
                          .flow = jstr(o, "flow"),
                          .from = jstr(o, "from"),
                          .to = jstr(o, "to"),
                          .reason = jstr(o, "reason"),
                          .completion_reason = jstr(o, "completion_reason")};
      const cJSON *cm = cJSON_GetObjectItemCaseSensitive(o, "created_ms");
      int64_t created = cJSON_IsNumber(cm) ? (int64_t)cm->valuedouble : dt_clock_unix_ms();
      bool dup = false;
      for (dt_list_node_t *n = st->jobs.head; n && !dup; n = n->next)
        dup = strcmp(DT_LIST_ENTRY(n, dt_recjob_t, link)->name, name) == 0;
      if (!dup) {
        dt_recjob_t *j = job_new(st, &r, created);
        enqueue(st, j);
        n++;
        dt_log(DT_LOG_INFO, j->call_id, "recording %s: resuming its download from the journal", name);
      }
    }
    cJSON_Delete(o);
    free(full);
  }
  closedir(d);
  pump(st);
  return n;
}

size_t dt_recstore_pending(const dt_recstore_t *st) { return st ? dt_list_count(&st->jobs) : 0; }
uint64_t dt_recstore_stored(const dt_recstore_t *st) { return st ? st->stored : 0; }
uint64_t dt_recstore_failed(const dt_recstore_t *st) { return st ? st->failed : 0; }
const char *dt_recstore_journal_dir(const dt_recstore_t *st) { return st->jdir; }

static void maybe_closed(dt_recstore_t *st) {
  if (!st->closing || st->unfreed > 0) return;
  rmdir(st->jdir); /* only when empty: pending entries stay for the next start */
  free(st->dir);
  free(st->jdir);
  dt_free_then_done(st, st->close_done);
}

static void close_idle(uv_handle_t *h) {
  dt_recstore_t *st = h->data;
  free(h);
  st->unfreed--;
  maybe_closed(st);
}

void dt_recstore_close(dt_recstore_t *st, void (*done)(void *ud), void *ud) {
  if (st->closing) return;
  st->closing = true;
  st->close_done = (dt_done_t){done, ud};
  size_t pending = dt_list_count(&st->jobs);
  if (pending)
    dt_log(DT_LOG_WARN, NULL, "recordings: %zu download%s left in the journal for the next start", pending,
           pending == 1 ? "" : "s");
  while (st->jobs.head) {
    dt_recjob_t *j = DT_LIST_ENTRY(st->jobs.head, dt_recjob_t, link);
    j->cb = NULL;
    job_unlink(j);
  }
  /* done runs from the loop even when there was nothing to close */
  uv_idle_t *idle = dt_xmalloc(sizeof *idle);
  uv_idle_init(st->o.loop, idle);
  idle->data = st;
  st->unfreed++;
  uv_close((uv_handle_t *)idle, close_idle);
}
