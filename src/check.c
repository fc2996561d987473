/*
 * check.c — `dialtone check`: the C half of the flow linter (see check.h).
 *
 * This file owns the command line (options, expanding directories, exit codes) and the
 * three things Lua cannot do safely by itself:
 *   - reading Lua 5.4.4 bytecode (the string.dump format) to list every access to the
 *     global environment with its line: GETTABUP/SETTABUP on the _ENV upvalue, plus the
 *     GETUPVAL+LOADK+GETTABLE form the compiler emits when the name is not a short
 *     string constant below index 256. This is exact: an upvalue is _ENV only if it is
 *     the main chunk's upvalue 0 or a chain of captured upvalues leading back to it, so a
 *     `local _ENV = …` is not mistaken for the global one;
 *   - running a flow's top-level code in a throw-away lua_State with an allow-listed
 *     _ENV, a memory cap and an instruction budget, to see whether it returns a function;
 *   - asking the file system whether a path is a file or a directory.
 * The rules themselves (what is a problem, messages, output format) live in
 * src/check.lua, which gets lua/api_schema.lua and these helpers as arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "args.h"
#include "check.h"
#include "dialtone/common.h"
#include "dialtone/embedded.h"
#include "dialtone/lpattern.h"
#include "dialtone/lstate.h"

#define CHECK_SANDBOX_MEM (64u << 20)        /* bytes a flow's top-level code may use */
#define CHECK_SANDBOX_STEPS 1000000L         /* instructions it may run */
#define CHECK_HOOK_EVERY 1000                /* count hook granularity */
#define CHECK_MAX_PROTO_DEPTH 250            /* Lua itself stops at 200 nested functions */

/* ---------------------------------------------------------------------------------------
 * Bytecode reader (lundump.c of Lua 5.4.4, read-only and bounds-checked).
 * ------------------------------------------------------------------------------------- */

/* Opcodes of Lua 5.4 (lopcodes.h) that matter here. */
enum {
  OP_MOVE = 0, OP_LOADI, OP_LOADF, OP_LOADK, OP_LOADKX, OP_LOADFALSE, OP_LFALSESKIP,
  OP_LOADTRUE, OP_LOADNIL, OP_GETUPVAL, OP_SETUPVAL, OP_GETTABUP, OP_GETTABLE, OP_GETI,
  OP_GETFIELD, OP_SETTABUP, OP_SETTABLE, OP_SETI, OP_SETFIELD, OP_NEWTABLE, OP_SELF,
  OP_ADDI, /* … arithmetic … */ OP_SHR = 45, OP_MMBIN, OP_MMBINI, OP_MMBINK, OP_UNM,
  OP_BNOT, OP_NOT, OP_LEN, OP_CONCAT, OP_CLOSE, OP_TBC, OP_JMP, OP_EQ, OP_LT, OP_LE,
  OP_EQK, OP_EQI, OP_LTI, OP_LEI, OP_GTI, OP_GEI, OP_TEST, OP_TESTSET, OP_CALL,
  OP_TAILCALL, OP_RETURN, OP_RETURN0, OP_RETURN1, OP_FORLOOP, OP_FORPREP, OP_TFORPREP,
  OP_TFORCALL, OP_TFORLOOP, OP_SETLIST, OP_CLOSURE, OP_VARARG, OP_VARARGPREP, OP_EXTRAARG,
  OP__COUNT
};

/* Constant type tags (lobject.h: makevariant(type, variant)). */
enum { K_NIL = 0x00, K_FALSE = 0x01, K_TRUE = 0x11, K_INT = 0x03, K_FLT = 0x13,
       K_SHRSTR = 0x04, K_LNGSTR = 0x14 };

#define ABSLINEINFO (-0x80)

typedef struct {
  const unsigned char *p, *end;
  const char *error; /* first failure; reading stops there */
  size_t int_size, num_size;
} rd_t;

typedef struct {
  const char *name; /* points into the dump string */
  size_t len;
  const char *field; /* for `global.field` reads, else NULL */
  size_t field_len;
  int line;
  int write;
} access_t;

