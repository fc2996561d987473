/* Integration tests for the dialtone command line: runs the real binary (env DT_BINARY)
   as a child process, checks exit codes and output, and talks HTTP to `dialtone run` over
   loopback. Every wait is bounded; a child that outlives its deadline is killed and the
   test fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "harness/dt_test.h"

extern char **environ;

#define WAIT_MS 30000

typedef struct {
  pid_t pid;
  int out_fd, err_fd;
  dt_buf_t out, err;
  int status; /* exit code, or 128+signal */
} child_t;

static char tmpdir[64];

static const char *tmp_path(const char *name) {
  static char path[256];
  if (tmpdir[0] == '\0') {
    strcpy(tmpdir, "/tmp/dt_test_cli_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) abort();
  }
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return path;
}

/* Starts DT_BINARY with args (NULL-terminated) in tmpdir, with the environment minus any
   DIALTONE_* variables plus extra_env ("NAME=value" strings, NULL-terminated). */
static int child_start(child_t *c, const char *const *args, const char *const *extra_env) {
  memset(c, 0, sizeof *c);
  const char *bin = getenv("DT_BINARY");
  if (bin == NULL) {
    fprintf(stderr, "  DT_BINARY is not set (run through ctest)\n");
    return -1;
  }
  tmp_path("x");
  const char *argv[32];
  size_t n = 0;
  argv[n++] = bin;
  for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  const char *envp[512];
  size_t e = 0;
  for (char **p = environ; *p && e < 480; p++)
    if (strncmp(*p, "DIALTONE_", 9) != 0) envp[e++] = *p;
  for (size_t i = 0; extra_env && extra_env[i] && e < 510; i++) envp[e++] = extra_env[i];
  envp[e] = NULL;
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (chdir(tmpdir) != 0) _exit(126);
    execve(bin, (char *const *)argv, (char *const *)envp);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  c->pid = pid;
  c->out_fd = out[0];
  c->err_fd = err[0];
  return 0;
}

/* Reads whatever the child wrote, waiting at most timeout_ms. Returns 0 when both pipes
   are at EOF. */
static int child_pump(child_t *c, int timeout_ms) {
  struct pollfd p[2];
  int n = 0;
  if (c->out_fd >= 0) p[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
  if (c->err_fd >= 0) p[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
  if (n == 0) return 0;
  if (poll(p, (nfds_t)n, timeout_ms) <= 0) return 1;
  for (int i = 0; i < n; i++) {
    if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[4096];
    ssize_t r = read(p[i].fd, buf, sizeof buf);
    if (r > 0) {
      dt_buf_append(p[i].fd == c->out_fd ? &c->out : &c->err, buf, (size_t)r);
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
      close(p[i].fd);
      if (p[i].fd == c->out_fd) c->out_fd = -1;
      else c->err_fd = -1;
    }
  }
  return c->out_fd >= 0 || c->err_fd >= 0;
}

/* Waits until the child's stderr contains needle. Returns 0 if it does. */
static int child_wait_stderr(child_t *c, const char *needle) {
  uint64_t deadline = dt_now_ms() + WAIT_MS;
  while (dt_now_ms() < deadline) {
    if (c->err.data && strstr(c->err.data, needle)) return 0;
    if (!child_pump(c, 200) && !(c->err.data && strstr(c->err.data, needle))) return -1; /* EOF */
  }
  return -1;
}

/* Reads to EOF and reaps the child; kills it if it does not end in time. Returns 0 when
   it ended by itself. */
static int child_finish(child_t *c) {
  uint64_t deadline = dt_now_ms() + WAIT_MS;
  int ended = 0;
  while (dt_now_ms() < deadline && child_pump(c, 200)) {
  }
  for (;;) {
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
      c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      ended = 1;
      break;
    }
    if (dt_now_ms() >= deadline) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &st, 0);
      c->status = -1;
      break;
    }
    usleep(20000);
  }
  while (child_pump(c, 0)) {
  }
  if (c->out_fd >= 0) close(c->out_fd);
  if (c->err_fd >= 0) close(c->err_fd);
  c->out_fd = c->err_fd = -1;
  if (c->out.data == NULL) dt_buf_append(&c->out, "", 0);
  if (c->err.data == NULL) dt_buf_append(&c->err, "", 0);
  return ended ? 0 : -1;
}

