/*
 * args.h — the command line of every `dialtone` command, parsed one way (src/args.c).
 *
 * A command describes its options in a table (name, optional short alias, kind, where the
 * value goes) and hands argv to dt_args_parse. What every command then gets alike:
 *   - "--name VALUE" and "--name=VALUE" for an option with a value; the value is taken as
 *     given, even when it starts with '-';
 *   - "--flag" (or its alias, e.g. "-v") for a flag; "--flag=x" is an unknown option;
 *   - "-h"/"--help" prints the command's usage on `out` and exits 0;
 *   - "PREFIX: NAME needs a value", "PREFIX: <unknown>" (the command's own wording) and a
 *     number out of its range ("PREFIX: <bad_value>") are usage errors: exit code 2, the
 *     message on `err`, followed by the usage where the command asks for it;
 *   - arguments that do not start with '-' (and "-" itself) go to the command's
 *     positional callback, or are unknown options when it has none;
 *   - optionally "--" ends the options (everything after it is positional).
 * PREFIX is "dialtone COMMAND" ("dialtone" for the global options of src/main.c).
 * Nothing is allocated: string values point into argv.
 */
#ifndef DIALTONE_ARGS_H
#define DIALTONE_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define DT_ARGS_EXIT_OK 0
#define DT_ARGS_EXIT_USAGE 2

/* The options every command takes, before or after its name (src/main.c parses them). */
typedef struct {
  const char *config;     /* --config FILE */
  const char *log_format; /* --log-format text|json */
  const char *log_level;  /* --log-level debug|info|warn|error|off */
} dt_args_global_t;

typedef enum {
  DT_ARG_FLAG,   /* dest: bool *, set to true */
  DT_ARG_STRING, /* dest: const char **, the value (last one wins) */
  DT_ARG_NUMBER, /* dest: double *, a decimal number within [min, max] */
} dt_arg_kind_t;

typedef struct {
  const char *name;      /* "--flows" */
  const char *alias;     /* "-v", or NULL */
  dt_arg_kind_t kind;
  void *dest;
  double min, max;       /* DT_ARG_NUMBER: the accepted range, inclusive */
  const char *bad_value; /* DT_ARG_NUMBER: the whole message when the value is not one */
} dt_arg_t;

/* Table entries: DT_ARG_STR("--flows", &flows), DT_ARG_BOOL("--verbose", "-v", &verbose),
   DT_ARG_NUM("--time-scale", &scale, 0, 100, "--time-scale must be ..."). */
#define DT_ARG_STR(name, dest) {(name), NULL, DT_ARG_STRING, (dest), 0, 0, NULL}
#define DT_ARG_BOOL(name, alias, dest) {(name), (alias), DT_ARG_FLAG, (dest), 0, 0, NULL}
#define DT_ARG_NUM(name, dest, min, max, bad_value) {(name), NULL, DT_ARG_NUMBER, (dest), (min), (max), (bad_value)}

/* Called for each positional argument in order; returns 0 to go on, or an exit code after
   printing the reason on err. */
typedef int (*dt_args_positional_fn)(void *ud, const char *arg, FILE *err);

typedef struct {
  const char *prefix;       /* "dialtone demo": starts every message */
  const dt_arg_t *opts;
  size_t nopts;
  void (*usage)(FILE *f);   /* printed for --help and after usage errors (may be NULL) */
  const char *unknown;      /* the unknown-option message, one %s: "unknown option '%s'" */
  bool usage_after_missing; /* print the usage after "NAME needs a value" too */
  bool double_dash;         /* "--" ends the options */
  /* The global options of src/main.c: any argument that is not in opts (options included,
     and no --help handling) goes to positional. */
  bool pass_unknown;
  dt_args_positional_fn positional; /* NULL: a positional argument is an unknown option */
  void *ud;
} dt_args_spec_t;

/* Parses argv[first..argc-1]. Returns true when the command should run; false when it
   should exit with *exit_code (DT_ARGS_EXIT_OK after --help, DT_ARGS_EXIT_USAGE or the
   positional callback's code after a usage error, already reported). */
bool dt_args_parse(const dt_args_spec_t *spec, int first, int argc, char **argv, FILE *out, FILE *err,
                   int *exit_code);

/* Prints "PREFIX: message\n" on err and returns DT_ARGS_EXIT_USAGE: the usage errors a
   command finds after parsing (a bad value, a missing file). */
int dt_args_error(FILE *err, const char *prefix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, then the spec's usage on err. */
int dt_args_usage_error(const dt_args_spec_t *spec, FILE *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
