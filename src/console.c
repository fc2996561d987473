/*
 * console.c — `dialtone console` (src/console.h): a terminal softphone.
 *
 * Owns: the console's loop, its stdin handle (uv_tty for a terminal, uv_pipe for a pipe
 * or socket, uv_fs reads for a file — all on the loop, never blocking it), the command
 * queue, and the one call at a time it places through the emulator's control API.
 * Promises: what the caller hears and does is printed from the emulator's timeline
 * (transcript.h), stamped with the call's simulated time; commands run in
 * the order they were typed, a `w` (wait) holding the ones after it; end of input hangs
 * up and quits with status 0; q and Ctrl-C do the same. Recordings stay in the
 * recordings directory (a new one under /tmp unless --recordings; removed if empty).
 */
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "args.h"
#include "dialtone/common.h"
#include "console.h"
#include "cdr_file.h"
#include "dialtone/error.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"
#include "dialtone/wav.h"
#include "logcap.h"
#include "scratch.h"
#include "transcript.h"

#define CON_LINE_MAX 1024      /* longer input lines are refused */
#define CON_QUEUE_MAX 4096     /* commands waiting behind a `w` */
#define CON_WAIT_PROMPT_MS 120000
#define CON_QUIT_WAIT_MS 10000 /* how long quitting waits for the call to end */

typedef struct cmd_s {
  struct cmd_s *next;
  char text[];
} cmd_t;

typedef enum { W_NONE, W_TIME, W_PROMPT, W_END } wait_t;

typedef struct {
  uv_loop_t loop;
  uv_signal_t sigint;
  uv_timer_t timer;              /* waits (w N, w NAME bound) and the quit bound */
  uv_timer_t poll;               /* the CDR of an ended call (its recordings) */
  union {
    uv_tty_t tty;
    uv_pipe_t pipe;
  } in;
  bool in_stream, in_file, in_open;
  int in_flags;                  /* fd 0's flags before libuv made it non-blocking */
  uv_fs_t fsreq;
  char fsbuf[4096];
  int64_t fsoff;
  bool fs_busy;
  dt_localrun_t *lr;
  dt_transcript_t *tr;
  FILE *out, *err;
  char *flow, *from, *prompts_dir;
  dt_scratch_t dirs;             /* the CDR file and the recordings */
  double time_scale;
  char call_id[128];
  bool in_call;                  /* a call is up (placed and not ended) */
  char line[CON_LINE_MAX + 1];
  size_t linelen;
  bool line_too_long;
  cmd_t *q_head, *q_tail;
  size_t q_n;
  wait_t wait;
  char wait_prompt[128];
  bool eof;
  bool quitting, closing, closed;
  uint64_t cdr_deadline;
  char cdr_call[128];
  unsigned calls;
  bool quit_when_ended;          /* no stdin: the console ends with the call */
} con_t;

static void pump(con_t *c);
static void quit(con_t *c);

static const char *S(con_t *c, const char *style) { return dt_transcript_style(c->tr, style); }
static const char *R(con_t *c) { return dt_transcript_reset(c->tr); }