typedef struct {
  access_t *items;
  size_t len, cap;
  int return_line; /* main chunk: line of the last `return` with values */
} scan_t;

typedef struct {
  const char *s; /* NULL when the constant is not a string */
  size_t len;
} kstr_t;

static void rd_fail(rd_t *r, const char *why) {
  if (r->error == NULL) r->error = why;
  r->p = r->end;
}

static int rd_byte(rd_t *r) {
  if (r->p >= r->end) {
    rd_fail(r, "truncated chunk");
    return 0;
  }
  return *r->p++;
}

/* loadUnsigned: big-endian groups of 7 bits, the last byte has bit 7 set. */
static size_t rd_size(rd_t *r) {
  size_t x = 0;
  int b;
  do {
    b = rd_byte(r);
    if (r->error) return 0;
    if (x > (SIZE_MAX >> 7)) {
      rd_fail(r, "integer overflow");
      return 0;
    }
    x = (x << 7) | (size_t)(b & 0x7f);
  } while ((b & 0x80) == 0);
  return x;
}

static int rd_int(rd_t *r) {
  size_t x = rd_size(r);
  if (x > INT_MAX) {
    rd_fail(r, "integer overflow");
    return 0;
  }
  return (int)x;
}

static const unsigned char *rd_block(rd_t *r, size_t n) {
  if (r->error || (size_t)(r->end - r->p) < n) {
    rd_fail(r, "truncated chunk");
    return NULL;
  }
  const unsigned char *q = r->p;
  r->p += n;
  return q;
}

/* A count of items that take at least `unit` bytes each can never exceed what is left. */
static size_t rd_count(rd_t *r, size_t unit) {
  size_t n = rd_size(r);
  if (r->error == NULL && n > (size_t)(r->end - r->p) / unit) {
    rd_fail(r, "count larger than the chunk");
    return 0;
  }
  return n;
}

static void rd_string(rd_t *r, const char **s, size_t *len) {
  size_t n = rd_size(r);
  *s = NULL;
  *len = 0;
  if (n == 0) return; /* NULL string */
  const unsigned char *q = rd_block(r, n - 1);
  if (q == NULL) return;
  *s = (const char *)q;
  *len = n - 1;
}

static void scan_add(scan_t *s, const kstr_t *name, const kstr_t *field, int line, int write) {
  if (s->len == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->items = dt_xrealloc(s->items, s->cap * sizeof *s->items);
  }
  s->items[s->len++] = (access_t){name->s, name->len, field ? field->s : NULL,
                                  field ? field->len : 0, line, write};
}

/* What a register is known to hold during the straight-line scan of one function. */
typedef struct {
  unsigned char env[256];  /* the global environment (GETUPVAL of _ENV, or a copy) */
  int kstr[256];           /* a string constant (LOADK), else -1 */
  int global[256];         /* a global read by GETTABUP (its key constant), else -1 */
} regs_t;

static void regs_forget(regs_t *g, int from, int to) {
  if (from < 0) from = 0;
  if (to > 255) to = 255;
  for (int r = from; r <= to; r++) {
    g->env[r] = 0;
    g->kstr[r] = -1;
    g->global[r] = -1;
  }
}

/* Which registers an instruction writes, so that what we know about them is dropped.
 * Instructions not listed write no register (stores, tests, jumps, returns). */
static void regs_clobber(regs_t *g, int op, int a, int b, int c) {
  switch (op) {
  case OP_MOVE: case OP_LOADI: case OP_LOADF: case OP_LOADK: case OP_LOADKX:
  case OP_LOADFALSE: case OP_LFALSESKIP: case OP_LOADTRUE: case OP_GETUPVAL:
  case OP_GETTABUP: case OP_GETTABLE: case OP_GETI: case OP_GETFIELD: case OP_NEWTABLE:
  case OP_UNM: case OP_BNOT: case OP_NOT: case OP_LEN: case OP_TESTSET: case OP_CLOSURE:
    regs_forget(g, a, a);
    break;
  case OP_LOADNIL: regs_forget(g, a, a + b); break;
  case OP_SELF: regs_forget(g, a, a + 1); break;
  case OP_CONCAT: regs_forget(g, a, a + (b > 0 ? b - 1 : 0)); break;
  case OP_CALL: case OP_TAILCALL: case OP_VARARG: regs_forget(g, a, 255); break;
  case OP_FORLOOP: case OP_FORPREP: case OP_TFORPREP: regs_forget(g, a, a + 3); break;
  case OP_TFORCALL: regs_forget(g, a + 4, 255); break;
  case OP_TFORLOOP: regs_forget(g, a, a + 4); break;
  default:
    if (op >= OP_ADDI && op <= OP_SHR) regs_forget(g, a, a);
    break;
  }
  (void)c;
}

