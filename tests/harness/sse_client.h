/*
 * sse_client.h — a blocking reader of a Server-Sent Events stream for tests (GET /events):
 * one TCP connection to 127.0.0.1:port, the request sent, everything received kept in one
 * growing text (chunk framing included: each event is one chunk, so an event's lines stay
 * together). Every wait is bounded.
 *
 *   sse_t s;  sse_open(&s, port, "/events?types=key", "Bearer TOKEN");
 *   sse_wait(&s, "event: ended", 20000);    // true once the text holds it
 *   sse_close(&s);
 */
#ifndef DT_SSE_CLIENT_H
#define DT_SSE_CLIENT_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "dialtone/common.h"

typedef struct {
  int fd;
  dt_buf_t text;
} sse_t;

static __attribute__((unused)) int sse_open(sse_t *s, int port, const char *target, const char *auth) {
  memset(s, 0, sizeof *s);
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
                   target, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
  return write(s->fd, req, (size_t)n) == n ? 0 : -1;
}

/* Reads what arrives within ms; false when the peer closed (or an error). */
static __attribute__((unused)) bool sse_pump(sse_t *s, unsigned ms) {
  struct pollfd p = {.fd = s->fd, .events = POLLIN};
  if (poll(&p, 1, (int)ms) <= 0) return true;
  char buf[4096];
  ssize_t n = read(s->fd, buf, sizeof buf);
  if (n <= 0) return false;
  dt_buf_append(&s->text, buf, (size_t)n);
  return true;
}

static __attribute__((unused)) bool sse_has(const sse_t *s, const char *needle) {
  return s->text.data && strstr(s->text.data, needle) != NULL;
}

static __attribute__((unused)) bool sse_wait(sse_t *s, const char *needle, unsigned ms) {
  for (uint64_t end = dt_now_ms() + ms; !sse_has(s, needle) && dt_now_ms() < end;)
    if (!sse_pump(s, 50)) break;
  return sse_has(s, needle);
}

/* Where needle first occurs (-1: absent). */
static __attribute__((unused)) long sse_pos(const sse_t *s, const char *needle) {
  const char *at = s->text.data ? strstr(s->text.data, needle) : NULL;
  return at ? (long)(at - s->text.data) : -1;
}

static __attribute__((unused)) void sse_close(sse_t *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  dt_buf_free(&s->text);
}

#endif
