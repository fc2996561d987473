/*
 * cdr.c — call detail records (see cdr.h): formats a call's flat record as one JSON line and
 * appends it with a single write(2) to a file opened O_APPEND.
 *
 * Owns the CDR file descriptor, the records that could not be written yet (a ring in
 * memory, then the optional spool file), the retry timer and the cdr metrics. Promises:
 * the CDR file only ever holds whole lines written by us (a failed or short write is cut
 * back with ftruncate; a fragment left by a crash is ended with a newline at open), and
 * every record is written exactly once and in order, or — when it can be kept nowhere —
 * logged in full. The one known gap: a process killed while replaying the spool file
 * may write the records of that replay again at the next start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/cdr.h"
#include "dialtone/clock.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/text.h"
#include "cdr_internal.h"

#define DEFAULT_SPOOL_RECORDS 10000
#define RETRY_FIRST_MS 200
#define RETRY_MAX_MS 10000
#define SPOOL_LINE_MAX (4u << 20) /* a spool line longer than this is not ours */

struct dt_cdr_writer_s {
  char *path, *spool_path;
  int fd;                 /* -1: reopened by path at the next attempt */
  uint64_t count;         /* lines written */
  dt_metrics_t *metrics;
  uv_timer_t *timer;      /* NULL without a loop */
  uint64_t backoff_ms;
  bool failing;           /* a failure episode is under way (it was logged) */
  bool closing;
  int last_errno;
  uint64_t episode_failures, episode_kept;
  /* records not yet written, oldest first: the ring, then the spool file */
  char **ring;            /* lines with their '\n', owned */
  size_t ring_cap, ring_head, ring_len;
  uint64_t disk_len;      /* records in the spool file not yet written */
  uint64_t disk_off;      /* where the first of them starts */
  uint64_t dropped;
};

/* The test seam (cdr_internal.h): every write to the CDR and spool files goes through it. */
static ssize_t (*cdr_write_fn)(int fd, const void *buf, size_t len) = write;
void dt__cdr_set_write_fn(ssize_t (*fn)(int fd, const void *buf, size_t len)) { cdr_write_fn = fn ? fn : write; }

static void gauge(dt_cdr_writer_t *w) {
  if (w->metrics) dt_metrics_set(w->metrics, "dt_cdr_spooled", NULL, (double)(w->ring_len + w->disk_len));
}

uint64_t dt_cdr_pending(const dt_cdr_writer_t *w) { return w ? w->ring_len + w->disk_len : 0; }

/* Writes all of line to fd; on failure cuts back what got in (so the file keeps whole
   lines) and returns -errno. A write that takes nothing counts as a full disk. */
static int write_all(int fd, const char *line, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = cdr_write_fn(fd, line + off, len - off);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int e = n < 0 ? errno : ENOSPC;
    struct stat sb;
    if (off > 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < off ||
                    ftruncate(fd, sb.st_size - (off_t)off) != 0))
      dt_log(DT_LOG_WARN, NULL, "CDR: %zu bytes of a failed write could not be cut back: %s", off,
             strerror(errno));
    return -(e ? e : EIO);
  }
  return 0;
}

/* Opens path for appending. A file that does not end in a newline (a crash in the middle
   of a write, or a cut-back that failed) gets one, so the next line starts whole. */
static int open_append(const char *path, mode_t mode, bool repair) {
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  bool readable = fd >= 0;
  if (fd < 0 && errno == EACCES) fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  struct stat sb;
  char last = '\n';
  if (repair && readable && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
      pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n') {
    dt_log(DT_LOG_WARN, NULL, "CDR: %s ended in a partial line; ending it with a newline so the records after it stay whole",
           path);
    int rc = write_all(fd, "\n", 1);
    if (rc < 0) {
      close(fd);
      return rc;
    }
  }
  return fd;
}

/* One line to the CDR file (reopened if a failure closed it); 0 or -errno. */
static int write_line(dt_cdr_writer_t *w, const char *line, size_t len) {
  if (w->fd < 0) {
    int fd = open_append(w->path, 0644, true);
    if (fd < 0) return fd;
    w->fd = fd;
  }
  int rc = write_all(w->fd, line, len);
  if (rc < 0) { /* the next attempt reopens: the operator may fix the mount or move the file */
    close(w->fd);
    w->fd = -1;
  }
  return rc;
}