static void scan_code(scan_t *s, const unsigned char *code, size_t ncode, const kstr_t *k,
                      size_t nk, const unsigned char *envup, size_t nup,
                      const signed char *lineinfo, size_t nli, const int *abspc,
                      const int *absline, size_t nabs, int linedefined, int is_main,
                      rd_t *r) {
  regs_t *g = dt_xmalloc(sizeof *g);
  regs_forget(g, 0, 255);
  int line = linedefined;
  size_t ai = 0;
  int ret_line = -1;
#define KSTR(i) ((size_t)(i) < nk && k[(i)].s != NULL)
  for (size_t pc = 0; pc < ncode; pc++) {
    uint32_t ins;
    memcpy(&ins, code + pc * 4, 4);
    int op = (int)(ins & 0x7f);
    int a = (int)((ins >> 7) & 0xff);
    int b = (int)((ins >> 16) & 0xff);
    int c = (int)((ins >> 24) & 0xff);
    unsigned bx = ins >> 15;
    if (pc < nli) {
      if (lineinfo[pc] == ABSLINEINFO) {
        while (ai < nabs && (size_t)abspc[ai] < pc) ai++;
        if (ai < nabs && (size_t)abspc[ai] == pc) line = absline[ai];
      } else {
        line += lineinfo[pc];
      }
    }
    if (op >= OP__COUNT) {
      rd_fail(r, "unknown opcode");
      break;
    }
    switch (op) {
    case OP_GETTABUP:
      regs_clobber(g, op, a, b, c);
      if ((size_t)b < nup && envup[b] && KSTR(c)) {
        scan_add(s, &k[c], NULL, line, 0);
        g->global[a] = c;
      }
      continue;
    case OP_SETTABUP:
      if ((size_t)a < nup && envup[a] && KSTR(b)) scan_add(s, &k[b], NULL, line, 1);
      continue;
    case OP_GETUPVAL: {
      int isenv = (size_t)b < nup && envup[b];
      regs_clobber(g, op, a, b, c);
      g->env[a] = (unsigned char)isenv;
      continue;
    }
    case OP_MOVE: {
      unsigned char e = g->env[b];
      int ks = g->kstr[b], gl = g->global[b];
      regs_clobber(g, op, a, b, c);
      g->env[a] = e;
      g->kstr[a] = ks;
      g->global[a] = gl;
      continue;
    }
    case OP_LOADK:
      regs_clobber(g, op, a, b, c);
      if (KSTR(bx)) g->kstr[a] = (int)bx;
      continue;
    case OP_LOADKX:
      regs_clobber(g, op, a, b, c);
      if (pc + 1 < ncode) {
        uint32_t next;
        memcpy(&next, code + (pc + 1) * 4, 4);
        if ((next & 0x7f) == OP_EXTRAARG && KSTR(next >> 7)) g->kstr[a] = (int)(next >> 7);
      }
      continue;
    case OP_GETTABLE:
      if (g->env[b] && g->kstr[c] >= 0) {
        int key = g->kstr[c];
        regs_clobber(g, op, a, b, c);
        scan_add(s, &k[key], NULL, line, 0);
        g->global[a] = key;
      } else {
        regs_clobber(g, op, a, b, c);
      }
      continue;
    case OP_SETTABLE:
      if (g->env[a] && g->kstr[b] >= 0) scan_add(s, &k[g->kstr[b]], NULL, line, 1);
      continue;
    case OP_GETFIELD:
      if (KSTR(c) && g->env[b]) {
        regs_clobber(g, op, a, b, c);
        scan_add(s, &k[c], NULL, line, 0);
        g->global[a] = c;
      } else if (KSTR(c) && g->global[b] >= 0) {
        int gk = g->global[b];
        regs_clobber(g, op, a, b, c);
        scan_add(s, &k[gk], &k[c], line, 0);
      } else {
        regs_clobber(g, op, a, b, c);
      }
      continue;
    case OP_SETFIELD:
      if (KSTR(b) && g->env[a]) scan_add(s, &k[b], NULL, line, 1);
      continue;
    case OP_RETURN:
      if (b != 1) ret_line = line; /* b == 1: `return` with no values */
      continue;
    case OP_RETURN1:
      ret_line = line;
      continue;
    default:
      regs_clobber(g, op, a, b, c);
      continue;
    }
  }
#undef KSTR
  if (is_main) s->return_line = ret_line >= 0 ? ret_line : line;
  free(g);
}

