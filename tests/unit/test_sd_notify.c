/* Unit tests for src/sd_notify.c: a datagram to $NOTIFY_SOCKET as systemd reads it, for a
   path and for an abstract name; nothing without the variable; a bad name refused. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "dialtone/error.h"
#include "harness/dt_test.h"
#include "sd_notify.h"

static int bound_socket(const char *name, bool abstract) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  memcpy(sa.sun_path + (abstract ? 1 : 0), name, len);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, salen) != 0) return -1;
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void expect(int fd, const char *want) {
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  DT_ASSERT_EQ_STR(buf, want);
}

DT_TEST(path_socket_gets_the_state) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/dt_sdnotify_%d", (int)getpid());
  unlink(path);
  int fd = bound_socket(path, false);
  DT_ASSERT(fd >= 0);
  setenv("NOTIFY_SOCKET", path, 1);
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1\nSTATUS=listening"), 1);
  expect(fd, "READY=1\nSTATUS=listening");
  DT_ASSERT_EQ_INT(dt_sd_notify("STOPPING=1"), 1);
  expect(fd, "STOPPING=1");
  unsetenv("NOTIFY_SOCKET");
  close(fd);
  unlink(path);
}

DT_TEST(abstract_socket_gets_the_state) {
  char name[64];
  snprintf(name, sizeof name, "dt_sdnotify_abstract_%d", (int)getpid());
  int fd = bound_socket(name, true);
  DT_ASSERT(fd >= 0);
  char env[80];
  snprintf(env, sizeof env, "@%s", name);
  setenv("NOTIFY_SOCKET", env, 1);
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1"), 1);
  expect(fd, "READY=1");
  unsetenv("NOTIFY_SOCKET");
  close(fd);
}

DT_TEST(without_a_manager_nothing_is_sent_and_bad_names_are_refused) {
  unsetenv("NOTIFY_SOCKET");
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1"), 0);
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1"), DT_EINVAL);
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = '\0';
  setenv("NOTIFY_SOCKET", longname, 1);
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1"), DT_EINVAL);
  /* nobody listening there: an error the caller logs, not a crash */
  setenv("NOTIFY_SOCKET", "/tmp/dt_sdnotify_nobody_listens", 1);
  DT_ASSERT_EQ_INT(dt_sd_notify("READY=1"), DT_EIO);
  unsetenv("NOTIFY_SOCKET");
}

DT_TEST_MAIN()
