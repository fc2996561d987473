/*
 * testkit.c — `dialtone test`: the command of the flow test runner (src/testkit.h).
 *
 * Owns: the command line, the list of test files, one libuv loop for the whole run, and
 * per test file a fresh Lua state (the test's own, never the engine's) that runs the
 * embedded testkit.lua (the test API) with the C functions of testkit_api.c; whatever
 * happens, a file's engine and emulator are closed before its Lua state. The simulated
 * clock and what the test API does are described in testkit_api.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/embedded.h"
#include "dialtone/log.h"
#include "args.h"
#include "testkit.h"
#include "testkit_api.h"

#define TK_MAX_FILES 512

/* ------------------------------------------------------------------ one test file */

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Runs one file; adds to *passed / *failed. */
static void run_file(tk_t *tk, const char *path, int *passed, int *failed) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(tk->out, "FAIL %s: cannot create a Lua state\n", path);
    (*failed)++;
    return;
  }
  luaL_openlibs(L);
  tk->L = L;
  tk->entry_ref = LUA_NOREF;
  tk->check_ref = LUA_NOREF;
  lua_pushcfunction(L, traceback);
  int msgh = lua_gettop(L);
  const dt_embedded_file_t *f = dt_embedded_find("testkit");
  if (f == NULL || luaL_loadbufferx(L, f->data, f->len, "=testkit", "t") != LUA_OK) {
    fprintf(tk->out, "FAIL %s: the embedded testkit.lua does not load: %s\n", path,
            f ? lua_tostring(L, -1) : "missing");
    (*failed)++;
    lua_close(L);
    tk->L = NULL;
    return;
  }
  lua_newtable(L);
  lua_pushlightuserdata(L, tk);
  luaL_setfuncs(L, dt__tk_funcs, 1);
  lua_createtable(L, 0, 8);
  dt__tk_set_string(L, "file", path);
  dt__tk_set_string(L, "flows", tk->flows);
  dt__tk_set_string(L, "dialect", tk->dialect);
  dt__tk_set_string(L, "filter", tk->filter);
  if (tk->timeout_given) {
    lua_pushnumber(L, tk->timeout_s);
    lua_setfield(L, -2, "timeout");
  }
  lua_pushboolean(L, tk->verbose);
  lua_setfield(L, -2, "verbose");
  const char *env_flows = getenv("DIALTONE_FLOWS");
  dt__tk_set_string(L, "env_flows", env_flows && env_flows[0] ? env_flows : NULL);
  if (lua_pcall(L, 2, 2, msgh) != LUA_OK) {
    fprintf(tk->out, "FAIL %s: %s\n", path, lua_tostring(L, -1));
    (*failed)++;
  } else {
    *passed += (int)lua_tointeger(L, -2);
    *failed += (int)lua_tointeger(L, -1);
  }
  /* whatever happened, the engine of this file goes before its Lua state */
  if (tk->lr) dt__tk_stop_localrun(tk);
  free(dt__tk_log_end(tk, NULL));
  free(tk->lua_error);
  tk->lua_error = NULL;
  tk->L = NULL;
  tk->entry_ref = LUA_NOREF;
  lua_close(L);
}

/* ------------------------------------------------------------------ files and the command line */

typedef struct {
  char *v[TK_MAX_FILES];
  int n;
  bool overflow;
} files_t;

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void files_add(files_t *fs, const char *path) {
  if (fs->n >= TK_MAX_FILES) {
    fs->overflow = true;
    return;
  }
  fs->v[fs->n++] = dt_xstrdup(path);
}

/* all_lua: DIR's *.lua files (the default directory and --dir); else every *_test.lua file
   in DIR and below it (directories given as arguments: examples/NAME/NAME.lua is a flow,
   NAME_test.lua its test). */
static void collect_dir(files_t *fs, const char *dir, bool all_lua, int depth) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  char *names[TK_MAX_FILES];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < TK_MAX_FILES) {
    if (e->d_name[0] == '.') continue;
    names[n++] = dt_xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    char *p = dt_xasprintf("%s%s%s", dir, ends_with(dir, "/") ? "" : "/", names[i]);
    struct stat st;
    if (stat(p, &st) == 0) {
      if (S_ISREG(st.st_mode) && (all_lua ? ends_with(names[i], ".lua") : ends_with(names[i], "_test.lua")))
        files_add(fs, p);
      else if (S_ISDIR(st.st_mode) && !all_lua && depth < 4 && strcmp(names[i], "prompts") != 0)
        collect_dir(fs, p, false, depth + 1);
    }
    free(p);
    free(names[i]);
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dialtone test [--dir DIR] [--flows DIR] [--dialect v1.0|beta] [--timeout SECONDS]\n"
          "                     [--filter TEXT] [--verbose] [FILES|DIRS...]\n"
          "Runs flow tests (Lua files, see docs/flow-testing.md) against the embedded emulator.\n"
          "With no FILES: tests/flows/*.lua (or DIR/*.lua with --dir DIR). A directory given as an\n"
          "argument contributes every *_test.lua file in it and below it.\n"
          "Exit codes: 0 all passed, 1 a test failed, 2 usage error.\n");
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