static void arm(dt_cdr_writer_t *w);

/* A write attempt failed: count it, log the episode's start once, retry later. */
static void failed(dt_cdr_writer_t *w, int rc) {
  w->last_errno = -rc;
  w->episode_failures++;
  if (w->metrics) dt_metrics_inc(w->metrics, "dt_cdr_write_failures_total", NULL);
  if (!w->failing) {
    w->failing = true;
    w->backoff_ms = RETRY_FIRST_MS;
    if (w->spool_path)
      dt_log(DT_LOG_ERROR, NULL, "CDR: cannot write to %s: %s; keeping records (up to %zu in memory, then in %s) and retrying",
             w->path, strerror(-rc), w->ring_cap, w->spool_path);
    else
      dt_log(DT_LOG_ERROR, NULL, "CDR: cannot write to %s: %s; keeping records (up to %zu in memory) and retrying",
             w->path, strerror(-rc), w->ring_cap);
  } else {
    w->backoff_ms = w->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->backoff_ms * 2;
  }
  arm(w);
}

/* Appends line to the spool file; 0 or -errno. */
static int spool_append(dt_cdr_writer_t *w, const char *line, size_t len) {
  int fd = open_append(w->spool_path, 0600, false);
  if (fd < 0) return fd;
  int rc = write_all(fd, line, len);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  close(fd);
  return rc;
}

/* Keeps line (owned) behind the records already waiting: in the ring while the spool file
   is empty and the ring has room, else in the spool file, else only in the log. */
static int keep(dt_cdr_writer_t *w, char *line) {
  size_t len = strlen(line);
  if (w->disk_len == 0 && w->ring_len < w->ring_cap) {
    if (!w->ring) w->ring = dt_xcalloc(w->ring_cap, sizeof *w->ring);
    w->ring[(w->ring_head + w->ring_len) % w->ring_cap] = line;
    w->ring_len++;
    w->episode_kept++;
    gauge(w);
    return 0;
  }
  int rc = w->spool_path ? spool_append(w, line, len) : -ENOSPC;
  if (rc == 0) {
    w->disk_len++;
    w->episode_kept++;
    gauge(w);
    free(line);
    return 0;
  }
  w->dropped++;
  if (w->metrics) dt_metrics_inc(w->metrics, "dt_cdr_dropped_total", NULL);
  if (len && line[len - 1] == '\n') line[--len] = '\0';
  if (w->spool_path)
    dt_log(DT_LOG_ERROR, NULL, "CDR: record not written (%s: %s; spool %s: %s); it is kept only here: %s", w->path,
           strerror(w->last_errno), w->spool_path, strerror(-rc), line);
  else
    dt_log(DT_LOG_ERROR, NULL, "CDR: record not written (%s: %s; %zu records already wait in memory); it is kept only here: %s",
           w->path, strerror(w->last_errno), w->ring_cap, line);
  free(line);
  return DT_EIO;
}

/* The spool file cannot be read (not a retry matter: the CDR file is fine): it is left
   as it is for the operator, and nothing more is taken from it. */
static void spool_unreadable(dt_cdr_writer_t *w, int err) {
  dt_log(DT_LOG_ERROR, NULL, "CDR: cannot replay the spool %s: %s; its %llu records stay in it", w->spool_path,
         strerror(err), (unsigned long long)w->disk_len);
  w->disk_len = 0;
  w->disk_off = 0;
  gauge(w);
}

/* Writes the spool file's records to the CDR file, from disk_off on; 0 or -errno of a
   failed CDR write (to be retried). */
