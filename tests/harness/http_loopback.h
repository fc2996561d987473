/*
 * harness/http_loopback.h — a raw client for an in-process dt_http_server on one uv loop,
 * no thread: the client's socket is blocking for connect and send (loopback takes a small
 * request at once), and reads are polled while the loop runs one turn at a time, so a test
 * controls every byte and every wait is bounded by a deadline.
 */
#ifndef DT_HARNESS_HTTP_LOOPBACK_H
#define DT_HARNESS_HTTP_LOOPBACK_H
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/http_server.h"

/* A server on its own loop, listening on 127.0.0.1 at a free port. */
typedef struct {
  uv_loop_t loop;
  dt_http_server_t *srv;
  int port;
} lb_server_t;

/* Starts a server with options o (listen is set here); false if it cannot. */
static inline bool lb_start(lb_server_t *s, dt_http_server_options_t o) {
  memset(s, 0, sizeof *s);
  uv_loop_init(&s->loop);
  o.listen = "127.0.0.1:0";
  char err[256];
  if (dt_http_server_start(&s->loop, &o, &s->srv, err, sizeof err) != 0) return false;
  s->port = dt_http_server_port(s->srv);
  return true;
}

/* Closes the server and runs its loop until every handle is closed. */
static inline void lb_stop(lb_server_t *s) {
  dt_http_server_close(s->srv, NULL, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
}

/* A connected socket to 127.0.0.1:port, or -1. */
static inline int lb_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static inline bool lb_send(int fd, const char *s) {
  size_t n = strlen(s);
  return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Runs the loop and reads into buf until it holds `until` (NULL: until the peer closes),
   the peer closes, or ms pass. Returns the bytes held (NUL-terminated); *closed tells
   whether the peer closed (may be NULL). */
static inline size_t lb_read(uv_loop_t *loop, int fd, char *buf, size_t cap, const char *until,
                             unsigned ms, bool *closed) {
  size_t len = 0;
  buf[0] = '\0';
  if (closed) *closed = false;
  uint64_t deadline = dt_now_ms() + ms;
  while (dt_now_ms() < deadline) {
    uv_run(loop, UV_RUN_NOWAIT);
    ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
    if (n > 0) {
      len += (size_t)n;
      buf[len] = '\0';
      if (until && strstr(buf, until)) return len;
      if (len + 1 >= cap) return len;
      continue;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (closed) *closed = true;
      return len;
    }
    usleep(1000);
  }
  return len;
}

/* Runs the loop until *flag or ms pass; returns *flag. */
static inline bool lb_run_until(uv_loop_t *loop, const bool *flag, unsigned ms) {
  /* valgrind is ~30x slower: a condition that never comes waits longer there, nothing else */
  uint64_t deadline = dt_now_ms() + (uint64_t)ms * (getenv("DT_UNDER_VALGRIND") ? 6 : 1);
  while (!*flag && dt_now_ms() < deadline) {
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  return *flag;
}

#endif