/* Reads one function prototype (and, recursively, its children). envparent says which of
 * the enclosing function's upvalues are the global _ENV. */
static void rd_function(rd_t *r, scan_t *s, const unsigned char *envparent, size_t nparent,
                        int depth) {
  if (depth > CHECK_MAX_PROTO_DEPTH) {
    rd_fail(r, "functions nested too deeply");
    return;
  }
  const char *src;
  size_t srclen;
  rd_string(r, &src, &srclen);
  int linedefined = rd_int(r);
  (void)rd_int(r);               /* lastlinedefined */
  (void)rd_block(r, 3);          /* numparams, is_vararg, maxstacksize */
  size_t ncode = rd_count(r, 4);
  const unsigned char *code = rd_block(r, ncode * 4);

  size_t nk = rd_count(r, 1);
  kstr_t *k = dt_xcalloc(nk ? nk : 1, sizeof *k);
  for (size_t i = 0; i < nk && r->error == NULL; i++) {
    switch (rd_byte(r)) {
    case K_NIL: case K_FALSE: case K_TRUE: break;
    case K_INT: (void)rd_block(r, r->int_size); break;
    case K_FLT: (void)rd_block(r, r->num_size); break;
    case K_SHRSTR: case K_LNGSTR: rd_string(r, &k[i].s, &k[i].len); break;
    default: rd_fail(r, "unknown constant type"); break;
    }
  }

  size_t nup = rd_count(r, 3);
  unsigned char *envup = dt_xcalloc(nup ? nup : 1, 1);
  for (size_t i = 0; i < nup && r->error == NULL; i++) {
    int instack = rd_byte(r), idx = rd_byte(r);
    (void)rd_byte(r); /* kind */
    if (depth == 0)
      envup[i] = (i == 0); /* lparser.c mainfunc: upvalue 0 of a chunk is _ENV */
    else
      envup[i] = !instack && (size_t)idx < nparent && envparent[idx];
  }

  size_t nprotos = rd_count(r, 1);
  for (size_t i = 0; i < nprotos && r->error == NULL; i++)
    rd_function(r, s, envup, nup, depth + 1);

  size_t nli = rd_count(r, 1);
  const signed char *lineinfo = (const signed char *)rd_block(r, nli);
  size_t nabs = rd_count(r, 2);
  int *abspc = dt_xcalloc(nabs ? nabs : 1, sizeof(int));
  int *absline = dt_xcalloc(nabs ? nabs : 1, sizeof(int));
  for (size_t i = 0; i < nabs && r->error == NULL; i++) {
    abspc[i] = rd_int(r);
    absline[i] = rd_int(r);
  }
  size_t nloc = rd_count(r, 3);
  for (size_t i = 0; i < nloc && r->error == NULL; i++) {
    const char *n;
    size_t l;
    rd_string(r, &n, &l);
    (void)rd_int(r);
    (void)rd_int(r);
  }
  size_t nupnames = rd_count(r, 1);
  for (size_t i = 0; i < nupnames && r->error == NULL; i++) {
    const char *n;
    size_t l;
    rd_string(r, &n, &l);
  }
  if (lineinfo == NULL) nli = 0;

  if (r->error == NULL && code != NULL)
    scan_code(s, code, ncode, k, nk, envup, nup, lineinfo, nli, abspc, absline, nabs,
              linedefined, depth == 0, r);
  free(abspc);
  free(absline);
  free(envup);
  free(k);
}

