/*
 * cdr.c — call detail records (see cdr.h): formats a finished call as one JSON line and
 * appends it with a single write(2) to a file opened O_APPEND.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/cdr.h"
#include "dialtone/error.h"
#include "dialtone/log.h"

struct dt_cdr_writer_s {
  int fd;
  uint64_t count;
};

int dt_cdr_open(const char *path, dt_cdr_writer_t **out, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return dt_seterr(err, errlen, DT_EIO, "cannot open CDR file %s: %s", path, strerror(errno));
  dt_cdr_writer_t *w = dt_xcalloc(1, sizeof *w);
  w->fd = fd;
  *out = w;
  return 0;
}

void dt_cdr_close(dt_cdr_writer_t *w) {
  if (w == NULL) return;
  close(w->fd);
  free(w);
}

uint64_t dt_cdr_count(const dt_cdr_writer_t *w) { return w ? w->count : 0; }

void dt_cdr_time_text(int64_t unix_ms, char out[32]) {
  if (unix_ms <= 0) {
    out[0] = '\0';
    return;
  }
  time_t s = (time_t)(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03dZ", (int)(unix_ms % 1000));
}

/* Appends val as a JSON string (escaping quotes, backslashes and control bytes). */
void dt_cdr_json_string(dt_buf_t *b, const char *val) {
  dt_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
    switch (*p) {
    case '"': dt_buf_append(b, "\\\"", 2); break;
    case '\\': dt_buf_append(b, "\\\\", 2); break;
    case '\n': dt_buf_append(b, "\\n", 2); break;
    case '\r': dt_buf_append(b, "\\r", 2); break;
    case '\t': dt_buf_append(b, "\\t", 2); break;
    default:
      if (*p < 0x20) dt_buf_appendf(b, "\\u%04x", *p);
      else dt_buf_append(b, p, 1);
    }
  }
  dt_buf_append(b, "\"", 1);
}

static void add_str(dt_buf_t *b, const char *key, const char *val, bool comma) {
  if (comma) dt_buf_append(b, ",", 1);
  dt_buf_appendf(b, "\"%s\":", key);
  if (val == NULL) dt_buf_append(b, "null", 4);
  else dt_cdr_json_string(b, val);
}

static void add_time(dt_buf_t *b, const char *key, int64_t ms) {
  char t[32];
  dt_cdr_time_text(ms, t);
  add_str(b, key, ms > 0 ? t : NULL, true);
}

static void add_array(dt_buf_t *b, const char *key, const dt_buf_t *items) {
  dt_buf_appendf(b, ",\"%s\":[", key);
  if (items->len) dt_buf_append(b, items->data, items->len);
  dt_buf_append(b, "]", 1);
}

void dt_cdr_format(const dt_call_t *c, dt_buf_t *b) {
  dt_buf_append(b, "{", 1);
  add_str(b, "call_id", c->id, false);
  add_str(b, "direction", c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing", true);
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
  add_str(b, "outcome", dt_outcome_name(c->outcome), true);
  add_array(b, "digits", &c->log.digits);
  add_array(b, "recordings", &c->log.recordings);
  add_array(b, "transfers", &c->log.transfers);
  add_str(b, "error", c->error, true);
  if (c->end_code || c->end_subcode || c->end_message) {
    dt_buf_appendf(b, ",\"end_code\":%d,\"end_subcode\":%d", c->end_code, c->end_subcode);
    add_str(b, "end_message", c->end_message, true);
  } else {
    dt_buf_append(b, ",\"end_code\":null,\"end_subcode\":null,\"end_message\":null", 54);
  }
  dt_buf_append(b, "}", 1);
}

int dt_cdr_write(dt_cdr_writer_t *w, const dt_call_t *call) {
  if (w == NULL) return 0;
  dt_buf_t b = {0};
  dt_cdr_format(call, &b);
  dt_buf_append(&b, "\n", 1);
  size_t off = 0;
  int rc = 0;
  while (off < b.len) {
    ssize_t n = write(w->fd, b.data + off, b.len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      dt_log(DT_LOG_ERROR, call->id, "cannot write CDR: %s", strerror(errno));
      rc = DT_EIO;
      break;
    }
    off += (size_t)n;
  }
  if (rc == 0) w->count++;
  dt_buf_free(&b);
  return rc;
}
