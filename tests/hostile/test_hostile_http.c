/*
 * test_hostile_http.c — hostile clients against the real `dialtone run` (issue 10, points 6,
 * 7 and 9), with `dialtone emulator` as Graph (tests/harness/proc_harness.h).
 *
 *  - Unauthenticated notification bodies are never buffered: 250 connections each start a
 *    1 MiB POST to the callback route without a token; every one gets 401 when its headers
 *    are complete, and the engine's peak resident memory (VmHWM) grows by less than 8 MiB.
 *  - Connections cannot exhaust the engine: under `ulimit -n 1024` (soft and hard) the
 *    engine lowers limits.max_connections (and says so), 1,500 idle connections sit on it,
 *    and GET /healthz still answers 200.
 *  - A connection that sends nothing is closed after limits.header_timeout_ms, one with
 *    half its headers gets 408; limits.max_connections_per_ip closes the excess at accept;
 *    limits.max_body_total_bytes refuses a body beyond it with 503.
 *  - Operational endpoints: with admin.listen, /metrics and /calls are 404 on the public
 *    listener and served on the admin one; with admin.token they need the bearer token
 *    (401 without or with a wrong one); the token can come from DIALTONE_ADMIN_TOKEN and
 *    --print-config masks it.
 *
 * Every wait is bounded; nothing asserts on elapsed time. Under valgrind
 * (DT_UNDER_VALGRIND=1) the loads are smaller; the outcomes asserted are the same.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "harness/proc_harness.h"

static bool under_valgrind(void) { return getenv("DT_UNDER_VALGRIND") != NULL; }

/* The port of "http://127.0.0.1:PORT/…". */
static int port_of(const char *url) {
  const char *h = strstr(url, "://");
  const char *colon = h ? strchr(h + 3, ':') : NULL;
  return colon ? atoi(colon + 1) : 0;
}

/* A free loopback port (bound and released; the engine binds it right after). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* A blocking TCP connection to 127.0.0.1:port (from src_ip when given), 10 s timeouts. */
static int tcp_open(int port, const char *src_ip) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (src_ip) {
    struct sockaddr_in s = {.sin_family = AF_INET};
    inet_pton(AF_INET, src_ip, &s.sin_addr);
    if (bind(fd, (struct sockaddr *)&s, sizeof s) != 0) {
      close(fd);
      return -1;
    }
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *s, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    off += (size_t)w;
  }
  return 0;
}

/* Reads until the peer closes (or 10 s pass): what arrived, NUL-terminated, in out. */
static size_t read_until_close(int fd, char *out, size_t cap) {
  size_t len = 0;
  for (;;) {
    ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
    if (n <= 0) break;
    len += (size_t)n;
    if (len + 1 >= cap) break;
  }
  out[len] = '\0';
  return len;
}

/* The status of the first response on fd ("HTTP/1.1 NNN"), reading until the head is in;
   0 if the connection closed without one, -1 on timeout. */
static int read_status(int fd) {
  char buf[2048];
  size_t len = 0;
  while (len + 1 < sizeof buf) {
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) break;
    if (n < 0) return -1;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n")) break;
  }
  buf[len] = '\0';
  int st = 0;
  if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1) return 0;
  return st;
}

/* One request on a fresh connection; the response's status. */
static int one_request(int port, const char *req) {
  int fd = tcp_open(port, NULL);
  if (fd < 0) return -1;
  int st = send_all(fd, req, strlen(req)) == 0 ? read_status(fd) : -1;
  close(fd);
  return st;
}

/* GET url with an optional bearer token; status, body in *out (caller frees). */
static int get_with_token(const char *url, const char *token, char **out) {
  CURL *h = curl_easy_init();
  dt_buf_t b = {0};
  struct curl_slist *hdr = NULL;
  if (token) {
    char *line = dt_xasprintf("Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, line);
    free(line);
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, p__sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  if (out) *out = b.data ? b.data : dt_xstrdup("");
  else dt_buf_free(&b);
  return (int)status;
}

/* A metric's value from /metrics text (first sample of name, any labels); -1 if absent. */
static double metric(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
      const char *sp = strchr(p, ' ');
      return sp ? atof(sp + 1) : -1;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

static long status_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kib = -1;
  size_t fl = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, fl) == 0) {
      kib = atol(line + fl);
      break;
    }
  fclose(f);
  return kib;
}