static const char *rd_header(rd_t *r) {
  static const unsigned char sig[] = {0x1b, 'L', 'u', 'a', 0x54, 0x00,
                                      0x19, 0x93, '\r', '\n', 0x1a, '\n'};
  const unsigned char *h = rd_block(r, sizeof sig);
  if (h == NULL || memcmp(h, sig, sizeof sig) != 0) return "not a Lua 5.4 binary chunk";
  int isz = rd_byte(r), intsz = rd_byte(r), numsz = rd_byte(r);
  if (r->error || isz != 4 || intsz != (int)sizeof(lua_Integer) ||
      numsz != (int)sizeof(lua_Number))
    return "binary chunk from a different build of Lua";
  const unsigned char *iv = rd_block(r, (size_t)intsz), *nv = rd_block(r, (size_t)numsz);
  if (iv == NULL || nv == NULL) return "truncated chunk";
  lua_Integer ival;
  lua_Number nval;
  memcpy(&ival, iv, sizeof ival);
  memcpy(&nval, nv, sizeof nval);
  if (ival != 0x5678 || nval != (lua_Number)370.5)
    return "binary chunk with a different byte order or number format";
  r->int_size = (size_t)intsz;
  r->num_size = (size_t)numsz;
  (void)rd_byte(r); /* number of upvalues of the main closure */
  return r->error;
}

/* native.bytecode(dump) -> {globals = {{name=, field=, line=, write=}...}, return_line=}
 *                          or nil, message */
static int l_bytecode(lua_State *L) {
  size_t len;
  const char *dump = luaL_checklstring(L, 1, &len);
  rd_t r = {(const unsigned char *)dump, (const unsigned char *)dump + len, NULL, 0, 0};
  scan_t s = {NULL, 0, 0, 1};
  const char *err = rd_header(&r);
  if (err == NULL) {
    rd_function(&r, &s, NULL, 0, 0);
    err = r.error;
  }
  if (err != NULL) {
    free(s.items);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, 0, 2);
  lua_createtable(L, (int)(s.len < INT_MAX ? s.len : INT_MAX), 0);
  for (size_t i = 0; i < s.len; i++) {
    const access_t *a = &s.items[i];
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, a->name, a->len);
    lua_setfield(L, -2, "name");
    if (a->field) {
      lua_pushlstring(L, a->field, a->field_len);
      lua_setfield(L, -2, "field");
    }
    lua_pushinteger(L, a->line);
    lua_setfield(L, -2, "line");
    lua_pushboolean(L, a->write);
    lua_setfield(L, -2, "write");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "globals");
  lua_pushinteger(L, s.return_line);
  lua_setfield(L, -2, "return_line");
  free(s.items);
  return 1;
}

/* ---------------------------------------------------------------------------------------
 * Running a flow's top-level code in a throw-away state.
 * ------------------------------------------------------------------------------------- */

/* The budget is spent (lstate.h's over): "flow:LINE: ..." when the line is the flow's. */
static void budget_over(lua_State *L, lua_Debug *ar, dt_lstate_cap_t *cap) {
  (void)cap;
  int line = 1;
  if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 && strcmp(ar->source, "=flow") == 0)
    line = ar->currentline;
  lua_pushfstring(L, "flow:%d: top-level code ran more than %d instructions", line,
                  (int)CHECK_SANDBOX_STEPS);
  lua_error(L);
}

/* Builds the flow's _ENV from the allow-list: the safe globals, the safe part of os, and
 * stand-ins for what only the engine provides (dialtone, require, print). */