static void say(con_t *c, const char *style, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(con_t *c, const char *style, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(S(c, style), c->out);
  vfprintf(c->out, fmt, ap);
  fputs(R(c), c->out);
  fputc('\n', c->out);
  fflush(c->out);
  va_end(ap);
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void help(con_t *c) {
  say(c, "dim",
      "keys: 0-9 * # A-D (several at once: 427#)   s N: speak N seconds   h: hang up\n"
      "c: call again   q: quit   w NAME: wait for prompt NAME   w N: wait N seconds   ?: help");
}

/* ------------------------------------------------------------------ the call */
static void place_call(con_t *c) {
  if (c->in_call) {
    say(c, "warn", "a call is in progress (h hangs it up)");
    return;
  }
  cJSON *from = cJSON_CreateObject();
  cJSON_AddStringToObject(from, "phone", c->from);
  dt_emulator_call_options_t o = {0};
  o.from = from;
  char why[256] = "";
  int rc = dt_emulator_place_call(dt_localrun_emulator(c->lr), &o, c->call_id, why, sizeof why);
  cJSON_Delete(from);
  if (rc != 0) {
    say(c, "bad", "cannot place the call (%s)", why);
    return;
  }
  c->in_call = true;
  c->calls++;
  fputc('\n', c->out);
  say(c, "title", "Calling flow %s from %s", c->flow, c->from);
}

typedef enum { ACT_TONES, ACT_SPEAK, ACT_HANGUP } action_t;

/* An action of the caller on the current call; prints why it was refused. */
static void call_control(con_t *c, action_t what, const char *tones, int64_t ms) {
  static const char *const names[] = {"tones", "speak", "hangup"};
  if (!c->in_call) {
    say(c, "warn", "no call in progress (c calls %s)", c->flow);
    return;
  }
  dt_emulator_t *emu = dt_localrun_emulator(c->lr);
  char why[256] = "";
  int rc = what == ACT_TONES   ? dt_emulator_press(emu, c->call_id, tones, 150, why, sizeof why)
           : what == ACT_SPEAK ? dt_emulator_speak(emu, c->call_id, ms, why, sizeof why)
                               : dt_emulator_hangup(emu, c->call_id, why, sizeof why);
  if (rc != 0) say(c, "warn", "%s refused (%s)", names[what], why);
}

static void on_poll(uv_timer_t *t) {
  con_t *c = t->data;
  cJSON *cdr = dt_cdr_file_find(c->dirs.cdr_path, c->cdr_call);
  if (cdr == NULL && dt_now_ms() < c->cdr_deadline) return;
  uv_timer_stop(t);
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cdr, "recordings")) {
    if (!cJSON_IsString(r)) continue;
    dt_wav_info_t w;
    uint64_t flen = 0;
    if (dt_wav_parse_file(r->valuestring, &w, &flen, NULL, 0) == 0)
      dt_transcript_note(c->tr, -1, "ok", "recording saved to %s (%.1f s WAV)", r->valuestring,
                         dt_wav_seconds(&w, flen));
  }
  const char *err = jstr(cdr, "error");
  if (err && err[0]) dt_transcript_note(c->tr, -1, "bad", "the flow failed: %s", err);
  cJSON_Delete(cdr);
  if (c->quitting) {
    quit(c);
    return;
  }
  if (c->quit_when_ended) {
    quit(c);
    return;
  }
  if (!c->in_call) say(c, "dim", "(c calls again, q quits)");
}

static void on_entry(const cJSON *e, void *ud) {
  con_t *c = ud;
  const char *call = jstr(e, "call");
  if (call == NULL || strcmp(call, c->call_id) != 0) return;
  dt_transcript_entry(c->tr, e);
  const char *kind = jstr(e, "kind");
  if (kind == NULL) return;
  if (strcmp(kind, "prompt") == 0 && c->wait == W_PROMPT) {
    const char *name = jstr(e, "name");
    if (name && strcmp(name, c->wait_prompt) == 0) {
      c->wait = W_NONE;
      uv_timer_stop(&c->timer);
      pump(c);
    }
  } else if (strcmp(kind, "ended") == 0) {
    dt_transcript_flush(c->tr);
    c->in_call = false;
    snprintf(c->cdr_call, sizeof c->cdr_call, "%s", c->call_id);
    c->cdr_deadline = dt_now_ms() + 5000;
    if (!c->closing) uv_timer_start(&c->poll, on_poll, 10, 10);
    if (c->quitting) {
      quit(c);
      return;
    }
    if (c->wait == W_END || c->wait == W_PROMPT) {
      if (c->wait == W_PROMPT) say(c, "warn", "(the call ended before %s played)", c->wait_prompt);
      c->wait = W_NONE;
      uv_timer_stop(&c->timer);
      pump(c);
    }
  }
}