/* A test FILE or DIR on the command line (src/args.h's positional callback). */
typedef struct {
  files_t *fs;
  bool *only_dirs_given;
} test_args_t;

static int on_test_path(void *ud, const char *a, FILE *err) {
  test_args_t *ta = ud;
  struct stat st;
  if (stat(a, &st) != 0) {
    fprintf(err, "dialtone test: %s: %s\n", a, strerror(errno));
    return 2;
  }
  if (S_ISDIR(st.st_mode)) {
    *ta->only_dirs_given = true;
    collect_dir(ta->fs, a, false, 0);
  } else {
    files_add(ta->fs, a);
  }
  return 0;
}

int dt_test_run_ex(FILE *out, FILE *err, int argc, char **argv) {
  tk_t tk;
  memset(&tk, 0, sizeof tk);
  tk.out = out;
  tk.err = err;
  tk.timeout_s = 30;
  tk.entry_ref = LUA_NOREF;
  tk.check_ref = LUA_NOREF;
  const char *dir = NULL;
  files_t fs = {{0}, 0, false};
  int rc = 2;
  bool only_dirs_given = false;
  const char *dialect = NULL, *timeout = NULL;
  bool verbose = false;
  test_args_t ta = {&fs, &only_dirs_given};
  const dt_arg_t opts[] = {
      DT_ARG_BOOL("--verbose", "-v", &verbose), DT_ARG_STR("--dir", &dir),     DT_ARG_STR("--flows", &tk.flows),
      DT_ARG_STR("--filter", &tk.filter),          DT_ARG_STR("--dialect", &dialect), DT_ARG_STR("--timeout", &timeout),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone test",
                               .opts = opts,
                               .nopts = sizeof opts / sizeof opts[0],
                               .usage = usage,
                               .unknown = "unknown option '%s'",
                               .usage_after_missing = true,
                               .positional = on_test_path,
                               .ud = &ta};
  int args_rc = 0;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &args_rc)) {
    rc = args_rc; /* 0 after --help, 2 after a usage error (already reported) */
    goto done;
  }
  tk.verbose = verbose;
  /* These two quote the value given, so they are checked here rather than by the table. */
  if (dialect) {
    if (strcmp(dialect, "v1.0") != 0 && strcmp(dialect, "beta") != 0) {
      fprintf(err, "dialtone test: --dialect must be v1.0 or beta (got '%s')\n", dialect);
      goto done;
    }
    tk.dialect = dialect;
  }
  if (timeout) {
    char *endp = NULL;
    double t = strtod(timeout, &endp);
    if (endp == timeout || *endp != '\0' || !(t > 0 && t <= 3600)) {
      fprintf(err, "dialtone test: --timeout must be a number of seconds from 0 to 3600 (got '%s')\n", timeout);
      goto done;
    }
    tk.timeout_s = t;
    tk.timeout_given = true;
  }
  if (fs.n == 0 && !only_dirs_given) {
    const char *d = dir ? dir : "tests/flows";
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
      fprintf(err, "dialtone test: %s: no such directory (give test FILES or --dir DIR)\n", d);
      goto done;
    }
    collect_dir(&fs, d, true, 0);
  }
  if (fs.overflow) {
    fprintf(err, "dialtone test: more than %d test files\n", TK_MAX_FILES);
    goto done;
  }
  if (fs.n == 0) {
    fprintf(out, "no test files found\n0 passed, 0 failed\n");
    rc = 1;
    goto done;
  }

  if (uv_loop_init(&tk.loop) != 0) {
    fprintf(err, "dialtone test: cannot create an event loop\n");
    rc = 1;
    goto done;
  }
  uv_timer_init(&tk.loop, &tk.wd);
  uv_timer_init(&tk.loop, &tk.tick);
  uv_prepare_init(&tk.loop, &tk.prep);
  tk.wd.data = tk.tick.data = tk.prep.data = &tk;
  dt_log_level_t saved_level = dt_log_get_level();
  if (saved_level > DT_LOG_INFO) dt_log_set_level(DT_LOG_INFO);

  int passed = 0, failed = 0;
  for (int i = 0; i < fs.n; i++) run_file(&tk, fs.v[i], &passed, &failed);
  fprintf(out, "%d passed, %d failed\n", passed, failed);
  fflush(out);
  rc = failed > 0 || passed == 0 ? 1 : 0;

  dt_log_set_level(saved_level);
  uv_close((uv_handle_t *)&tk.wd, on_handle_closed);
  uv_close((uv_handle_t *)&tk.tick, on_handle_closed);
  uv_close((uv_handle_t *)&tk.prep, on_handle_closed);
  uint64_t end = dt_now_ms() + 10000;
  while (uv_run(&tk.loop, UV_RUN_NOWAIT) != 0 && dt_now_ms() < end) {
  }
  if (uv_loop_close(&tk.loop) != 0) fprintf(err, "dialtone test: the event loop still had open handles\n");
done:
  for (int i = 0; i < fs.n; i++) free(fs.v[i]);
  return rc;
}

int dt_test_main(int argc, char **argv) { return dt_test_run_ex(stdout, stderr, argc, argv); }
