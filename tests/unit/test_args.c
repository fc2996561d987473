/* Unit tests for src/args.c: the command-line parser every command uses — values in both
   forms, flags and aliases, numbers and their range, --help, unknown options in the
   command's own words, missing values (with or without the usage), positional arguments
   and their callback's exit code, "--", and the pass-through mode of the global options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "dialtone/common.h"
#include "harness/dt_test.h"

typedef struct {
  const char *flows, *from;
  double scale;
  bool verbose;
  const char *pos[8];
  int npos;
  int pos_rc; /* what the positional callback returns */
} cmd_t;

static void usage(FILE *f) { fputs("usage: dialtone thing [--flows DIR]\n", f); }

static int take(void *ud, const char *arg, FILE *err) {
  cmd_t *c = ud;
  if (c->pos_rc) {
    fprintf(err, "no '%s' here\n", arg);
    return c->pos_rc;
  }
  if (c->npos < 8) c->pos[c->npos++] = arg;
  return 0;
}

typedef struct {
  bool run;
  int code;
  char *out, *err;
} res_t;

/* Parses args (NULL-terminated, after the command name) with the test command's table. */
static res_t parse(cmd_t *c, bool positional, bool double_dash, bool usage_after_missing, const char *const *args) {
  char *argv[32] = {"thing"};
  int argc = 1;
  for (size_t i = 0; args[i] && argc < 31; i++) argv[argc++] = (char *)args[i];
  const dt_arg_t opts[] = {
      DT_ARG_STR("--flows", &c->flows),
      DT_ARG_STR("--from", &c->from),
      DT_ARG_NUM("--time-scale", &c->scale, 0, 100, "--time-scale must be a number from 0 to 100"),
      DT_ARG_BOOL("--verbose", "-v", &c->verbose),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone thing", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option '%s'",
                               .usage_after_missing = usage_after_missing, .double_dash = double_dash,
                               .positional = positional ? take : NULL, .ud = c};
  res_t r = {0};
  size_t ol = 0, el = 0;
  FILE *out = open_memstream(&r.out, &ol);
  FILE *err = open_memstream(&r.err, &el);
  r.run = dt_args_parse(&spec, 1, argc, argv, out, err, &r.code);
  fclose(out);
  fclose(err);
  return r;
}

static void res_free(res_t *r) {
  free(r->out);
  free(r->err);
}

DT_TEST(values_in_both_forms_flags_and_aliases) {
  cmd_t c = {.scale = 1};
  res_t r = parse(&c, false, false, false,
                  (const char *[]){"--flows", "-odd-dir", "--from=+1555", "-v", "--time-scale=0.5", NULL});
  DT_ASSERT(r.run);
  DT_ASSERT_EQ_INT(r.code, 0);
  DT_ASSERT_EQ_STR(c.flows, "-odd-dir"); /* a value is taken as given */
  DT_ASSERT_EQ_STR(c.from, "+1555");
  DT_ASSERT(c.verbose);
  DT_ASSERT(c.scale == 0.5);
  DT_ASSERT_EQ_STR(r.err, "");
  res_free(&r);
  cmd_t d = {0};
  r = parse(&d, false, false, false, (const char *[]){"--flows", "a", "--flows", "b", NULL});
  DT_ASSERT(r.run);
  DT_ASSERT_EQ_STR(d.flows, "b"); /* the last one wins */
  res_free(&r);
}

DT_TEST(help_prints_the_usage_on_out_and_exits_0) {
  cmd_t c = {0};
  res_t r = parse(&c, false, false, false, (const char *[]){"--flows", "x", "-h", "--bogus", NULL});
  DT_ASSERT(!r.run);
  DT_ASSERT_EQ_INT(r.code, 0);
  DT_ASSERT_EQ_STR(r.out, "usage: dialtone thing [--flows DIR]\n");
  DT_ASSERT_EQ_STR(r.err, "");
  res_free(&r);
}

