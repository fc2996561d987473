/*
 * test_console.c — `dialtone console` driven through pipes, as a person or a script would:
 * it calls flows/main.lua, shows each prompt as it plays (name and transcript text), sends
 * the keys typed (picking a menu option, an order number), hangs up on `h`, and quits with
 * status 0 on `q` or at the end of its input (hanging up the call). Runs the binary when
 * src/main.c dispatches `console`, else dt_console_main in a forked child with its stdin
 * and stdout on pipes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness/dt_test.h"
#include "dialtone/common.h"
#include "console.h"

static char src_flows[600];

static const char *flows(void) {
  const char *src = getenv("DT_SOURCE_DIR");
  snprintf(src_flows, sizeof src_flows, "%s/flows", src ? src : ".");
  return src_flows;
}

/* Does the binary have `console`? (it says "not available" until src/main.c wires it) */
static bool binary_has_console(void) {
  const char *bin = getenv("DT_BINARY");
  if (bin == NULL || access(bin, X_OK) != 0) return false;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "'%s' console --help 2>&1 </dev/null", bin);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return false;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  pclose(p);
  return strstr(buf, "usage: dialtone console") != NULL;
}

typedef struct {
  pid_t pid;
  int in, out;      /* the console's stdin (we write) and stdout+stderr (we read) */
  dt_buf_t text;    /* everything it printed so far */
  bool eof;
} con_t;