static const char sandbox_builder[] =
    "local globals, os_safe = ...\n"
    "local stub\n"
    /* anything of dialtone is the stub again: callable (dialtone.dial{…}), indexable
       (dialtone.settings.queue, dialtone.meetings.create) and joinable with strings */
    "stub = setmetatable({}, {__index = function() return stub end,\n"
    "                         __call = function() return stub end,\n"
    "                         __concat = function() return '' end})\n"
    "local env = {}\n"
    "for _, name in ipairs(globals) do env[name] = _G[name] end\n"
    "local safe_os = {}\n"
    "for _, name in ipairs(os_safe) do safe_os[name] = os[name] end\n"
    "env.os = safe_os\n"
    "env.print = function() end\n"
    "env.dialtone = stub\n"
    "env.require = function() return stub end\n"
    /* as in the engine: a finalizer runs at lua_close with hooks off, beyond any budget */
    "local real_setmetatable, rawget, type, error = setmetatable, rawget, type, error\n"
    "env.setmetatable = function(t, mt)\n"
    "  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
    "    error('__gc metamethods are not allowed in flows (use <close> variables or call:on_hangup)', 2)\n"
    "  end\n"
    "  return real_setmetatable(t, mt)\n"
    "end\n"
    "return env\n";

static void copy_string_list(lua_State *from, int idx, lua_State *to) {
  lua_newtable(to);
  lua_Integer n = luaL_len(from, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(from, idx, i);
    size_t len;
    const char *s = lua_tolstring(from, -1, &len);
    if (s != NULL) {
      lua_pushlstring(to, s, len);
      lua_rawseti(to, -2, i);
    }
    lua_pop(from, 1);
  }
}

/* native.run_sandboxed(source, globals, os_safe) ->
 *   "function" | "value", typename | "none" | "error", message ("flow:LINE: …" when known) */
static int l_run_sandboxed(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  dt_lstate_cap_t cap = {.limit = CHECK_SANDBOX_MEM,
                         .hook_every = CHECK_HOOK_EVERY,
                         .step_limit = CHECK_SANDBOX_STEPS,
                         .over = budget_over};
  dt_lstate_opts_t o = {.cap = &cap, .libs = DT_LSTATE_ALL};
  lua_State *S = dt_lstate_new(&o, NULL, 0);
  if (S == NULL) {
    lua_pushliteral(L, "error");
    lua_pushliteral(L, "not enough memory");
    return 2;
  }
  int nret = 2;
  if (luaL_loadbufferx(S, sandbox_builder, sizeof sandbox_builder - 1, "=sandbox", "t") !=
      LUA_OK) {
    lua_pushliteral(L, "error");
    lua_pushstring(L, lua_tostring(S, -1));
    goto done;
  }
  copy_string_list(L, 2, S);
  copy_string_list(L, 3, S);
  if (lua_pcall(S, 2, 1, 0) != LUA_OK) {
    lua_pushliteral(L, "error");
    lua_pushstring(L, lua_tostring(S, -1));
    goto done;
  }
  if (luaL_loadbufferx(S, src, len, "=flow", "t") != LUA_OK) {
    lua_pushliteral(L, "error");
    lua_pushstring(L, lua_tostring(S, -1));
    goto done;
  }
  lua_insert(S, -2);
  lua_setupvalue(S, -2, 1); /* the env becomes the chunk's _ENV */
  int base = lua_gettop(S) - 1;
  dt_lstate_arm(S);
  int st = lua_pcall(S, 0, LUA_MULTRET, 0);
  dt_lstate_disarm(S);
  if (st != LUA_OK) {
    lua_pushliteral(L, "error");
    if (st == LUA_ERRMEM)
      lua_pushliteral(L, "not enough memory");
    else if (lua_type(S, -1) == LUA_TSTRING)
      lua_pushstring(L, lua_tostring(S, -1));
    else
      lua_pushfstring(L, "error object is a %s value", luaL_typename(S, -1));
  } else if (lua_gettop(S) == base) {
    lua_pushliteral(L, "none");
    nret = 1;
  } else if (lua_type(S, base + 1) == LUA_TFUNCTION) {
    lua_pushliteral(L, "function");
    nret = 1;
  } else {
    lua_pushliteral(L, "value");
    lua_pushstring(L, luaL_typename(S, base + 1));
  }
done:
  lua_close(S);
  return nret;
}