static int replay_spool(dt_cdr_writer_t *w) {
  int fd = open(w->spool_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) {
    spool_unreadable(w, errno);
    return 0;
  }
  if (fd < 0) {
    w->disk_len = w->disk_off = 0;
    gauge(w);
    return 0;
  }
  size_t cap = 64 * 1024, have = 0;
  char *buf = dt_xmalloc(cap);
  int rc = 0, spool_err = 0;
  for (;;) {
    ssize_t n = pread(fd, buf + have, cap - have, (off_t)(w->disk_off + have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spool_err = errno;
      break;
    }
    have += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
      size_t len = (size_t)(nl - start) + 1;
      if ((rc = write_line(w, start, len)) < 0) goto out;
      w->count++;
      w->disk_off += len;
      if (w->disk_len) w->disk_len--;
      start = nl + 1;
    }
    size_t rest = have - (size_t)(start - buf);
    if (n == 0) { /* the end: a last line without its newline was cut short; it is ended */
      if (rest > 0) {
        dt_buf_t b = {0};
        dt_buf_append(&b, start, rest);
        dt_buf_append(&b, "\n", 1);
        rc = write_line(w, b.data, b.len);
        dt_buf_free(&b);
        if (rc < 0) goto out;
        w->count++;
        w->disk_off += rest;
      }
      break;
    }
    memmove(buf, start, rest);
    have = rest;
    if (have == cap) {
      if (cap >= SPOOL_LINE_MAX) {
        spool_err = EFBIG;
        break;
      }
      cap *= 2;
      buf = dt_xrealloc(buf, cap);
    }
  }
out:
  free(buf);
  close(fd);
  if (rc == 0 && spool_err) {
    spool_unreadable(w, spool_err);
    return 0;
  }
  if (rc == 0) { /* all of it is in the CDR file now */
    if (unlink(w->spool_path) != 0 && errno != ENOENT)
      dt_log(DT_LOG_WARN, NULL, "CDR: cannot remove the replayed spool %s: %s", w->spool_path, strerror(errno));
    w->disk_len = 0;
    w->disk_off = 0;
  }
  gauge(w);
  return rc;
}

/* Writes what waits, oldest first; stops at the first failure (which re-arms the timer). */
static void flush(dt_cdr_writer_t *w) {
  while (w->ring_len) {
    char *line = w->ring[w->ring_head];
    int rc = write_line(w, line, strlen(line));
    if (rc < 0) {
      failed(w, rc);
      return;
    }
    free(line);
    w->ring[w->ring_head] = NULL;
    w->ring_head = (w->ring_head + 1) % w->ring_cap;
    w->ring_len--;
    w->count++;
    gauge(w);
  }
  if (w->disk_len || (w->spool_path && w->disk_off)) {
    int rc = replay_spool(w);
    if (rc < 0) {
      failed(w, rc);
      return;
    }
  }
  if (w->failing) {
    dt_log(DT_LOG_INFO, NULL, "CDR: writing to %s again; the %llu records kept meanwhile are written (%llu failed attempts)",
           w->path, (unsigned long long)w->episode_kept, (unsigned long long)w->episode_failures);
    w->failing = false;
  }
  w->episode_failures = w->episode_kept = 0;
  w->backoff_ms = 0;
}

static void on_retry(uv_timer_t *t) {
  dt_cdr_writer_t *w = t->data;
  if (w && !w->closing) flush(w);
}

static void arm(dt_cdr_writer_t *w) {
  if (w->timer && !w->closing) uv_timer_start(w->timer, on_retry, w->backoff_ms, 0);
}

static void timer_closed(uv_handle_t *h) { free(h); }

/* At close: the ring's records (older than any in the spool file) go in front of the
   spool file's unwritten ones — a new file with both, fsynced and renamed over the spool.
   0, with the ring empty; or -errno, with nothing changed. */
static int spool_store_ring(dt_cdr_writer_t *w) {
  char *tmp = dt_xasprintf("%s.tmp.%ld", w->spool_path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    int rc = -errno;
    free(tmp);
    return rc;
  }
  int rc = 0;
  for (size_t i = 0; i < w->ring_len && rc == 0; i++) {
    const char *line = w->ring[(w->ring_head + i) % w->ring_cap];
    rc = write_all(fd, line, strlen(line));
  }
  if (rc == 0 && w->disk_len) {
    int in = open(w->spool_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) rc = -errno;
    char buf[65536];
    off_t off = (off_t)w->disk_off;
    ssize_t n = 0;
    while (in >= 0 && (n = pread(in, buf, sizeof buf, off)) > 0 && (rc = write_all(fd, buf, (size_t)n)) == 0) off += n;
    if (in >= 0 && n < 0) rc = -errno;
    if (in >= 0) close(in);
  }
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && rename(tmp, w->spool_path) != 0) rc = -errno;
  if (rc < 0) unlink(tmp);
  free(tmp);
  if (rc < 0) return rc;
  for (; w->ring_len; w->ring_len--) {
    free(w->ring[w->ring_head]);
    w->ring[w->ring_head] = NULL;
    w->ring_head = (w->ring_head + 1) % w->ring_cap;
    w->disk_len++;
  }
  w->disk_off = 0;
  return 0;
}

