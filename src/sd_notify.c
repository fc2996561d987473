/*
 * sd_notify.c — systemd's notification protocol (see sd_notify.h).
 *
 * Owns nothing between calls: each notification opens a datagram socket, sends once and
 * closes it (they are rare: start, reload, stop). The message is what sd_notify(3) sends;
 * an abstract socket name ("@…") has its leading '@' replaced by a NUL byte and its
 * address length counts only the name, as the protocol says.
 */
#include "sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "dialtone/error.h"

int dt_sd_notify(const char *state) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return 0;
  if (!state) return DT_EINVAL;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) return DT_EINVAL;
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return DT_EIO;
  ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  close(fd);
  return n == (ssize_t)strlen(state) ? 1 : DT_EIO;
}