static void child_free(child_t *c) {
  dt_buf_free(&c->out);
  dt_buf_free(&c->err);
}

/* Runs a command to completion. */
static int run(child_t *c, const char *const *args, const char *const *env) {
  if (child_start(c, args, env) != 0) return -1;
  return child_finish(c);
}

/* One HTTP/1.1 request over a fresh connection; returns the whole response (caller frees). */
static char *http(int port, const char *method, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char req[256];
  int len = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n", method, path);
  if (write(fd, req, (size_t)len) != len) {
    close(fd);
    return NULL;
  }
  dt_buf_t b = {0};
  uint64_t deadline = dt_now_ms() + WAIT_MS;
  while (dt_now_ms() < deadline) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    dt_buf_append(&b, buf, (size_t)r);
  }
  close(fd);
  if (b.data == NULL) dt_buf_append(&b, "", 0);
  return b.data;
}

/* The port out of a "listening on HOST:PORT" log line. */
static int logged_port(const char *log) {
  /* the engine's line, not the embedded emulator's */
  const char *p = log ? strstr(log, "run: listening on ") : NULL;
  if (p == NULL) return -1;
  p += strlen("run: listening on ");
  const char *space = strpbrk(p, " \"\n");
  const char *colon = NULL;
  for (const char *q = p; q < space; q++)
    if (*q == ':') colon = q;
  return colon ? atoi(colon + 1) : -1;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

static void write_file(const char *path, const char *text) {
  if (dt_write_file_atomic(path, text, strlen(text)) != 0) abort();
}

DT_TEST(version_prints_all_library_versions) {
  child_t c;
  const char *args[] = {"version", NULL};
  DT_ASSERT_EQ_INT(run(&c, args, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT(strncmp(c.out.data, "dialtone ", 9) == 0);
  const char *libs[] = {"Lua 5.4", "libuv 1.", "libcurl 7.", "mbedTLS 2.28", "cJSON 1.", "llhttp 8."};
  for (size_t i = 0; i < DT_ARRAY_SIZE(libs); i++) DT_ASSERT_CONTAINS(c.out.data, libs[i]);
  child_free(&c);
  const char *flag[] = {"--version", NULL};
  DT_ASSERT_EQ_INT(run(&c, flag, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_CONTAINS(c.out.data, "mbedTLS");
  child_free(&c);
}

DT_TEST(help_and_usage_errors) {
  child_t c;
  const char *help[] = {"help", NULL};
  DT_ASSERT_EQ_INT(run(&c, help, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_CONTAINS(c.out.data, "usage: dialtone");
  DT_ASSERT_CONTAINS(c.out.data, "dialtone run");
  child_free(&c);
  const char *dash_help[] = {"--help", NULL};
  DT_ASSERT_EQ_INT(run(&c, dash_help, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_CONTAINS(c.out.data, "usage: dialtone");
  child_free(&c);
  const char *none[] = {NULL};
  DT_ASSERT_EQ_INT(run(&c, none, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "usage: dialtone");
  child_free(&c);
  const char *unknown[] = {"frobnicate", NULL};
  DT_ASSERT_EQ_INT(run(&c, unknown, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "unknown command 'frobnicate'");
  DT_ASSERT_CONTAINS(c.err.data, "usage: dialtone");
  child_free(&c);
  const char *bad_opt[] = {"--bogus", "version", NULL};
  DT_ASSERT_EQ_INT(run(&c, bad_opt, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  child_free(&c);
  const char *bad_run_opt[] = {"run", "--fast", NULL};
  DT_ASSERT_EQ_INT(run(&c, bad_run_opt, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "--fast");
  child_free(&c);
  const char *bad_level[] = {"--log-level", "loud", "run", NULL};
  DT_ASSERT_EQ_INT(run(&c, bad_level, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "--log-level");
  child_free(&c);
}

DT_TEST(bad_config_file_exits_2_naming_the_key) {
  const char *conf = tmp_path("bad.conf.lua");
  char path[256];
  snprintf(path, sizeof path, "%s", conf);
  write_file(path, "return {\n  graph = { dialct = 'beta' },\n}\n");
  child_t c;
  const char *args[] = {"run", "--config", path, NULL};
  DT_ASSERT_EQ_INT(run(&c, args, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "graph.dialct: unknown key (did you mean dialect?)");
  child_free(&c);
  /* global option after the command works too; a wrong type names key and types */
  write_file(path, "return { limits = { op_timeout_s = 'thirty' } }");
  const char *args2[] = {"--config", path, "run", NULL};
  DT_ASSERT_EQ_INT(run(&c, args2, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "limits.op_timeout_s: expected a number, got string");
  child_free(&c);
  /* an explicitly named missing file */
  const char *args3[] = {"run", "--config", "/nonexistent/dialtone.conf.lua", NULL};
  DT_ASSERT_EQ_INT(run(&c, args3, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "/nonexistent/dialtone.conf.lua: no such file");
  child_free(&c);
  /* a bad environment variable is named */
  const char *args4[] = {"run", NULL};
  const char *env4[] = {"DIALTONE_LIMITS_MAX_CALLS=many", NULL};
  DT_ASSERT_EQ_INT(run(&c, args4, env4), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "DIALTONE_LIMITS_MAX_CALLS");
  child_free(&c);
  /* a bad flag value is named */
  const char *args5[] = {"run", "--listen", "localhost", NULL};
  DT_ASSERT_EQ_INT(run(&c, args5, NULL), 0);
  DT_ASSERT_EQ_INT(c.status, 2);
  DT_ASSERT_CONTAINS(c.err.data, "listen: expected host:port");
  DT_ASSERT_CONTAINS(c.err.data, "--listen");
  child_free(&c);
}

DT_TEST(print_config_masks_the_secret) {
  child_t c;
  const char *args[] = {"run", "--listen", "127.0.0.1:7777", "--flows", "myflows", "--print-config", NULL};
  const char *env[] = {"DIALTONE_TENANT_ID=t", "DIALTONE_CLIENT_ID=app", "DIALTONE_CLIENT_SECRET=hunter2-secret",
                       NULL};
  DT_ASSERT_EQ_INT(run(&c, args, env), 0);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_CONTAINS(c.out.data, "listen = \"127.0.0.1:7777\",  -- --listen");
  DT_ASSERT_CONTAINS(c.out.data, "flows = \"myflows\"");
  DT_ASSERT_CONTAINS(c.out.data, "client_secret = \"********\"");
  DT_ASSERT(strstr(c.out.data, "hunter2") == NULL && strstr(c.err.data, "hunter2") == NULL);
  child_free(&c);
}

/* All of text is JSON lines, each an object with level and msg. */
static int all_json_lines(const char *text, int *count) {
  *count = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len > 0) {
      cJSON *j = cJSON_ParseWithLength(p, len);
      int ok = cJSON_IsObject(j) && cJSON_IsString(cJSON_GetObjectItem(j, "level")) &&
               cJSON_IsString(cJSON_GetObjectItem(j, "msg")) && cJSON_IsString(cJSON_GetObjectItem(j, "ts"));
      cJSON_Delete(j);
      if (!ok) {
        fprintf(stderr, "  not a JSON log line: %.*s\n", (int)len, p);
        return 0;
      }
      (*count)++;
    }
    p += len + (nl ? 1 : 0);
  }
  return 1;
}

DT_TEST(run_serves_health_and_metrics_and_stops_on_sigterm) {
  child_t c;
  const char *args[] = {"--log-format", "json", "run", "--listen", "127.0.0.1:0", NULL};
  DT_ASSERT_EQ_INT(child_start(&c, args, NULL), 0);
  int waited = child_wait_stderr(&c, "run: listening on");
  int port = logged_port(c.err.data);
  if (waited != 0 || port <= 0) {
    kill(c.pid, SIGKILL);
    child_finish(&c);
    DT_FAIL("no 'listening on' line: %s", c.err.data ? c.err.data : "");
  }
  char *health = http(port, "GET", "/healthz");
  char *metrics = http(port, "GET", "/metrics");
  char *missing = http(port, "GET", "/no-such-page");
  char *wrong = http(port, "POST", "/healthz");
  kill(c.pid, SIGTERM);
  int finished = child_finish(&c);
  DT_ASSERT(health && metrics && missing && wrong);
  DT_ASSERT_MSG(strncmp(health, "HTTP/1.1 200", 12) == 0, "%s", health);
  DT_ASSERT_MSG(strstr(health, "\r\n\r\n{\"status\":\"ok\"}\n") != NULL, "%s", health);
  DT_ASSERT_MSG(strncmp(metrics, "HTTP/1.1 200", 12) == 0, "%s", metrics);
  DT_ASSERT_CONTAINS(metrics, "text/plain; version=0.0.4");
  DT_ASSERT_CONTAINS(metrics, "dialtone_build_info{version=\"");
  DT_ASSERT_CONTAINS(metrics, "dt_http_requests_total{");
  DT_ASSERT_CONTAINS(metrics, "/healthz");
  DT_ASSERT_MSG(strncmp(missing, "HTTP/1.1 404", 12) == 0, "%s", missing);
  DT_ASSERT_MSG(strncmp(wrong, "HTTP/1.1 405", 12) == 0, "%s", wrong);
  free(health);
  free(metrics);
  free(missing);
  free(wrong);
  DT_ASSERT_EQ_INT(finished, 0);
  DT_ASSERT_MSG(c.status == 0, "exit %d, stderr: %s", c.status, c.err.data);
  int lines = 0;
  DT_ASSERT(all_json_lines(c.err.data, &lines));
  DT_ASSERT(lines >= 3);
  DT_ASSERT_CONTAINS(c.err.data, "embedded Graph emulator"); /* the first line says which Graph */
  DT_ASSERT_CONTAINS(c.err.data, "SIGTERM");
  child_free(&c);
}

DT_TEST(run_on_a_chosen_port_stops_on_sigint) {
  int port = free_port();
  DT_ASSERT(port > 0);
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  child_t c;
  const char *args[] = {"run", "--listen", listen, NULL};
  DT_ASSERT_EQ_INT(child_start(&c, args, NULL), 0);
  int waited = child_wait_stderr(&c, "run: listening on");
  if (waited != 0) {
    kill(c.pid, SIGKILL);
    child_finish(&c);
    DT_FAIL("no 'listening on' line: %s", c.err.data ? c.err.data : "");
  }
  char *health = http(port, "GET", "/healthz");
  kill(c.pid, SIGINT);
  int finished = child_finish(&c);
  DT_ASSERT_EQ_INT(logged_port(c.err.data), port);
  DT_ASSERT(health != NULL);
  DT_ASSERT_MSG(strncmp(health, "HTTP/1.1 200", 12) == 0, "%s", health);
  free(health);
  DT_ASSERT_EQ_INT(finished, 0);
  DT_ASSERT_MSG(c.status == 0, "exit %d, stderr: %s", c.status, c.err.data);
  DT_ASSERT_CONTAINS(c.err.data, " info "); /* text format by default */
  DT_ASSERT_CONTAINS(c.err.data, "SIGINT");
  child_free(&c);
}

DT_TEST(run_on_a_busy_port_exits_1) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  DT_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  DT_ASSERT(listen(fd, 1) == 0);
  DT_ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  char listen_addr[64];
  snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%d", ntohs(a.sin_port));
  child_t c;
  const char *args[] = {"run", "--listen", listen_addr, NULL};
  int rc = run(&c, args, NULL);
  close(fd);
  DT_ASSERT_EQ_INT(rc, 0);
  DT_ASSERT_MSG(c.status == 1, "exit %d, stderr: %s", c.status, c.err.data);
  DT_ASSERT_CONTAINS(c.err.data, listen_addr);
  child_free(&c);
}

DT_TEST(zz_cleanup) {
  unlink(tmp_path("bad.conf.lua"));
  unlink(tmp_path("cdr.jsonl"));       /* `run` writes CDRs and keeps recordings in its cwd */
  rmdir(tmp_path("recordings"));
  DT_ASSERT_EQ_INT(rmdir(tmpdir), 0);
}

DT_TEST_MAIN()
