/*
 * main.c — the `dialtone` command line (DESIGN.md "Command line"): the table of commands
 * and the dispatch to them, nothing else.
 *
 * Owns: the global options (--config, --log-format, --log-level; before or after the
 * command), the top-level usage and `help`. Each command lives in its own file and parses
 * its own options with src/args.h: run (cmd_run.c), demo (demo.c), console (console.c),
 * emulator (cmd_emulator.c), test (testkit.c), check (check.c), version (cmd_version.c).
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error (with a message
 * that names the key and the fix). A command that is not in this build is a usage error,
 * never a silent success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "check.h"
#include "cmd_emulator.h"
#include "cmd_run.h"
#include "cmd_prompts.h"
#include "cmd_version.h"
#include "console.h"
#include "demo.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/log.h"
#include "testkit.h"

typedef int (*command_fn)(int argc, char **argv, const dt_args_global_t *g);

typedef struct {
  const char *name;
  command_fn fn;
  bool no_args; /* anything after the name is a usage error */
  const char *args;
  const char *help;
} command_t;

static int cmd_help(int argc, char **argv, const dt_args_global_t *g);

/* argv[0] is the command name. */
static int cmd_run(int argc, char **argv, const dt_args_global_t *g) { return dt_cmd_run_main(argc, argv, g); }
static int cmd_demo(int argc, char **argv, const dt_args_global_t *g) { return dt_demo_main(argc, argv); }
static int cmd_console(int argc, char **argv, const dt_args_global_t *g) { return dt_console_main(argc, argv); }
static int cmd_test(int argc, char **argv, const dt_args_global_t *g) { return dt_test_main(argc, argv); }
static int cmd_emulator(int argc, char **argv, const dt_args_global_t *g) { return dt_cmd_emulator_main(argc, argv); }
static int cmd_check(int argc, char **argv, const dt_args_global_t *g) { return dt_check_main(argc, argv); }
static int cmd_version(int argc, char **argv, const dt_args_global_t *g) { return dt_cmd_version_main(stdout); }
static int cmd_prompts(int argc, char **argv, const dt_args_global_t *g) { return dt_cmd_prompts_main(argc, argv); }

/* The commands of this build. */
static const command_t commands[] = {
    {"run", cmd_run, false, "[--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]",
     "run the engine"},
    {"demo", cmd_demo, false, "[--time-scale X] [--flows DIR] [--beta] [--verbose]",
     "engine + emulator + scripted calls through flows/main.lua, with a transcript"},
    {"console", cmd_console, false, "[FLOW] [--time-scale X]",
     "a terminal softphone: call a flow, press keys, read the prompts"},
    {"emulator", cmd_emulator, false,
     "[--listen ADDR:PORT] [--bot URL] [--time-scale X] [--app-id ID] [--tenant-id ID]",
     "run the Graph calls emulator alone (see docs/emulator.md)"},
    {"test", cmd_test, false, "[--dir DIR] [--flows DIR] [--dialect v1.0|beta] [--filter TEXT] [FILES...]",
     "run flow tests (Lua) against the embedded emulator"},
    {"check", cmd_check, false, "[--format text|json] [--prompts DIR] [DIR|FILES...]",
     "compile and lint flows; exit 1 on any problem"},
    {"prompts", cmd_prompts, false, "build [DIR] [--voice VOICE] [--rate WPM] [--force]",
     "render every NAME.txt of a prompts directory into NAME.wav (espeak-ng)"},
    {"version", cmd_version, true, "", "print the versions of dialtone and its libraries"},
    {"help", cmd_help, false, "", "print this help"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: dialtone [--config FILE] [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]\n\n"
               "commands:\n");
  for (size_t i = 0; i < DT_ARRAY_SIZE(commands); i++)
    fprintf(out, "  dialtone %s%s%s\n      %s\n", commands[i].name, commands[i].args[0] ? " " : "",
            commands[i].args, commands[i].help);
  fprintf(out, "\nThe configuration is read from " DT_CONFIG_DEFAULT_FILE
               " (if present) or --config FILE, then from\n"
               "DIALTONE_* environment variables (DIALTONE_LISTEN, DIALTONE_FLOWS, DIALTONE_CLIENT_ID, ...),\n"
               "then from flags. `dialtone run --print-config` shows the result.\n"
               "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n");
}

/* After a usage error: a blank line, then the usage. */
static void usage_after_error(FILE *out) {
  fputc('\n', out);
  usage(out);
}

static int cmd_help(int argc, char **argv, const dt_args_global_t *g) {
  usage(stdout);
  return 0;
}

/* What is not a global option: the command and its arguments, in order. */
typedef struct {
  char **v;
  int n;
  bool want_help;
} rest_t;

static int take_rest(void *ud, const char *arg, FILE *err) {
  rest_t *r = ud;
  if (r->n == 0 && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) r->want_help = true;
  else if (r->n == 0 && strcmp(arg, "--version") == 0) r->v[r->n++] = "version";
  else r->v[r->n++] = (char *)arg;
  return 0;
}

int main(int argc, char **argv) {
  dt_args_global_t g = {0};
  rest_t rest = {dt_xcalloc((size_t)argc + 1, sizeof *rest.v), 0, false};
  const dt_arg_t globals[] = {
      DT_ARG_STR("--config", &g.config),
      DT_ARG_STR("--log-format", &g.log_format),
      DT_ARG_STR("--log-level", &g.log_level),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone", .opts = globals, .nopts = DT_ARRAY_SIZE(globals),
                               .usage = usage_after_error, .usage_after_missing = true, .pass_unknown = true,
                               .positional = take_rest, .ud = &rest};
  int code = 2;
  if (!dt_args_parse(&spec, 1, argc, argv, stdout, stderr, &code)) goto out;
  if (g.log_format && strcmp(g.log_format, "text") != 0 && strcmp(g.log_format, "json") != 0) {
    code = dt_args_usage_error(&spec, stderr, "--log-format must be text or json (got '%s')", g.log_format);
    goto out;
  }
  if (g.log_level && dt_log_level_from_name(g.log_level) < 0) {
    code = dt_args_usage_error(&spec, stderr, "--log-level must be debug, info, warn, error or off (got '%s')",
                               g.log_level);
    goto out;
  }
  if (g.log_format) dt_log_set_format(strcmp(g.log_format, "json") == 0 ? DT_LOG_JSON : DT_LOG_TEXT);
  if (g.log_level) dt_log_set_level((dt_log_level_t)dt_log_level_from_name(g.log_level));
  if (rest.want_help) {
    usage(stdout);
    code = 0;
    goto out;
  }
  if (rest.n == 0) {
    usage(stderr);
    code = 2;
    goto out;
  }
  if (rest.v[0][0] == '-') {
    code = dt_args_usage_error(&spec, stderr, "unknown option '%s'", rest.v[0]);
    goto out;
  }
  const command_t *cmd = NULL;
  for (size_t i = 0; i < DT_ARRAY_SIZE(commands) && cmd == NULL; i++)
    if (strcmp(rest.v[0], commands[i].name) == 0) cmd = &commands[i];
  if (cmd == NULL)
    code = dt_args_usage_error(&spec, stderr, "unknown command '%s'", rest.v[0]);
  else if (cmd->no_args && rest.n > 1)
    code = dt_args_usage_error(&spec, stderr, "%s takes no arguments (got '%s')", cmd->name, rest.v[1]);
  else
    code = cmd->fn(rest.n, rest.v, &g);
out:
  free(rest.v);
  return code;
}