/* ------------------------------------------------------------------ commands */
static void on_wait_timer(uv_timer_t *t) {
  con_t *c = t->data;
  if (c->quitting) {
    /* the call did not end in time: close anyway */
    say(c, "warn", "(the call did not end; closing anyway)");
    c->in_call = false;
    uv_timer_stop(&c->poll);
    quit(c);
    return;
  }
  if (c->wait == W_PROMPT) say(c, "warn", "(gave up waiting for %s)", c->wait_prompt);
  c->wait = W_NONE;
  pump(c);
}

static bool is_keys(const char *s, char *keys, size_t cap) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s == ' ' || *s == '\t') continue;
    char k = *s; /* lower-case a-d stay commands (c calls again) */
    if (!((k >= '0' && k <= '9') || k == '*' || k == '#' || (k >= 'A' && k <= 'D'))) return false;
    if (n + 1 >= cap) return false;
    keys[n++] = k;
  }
  keys[n] = '\0';
  return n > 0;
}

/* Runs one command; returns false when it waits (the queue holds what follows). */
static bool run_command(con_t *c, char *line) {
  while (*line == ' ' || *line == '\t') line++;
  size_t l = strlen(line);
  while (l > 0 && isspace((unsigned char)line[l - 1])) line[--l] = '\0';
  if (l == 0 || line[0] == ';') return true; /* blank lines and ; comments */
  char keys[80];
  if (is_keys(line, keys, 65)) {
    call_control(c, ACT_TONES, keys, 0);
    return true;
  }
  char cmd[16] = "";
  const char *arg = line;
  size_t cl = strcspn(line, " \t");
  if (cl < sizeof cmd) {
    memcpy(cmd, line, cl);
    cmd[cl] = '\0';
    arg = line + cl;
    while (*arg == ' ' || *arg == '\t') arg++;
  }
  if (strcmp(cmd, "q") == 0 || strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
    quit(c);
    return false;
  }
  if (strcmp(cmd, "h") == 0 || strcmp(cmd, "hangup") == 0) {
    call_control(c, ACT_HANGUP, NULL, 0);
    return true;
  }
  if (strcmp(cmd, "c") == 0 || strcmp(cmd, "call") == 0) {
    place_call(c);
    return true;
  }
  if (strcmp(cmd, "?") == 0 || strcmp(cmd, "help") == 0) {
    help(c);
    return true;
  }
  if (strcmp(cmd, "s") == 0 || strcmp(cmd, "speak") == 0) {
    char *end = NULL;
    double n = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(n > 0 && n <= 3600)) {
      say(c, "warn", "s N: speak for N seconds (0 < N <= 3600)");
      return true;
    }
    int64_t ms = (int64_t)llround(n * 1000.0);
    call_control(c, ACT_SPEAK, NULL, ms > 0 ? ms : 1);
    return true;
  }
  if (strcmp(cmd, "w") == 0 || strcmp(cmd, "wait") == 0) {
    char *end = NULL;
    double n = strtod(arg, &end);
    if (end != arg && *end == '\0' && n >= 0 && n <= 3600) {
      c->wait = W_TIME;
      uv_timer_start(&c->timer, on_wait_timer, (uint64_t)(n * 1000.0), 0);
      return false;
    }
    if (strcmp(arg, "end") == 0) {
      if (!c->in_call) return true;
      c->wait = W_END;
      uv_timer_start(&c->timer, on_wait_timer, CON_WAIT_PROMPT_MS, 0);
      return false;
    }
    if (arg[0] && strlen(arg) < sizeof c->wait_prompt && strcspn(arg, " \t") == strlen(arg)) {
      if (!c->in_call) {
        say(c, "warn", "no call in progress: not waiting for %s", arg);
        return true;
      }
      snprintf(c->wait_prompt, sizeof c->wait_prompt, "%s", arg);
      c->wait = W_PROMPT;
      uv_timer_start(&c->timer, on_wait_timer, CON_WAIT_PROMPT_MS, 0);
      return false;
    }
    say(c, "warn", "w NAME waits for the prompt NAME, w N for N seconds, w end for the end of the call");
    return true;
  }
  say(c, "warn", "unknown command '%s' (? for help)", line);
  return true;
}

