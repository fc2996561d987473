/*
 * common.h — allocation helpers and small utilities shared by every module.
 *
 * Allocation policy: control structures (servers, calls, operations) use the dt_x*
 * wrappers, which abort the process on out-of-memory, as neovim's xmalloc does: an
 * engine that cannot allocate 100 bytes cannot do anything useful for its calls.
 * Input-driven buffers are bounded by explicit limits before they are allocated.
 * Flow memory is separate: the Lua allocator is capped (see lua/).
 */
#ifndef DIALTONE_COMMON_H
#define DIALTONE_COMMON_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#define DT_EXTERN __attribute__((visibility("default")))
#define DT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DT_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

void *dt_xmalloc(size_t n);
void *dt_xcalloc(size_t count, size_t n);
void *dt_xrealloc(void *p, size_t n);
char *dt_xstrdup(const char *s);
char *dt_xstrndup(const char *s, size_t n);
/* printf into a fresh string; caller frees. */
char *dt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer. Always NUL-terminated when len > 0 or after any append. */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
} dt_buf_t;
void dt_buf_append(dt_buf_t *b, const void *data, size_t len);
void dt_buf_appendf(dt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dt_buf_reset(dt_buf_t *b);  /* len = 0, keeps memory */
void dt_buf_free(dt_buf_t *b);   /* releases memory, leaves an empty buffer */

/* Case-insensitive ASCII comparisons. */
int dt_strcasecmp(const char *a, const char *b);
int dt_strncasecmp(const char *a, const char *b, size_t n);
/* The entry of set[0..n) equal to s (strcmp), as set's own pointer (a literal stays a literal),
   or NULL when s is NULL or not there. */
const char *dt_str_among(const char *s, const char *const *set, size_t n);

/* A random version-4 GUID in lower case with dashes (36 chars + NUL). */
void dt_guid(char out[37]);
/* Fills buf with len random bytes from the OS. */
void dt_random_bytes(void *buf, size_t len);

/* Milliseconds of a monotonic clock, and Unix time in seconds / ISO-8601 UTC text. */
uint64_t dt_now_ms(void);
int64_t dt_unix_time(void);
void dt_iso8601_now(char out[32]);

/* Reads a whole file (limit bytes at most); caller frees *out. Returns 0 or DT_E*. */
int dt_read_file(const char *path, size_t limit, char **out, size_t *out_len);
/* Writes data to path atomically: a temporary file "path.tmp.PID" in the same directory with
   permissions mode (before the umask), every byte written (a write that takes nothing is a
   full disk: ENOSPC), fsync, close, rename over path. Returns 0 or DT_EIO; on failure the
   temporary file is gone, path is untouched, and errno says why (kept across the clean-up).
   The directory is not fsynced: call dt_fsync_dir when the rename itself must be durable. */
int dt_write_file_atomic_mode(const char *path, const void *data, size_t len, unsigned mode);
/* dt_write_file_atomic_mode(path, data, len, 0644). */
int dt_write_file_atomic(const char *path, const void *data, size_t len);
/* fsync of a directory (makes renames and unlinks in it durable); errors are ignored. */
void dt_fsync_dir(const char *dir);

/* A completion callback and its argument, as the close functions take them ("done(ud) once
   the object is gone"). A zeroed dt_done_t calls nothing. */
typedef struct {
  void (*fn)(void *ud);
  void *ud;
} dt_done_t;
/* free(p), then done.fn(done.ud) if fn is set: the callback runs after p's memory is gone, so
   it may free whatever owned p. done is taken by value, so it may be a field of p. */
void dt_free_then_done(void *p, dt_done_t done);

/* free() of each of n pointers (NULL ones are skipped by free itself). DT_FREE_ALL(a, b, ...)
   frees its arguments: the owned fields of a struct, in one line, in a *_free function. */
void dt_free_many(void *const *p, size_t n);
#define DT_FREE_ALL(...) \
  dt_free_many((void *const[]){__VA_ARGS__}, sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* Inside a printf-like function whose format parameter is fmt: formats the function's own
   arguments into the char array buf (truncated to fit, always terminated). */
#define DT_VFORMAT(buf, fmt)                   \
  do {                                         \
    va_list dt__ap;                            \
    va_start(dt__ap, fmt);                     \
    vsnprintf(buf, sizeof(buf), fmt, dt__ap);  \
    va_end(dt__ap);                            \
  } while (0)

#endif