DT_TEST(usage_errors_exit_2_in_the_commands_words) {
  cmd_t c = {0};
  res_t r = parse(&c, false, false, false, (const char *[]){"--bogus", NULL});
  DT_ASSERT(!r.run);
  DT_ASSERT_EQ_INT(r.code, 2);
  DT_ASSERT_EQ_STR(r.err, "dialtone thing: unknown option '--bogus'\nusage: dialtone thing [--flows DIR]\n");
  res_free(&r);
  /* a flag given a value is not that flag */
  r = parse(&c, false, false, false, (const char *[]){"--verbose=yes", NULL});
  DT_ASSERT_EQ_INT(r.code, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown option '--verbose=yes'");
  res_free(&r);
  /* a positional argument without a callback is unknown too */
  r = parse(&c, false, false, false, (const char *[]){"main", NULL});
  DT_ASSERT_EQ_INT(r.code, 2);
  DT_ASSERT_CONTAINS(r.err, "unknown option 'main'");
  res_free(&r);
  r = parse(&c, false, false, false, (const char *[]){"--flows", NULL});
  DT_ASSERT_EQ_INT(r.code, 2);
  DT_ASSERT_EQ_STR(r.err, "dialtone thing: --flows needs a value\n");
  res_free(&r);
  r = parse(&c, false, false, true, (const char *[]){"--flows", NULL});
  DT_ASSERT_EQ_INT(r.code, 2);
  DT_ASSERT_EQ_STR(r.err, "dialtone thing: --flows needs a value\nusage: dialtone thing [--flows DIR]\n");
  res_free(&r);
  static const char *const bad[] = {"fast", "", "-1", "100.5", "1e999", "2x"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    cmd_t n = {.scale = 7};
    r = parse(&n, false, false, false, (const char *[]){"--time-scale", bad[i], NULL});
    DT_ASSERT_MSG(r.code == 2, "'%s' accepted", bad[i]);
    DT_ASSERT_EQ_STR(r.err, "dialtone thing: --time-scale must be a number from 0 to 100\n");
    DT_ASSERT(n.scale == 7); /* unchanged */
    res_free(&r);
  }
}

DT_TEST(positional_arguments_and_double_dash) {
  cmd_t c = {0};
  res_t r = parse(&c, true, true, false, (const char *[]){"a", "--flows", "f", "-", "--", "-h", "--flows", NULL});
  DT_ASSERT(r.run);
  DT_ASSERT_EQ_INT(c.npos, 4);
  DT_ASSERT_EQ_STR(c.pos[0], "a");
  DT_ASSERT_EQ_STR(c.pos[1], "-"); /* "-" alone is positional */
  DT_ASSERT_EQ_STR(c.pos[2], "-h");
  DT_ASSERT_EQ_STR(c.pos[3], "--flows");
  DT_ASSERT_EQ_STR(c.flows, "f");
  res_free(&r);
  /* without double_dash, "--" is an unknown option */
  cmd_t d = {0};
  r = parse(&d, true, false, false, (const char *[]){"--", NULL});
  DT_ASSERT_EQ_INT(r.code, 2);
  res_free(&r);
  /* the callback's exit code stops the parse */
  cmd_t e = {.pos_rc = 3};
  r = parse(&e, true, false, false, (const char *[]){"x", "--bogus", NULL});
  DT_ASSERT(!r.run);
  DT_ASSERT_EQ_INT(r.code, 3);
  DT_ASSERT_EQ_STR(r.err, "no 'x' here\n");
  res_free(&r);
}

static int collect(void *ud, const char *arg, FILE *err) {
  dt_buf_appendf(ud, "[%s]", arg);
  return 0;
}

DT_TEST(pass_unknown_hands_everything_else_on) {
  const char *config = NULL;
  const dt_arg_t globals[] = {DT_ARG_STR("--config", &config)};
  dt_buf_t rest = {0};
  const dt_args_spec_t spec = {.prefix = "dialtone", .opts = globals, .nopts = 1, .pass_unknown = true,
                               .positional = collect, .ud = &rest};
  char *argv[] = {"dialtone", "-h", "run", "--config=c.lua", "--flows", "x", "--", NULL};
  int code = -1;
  DT_ASSERT(dt_args_parse(&spec, 1, 7, argv, stdout, stderr, &code));
  DT_ASSERT_EQ_INT(code, 0);
  DT_ASSERT_EQ_STR(config, "c.lua");
  DT_ASSERT_EQ_STR(rest.data, "[-h][run][--flows][x][--]");
  dt_buf_free(&rest);
}

DT_TEST(errors_after_parsing) {
  char *text = NULL;
  size_t len = 0;
  FILE *err = open_memstream(&text, &len);
  DT_ASSERT_EQ_INT(dt_args_error(err, "dialtone thing", "'%s' is not a flow name", "a b"), 2);
  const dt_args_spec_t spec = {.prefix = "dialtone thing", .usage = usage};
  DT_ASSERT_EQ_INT(dt_args_usage_error(&spec, err, "--format must be %s", "text or json"), 2);
  fclose(err);
  DT_ASSERT_EQ_STR(text, "dialtone thing: 'a b' is not a flow name\n"
                         "dialtone thing: --format must be text or json\nusage: dialtone thing [--flows DIR]\n");
  free(text);
}

DT_TEST_MAIN()