/* Runs queued commands until one waits; then, at end of input, quits. */
static void pump(con_t *c) {
  while (c->wait == W_NONE && !c->quitting && c->q_head) {
    cmd_t *cmd = c->q_head;
    c->q_head = cmd->next;
    if (c->q_head == NULL) c->q_tail = NULL;
    c->q_n--;
    run_command(c, cmd->text);
    free(cmd);
  }
  if (c->wait == W_NONE && !c->quitting && c->q_head == NULL && c->eof) quit(c);
}

static void enqueue(con_t *c, const char *text, size_t len) {
  if (c->q_n >= CON_QUEUE_MAX) {
    say(c, "warn", "too many commands waiting; dropped: %.*s", (int)(len > 60 ? 60 : len), text);
    return;
  }
  cmd_t *cmd = dt_xmalloc(sizeof *cmd + len + 1);
  memcpy(cmd->text, text, len);
  cmd->text[len] = '\0';
  cmd->next = NULL;
  if (c->q_tail) c->q_tail->next = cmd;
  else c->q_head = cmd;
  c->q_tail = cmd;
  c->q_n++;
}

static void feed(con_t *c, const char *data, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char ch = data[i];
    if (ch == '\n') {
      if (c->line_too_long) say(c, "warn", "line too long (at most %d characters): ignored", CON_LINE_MAX);
      else enqueue(c, c->line, c->linelen);
      c->linelen = 0;
      c->line_too_long = false;
      continue;
    }
    if (c->linelen < CON_LINE_MAX) c->line[c->linelen++] = ch;
    else c->line_too_long = true;
  }
  pump(c);
}

static void input_eof(con_t *c) {
  if (c->eof) return;
  if (c->linelen > 0 && !c->line_too_long) enqueue(c, c->line, c->linelen); /* a last line without \n */
  c->linelen = 0;
  c->eof = true;
  pump(c);
}

/* ------------------------------------------------------------------ stdin */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[4096];
  buf->base = slab;
  buf->len = sizeof slab;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  con_t *c = s->data;
  if (n > 0) {
    feed(c, buf->base, (size_t)n);
  } else if (n < 0) {
    uv_read_stop(s);
    input_eof(c); /* UV_EOF, or an error: either way there is no more input */
  }
}

static void on_fs_read(uv_fs_t *req) {
  con_t *c = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  c->fs_busy = false;
  if (c->closing) return;
  if (n > 0) {
    c->fsoff += n;
    feed(c, c->fsbuf, (size_t)n);
    if (!c->closing && !c->eof) {
      uv_buf_t b = uv_buf_init(c->fsbuf, sizeof c->fsbuf);
      c->fs_busy = true;
      if (uv_fs_read(&c->loop, &c->fsreq, 0, &b, 1, c->fsoff, on_fs_read) != 0) {
        c->fs_busy = false;
        input_eof(c);
      }
    }
  } else {
    input_eof(c);
  }
}

static int open_stdin(con_t *c) {
  uv_handle_type t = uv_guess_handle(0);
  c->in_flags = fcntl(0, F_GETFL);
  int rc = -1;
  if (t == UV_TTY) {
    rc = uv_tty_init(&c->loop, &c->in.tty, 0, 1);
    if (rc == 0) c->in_stream = true;
  } else if (t == UV_NAMED_PIPE || t == UV_TCP) {
    rc = uv_pipe_init(&c->loop, &c->in.pipe, 0);
    if (rc == 0) {
      rc = uv_pipe_open(&c->in.pipe, 0);
      if (rc != 0) uv_close((uv_handle_t *)&c->in.pipe, NULL);
      else c->in_stream = true;
    }
  } else if (t == UV_FILE) {
    c->in_file = true;
    c->fsreq.data = c;
    uv_buf_t b = uv_buf_init(c->fsbuf, sizeof c->fsbuf);
    c->fs_busy = true;
    rc = uv_fs_read(&c->loop, &c->fsreq, 0, &b, 1, 0, on_fs_read);
    if (rc != 0) c->fs_busy = false;
    return rc;
  }
  if (rc != 0) return rc;
  uv_stream_t *s = (uv_stream_t *)&c->in;
  s->data = c;
  c->in_open = true;
  return uv_read_start(s, on_alloc, on_read);
}

