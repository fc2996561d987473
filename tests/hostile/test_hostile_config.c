/*
 * test_hostile_config.c — the configuration file's sandbox (issue 10, point 2), through the
 * real binary: `dialtone run --print-config --config FILE`.
 *
 * A finalizer runs with hooks off, so a `__gc` that loops would hang the process at
 * lua_close for good: the config sandbox refuses `__gc` when the metatable is set (exit 2,
 * a clear message). Errors raised with a non-string value or without a position
 * (`error({})`, `error("x", 0)`) still name the file and line. Every child is waited for
 * with a deadline and killed after it, so a hang is a failure, never a stuck test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "harness/dt_test.h"

#define WAIT_MS 20000

static char tmpdir[64];

typedef struct {
  int status;  /* exit code; -1 when it had to be killed */
  char err[4096];
} result_t;

/* Writes `text` as NAME in the temporary directory and runs ARGS... on it (the file's path
   replaces "@"), capturing stderr, killing the child after WAIT_MS. */
static int run_on(const char *name, const char *text, const char *const *args, result_t *r) {
  memset(r, 0, sizeof *r);
  if (!tmpdir[0]) {
    strcpy(tmpdir, "/tmp/dt_hostile_config_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
  }
  char path[160];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  fclose(f);
  const char *bin = getenv("DT_BINARY");
  if (!bin) {
    fprintf(stderr, "  DT_BINARY is not set (run through ctest)\n");
    return -1;
  }
  const char *argv[16];
  size_t n = 0;
  argv[n++] = bin;
  for (size_t i = 0; args[i] && n < 15; i++) argv[n++] = strcmp(args[i], "@") == 0 ? path : args[i];
  argv[n] = NULL;
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(pipefd[1], 2);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
      dup2(null_fd, 1);
    }
    close(pipefd[0]);
    close(pipefd[1]);
    if (chdir(tmpdir) != 0) _exit(126);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  size_t len = 0;
  uint64_t deadline = dt_now_ms() + WAIT_MS;
  int fd = pipefd[0];
  while (fd >= 0 && dt_now_ms() < deadline) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t got = read(fd, r->err + len, sizeof r->err - 1 - len);
    if (got > 0) len += (size_t)got;
    else if (got == 0 || (errno != EAGAIN && errno != EINTR) || len == sizeof r->err - 1) {
      close(fd);
      fd = -1;
    }
  }
  r->err[len] = '\0';
  int st = 0;
  r->status = -1;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (dt_now_ms() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      fprintf(stderr, "  %s did not end within %d ms (killed)\n", name, WAIT_MS);
      break;
    }
    usleep(20000);
  }
  if (fd >= 0) close(fd);
  return 0;
}

static int print_config(const char *name, const char *text, result_t *r) {
  static const char *const args[] = {"run", "--print-config", "--config", "@", NULL};
  return run_on(name, text, args, r);
}

static bool err_has(const result_t *r, const char *needle) {
  if (strstr(r->err, needle)) return true;
  fprintf(stderr, "  stderr lacks \"%s\":\n%s\n", needle, r->err);
  return false;
}

DT_TEST(a_gc_metamethod_in_the_config_is_refused_not_run) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("gc.lua",
                                "local guard = setmetatable({}, {__gc = function() while true do end end})\n"
                                "return {}\n",
                                &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "gc.lua:1: __gc metamethods are not allowed in the configuration"));
}

/* __gc = false at setmetatable time, the finalizer put in place afterwards: Lua marks the
   object when the field exists, whatever its value, so the field itself is refused. */
DT_TEST(a_placeholder_gc_field_is_refused_too) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("gc2.lua",
                                "local mt = {__gc = false}\n"
                                "local t = setmetatable({}, mt)\n"
                                "mt.__gc = function() while true do end end\n"
                                "return {}\n",
                                &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "gc2.lua:2: __gc metamethods are not allowed"));
}