/* Starts the console with args (NULL-terminated, without the command name). */
static bool con_start(con_t *c, const char *const *args) {
  memset(c, 0, sizeof *c);
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return false;
  const char *argv[20];
  int argc = 0;
  bool bin = binary_has_console();
  if (bin) argv[argc++] = getenv("DT_BINARY");
  argv[argc++] = "console";
  for (size_t i = 0; args[i] && argc < 18; i++) argv[argc++] = args[i];
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  c->pid = fork();
  if (c->pid < 0) return false;
  if (c->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    if (bin) {
      execv(argv[0], (char *const *)argv);
      _exit(127);
    }
    int rc = dt_console_main(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
  }
  close(in[0]);
  close(out[1]);
  c->in = in[1];
  c->out = out[0];
  printf("  (console: %s)\n", bin ? "the binary" : "dt_console_main in a child process");
  return true;
}

/* Reads until needle appears after offset *from (then *from moves past it) or ms pass. */
static bool con_expect(con_t *c, size_t *from, const char *needle, int ms) {
  uint64_t end = dt_now_ms() + (uint64_t)ms;
  for (;;) {
    if (c->text.data && c->text.len > *from) {
      const char *p = strstr(c->text.data + *from, needle);
      if (p) {
        *from = (size_t)(p - c->text.data) + strlen(needle);
        return true;
      }
    }
    uint64_t now = dt_now_ms();
    if (c->eof || now >= end) return false;
    struct pollfd pfd = {.fd = c->out, .events = POLLIN};
    int r = poll(&pfd, 1, (int)(end - now));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[4096];
    ssize_t n = read(c->out, buf, sizeof buf);
    if (n <= 0) c->eof = true;
    else dt_buf_append(&c->text, buf, (size_t)n);
  }
}

static void con_send(con_t *c, const char *line) {
  size_t l = strlen(line);
  if (write(c->in, line, l) != (ssize_t)l) fprintf(stderr, "write to the console failed\n");
}

/* Closes its stdin, reads to the end (bounded) and returns its exit status (-1: killed). */
static int con_finish(con_t *c, bool close_stdin, int ms) {
  if (close_stdin && c->in >= 0) {
    close(c->in);
    c->in = -1;
  }
  size_t ignore = 0;
  con_expect(c, &ignore, "\x01never\x01", ms); /* reads until EOF or the bound */
  int st = 0;
  pid_t r = 0;
  uint64_t end = dt_now_ms() + 5000;
  while ((r = waitpid(c->pid, &st, WNOHANG)) == 0 && dt_now_ms() < end) usleep(10000);
  if (r == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &st, 0);
    return -1;
  }
  if (c->in >= 0) close(c->in);
  close(c->out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define EXPECT(c, from, needle)                                                              \
  do {                                                                                       \
    if (!con_expect((c), (from), (needle), 60000)) {                                         \
      fprintf(stderr, "%s\n", (c)->text.data ? (c)->text.data : "(no output)");              \
      kill((c)->pid, SIGKILL);                                                               \
      waitpid((c)->pid, NULL, 0);                                                            \
      DT_FAIL("the console never printed \"%s\" (its output is above)", (needle));           \
    }                                                                                        \
  } while (0)

/* A person at the keyboard: waits for each prompt, then types. */
DT_TEST(interactive_call_menu_choice_hangup_quit) {
  con_t c;
  DT_ASSERT(con_start(&c, (const char *[]){"--flows", flows(), "--time-scale", "0.02", NULL}));
  size_t at = 0;
  EXPECT(&c, &at, "Calling flow main from +15555550100");
  EXPECT(&c, &at, "incoming call from +15555550100");
  EXPECT(&c, &at, "IVR answers");
  EXPECT(&c, &at, "plays welcome:");
  EXPECT(&c, &at, "\"Thank you for calling Contoso Plumbing.");
  EXPECT(&c, &at, "plays main_menu:");
  EXPECT(&c, &at, "To check your order number, press 3.\"");
  con_send(&c, "3\n"); /* the menu's third option: an order number */
  EXPECT(&c, &at, "you press 3");
  EXPECT(&c, &at, "plays enter_digits:");
  EXPECT(&c, &at, "\"Please enter your order number, followed by the pound key.\"");
  con_send(&c, "4 2 #\n");
  EXPECT(&c, &at, "plays you_entered: \"You entered\"");
  EXPECT(&c, &at, "plays digit_4: \"four\"");
  EXPECT(&c, &at, "plays digit_2: \"two\"");
  con_send(&c, "h\n");
  EXPECT(&c, &at, "you hang up");
  EXPECT(&c, &at, "call ended: you hung up");
  EXPECT(&c, &at, "(c calls again, q quits)");
  con_send(&c, "q\n");
  int rc = con_finish(&c, false, 30000);
  if (rc != 0) fprintf(stderr, "%s\n", c.text.data);
  DT_ASSERT_EQ_INT(rc, 0);
  DT_ASSERT(strstr(c.text.data, "you press 4") != NULL);
  DT_ASSERT(strchr(c.text.data, '\033') == NULL); /* a pipe: no colours */
  dt_buf_free(&c.text);
}

/* A script on stdin: waits with `w`, a voicemail, a second call; end of input hangs up. */
DT_TEST(scripted_pipe_voicemail_call_again_and_eof) {
  char dir[] = "/tmp/dt_console_rec_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  con_t c;
  DT_ASSERT(con_start(&c, (const char *[]){"main", "--flows", flows(), "--time-scale", "0.02", "--recordings",
                                           dir, "--from", "+15557654321", NULL}));
  con_send(&c,
           "; a comment line\n"
           "w main_menu\n"
           "1\n"
           "w voicemail_intro\n"
           "w end_of_nothing_that_will_never_play_but_the_call_ends\n"
           "nonsense\n"
           "c\n"
           "w main_menu\n"
           "2\n"
           "w transferring\n");
  int rc = con_finish(&c, true, 60000); /* end of input: hang up, quit */
  const char *o = c.text.data ? c.text.data : "";
  if (rc != 0) fprintf(stderr, "%s\n", o);
  DT_ASSERT_EQ_INT(rc, 0);
  size_t at = 0;
  EXPECT(&c, &at, "incoming call from +15557654321");
  EXPECT(&c, &at, "you press 1");
  EXPECT(&c, &at, "plays voicemail_intro (then records):");
  /* nobody spoke: the recording gets nothing and the flow says so, then goodbye */
  EXPECT(&c, &at, "recording ended without audio (nothing was said)");
  EXPECT(&c, &at, "plays noinput:");
  EXPECT(&c, &at, "plays goodbye:");
  EXPECT(&c, &at, "call ended: the IVR hung up");
  EXPECT(&c, &at, "(the call ended before end_of_nothing_that_will_never_play_but_the_call_ends played)");
  EXPECT(&c, &at, "unknown command 'nonsense'");
  EXPECT(&c, &at, "Calling flow main from +15557654321");
  EXPECT(&c, &at, "you press 2");
  EXPECT(&c, &at, "plays transferring:");
  EXPECT(&c, &at, "you hang up"); /* end of input */
  EXPECT(&c, &at, "call ended: you hung up");
  dt_buf_free(&c.text);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  DT_ASSERT_EQ_INT(system(cmd), 0);
}

DT_TEST(usage_errors_exit_2) {
  /* these return before the console reads stdin or starts anything */
  char *a1[] = {"console", "no_such_flow", "--flows", (char *)flows(), NULL};
  DT_ASSERT_EQ_INT(dt_console_main(4, a1), 2);
  char *a2[] = {"console", "--time-scale", "soon", NULL};
  DT_ASSERT_EQ_INT(dt_console_main(3, a2), 2);
  char *a3[] = {"console", "../etc/passwd", NULL};
  DT_ASSERT_EQ_INT(dt_console_main(2, a3), 2);
  char *a4[] = {"console", "--frobnicate", NULL};
  DT_ASSERT_EQ_INT(dt_console_main(2, a4), 2);
}

DT_TEST_MAIN()
