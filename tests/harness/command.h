/*
 * command.h — running a dialtone command with its output captured (header-only;
 * test_check and test_flowtest): in-process through the command's _run_ex entry (output
 * into memory streams), or as the real binary ($DT_BINARY COMMAND ARGS…, output into
 * unlinked temporary files). The caller frees a result with result_free.
 */
#ifndef DT_HARNESS_COMMAND_H
#define DT_HARNESS_COMMAND_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dialtone/common.h"

typedef struct {
  int rc;    /* the exit code; -1 when the binary could not run or did not exit */
  char *out; /* stdout, NUL-terminated */
  char *err; /* stderr, NUL-terminated */
} result_t;

static inline void result_free(result_t *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

/* A command's in-process entry: dt_check_run_ex, dt_test_run_ex. */
typedef int (*command_run_fn)(FILE *out, FILE *err, int argc, char **argv);

/* Runs `COMMAND ARGS…` (args NULL-terminated) in-process, argv[0] being the command name as
   src/main.c passes it. */
static inline result_t run_command_inproc(command_run_fn run, const char *command, const char *const *args) {
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)command;
  for (int i = 0; args[i] != NULL && argc < 63; i++) argv[argc++] = (char *)args[i];
  argv[argc] = NULL;
  result_t r = {0};
  size_t ol = 0, el = 0;
  FILE *o = open_memstream(&r.out, &ol), *e = open_memstream(&r.err, &el);
  r.rc = run(o, e, argc, argv);
  fclose(o);
  fclose(e);
  return r;
}

static inline char *slurp_fd(int fd) {
  dt_buf_t b = {0};
  char chunk[4096];
  lseek(fd, 0, SEEK_SET);
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0) dt_buf_append(&b, chunk, (size_t)n);
  dt_buf_append(&b, "", 0);
  return b.data;
}

/* Runs `$DT_BINARY COMMAND ARGS…` with stdout and stderr captured in temporary files. */
static inline result_t run_command_binary(const char *command, const char *const *args) {
  result_t r = {-1, NULL, NULL};
  const char *bin = getenv("DT_BINARY");
  char opath[] = "/tmp/dt_command_out_XXXXXX", epath[] = "/tmp/dt_command_err_XXXXXX";
  int ofd = mkstemp(opath), efd = mkstemp(epath);
  if (bin == NULL || ofd < 0 || efd < 0) return r;
  unlink(opath);
  unlink(epath);
  char *argv[64];
  int argc = 0;
  argv[argc++] = "dialtone";
  argv[argc++] = (char *)command;
  for (int i = 0; args[i] != NULL && argc < 63; i++) argv[argc++] = (char *)args[i];
  argv[argc] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(ofd, 1);
    dup2(efd, 2);
    execv(bin, argv);
    _exit(127);
  }
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) r.rc = WEXITSTATUS(status);
  r.out = slurp_fd(ofd);
  r.err = slurp_fd(efd);
  close(ofd);
  close(efd);
  return r;
}

#endif