/* A __gc added after setmetatable never marks the object: harmless, the file loads. */
DT_TEST(a_gc_added_later_never_runs) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("gc3.lua",
                                "local mt = {}\n"
                                "local t = setmetatable({}, mt)\n"
                                "mt.__gc = function() while true do end end\n"
                                "return {}\n",
                                &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 0);
}

DT_TEST(error_with_a_table_names_file_and_line) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("errtable.lua", "local x = 1\n\nerror({})\n", &r), 0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errtable.lua:3: (error object is a table value)"));
}

DT_TEST(error_at_level_0_names_file_and_line) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("errlevel.lua", "local x = 1\nerror('no position', 0)\n", &r), 0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errlevel.lua:2: no position"));
}

/* An error raised inside a function the file defines names the line that raised. */
DT_TEST(error_in_a_function_names_the_raising_line) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("errfn.lua",
                                "local function check(v)\n"
                                "  if not v then error({reason = 'missing'}) end\n"
                                "end\n"
                                "check(nil)\n"
                                "return {}\n",
                                &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errfn.lua:2: (error object is a table value)"));
}

/* An error object whose __tostring loops is not called (that would loop in the handler). */
DT_TEST(an_error_objects_tostring_is_not_run) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("errtostr.lua",
                                "error(setmetatable({}, {__tostring = function() while true do end end}))\n",
                                &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errtostr.lua:1: (error object is a table value)"));
}

/* Ordinary errors keep their usual message (one position, not two). */
DT_TEST(ordinary_errors_keep_their_message) {
  result_t r;
  DT_ASSERT_EQ_INT(print_config("errplain.lua", "local t = nil\nreturn t.x\n", &r), 0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errplain.lua:2: attempt to index a nil value (local 't')"));
  DT_ASSERT(strstr(r.err, "errplain.lua:2: errplain.lua:2:") == NULL);
  DT_ASSERT_EQ_INT(print_config("errstr.lua", "\nerror('plain')\n", &r), 0);
  DT_ASSERT_EQ_INT(r.status, 2);
  DT_ASSERT(err_has(&r, "errstr.lua:2: plain"));
  DT_ASSERT(strstr(r.err, "errstr.lua:2: errstr.lua:2:") == NULL);
}

/* `dialtone check` runs a flow's top level in its own sandbox: a __gc there is refused too. */
DT_TEST(dialtone_check_does_not_run_a_flows_finalizer) {
  result_t r;
  static const char *const args[] = {"check", "@", NULL};
  DT_ASSERT_EQ_INT(run_on("gcflow.lua",
                          "local guard = setmetatable({}, {__gc = function() while true do end end})\n"
                          "return function(call) end\n",
                          args, &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 1);
}

/* `dialtone check` knows call:menu's flush option (test_hostile_menu has its behaviour). */
DT_TEST(dialtone_check_knows_the_menu_flush_option) {
  result_t r;
  static const char *const args[] = {"check", "@", NULL};
  DT_ASSERT_EQ_INT(run_on("menuflush.lua",
                          "return function(call)\n"
                          "  call:menu{prompt = 'https://example.com/m.wav', options = {'1'}, flush = false,\n"
                          "            invalid = 'https://example.com/i.wav', noinput = 'https://example.com/n.wav'}\n"
                          "end\n",
                          args, &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 0);
  DT_ASSERT_EQ_INT(run_on("menuflsh.lua",
                          "return function(call)\n"
                          "  call:menu{prompt = 'https://example.com/m.wav', options = {'1'}, flsh = false,\n"
                          "            invalid = 'https://example.com/i.wav', noinput = 'https://example.com/n.wav'}\n"
                          "end\n",
                          args, &r),
                   0);
  DT_ASSERT_EQ_INT(r.status, 1);
}

static void cleanup(void) {
  if (tmpdir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  }
}

__attribute__((constructor)) static void register_cleanup(void) { atexit(cleanup); }

DT_TEST_MAIN()