/* Lines in the spool file (a previous process's records). */
static uint64_t count_lines(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[65536];
  uint64_t n = 0;
  ssize_t r;
  char last = '\n';
  while ((r = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < r; i++) n += buf[i] == '\n';
    last = buf[r - 1];
  }
  close(fd);
  return n + (last != '\n');
}

int dt_cdr_open_opts(const dt_cdr_options_t *o, dt_cdr_writer_t **out, char *err, size_t errlen) {
  if (o == NULL || o->path == NULL || o->path[0] == '\0') return dt_seterr(err, errlen, DT_EINVAL, "cdr: no file given");
  if (o->spool_path && strcmp(o->spool_path, o->path) == 0)
    return dt_seterr(err, errlen, DT_EINVAL, "cdr_spool must be another file than cdr (%s)", o->path);
  int fd = open_append(o->path, 0644, true);
  if (fd < 0) return dt_seterr(err, errlen, DT_EIO, "cannot open CDR file %s: %s", o->path, strerror(-fd));
  dt_cdr_writer_t *w = dt_xcalloc(1, sizeof *w);
  w->fd = fd;
  w->path = dt_xstrdup(o->path);
  w->spool_path = o->spool_path && o->spool_path[0] ? dt_xstrdup(o->spool_path) : NULL;
  w->ring_cap = o->spool_records ? o->spool_records : DEFAULT_SPOOL_RECORDS;
  w->metrics = o->metrics;
  if (w->metrics) {
    dt_metrics_describe(w->metrics, "dt_cdr_write_failures_total", "counter",
                        "CDR write attempts that failed (the records are kept and retried).");
    dt_metrics_describe(w->metrics, "dt_cdr_spooled", "gauge", "CDRs waiting to be written (memory and spool file).");
    dt_metrics_describe(w->metrics, "dt_cdr_dropped_total", "counter",
                        "CDRs that could be kept nowhere; each is logged in full instead.");
    dt_metrics_add(w->metrics, "dt_cdr_write_failures_total", NULL, 0);
    dt_metrics_add(w->metrics, "dt_cdr_dropped_total", NULL, 0);
  }
  if (o->loop) {
    w->timer = dt_xcalloc(1, sizeof *w->timer);
    uv_timer_init(o->loop, w->timer);
    w->timer->data = w;
  }
  if (w->spool_path && (w->disk_len = count_lines(w->spool_path)) > 0) {
    dt_log(DT_LOG_INFO, NULL, "CDR: %llu records kept in %s by an earlier run; writing them to %s first",
           (unsigned long long)w->disk_len, w->spool_path, w->path);
    flush(w);
  }
  gauge(w);
  *out = w;
  return 0;
}

int dt_cdr_open(const char *path, dt_cdr_writer_t **out, char *err, size_t errlen) {
  dt_cdr_options_t o = {.path = path};
  return dt_cdr_open_opts(&o, out, err, errlen);
}

void dt_cdr_close(dt_cdr_writer_t *w) {
  if (w == NULL) return;
  if (w->ring_len || w->disk_len) flush(w); /* a last try */
  w->closing = true;
  if (w->timer) {
    uv_timer_stop(w->timer);
    w->timer->data = NULL;
    uv_close((uv_handle_t *)w->timer, timer_closed);
  }
  /* what is left goes to the spool file, or into the log: never silently away */
  size_t in_log = 0;
  int spool_rc = w->spool_path && w->ring_len ? spool_store_ring(w) : 0;
  for (; w->ring_len; w->ring_len--) {
    char *line = w->ring[w->ring_head];
    w->ring[w->ring_head] = NULL;
    w->ring_head = (w->ring_head + 1) % w->ring_cap;
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    dt_log(DT_LOG_ERROR, NULL, "CDR: record not written to %s: %s", w->path, line);
    in_log++;
    free(line);
  }
  if (spool_rc < 0)
    dt_log(DT_LOG_ERROR, NULL, "CDR: cannot write the spool %s: %s", w->spool_path, strerror(-spool_rc));
  uint64_t not_written = w->disk_len + in_log;
  if (not_written)
    dt_log(DT_LOG_ERROR, NULL,
           "CDR: %llu record%s could not be written to %s (%s): %llu kept in %s (written first at the next start), "
           "%zu in this log",
           (unsigned long long)not_written, not_written == 1 ? "" : "s", w->path,
           strerror(w->last_errno ? w->last_errno : EIO), (unsigned long long)w->disk_len,
           w->spool_path ? w->spool_path : "no spool file (cdr_spool is not set)", in_log);
  gauge(w);
  if (w->fd >= 0) close(w->fd);
  free(w->ring);
  free(w->path);
  free(w->spool_path);
  free(w);
}

