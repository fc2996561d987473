/* common.c — allocation wrappers, buffers, GUIDs, clocks and file helpers (see common.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/error.h"

static void dt__oom(size_t n) {
  fprintf(stderr, "dialtone: out of memory allocating %zu bytes\n", n);
  abort();
}

void *dt_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) dt__oom(n);
  return p;
}

void *dt_xcalloc(size_t count, size_t n) {
  void *p = calloc(count ? count : 1, n ? n : 1);
  if (p == NULL) dt__oom(count * n);
  return p;
}

void *dt_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) dt__oom(n);
  return q;
}

char *dt_xstrdup(const char *s) { return dt_xstrndup(s, strlen(s)); }

char *dt_xstrndup(const char *s, size_t n) {
  char *p = dt_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *dt_xasprintf(const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = dt_xmalloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

static void dt__buf_reserve(dt_buf_t *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = dt_xrealloc(b->data, cap);
  b->cap = cap;
}

void dt_buf_append(dt_buf_t *b, const void *data, size_t len) {
  dt__buf_reserve(b, len);
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void dt_buf_appendf(dt_buf_t *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  dt__buf_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

void dt_buf_reset(dt_buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void dt_buf_free(dt_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static int dt__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int dt_strcasecmp(const char *a, const char *b) {
  for (;; a++, b++) {
    int d = dt__lower((unsigned char)*a) - dt__lower((unsigned char)*b);
    if (d != 0 || *a == '\0') return d;
  }
}

int dt_strncasecmp(const char *a, const char *b, size_t n) {
  for (; n > 0; a++, b++, n--) {
    int d = dt__lower((unsigned char)*a) - dt__lower((unsigned char)*b);
    if (d != 0 || *a == '\0') return d;
  }
  return 0;
}

const char *dt_str_among(const char *s, const char *const *set, size_t n) {
  if (s == NULL) return NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, set[i]) == 0) return set[i];
  return NULL;
}

void dt_random_bytes(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      abort(); /* the kernel's RNG is not optional */
    }
    p += n;
    len -= (size_t)n;
  }
}

void dt_guid(char out[37]) {
  unsigned char b[16];
  dt_random_bytes(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
           b[13], b[14], b[15]);
}

uint64_t dt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t dt_unix_time(void) { return (int64_t)time(NULL); }

void dt_iso8601_now(char out[32]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000L));
}

int dt_read_file(const char *path, size_t limit, char **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return errno == ENOENT ? DT_ENOENT : DT_EIO;
  dt_buf_t b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > limit) {
      fclose(f);
      dt_buf_free(&b);
      return DT_ETOOBIG;
    }
    dt_buf_append(&b, chunk, n);
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    dt_buf_free(&b);
    return DT_EIO;
  }
  if (b.data == NULL) dt_buf_append(&b, "", 0);
  *out = b.data;
  if (out_len) *out_len = b.len;
  return 0;
}

int dt_write_file_atomic_mode(const char *path, const void *data, size_t len, unsigned mode) {
  char *tmp = dt_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    errno = e;
    return DT_EIO;
  }
  const char *p = data;
  size_t left = len;
  int e = 0;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { /* a write that takes nothing is a full disk */
      e = w < 0 ? errno : ENOSPC;
      break;
    }
    p += w;
    left -= (size_t)w;
  }
  if (e == 0 && fsync(fd) != 0) e = errno;
  if (close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && rename(tmp, path) != 0) e = errno;
  if (e) unlink(tmp);
  free(tmp);
  errno = e;
  return e ? DT_EIO : 0;
}

int dt_write_file_atomic(const char *path, const void *data, size_t len) {
  return dt_write_file_atomic_mode(path, data, len, 0644);
}

void dt_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

void dt_free_then_done(void *p, dt_done_t done) {
  free(p);
  if (done.fn) done.fn(done.ud);
}

void dt_free_many(void *const *p, size_t n) {
  for (size_t i = 0; i < n; i++) free(p[i]);
}