/* native.kind(path) -> "file" | "dir" | "other" | nil */
static int l_kind(lua_State *L) {
  struct stat st;
  if (stat(luaL_checkstring(L, 1), &st) != 0) {
    lua_pushnil(L);
  } else if (S_ISREG(st.st_mode)) {
    lua_pushliteral(L, "file");
  } else if (S_ISDIR(st.st_mode)) {
    lua_pushliteral(L, "dir");
  } else {
    lua_pushliteral(L, "other");
  }
  return 1;
}

/* native.list(dir) -> the names in dir (at most 10000, dot files left out) | nil */
static int l_list(lua_State *L) {
  DIR *d = opendir(luaL_checkstring(L, 1));
  if (d == NULL) return 0;
  lua_newtable(L);
  lua_Integer n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 10000) {
    if (e->d_name[0] == '.') continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  return 1;
}

static const luaL_Reg native_funcs[] = {
    {"bytecode", l_bytecode},
    {"run_sandboxed", l_run_sandboxed},
    {"kind", l_kind},
    {"list", l_list},
    {"pattern_check", dt_lpattern_l_check},
    {NULL, NULL},
};

/* ---------------------------------------------------------------------------------------
 * Command line.
 * ------------------------------------------------------------------------------------- */

typedef struct {
  char **v;
  size_t len, cap;
} strv_t;

static void strv_push(strv_t *a, char *s) {
  if (a->len == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 16;
    a->v = dt_xrealloc(a->v, a->cap * sizeof *a->v);
  }
  a->v[a->len++] = s;
}

static void strv_free(strv_t *a) {
  for (size_t i = 0; i < a->len; i++) free(a->v[i]);
  free(a->v);
  *a = (strv_t){0};
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A flow file in a directory scan: NAME.lua, not a dot file, and not a flow test
   (NAME_test.lua beside its flow is run by `dialtone test`, not by the engine). */
static int is_lua_name(const char *name) {
  size_t n = strlen(name);
  if (name[0] == '.' || n <= 4 || strcmp(name + n - 4, ".lua") != 0) return 0;
  return !(n > 9 && strcmp(name + n - 9, "_test.lua") == 0);
}

/* Appends dir's *.lua files (sorted, not recursive) to files. */
static int expand_dir(const char *dir, strv_t *files, FILE *err) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(err, "dialtone check: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  strv_t found = {0};
  size_t dlen = strlen(dir);
  const char *sep = (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/";
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_lua_name(e->d_name)) continue;
    char *path = dt_xasprintf("%s%s%s", dir, sep, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      strv_push(&found, path);
    else
      free(path);
  }
  closedir(d);
  if (found.len > 0) qsort(found.v, found.len, sizeof *found.v, cmp_str);
  for (size_t i = 0; i < found.len; i++) strv_push(files, found.v[i]);
  free(found.v);
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: dialtone check [--format text|json] [--prompts DIR] [DIR|FILE]...\n"
        "  Compiles and lints flows: syntax, undefined globals, unknown primitives and\n"
        "  options, missing prompt files, menus without invalid=/noinput=, and flows that\n"
        "  do not return a function. A directory's lib/ modules are checked as modules\n"
        "  (so is any FILE in a lib/ directory), and dialtone.prompts{...} declarations\n"
        "  against the prompt files. With no paths, checks $DIALTONE_FLOWS or ./flows.\n"
        "  Exit status: 0 no problems, 1 problems found, 2 usage error.\n",
        f);
}