static void close_stdin(con_t *c) {
  if (c->in_open) {
    uv_close((uv_handle_t *)&c->in, NULL);
    c->in_open = false;
  }
}

/* ------------------------------------------------------------------ lifecycle */
static void on_lr_closed(void *ud) {
  con_t *c = ud;
  c->lr = NULL;
  c->closed = true;
  uv_close((uv_handle_t *)&c->timer, NULL);
  uv_close((uv_handle_t *)&c->poll, NULL);
  uv_close((uv_handle_t *)&c->sigint, NULL);
}

static void do_close(con_t *c) {
  if (c->closing) return;
  c->closing = true;
  uv_timer_stop(&c->timer);
  uv_timer_stop(&c->poll);
  close_stdin(c);
  if (c->fs_busy) uv_cancel((uv_req_t *)&c->fsreq);
  dt_localrun_close(c->lr, on_lr_closed, c);
}

/* Quits: hangs up the call and waits (bounded) for it to end and for its record (the
   recordings it left), then closes everything. Called again by what it waits for. */
static void quit(con_t *c) {
  if (c->closing) return;
  if (!c->quitting) {
    c->quitting = true;
    c->wait = W_NONE;
    uv_timer_stop(&c->timer);
    if (c->in_call) {
      call_control(c, ACT_HANGUP, NULL, 0);
      uv_timer_start(&c->timer, on_wait_timer, CON_QUIT_WAIT_MS, 0);
      return; /* on_entry("ended") or the timer comes back */
    }
  }
  if (c->in_call) return;
  if (uv_is_active((uv_handle_t *)&c->poll)) return; /* on_poll comes back */
  do_close(c);
}

static void on_sigint(uv_signal_t *s, int signum) {
  con_t *c = s->data;
  if (c->quitting) return;
  say(c, "dim", "(interrupted: hanging up)");
  quit(c);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dialtone console [FLOW] [--flows DIR] [--time-scale X] [--from NUMBER]\n"
          "                        [--recordings DIR] [--beta] [--verbose]\n"
          "A terminal softphone: calls FLOW (default main) in DIR (default flows) on the embedded\n"
          "Graph emulator and shows each prompt as it plays. Type keys (0-9 * # A-D) and Enter to\n"
          "press them; s N speaks for N seconds; h hangs up; c calls again; q quits;\n"
          "w NAME waits until prompt NAME plays, w N waits N seconds (for scripts on stdin).\n"
          "  --time-scale X   1 = real time (default), 0 = instant, 0.1 = ten times faster\n"
          "  --from NUMBER    the caller's phone number (default +15555550100)\n"
          "  --recordings DIR where recordings are stored (default: a new directory under /tmp)\n"
          "End of input hangs up and quits (status 0).\n");
}