/* Places a call and waits (bounded) until the engine accepted a signed notification:
   authenticated notifications still get through. metrics_url/token: where to read it. */
static bool call_reaches_engine(p_env_t *env, const char *metrics_url, const char *token) {
  char id[128];
  if (p_place_call(env, NULL, id) != 201) return false;
  double accepted = -1;
  P_UNTIL(20000, accepted >= 1) {
    char *m = NULL;
    if (get_with_token(metrics_url, token, &m) == 200) accepted = metric(m, "dt_notifications_total");
    free(m);
  }
  return accepted >= 1;
}

/* The emulator and an engine with `extra` config; 0 when both run. */
static int start_both(p_env_t *env, p_proc_t *emu, p_proc_t *eng, const char *extra) {
  if (p_env_init(env) != 0) return -1;
  if (p_start_emulator(env, emu, "--time-scale 0") != 0) return -1;
  if (p_write_config(env, extra) != 0) return -1;
  return p_start_engine(env, eng, "engine");
}

/* ------------------------------------------------------------------ point 7 */

DT_TEST(unauthenticated_bodies_get_401_before_they_are_buffered) {
  p_env_t env;
  p_proc_t emu, eng;
  DT_ASSERT_EQ_INT(start_both(&env, &emu, &eng, "log = {level = \"info\"},"), 0);
  int port = port_of(env.callback);
  DT_ASSERT(port > 0);
  const int n = under_valgrind() ? 40 : 250;
  const size_t body = 1u << 20;
  long hwm_before = status_kib(eng.pid, "VmHWM:");
  DT_ASSERT(hwm_before > 0);

  int *fd = dt_xcalloc((size_t)n, sizeof *fd);
  size_t *sent = dt_xcalloc((size_t)n, sizeof *sent);
  int *status = dt_xcalloc((size_t)n, sizeof *status);
  bool *write_done = dt_xcalloc((size_t)n, sizeof *write_done);
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "POST /api/calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n", body);
  for (int i = 0; i < n; i++) {
    fd[i] = tcp_open(port, NULL);
    DT_ASSERT(fd[i] >= 0);
    DT_ASSERT_EQ_INT(send_all(fd[i], head, (size_t)hl), 0);
    fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
  }
  /* Every connection pushes its body while the others do: an engine that buffered bodies
     before checking the token would hold n MiB at once. */
  static char chunk[65536];
  memset(chunk, ' ', sizeof chunk);
  struct pollfd *pf = dt_xcalloc((size_t)n, sizeof *pf);
  int finished = 0;
  for (uint64_t end = dt_now_ms() + 120000; finished < n && dt_now_ms() < end;) {
    for (int i = 0; i < n; i++) {
      pf[i].fd = status[i] != 0 && write_done[i] ? -1 : fd[i];
      pf[i].events = (short)((status[i] == 0 ? POLLIN : 0) | (!write_done[i] ? POLLOUT : 0));
      pf[i].revents = 0;
    }
    if (poll(pf, (nfds_t)n, 1000) <= 0) continue;
    for (int i = 0; i < n; i++) {
      if (pf[i].fd < 0 || !pf[i].revents) continue;
      if (!write_done[i] && (pf[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
        size_t want = body - sent[i] < sizeof chunk ? body - sent[i] : sizeof chunk;
        ssize_t w = send(fd[i], chunk, want, MSG_NOSIGNAL);
        if (w > 0) sent[i] += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) write_done[i] = true; /* closed by the engine */
        if (sent[i] == body) write_done[i] = true;
      }
      if (status[i] == 0 && (pf[i].revents & (POLLIN | POLLERR | POLLHUP))) {
        char buf[1024];
        ssize_t r = recv(fd[i], buf, sizeof buf - 1, 0);
        if (r > 0) {
          buf[r] = '\0';
          if (sscanf(buf, "HTTP/1.%*d %d", &status[i]) != 1) status[i] = -1;
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          status[i] = -2; /* closed without an answer */
          write_done[i] = true;
        }
      }
      if (status[i] != 0 && write_done[i]) finished++;
    }
  }
  long hwm_after = status_kib(eng.pid, "VmHWM:");
  int got401 = 0;
  size_t total_sent = 0;
  for (int i = 0; i < n; i++) {
    if (status[i] == 401) got401++;
    total_sent += sent[i];
    close(fd[i]);
  }
  fprintf(stderr, "  %d/%d got 401; %zu KiB sent; engine VmHWM %ld -> %ld KiB\n", got401, n, total_sent / 1024,
          hwm_before, hwm_after);
  DT_ASSERT_EQ_INT(finished, n);
  DT_ASSERT_EQ_INT(got401, n);
  DT_ASSERT(hwm_after - hwm_before < 8 * 1024);
  /* Refusals are logged once a second with a count, not once per request. */
  char *log = p_slurp(eng.err);
  int lines = 0;
  for (const char *q = log; q && (q = strstr(q, "refused before its body")) != NULL; q++) lines++;
  free(log);
  DT_ASSERT(lines >= 1);
  DT_ASSERT(lines < n / 2);
  /* The engine still takes notifications that carry a token. */
  char url[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  DT_ASSERT(call_reaches_engine(&env, url, NULL));
  free(fd);
  free(sent);
  free(status);
  free(write_done);
  free(pf);
  /* A clean shutdown (under ASan: no leak) with everything above behind it. */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

/* ------------------------------------------------------------------ point 6 */

/* `sh -c 'ulimit -n LIMIT && exec dialtone --config FILE run'`; sets env.callback. */
static int start_engine_limited(p_env_t *e, p_proc_t *p, int limit) {
  memset(p, 0, sizeof *p);
  snprintf(p->out, sizeof p->out, "%s/limited.out", e->dir);
  snprintf(p->err, sizeof p->err, "%s/limited.err", e->dir);
  char script[128];
  snprintf(script, sizeof script, "ulimit -n %d && exec \"$0\" --config \"$1\" run", limit);
  const char *argv[] = {"/bin/sh", "-c", script, p_binary(), e->config, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p->out, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p->err, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  p->running = true;
  if (e->nprocs < DT_ARRAY_SIZE(e->procs)) e->procs[e->nprocs++] = p;
  const char *needle = "(notifications to ";
  char *text = NULL;
  for (uint64_t end = dt_now_ms() + 30000; dt_now_ms() < end; p_sleep_ms(20)) {
    free(text);
    text = p_slurp(p->err);
    if ((text && strstr(text, needle)) || !p_alive(p)) break;
  }
  const char *at = text ? strstr(text, needle) : NULL;
  if (!at) {
    fprintf(stderr, "the engine did not start:\n%s\n", text ? text : "(no output)");
    free(text);
    return -1;
  }
  at += strlen(needle);
  snprintf(e->callback, sizeof e->callback, "%.*s", (int)strcspn(at, ")"), at);
  free(text);
  return 0;
}

DT_TEST(healthz_answers_while_1500_idle_connections_sit_under_ulimit_1024) {
  const int n = under_valgrind() ? 1100 : 1500;
  struct rlimit rl;
  DT_ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < (rlim_t)n + 200) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < (rlim_t)n + 200) {
    fprintf(stderr, "  skipped: this process may open only %llu files\n", (unsigned long long)rl.rlim_cur);
    return;
  }
  p_env_t env;
  p_proc_t emu, eng;
  DT_ASSERT_EQ_INT(p_env_init(&env), 0);
  DT_ASSERT_EQ_INT(p_start_emulator(&env, &emu, "--time-scale 0"), 0);
  DT_ASSERT_EQ_INT(p_write_config(&env, "log = {level = \"info\"},"), 0);
  DT_ASSERT_EQ_INT(start_engine_limited(&env, &eng, 1024), 0);
  int port = port_of(env.callback);

  int *fd = dt_xcalloc((size_t)n, sizeof *fd);
  int opened = 0;
  for (int i = 0; i < n; i++) {
    fd[i] = tcp_open(port, NULL); /* the kernel completes the handshake; nothing is sent */
    if (fd[i] >= 0) opened++;
  }
  DT_ASSERT_EQ_INT(opened, n);
  /* The engine is full of silent connections; health must still be answered. */
  char url[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
  int st = 0;
  P_UNTIL(30000, (st = p_http("GET", url, NULL, NULL)) == 200);
  DT_ASSERT_EQ_INT(st, 200);
  DT_ASSERT(p_alive(&eng));
  DT_ASSERT(p_file_has(eng.err, "limits.max_connections lowered from 10000 to 768"));
  char *m = NULL;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  DT_ASSERT_EQ_INT(p_http("GET", url, NULL, &m), 200);
  fprintf(stderr, "  open %.0f, evicted %.0f, rejected %.0f, accept errors %.0f\n",
          metric(m, "dt_http_connections"), metric(m, "dt_http_connections_evicted_total"),
          metric(m, "dt_http_connections_rejected_total"), metric(m, "dt_http_accept_errors_total"));
  DT_ASSERT(metric(m, "dt_http_connections") <= 1024 - 256);
  DT_ASSERT(metric(m, "dt_http_connections_evicted_total") > 0);
  free(m);
  for (int i = 0; i < n; i++)
    if (fd[i] >= 0) close(fd[i]);
  free(fd);
  /* And it still takes calls. */
  DT_ASSERT(call_reaches_engine(&env, url, NULL));
  /* A clean shutdown (under ASan: no leak) with everything above behind it. */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

DT_TEST(header_timeout_per_address_cap_and_body_budget) {
  p_env_t env;
  p_proc_t emu, eng;
  DT_ASSERT_EQ_INT(start_both(&env, &emu, &eng,
                              "limits = {drain_timeout_s = 2, header_timeout_ms = 1000, "
                              "max_connections_per_ip = 3, max_body_total_bytes = 4096},"),
                   0);
  int port = port_of(env.callback);
  /* Silence: closed without a word after the header timeout. */
  int fd = tcp_open(port, NULL);
  DT_ASSERT(fd >= 0);
  char buf[4096];
  DT_ASSERT_EQ_INT((int)read_until_close(fd, buf, sizeof buf), 0);
  close(fd);
  /* Half the headers, then silence: 408. */
  fd = tcp_open(port, NULL);
  DT_ASSERT(fd >= 0);
  DT_ASSERT_EQ_INT(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32), 0);
  DT_ASSERT_EQ_INT(read_status(fd), 408);
  close(fd);

  /* Per address: three keep-alive connections from 127.0.0.2, the fourth is closed at accept. */
  int kept[3];
  for (int i = 0; i < 3; i++) {
    kept[i] = tcp_open(port, "127.0.0.2");
    DT_ASSERT(kept[i] >= 0);
    DT_ASSERT_EQ_INT(send_all(kept[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35), 0);
    DT_ASSERT_EQ_INT(read_status(kept[i]), 200);
  }
  fd = tcp_open(port, "127.0.0.2");
  DT_ASSERT(fd >= 0);
  (void)send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
  DT_ASSERT_EQ_INT(read_status(fd), 0); /* closed, no answer */
  close(fd);
  /* Another address is not affected. */
  DT_ASSERT_EQ_INT(one_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  for (int i = 0; i < 3; i++) close(kept[i]);

  /* The body budget (4 KiB across all connections): a 8000-byte body gets 503. */
  DT_ASSERT_EQ_INT(one_request(port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 8000\r\n\r\n"), 503);
  DT_ASSERT_EQ_INT(one_request(port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), 405);

  char url[160], *m = NULL;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  DT_ASSERT_EQ_INT(p_http("GET", url, NULL, &m), 200);
  DT_ASSERT(metric(m, "dt_http_header_timeouts_total") >= 2);
  DT_ASSERT_EQ_INT((int)metric(m, "dt_http_connections_rejected_per_ip_total"), 1);
  DT_ASSERT_EQ_INT((int)metric(m, "dt_http_body_budget_refusals_total"), 1);
  free(m);
  DT_ASSERT(p_file_has(eng.err, "refused a connection (limits.max_connections_per_ip reached) from 127.0.0.2"));
  /* A clean shutdown (under ASan: no leak) with everything above behind it. */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

/* limits.idle_timeout_ms and limits.request_timeout_ms reach the server (they were accepted
   and then ignored): a kept-alive connection is closed after a 300 ms idle timeout, long before
   a 3 s receive timeout; a request whose body never completes gets 408. */
static bool closed_by_peer(int fd) {
  struct timeval tv = {3, 0}; /* well under the 10 s header timeout that would close it anyway */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

DT_TEST(idle_and_request_timeouts_are_applied) {
  p_env_t env;
  p_proc_t emu, eng;
  DT_ASSERT_EQ_INT(start_both(&env, &emu, &eng,
                              "limits = {drain_timeout_s = 2, idle_timeout_ms = 300, request_timeout_ms = 700},"),
                   0);
  int port = port_of(env.callback);
  int fd = tcp_open(port, NULL);
  DT_ASSERT(fd >= 0);
  DT_ASSERT_EQ_INT(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35), 0);
  DT_ASSERT_EQ_INT(read_status(fd), 200);
  usleep(1000 * 1000); /* past the idle timeout: the next request on it finds it closed */
  (void)send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
  DT_ASSERT(closed_by_peer(fd));
  close(fd);
  fd = tcp_open(port, NULL);
  DT_ASSERT(fd >= 0);
  struct timeval tv = {3, 0}; /* the default request timeout (10 s) would not answer in time */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const char *partial = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}";
  DT_ASSERT_EQ_INT(send_all(fd, partial, strlen(partial)), 0);
  DT_ASSERT_EQ_INT(read_status(fd), 408);
  close(fd);
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

/* ------------------------------------------------------------------ point 9 */

DT_TEST(admin_listener_serves_metrics_and_calls_only_there_with_the_token) {
  int admin_port = free_port();
  DT_ASSERT(admin_port > 0);
  char extra[256];
  snprintf(extra, sizeof extra, "admin = {listen = \"127.0.0.1:%d\"},", admin_port);
  setenv("DIALTONE_ADMIN_TOKEN", "adm1n-t0ken-for-tests", 1);
  p_env_t env;
  p_proc_t emu, eng;
  int rc = start_both(&env, &emu, &eng, extra);
  unsetenv("DIALTONE_ADMIN_TOKEN");
  DT_ASSERT_EQ_INT(rc, 0);
  int port = port_of(env.callback);
  char url[160];
  const char *tok = "adm1n-t0ken-for-tests";
  /* Public listener: callback, prompts and health only. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  DT_ASSERT_EQ_INT(get_with_token(url, tok, NULL), 404);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/calls", port);
  DT_ASSERT_EQ_INT(get_with_token(url, tok, NULL), 404);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 200);
  /* Admin listener: the token is required. */
  char *body = NULL;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", admin_port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, "adm1n-t0ken-for-tests-not", NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, "adm1n-t0ken-for-test", NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, tok, &body), 200);
  DT_ASSERT(strstr(body, "dt_http_requests_total") != NULL);
  DT_ASSERT(metric(body, "dt_admin_unauthorized_total") >= 3);
  free(body);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/calls", admin_port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, tok, &body), 200);
  DT_ASSERT(body[0] == '[');
  free(body);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", admin_port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 200);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/api/calls", admin_port);
  DT_ASSERT_EQ_INT(p_http("POST", url, "{}", NULL), 404);
  /* Calls still flow through the public listener. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", admin_port);
  DT_ASSERT(call_reaches_engine(&env, url, tok));
  /* --print-config masks the token. */
  setenv("DIALTONE_ADMIN_TOKEN", "adm1n-t0ken-for-tests", 1);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s --config %s run --print-config > %s/printed.txt 2>&1", p_binary(), env.config,
           env.dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
  unsetenv("DIALTONE_ADMIN_TOKEN");
  char printed[300];
  snprintf(printed, sizeof printed, "%s/printed.txt", env.dir);
  DT_ASSERT(p_file_has(printed, "admin"));
  DT_ASSERT(p_file_has(printed, "(masked)"));
  DT_ASSERT(!p_file_has(printed, tok));
  /* A clean shutdown (under ASan: no leak) with everything above behind it. */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

DT_TEST(admin_token_alone_guards_metrics_on_the_public_listener) {
  p_env_t env;
  p_proc_t emu, eng;
  DT_ASSERT_EQ_INT(start_both(&env, &emu, &eng, "admin = {token = \"only-the-token\"},"), 0);
  int port = port_of(env.callback);
  char url[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, "only-the-token", NULL), 200);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/calls", port);
  DT_ASSERT_EQ_INT(get_with_token(url, "wrong", NULL), 401);
  DT_ASSERT_EQ_INT(get_with_token(url, "only-the-token", NULL), 200);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
  DT_ASSERT_EQ_INT(get_with_token(url, NULL, NULL), 200);
  /* A clean shutdown (under ASan: no leak) with everything above behind it. */
  p_kill(&eng, SIGTERM);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 30000), 0);
  p_env_free(&env);
}

DT_TEST_MAIN()