/* Runs check.lua over files; returns the number of problems, or -1 on internal failure. */
static long run_checks(FILE *out, FILE *err, const strv_t *files, const char *format,
                       const char *prompts) {
  const dt_embedded_file_t *schema = dt_embedded_find("api_schema");
  const dt_embedded_file_t *rules = dt_embedded_find("check");
  if (schema == NULL || rules == NULL) {
    fprintf(err, "dialtone check: the embedded checker is missing from this build\n");
    return -1;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(err, "dialtone check: out of memory\n");
    return -1;
  }
  luaL_openlibs(L);
  long problems = -1;
  if (luaL_loadbufferx(L, schema->data, schema->len, "=api_schema", "t") != LUA_OK ||
      lua_pcall(L, 0, 1, 0) != LUA_OK)
    goto fail;
  if (luaL_loadbufferx(L, rules->data, rules->len, "=check", "t") != LUA_OK) goto fail;
  lua_insert(L, -2);
  luaL_newlib(L, native_funcs);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) goto fail;
  lua_getfield(L, -1, "run");
  lua_createtable(L, (int)files->len, 0);
  for (size_t i = 0; i < files->len; i++) {
    lua_pushstring(L, files->v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_createtable(L, 0, 2);
  lua_pushstring(L, format);
  lua_setfield(L, -2, "format");
  if (prompts != NULL) {
    lua_pushstring(L, prompts);
    lua_setfield(L, -2, "prompts");
  }
  if (lua_pcall(L, 2, 2, 0) != LUA_OK) goto fail;
  size_t outlen;
  const char *text = lua_tolstring(L, -2, &outlen);
  if (text != NULL) fwrite(text, 1, outlen, out);
  fflush(out);
  problems = (long)lua_tointeger(L, -1);
  lua_close(L);
  return problems;
fail:
  fprintf(err, "dialtone check: internal error: %s\n",
          lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
  lua_close(L);
  return -1;
}

/* A path to check (a positional argument). */
static int take_path(void *ud, const char *arg, FILE *err) {
  strv_push(ud, dt_xstrdup(arg));
  return 0;
}

int dt_check_run_ex(FILE *out, FILE *err, int argc, char **argv) {
  const char *format = "text", *prompts = NULL;
  strv_t paths = {0}, files = {0};
  int rc = 2;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--format", &format),
      DT_ARG_STR("--prompts", &prompts),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone check", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option %s", .usage_after_missing = true,
                               .double_dash = true, .positional = take_path, .ud = &paths};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) {
    rc = code;
    goto done;
  }
  if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
    rc = dt_args_usage_error(&spec, err, "--format must be text or json, not '%s'", format);
    goto done;
  }
  struct stat st;
  if (prompts != NULL && (stat(prompts, &st) != 0 || !S_ISDIR(st.st_mode))) {
    fprintf(err, "dialtone check: --prompts %s: not a directory\n", prompts);
    goto done;
  }
  if (paths.len == 0) {
    const char *env = getenv("DIALTONE_FLOWS");
    strv_push(&paths, dt_xstrdup(env && *env ? env : "flows"));
  }
  int bad = 0;
  for (size_t i = 0; i < paths.len; i++) {
    const char *p = paths.v[i];
    if (stat(p, &st) != 0) {
      fprintf(err, "dialtone check: %s: %s\n", p, strerror(errno));
      bad = 1;
    } else if (S_ISDIR(st.st_mode)) {
      if (expand_dir(p, &files, err) != 0) bad = 1;
      char *lib = dt_xasprintf("%s/lib", p); /* the flows' modules, checked as modules */
      if (stat(lib, &st) == 0 && S_ISDIR(st.st_mode) && expand_dir(lib, &files, err) != 0) bad = 1;
      free(lib);
    } else if (S_ISREG(st.st_mode)) {
      strv_push(&files, dt_xstrdup(p));
    } else {
      fprintf(err, "dialtone check: %s: not a file or directory\n", p);
      bad = 1;
    }
  }
  if (bad) goto done;
  long problems = run_checks(out, err, &files, format, prompts);
  rc = problems == 0 ? 0 : 1;
done:
  strv_free(&paths);
  strv_free(&files);
  return rc;
}

int dt_check_run(FILE *out, int argc, char **argv) {
  return dt_check_run_ex(out, stderr, argc, argv);
}

int dt_check_main(int argc, char **argv) {
  return dt_check_run_ex(stdout, stderr, argc, argv);
}