static bool valid_flow_name(const char *n) {
  if (n == NULL || n[0] == '\0' || strlen(n) > 100) return false;
  for (const char *p = n; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-')) return false;
  return true;
}

static void con_free(con_t *c) {
  while (c->q_head) {
    cmd_t *n = c->q_head->next;
    free(c->q_head);
    c->q_head = n;
  }
  dt_scratch_remove(&c->dirs); /* our recordings directory too when nothing was recorded */
  dt_transcript_free(c->tr);
  free(c->flow);
  free(c->from);
  free(c->prompts_dir);
  free(c);
}

/* The one positional argument: the flow. */
static int take_flow(void *ud, const char *arg, FILE *err) {
  const char **flow = ud;
  if (*flow) return dt_args_error(err, "dialtone console", "one flow at a time (got '%s' and '%s')", *flow, arg);
  *flow = arg;
  return 0;
}

int dt_console_main(int argc, char **argv) {
  const char *flows = "flows", *flow = NULL, *from = "+15555550100", *recordings = NULL;
  double scale = 1;
  bool verbose = false, beta = false;
  FILE *out = stdout, *err = stderr;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--flows", &flows),
      DT_ARG_NUM("--time-scale", &scale, 0, 100,
                 "--time-scale must be a number from 0 (instant) to 100; 1 is real time"),
      DT_ARG_STR("--from", &from),
      DT_ARG_STR("--recordings", &recordings),
      DT_ARG_BOOL("--beta", NULL, &beta),
      DT_ARG_BOOL("--verbose", "-v", &verbose),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone console", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option '%s'", .positional = take_flow,
                               .ud = &flow};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) return code;
  if (flow == NULL) flow = "main";
  if (!valid_flow_name(flow))
    return dt_args_error(err, spec.prefix, "'%s' is not a flow name (a file name in %s without .lua)", flow, flows);
  if (strlen(from) > 64 || strpbrk(from, "\"\\") != NULL)
    return dt_args_error(err, spec.prefix, "--from must be a phone number such as +15555550100");
  char *flow_file = dt_xasprintf("%s/%s.lua", flows, flow);
  struct stat st;
  if (stat(flow_file, &st) != 0) {
    fprintf(err, "dialtone console: no flow %s: %s: %s\n", flow, flow_file, strerror(errno));
    free(flow_file);
    return 2;
  }
  free(flow_file);

  con_t *c = dt_xcalloc(1, sizeof *c);
  c->out = out;
  c->err = err;
  c->flow = dt_xstrdup(flow);
  c->from = dt_xstrdup(from);
  c->time_scale = scale;
  c->prompts_dir = dt_xasprintf("%s/prompts", flows);
  if (dt_scratch_make(&c->dirs, "console", recordings, "recordings", "dialtone console", err) != 0) {
    con_free(c);
    return 1;
  }
  c->tr = dt_transcript_new(out, c->prompts_dir, dt_transcript_color_wanted(out), true);

  /* the engine's log would tear the transcript apart: it is shown only on failure */
  dt_logcap_t log = {0};
  if (!verbose) dt_logcap_start(&log);
  uv_loop_init(&c->loop);
  int rc = 0;
  dt_localrun_options_t o = dt_scratch_options(flows, scale, beta, verbose);
  o.default_flow = flow;
  if (dt_scratch_start(&c->dirs, &c->loop, &o, &c->lr, "dialtone console", err) != 0) {
    rc = 1;
  } else {
    uv_timer_init(&c->loop, &c->timer);
    uv_timer_init(&c->loop, &c->poll);
    c->timer.data = c->poll.data = c;
    uv_signal_init(&c->loop, &c->sigint);
    c->sigint.data = c;
    uv_signal_start(&c->sigint, on_sigint, SIGINT);
    dt_localrun_on_event(c->lr, on_entry, c);
    say(c, "bold", "dialtone console: flow %s from %s, on the embedded Graph emulator (%s)", flow, flows,
        scale == 1 ? "real time" : scale == 0 ? "instant" : "scaled time");
    help(c);
    int irc = open_stdin(c);
    if (irc != 0) {
      say(c, "warn", "cannot read commands from stdin (%s): the call runs until it ends", uv_strerror(irc));
      c->quit_when_ended = true;
    }
    place_call(c);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    if (!c->closed) rc = 1;
  }
  while (uv_run(&c->loop, UV_RUN_NOWAIT) != 0) {
  }
  uv_loop_close(&c->loop);
  if (c->in_flags >= 0 && !c->in_file) fcntl(0, F_SETFL, c->in_flags); /* libuv made it non-blocking */
  dt_logcap_end(&log, rc != 0, err, "dialtone console", 0);
  con_free(c);
  return rc;
}
