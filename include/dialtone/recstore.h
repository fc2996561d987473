/*
 * recstore.h — recordings that are never lost: a journal of the recordings the engine was
 * told about, their downloads with bounded retries, and their atomic storage.
 *
 * A recording is added once Graph reported it (a record operation completed with
 * recordingLocation and recordingAccessToken). Then, in this order:
 *   1. its journal entry {dir}/.journal/{name}.json (location, token, sidecar fields) is
 *      written to a temporary file, fsynced, renamed and the directory fsynced — before
 *      anything is fetched;
 *   2. the recording is fetched with GET location and "Authorization: Bearer token";
 *      transport failures, timeouts, 408, 425, 429 and 5xx are retried with exponential
 *      backoff (backoff_ms doubling up to backoff_max_ms, Retry-After honoured within
 *      that cap) for as long as the entry is younger than max_age_s; other 4xx answers
 *      fail for good;
 *   3. {dir}/{name}.wav and its sidecar {dir}/{name}.json are each written atomically
 *      (temporary file, fsync, rename), the directory fsynced; when either cannot be
 *      written (full or failing disk) neither stays, nor any temporary file, the journal
 *      entry stays and the download is retried with the same backoff, without an age
 *      limit (dt_recordings_write_errors_total counts these);
 *   4. the journal entry is removed.
 * A fetch that fails for good still writes the sidecar, with "error" set and no .wav, so
 * the failure is on disk too; if that sidecar cannot be written, the journal entry stays
 * and the next start tries again. dt_recstore_resume (at start-up) restarts every fetch still
 * in the journal: the call it belonged to may be long gone, the sidecar names it. The
 * journal holds access tokens: its files are 0600 and no token is ever logged.
 *
 * The writes, fsyncs and unlinks of each recording run in libuv's thread pool, in the order
 * above; the callback runs once the files are durable and the journal entry is gone. Close
 * waits for the requests in flight. dt_recstore_resume reads the journal synchronously
 * (start-up, before traffic).
 */
#ifndef DIALTONE_RECSTORE_H
#define DIALTONE_RECSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "dialtone/http_client.h"
#include "dialtone/metrics.h"

typedef struct dt_recstore_s dt_recstore_t;
typedef struct dt_recjob_s dt_recjob_t;

typedef struct {
  uv_loop_t *loop;
  dt_http_client_t *http;        /* borrowed */
  dt_metrics_t *metrics;         /* optional, borrowed */
  const char *dir;               /* the recordings directory (created if missing) */
  size_t max_bytes;              /* largest recording; default 32 MiB */
  unsigned attempt_timeout_ms;   /* one GET; default 60000 */
  unsigned backoff_ms;           /* first retry delay; default 500 */
  unsigned backoff_max_ms;       /* cap of the delay; default 30000 */
  unsigned max_age_s;            /* give up retrying this long after the entry was journaled; default 86400 */
  unsigned max_inflight;         /* concurrent downloads; default 32 (more wait their turn) */
} dt_recstore_options_t;

/* What a recording is; every string is copied. */
typedef struct {
  const char *name;              /* file stem: letters, digits, '.', '_', '-'; no leading '.' */
  const char *location;          /* required: the recording's URL */
  const char *token;             /* the access token (may be NULL) */
  const char *call_id, *flow, *from, *to, *reason, *completion_reason; /* sidecar fields (may be NULL) */
} dt_recording_t;

typedef struct {
  int err;                       /* 0 = stored; else why it failed for good (DT_EHTTP, DT_EIO, ...) */
  int http_status;               /* of the last attempt (0 = transport failure) */
  const char *path;              /* {dir}/{name}.wav */
  double duration;               /* seconds of audio (0 if the WAV header cannot tell) */
  size_t bytes;
  unsigned attempts;
  const char *message;           /* set when err != 0 */
} dt_recstore_result_t;

/* Runs once, later on the loop, when the recording is stored or failed for good — unless
   the job was forgotten first. res is valid during the call only. */
typedef void (*dt_recstore_fn)(const dt_recstore_result_t *res, void *ud);

int dt_recstore_new(const dt_recstore_options_t *opts, dt_recstore_t **out);
/* Journals the recording (in the thread pool) and fetches it once the entry is durable. *job (optional) is the handle to forget
   it with; it is valid until cb runs. A journal that cannot be written is logged and the
   fetch goes on. Returns 0, DT_EINVAL (bad name or no location) or DT_ECLOSED. */
int dt_recstore_add(dt_recstore_t *st, const dt_recording_t *rec, dt_recstore_fn cb, void *ud,
                    dt_recjob_t **job);
/* The caller is no longer interested: cb will not run. The fetch goes on. */
void dt_recjob_forget(dt_recjob_t *job);
/* Restarts the fetch of every recording still in the journal; returns how many (or DT_E*). */
int dt_recstore_resume(dt_recstore_t *st);
/* Recordings journaled and not yet stored or failed. */
size_t dt_recstore_pending(const dt_recstore_t *st);
/* Recordings stored / failed for good so far. */
uint64_t dt_recstore_stored(const dt_recstore_t *st);
uint64_t dt_recstore_failed(const dt_recstore_t *st);
/* {dir}/.journal */
const char *dt_recstore_journal_dir(const dt_recstore_t *st);
/* Stops every fetch (their journal entries stay for the next start), removes the journal
   directory if it is empty, frees the store; done (may be NULL) runs from the loop, once the
   disk requests in flight have completed (a .wav being written is finished, not abandoned). */
void dt_recstore_close(dt_recstore_t *st, void (*done)(void *ud), void *ud);

#endif
