/*
 * stubs.c — `dialtone stubs [DIR]` (stubs.h): runs the embedded src/stubs.lua over the
 * embedded lua/api_schema.lua and writes what it returns. The annotations are generated,
 * never written by hand, so they list exactly the primitives and options the runtime and
 * `dialtone check` know.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "args.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/embedded.h"
#include "stubs.h"

static void usage(FILE *f) {
  fputs("usage: dialtone stubs [DIR]\n"
        "  Writes LuaLS annotations of the flow API into DIR/.luals/dialtone.lua and a\n"
        "  DIR/.luarc.json (kept if present), so editors complete and type-check flows.\n"
        "  With no DIR, writes into $DIALTONE_FLOWS or ./flows.\n",
        f);
}

static int take_dir(void *ud, const char *arg, FILE *err) {
  const char **dir = ud;
  if (*dir) return dt_args_error(err, "dialtone stubs", "one directory only ('%s' and '%s' given)", *dir, arg);
  *dir = arg;
  return 0;
}

/* Runs stubs.lua; leaves {meta, luarc} texts on L's stack top, or returns the error. */
static const char *generate(lua_State *L) {
  const dt_embedded_file_t *schema = dt_embedded_find("api_schema"), *gen = dt_embedded_find("stubs");
  if (!schema || !gen) return "the embedded generator is missing from this build";
  if (luaL_loadbufferx(L, gen->data, gen->len, "=stubs", "t") != LUA_OK) return lua_tostring(L, -1);
  if (luaL_loadbufferx(L, schema->data, schema->len, "=api_schema", "t") != LUA_OK ||
      lua_pcall(L, 0, 1, 0) != LUA_OK)
    return lua_tostring(L, -1);
  lua_pushstring(L, DIALTONE_VERSION);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) return lua_tostring(L, -1);
  if (!lua_istable(L, -1)) return "the generator returned no table";
  return NULL;
}

int dt_stubs_run(FILE *out, FILE *err, int argc, char **argv) {
  const char *dir = NULL;
  const dt_args_spec_t spec = {.prefix = "dialtone stubs", .usage = usage, .unknown = "unknown option %s",
                               .double_dash = true, .positional = take_dir, .ud = &dir};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) return code;
  if (!dir) {
    const char *env = getenv("DIALTONE_FLOWS");
    dir = env && *env ? env : "flows";
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return dt_args_error(err, "dialtone stubs", "%s: not a directory", dir);
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(err, "dialtone stubs: out of memory\n");
    return 1;
  }
  luaL_openlibs(L);
  int rc = 1;
  char *libdir = dt_xasprintf("%s/.luals", dir), *meta = dt_xasprintf("%s/dialtone.lua", libdir),
       *luarc = dt_xasprintf("%s/.luarc.json", dir);
  const char *why = generate(L);
  if (why) {
    fprintf(err, "dialtone stubs: internal error: %s\n", why);
    goto done;
  }
  size_t mlen, rlen;
  lua_getfield(L, -1, "meta");
  const char *mtext = lua_tolstring(L, -1, &mlen);
  lua_getfield(L, -2, "luarc");
  const char *rtext = lua_tolstring(L, -1, &rlen);
  if (!mtext || !rtext) {
    fprintf(err, "dialtone stubs: internal error: the generator returned no text\n");
    goto done;
  }
  if (mkdir(libdir, 0755) != 0 && errno != EEXIST) {
    fprintf(err, "dialtone stubs: %s: %s\n", libdir, strerror(errno));
    goto done;
  }
  if (dt_write_file_atomic(meta, mtext, mlen) != 0) {
    fprintf(err, "dialtone stubs: cannot write %s\n", meta);
    goto done;
  }
  fprintf(out, "wrote %s\n", meta);
  char *old = NULL;
  size_t olen = 0;
  if (stat(luarc, &st) == 0) {
    bool same = dt_read_file(luarc, 1 << 20, &old, &olen) == 0 && olen == rlen && memcmp(old, rtext, rlen) == 0;
    free(old);
    if (same) fprintf(out, "kept %s (up to date)\n", luarc);
    else fprintf(out, "kept %s (yours): make sure its \"workspace.library\" lists \".luals\"\n", luarc);
  } else if (dt_write_file_atomic(luarc, rtext, rlen) != 0) {
    fprintf(err, "dialtone stubs: cannot write %s\n", luarc);
    goto done;
  } else {
    fprintf(out, "wrote %s\n", luarc);
  }
  rc = 0;
done:
  free(libdir);
  free(meta);
  free(luarc);
  lua_close(L);
  return rc;
}

int dt_stubs_main(int argc, char **argv) { return dt_stubs_run(stdout, stderr, argc, argv); }