uint64_t dt_cdr_count(const dt_cdr_writer_t *w) { return w ? w->count : 0; }

static void add_str(dt_buf_t *b, const char *key, const char *val, bool comma) {
  if (comma) dt_buf_append(b, ",", 1);
  dt_buf_appendf(b, "\"%s\":", key);
  if (val == NULL) dt_buf_append(b, "null", 4);
  else dt_text_json_string(b, val);
}

static void add_time(dt_buf_t *b, const char *key, int64_t ms) {
  char t[32];
  dt_clock_format_iso(ms, t);
  add_str(b, key, ms > 0 ? t : NULL, true);
}

static void add_array(dt_buf_t *b, const char *key, const char *items, size_t len) {
  dt_buf_appendf(b, ",\"%s\":[", key);
  if (items && len) dt_buf_append(b, items, len);
  dt_buf_append(b, "]", 1);
}

void dt_cdr_format(const dt_cdr_record_t *c, dt_buf_t *b) {
  dt_buf_append(b, "{", 1);
  add_str(b, "call_id", c->call_id, false);
  add_str(b, "direction", c->direction, true);
  add_str(b, "from", c->from, true);
  add_str(b, "to", c->to, true);
  add_str(b, "flow", c->flow, true);
  if (c->flow_version) dt_buf_appendf(b, ",\"flow_version\":%u", c->flow_version);
  else dt_buf_append(b, ",\"flow_version\":null", 20);
  add_time(b, "start", c->start_ms);
  add_time(b, "answer", c->answer_ms);
  add_time(b, "end", c->end_ms);
  double dur = (c->end_ms > c->start_ms && c->start_ms > 0) ? (double)(c->end_ms - c->start_ms) / 1000.0 : 0;
  dt_buf_appendf(b, ",\"duration_s\":%.3f", dur);
  add_str(b, "outcome", c->outcome, true);
  add_array(b, "digits", c->digits, c->digits_len);
  add_array(b, "recordings", c->recordings, c->recordings_len);
  add_array(b, "transfers", c->transfers, c->transfers_len);
  add_str(b, "error", c->error, true);
  if (c->end_code || c->end_subcode || c->end_message) {
    dt_buf_appendf(b, ",\"end_code\":%d,\"end_subcode\":%d", c->end_code, c->end_subcode);
    add_str(b, "end_message", c->end_message, true);
  } else {
    dt_buf_append(b, ",\"end_code\":null,\"end_subcode\":null,\"end_message\":null", 54);
  }
  dt_buf_append(b, ",\"tags\":", 8);
  if (c->tags && c->tags_len) dt_buf_append(b, c->tags, c->tags_len);
  else dt_buf_append(b, "{}", 2);
  dt_buf_append(b, "}", 1);
}

int dt_cdr_write(dt_cdr_writer_t *w, const dt_cdr_record_t *rec) {
  if (w == NULL) return 0;
  dt_buf_t b = {0};
  dt_cdr_format(rec, &b);
  dt_buf_append(&b, "\n", 1);
  /* records already waiting go first: this one queues behind them */
  if (!w->failing && w->ring_len == 0 && w->disk_len == 0) {
    int rc = write_line(w, b.data, b.len);
    if (rc == 0) {
      w->count++;
      dt_buf_free(&b);
      return 0;
    }
    failed(w, rc);
  }
  int rc = keep(w, b.data); /* takes the line */
  if (!w->timer && rc == 0) flush(w); /* no loop: each new record is the retry */
  return rc;
}
