/*
 * args.c — command-line parsing shared by every `dialtone` command (src/args.h).
 *
 * Owns: matching argv against a command's option table, the values' conversion (strings
 * as given, numbers checked against their range) and the usage errors' wording and exit
 * code. Promises: one pass left to right, the first error stops it; nothing allocated.
 */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void vreport(FILE *err, const char *prefix, const char *fmt, va_list ap) {
  fprintf(err, "%s: ", prefix);
  vfprintf(err, fmt, ap);
  fputc('\n', err);
}

int dt_args_error(FILE *err, const char *prefix, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(err, prefix, fmt, ap);
  va_end(ap);
  return DT_ARGS_EXIT_USAGE;
}

int dt_args_usage_error(const dt_args_spec_t *spec, FILE *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(err, spec->prefix, fmt, ap);
  va_end(ap);
  if (spec->usage) spec->usage(err);
  return DT_ARGS_EXIT_USAGE;
}

/* The option arg names ("--name" or "--name=value"; sets *value for the latter), or NULL. */
static const dt_arg_t *match(const dt_args_spec_t *spec, const char *arg, const char **value) {
  *value = NULL;
  for (size_t i = 0; i < spec->nopts; i++) {
    const dt_arg_t *o = &spec->opts[i];
    if (o->alias && strcmp(arg, o->alias) == 0) return o;
    size_t n = strlen(o->name);
    if (strncmp(arg, o->name, n) != 0) continue;
    if (arg[n] == '\0') return o;
    if (arg[n] == '=' && o->kind != DT_ARG_FLAG) {
      *value = arg + n + 1;
      return o;
    }
  }
  return NULL;
}

static bool set_number(const dt_arg_t *o, const char *value) {
  char *end = NULL;
  errno = 0;
  double x = strtod(value, &end);
  if (end == value || *end != '\0' || errno != 0 || !(x >= o->min && x <= o->max)) return false;
  *(double *)o->dest = x;
  return true;
}

bool dt_args_parse(const dt_args_spec_t *spec, int first, int argc, char **argv, FILE *out, FILE *err,
                   int *exit_code) {
  bool only_positional = false;
  *exit_code = DT_ARGS_EXIT_OK;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    bool option = !only_positional && a[0] == '-' && a[1] != '\0';
    if (option && spec->double_dash && strcmp(a, "--") == 0) {
      only_positional = true;
      continue;
    }
    const char *value = NULL;
    const dt_arg_t *o = option ? match(spec, a, &value) : NULL;
    if (o == NULL) {
      if (option && !spec->pass_unknown) {
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
          if (spec->usage) spec->usage(out);
          return false;
        }
        *exit_code = dt_args_usage_error(spec, err, spec->unknown, a);
        return false;
      }
      if (spec->positional == NULL) {
        *exit_code = dt_args_usage_error(spec, err, spec->unknown, a);
        return false;
      }
      int rc = spec->positional(spec->ud, a, err);
      if (rc != 0) {
        *exit_code = rc;
        return false;
      }
      continue;
    }
    if (o->kind == DT_ARG_FLAG) {
      *(bool *)o->dest = true;
      continue;
    }
    if (value == NULL) {
      if (i + 1 >= argc) {
        *exit_code = spec->usage_after_missing ? dt_args_usage_error(spec, err, "%s needs a value", o->name)
                                               : dt_args_error(err, spec->prefix, "%s needs a value", o->name);
        return false;
      }
      value = argv[++i];
    }
    if (o->kind == DT_ARG_STRING) {
      *(const char **)o->dest = value;
    } else if (!set_number(o, value)) {
      *exit_code = dt_args_error(err, spec->prefix, "%s", o->bad_value);
      return false;
    }
  }
  return true;
}
