/* Unit tests for common.c: buffers, strings, GUIDs, clocks and the file helpers. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(buffer_grows_and_terminates) {
  dt_buf_t b = {0};
  for (int i = 0; i < 1000; i++) dt_buf_appendf(&b, "%d,", i);
  DT_ASSERT(b.len > 3000);
  DT_ASSERT_EQ_INT(b.data[b.len], '\0');
  DT_ASSERT(strncmp(b.data, "0,1,2,", 6) == 0);
  dt_buf_free(&b);
  DT_ASSERT(b.data == NULL);
}

DT_TEST(guid_is_v4_and_unique) {
  char a[37], b[37];
  dt_guid(a);
  dt_guid(b);
  DT_ASSERT_EQ_INT(strlen(a), 36);
  DT_ASSERT_EQ_INT(a[14], '4');
  DT_ASSERT(strcmp(a, b) != 0);
}

DT_TEST(atomic_write_then_read) {
  char path[] = "/tmp/dt_test_common_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  close(fd);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "hello", 5), 0);
  char *data = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(path, 100, &data, &len), 0);
  DT_ASSERT_EQ_INT(len, 5);
  DT_ASSERT_EQ_STR(data, "hello");
  free(data);
  DT_ASSERT_EQ_INT(dt_read_file(path, 3, &data, &len), DT_ETOOBIG);
  unlink(path);
  DT_ASSERT_EQ_INT(dt_read_file(path, 100, &data, &len), DT_ENOENT);
}

DT_TEST(strings_and_case_insensitive_compare) {
  char *s = dt_xasprintf("%s-%d", "call", 42);
  DT_ASSERT_EQ_STR(s, "call-42");
  free(s);
  s = dt_xstrndup("abcdef", 3);
  DT_ASSERT_EQ_STR(s, "abc");
  free(s);
  DT_ASSERT_EQ_INT(dt_strcasecmp("Content-Type", "content-type"), 0);
  DT_ASSERT(dt_strcasecmp("a", "B") < 0 && dt_strcasecmp("b", "A") > 0);
  DT_ASSERT(dt_strcasecmp("ab", "a") > 0);
  DT_ASSERT_EQ_INT(dt_strncasecmp("BEARER xyz", "bearer ", 7), 0);
  DT_ASSERT(dt_strncasecmp("bearex", "bearer", 6) != 0);
  dt_buf_t b = {0};
  dt_buf_append(&b, "xy", 2);
  dt_buf_reset(&b);
  DT_ASSERT(b.len == 0 && b.data[0] == '\0' && b.cap > 0); /* reset keeps memory */
  dt_buf_free(&b);
}

DT_TEST(str_among_returns_the_sets_own_pointer) {
  static const char *const set[] = {"GET", "POST", "PUT"};
  char post[] = "POST";
  DT_ASSERT(dt_str_among(post, set, DT_ARRAY_SIZE(set)) == set[1]);
  DT_ASSERT(dt_str_among("PUT", set, DT_ARRAY_SIZE(set)) == set[2]);
  DT_ASSERT(dt_str_among("post", set, DT_ARRAY_SIZE(set)) == NULL); /* case matters */
  DT_ASSERT(dt_str_among("PATCH", set, DT_ARRAY_SIZE(set)) == NULL);
  DT_ASSERT(dt_str_among(NULL, set, DT_ARRAY_SIZE(set)) == NULL);
  DT_ASSERT(dt_str_among("GET", set, 0) == NULL);
}

DT_TEST(clocks_move_forward) {
  uint64_t a = dt_now_ms();
  usleep(20000);
  DT_ASSERT(dt_now_ms() >= a + 19);
  DT_ASSERT(dt_unix_time() > 1600000000);
  char ts[32];
  dt_iso8601_now(ts);
  DT_ASSERT_EQ_INT(strlen(ts), 24); /* 2024-01-02T03:04:05.678Z */
  DT_ASSERT(ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
}

DT_TEST(atomic_write_with_mode_replaces_and_fails_cleanly) {
  char dir[] = "/tmp/dt_test_atomic_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/f.json", dir);
  mode_t old = umask(022);
  DT_ASSERT_EQ_INT(dt_write_file_atomic_mode(path, "one", 3, 0600), 0);
  struct stat st;
  DT_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "second", 6), 0); /* replaces */
  DT_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_size == 6);
  umask(old);
  dt_fsync_dir(dir);
  dt_fsync_dir("/nonexistent/dir"); /* errors are ignored */
  /* a directory that is not there: DT_EIO, errno says why, nothing left behind */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/missing/f", dir);
  errno = 0;
  DT_ASSERT_EQ_INT(dt_write_file_atomic_mode(bad, "x", 1, 0644), DT_EIO);
  DT_ASSERT_EQ_INT(errno, ENOENT);
  /* rename onto a directory fails after the write: the temporary file is removed */
  char sub[140];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  DT_ASSERT(mkdir(sub, 0755) == 0);
  snprintf(bad, sizeof bad, "%s/x", sub);
  DT_ASSERT(mkdir(bad, 0755) == 0);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(bad, "x", 1), DT_EIO);
  DT_ASSERT(errno == EISDIR || errno == EEXIST || errno == ENOTEMPTY);
  char tmp[200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", bad, (long)getpid());
  DT_ASSERT(access(tmp, F_OK) != 0);
  DT_ASSERT(rmdir(bad) == 0 && rmdir(sub) == 0);
  char *data = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "", 0), 0); /* empty file reads as "" */
  DT_ASSERT_EQ_INT(dt_read_file(path, 10, &data, &len), 0);
  DT_ASSERT(data != NULL && len == 0 && data[0] == '\0');
  free(data);
  unlink(path);
  DT_ASSERT(rmdir(dir) == 0);
}

typedef struct {
  dt_done_t done;
  char payload[32];
} owner_t;

static int g_done_calls;
static void *g_done_ud;
static void count_done(void *ud) {
  g_done_calls++;
  g_done_ud = ud;
}

DT_TEST(free_then_done_frees_and_calls_once_with_ud) {
  int marker;
  owner_t *o = dt_xcalloc(1, sizeof *o);
  o->done = (dt_done_t){count_done, &marker}; /* the callback lives inside what is freed */
  g_done_calls = 0;
  dt_free_then_done(o, o->done);
  DT_ASSERT_EQ_INT(g_done_calls, 1);
  DT_ASSERT(g_done_ud == &marker);
  dt_free_then_done(dt_xmalloc(8), (dt_done_t){0}); /* no callback: only the free */
  dt_free_then_done(NULL, (dt_done_t){count_done, NULL});
  DT_ASSERT_EQ_INT(g_done_calls, 2);
}

/* Every field freed (valgrind and ASan see a leak otherwise), NULL ones skipped. */
DT_TEST(free_all_frees_each_argument) {
  struct {
    char *a, *b, *c;
  } f = {dt_xstrdup("a"), NULL, dt_xstrdup("c")};
  DT_FREE_ALL(f.a, f.b, f.c);
  DT_FREE_ALL(dt_xmalloc(1));
  void *const none[] = {NULL};
  dt_free_many(none, 0);
  DT_ASSERT(f.b == NULL); /* the arguments themselves are not touched */
}

DT_TEST_MAIN()
