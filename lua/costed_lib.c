/*
 * costed_lib.c — the costed library functions (see costed_lib.h): every loop a flow can
 * make a C library function run charges its work to a cost meter, so the instruction
 * budget bounds library calls as it bounds Lua code.
 *
 * Here: the table functions (concat, insert, remove, move, unpack and sort are Lua 5.4.4's
 * own code, ltablib.c, with charges added; behaviour and messages are unchanged), the
 * scanners, and dt_costed_open. The string functions are in costed_str.c. The Lua parts are:
 *
 * Copyright (C) 1994-2022 Lua.org, PUC-Rio.
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this
 * software and associated documentation files (the "Software"), to deal in the Software
 * without restriction, including without limitation the rights to use, copy, modify,
 * merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
 * permit persons to whom the Software is furnished to do so, subject to the following
 * conditions:
 *
 * The above copyright notice and this permission notice shall be included in all copies
 * or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
 * INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
 * PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
 * HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
 * CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
 * THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
#include "costed_lib.h"
#include "costed_internal.h"
#include "costed_str.h"
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>
#include <lualib.h>

/* ---------------------------------------------------------------- tables (ltablib.c) */

#define TAB_R 1
#define TAB_W 2
#define TAB_L 4
#define TAB_RW (TAB_R | TAB_W)
#define aux_getn(L, n, w) (checktab(L, n, (w) | TAB_L), luaL_len(L, n))

static int checkfield(lua_State *L, const char *key, int n) {
  lua_pushstring(L, key);
  return (lua_rawget(L, -n) != LUA_TNIL);
}

static void checktab(lua_State *L, int arg, int what) {
  if (lua_type(L, arg) != LUA_TTABLE) {
    int n = 1;
    if (lua_getmetatable(L, arg) && (!(what & TAB_R) || checkfield(L, "__index", ++n)) &&
        (!(what & TAB_W) || checkfield(L, "__newindex", ++n)) && (!(what & TAB_L) || checkfield(L, "__len", ++n))) {
      lua_pop(L, n);
    } else
      luaL_checktype(L, arg, LUA_TTABLE);
  }
}

/* Elements to shift or copy are charged before the loop: a __len of 1e15 (or a range of
   1e15) then fails at once instead of after the budget's worth of work. */
static void charge_count(lua_State *L, lua_Integer from, lua_Integer to, const char *what) {
  if (to >= from) {
    lua_Unsigned n = (lua_Unsigned)to - (lua_Unsigned)from;
    charge(L, n >= (lua_Unsigned)UINT64_MAX - 1 ? UINT64_MAX : (uint64_t)n + 1, what);
  }
}

static int tinsert(lua_State *L) {
  lua_Integer pos;
  lua_Integer e = aux_getn(L, 1, TAB_RW);
  e = luaL_intop(+, e, 1);
  switch (lua_gettop(L)) {
  case 2: {
    pos = e;
    break;
  }
  case 3: {
    lua_Integer i;
    pos = luaL_checkinteger(L, 2);
    luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
    charge_count(L, pos, e, "table.insert");
    for (i = e; i > pos; i--) {
      lua_geti(L, 1, i - 1);
      lua_seti(L, 1, i);
    }
    break;
  }
  default: return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

static int tremove(lua_State *L) {
  lua_Integer size = aux_getn(L, 1, TAB_RW);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size) luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
  charge_count(L, pos, size, "table.remove");
  lua_geti(L, 1, pos);
  for (; pos < size; pos++) {
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

static int tmove(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  checktab(L, 1, TAB_R);
  checktab(L, tt, TAB_W);
  if (e >= f) {
    lua_Integer n, i;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    charge_count(L, f, e, "table.move");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (i = 0; i < n; i++) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (i = n - 1; i >= 0; i--) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

static void addfield(lua_State *L, luaL_Buffer *b, lua_Integer i) {
  lua_geti(L, 1, i);
  if (l_unlikely(!lua_isstring(L, -1)))
    luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1), (LUAI_UACINT)i);
  luaL_addvalue(b);
}

static int tconcat(lua_State *L) {
  luaL_Buffer b;
  lua_Integer last = aux_getn(L, 1, TAB_R);
  size_t lsep;
  const char *sep = luaL_optlstring(L, 2, "", &lsep);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  charge_count(L, i, last, "table.concat");
  luaL_buffinit(L, &b);
  for (; i < last; i++) {
    addfield(L, &b, i);
    luaL_addlstring(&b, sep, lsep);
  }
  if (i == last) addfield(L, &b, i);
  luaL_pushresult(&b);
  return 1;
}

static int tunpack(lua_State *L) {
  lua_Unsigned n;
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = luaL_opt(L, luaL_checkinteger, 3, luaL_len(L, 1));
  if (i > e) return 0;
  n = (lua_Unsigned)e - i;
  if (l_unlikely(n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n))))
    return luaL_error(L, "too many results to unpack");
  charge(L, (uint64_t)n, "table.unpack");
  for (; i < e; i++) lua_geti(L, 1, i);
  lua_geti(L, 1, e);
  return (int)n;
}

typedef unsigned int IdxT;

static unsigned int l_randomizePivot(void) {
  clock_t c = clock();
  time_t t = time(NULL);
  unsigned int buff[(sizeof c + sizeof t) / sizeof(unsigned int)];
  unsigned int i, rnd = 0;
  memcpy(buff, &c, sizeof c);
  memcpy((char *)buff + sizeof c, &t, sizeof t);
  for (i = 0; i < sizeof buff / sizeof buff[0]; i++) rnd += buff[i];
  return rnd;
}

#define RANLIMIT 100u

static void set2(lua_State *L, IdxT i, IdxT j) {
  lua_seti(L, 1, i);
  lua_seti(L, 1, j);
}

/* Every comparison is charged: a Lua comparator is counted by the hook anyway, but the
   default order and C-function __lt metamethods are not. */
static int sort_comp(lua_State *L, int a, int b) {
  charge(L, 1, "table.sort");
  if (lua_isnil(L, 2)) return lua_compare(L, a, b, LUA_OPLT);
  int res;
  lua_pushvalue(L, 2);
  lua_pushvalue(L, a - 1);
  lua_pushvalue(L, b - 2);
  lua_call(L, 2, 1);
  res = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return res;
}

static IdxT partition(lua_State *L, IdxT lo, IdxT up) {
  IdxT i = lo;
  IdxT j = up - 1;
  for (;;) {
    while ((void)lua_geti(L, 1, ++i), sort_comp(L, -1, -2)) {
      if (l_unlikely(i == up - 1)) luaL_error(L, "invalid order function for sorting");
      lua_pop(L, 1);
    }
    while ((void)lua_geti(L, 1, --j), sort_comp(L, -3, -1)) {
      if (l_unlikely(j < i)) luaL_error(L, "invalid order function for sorting");
      lua_pop(L, 1);
    }
    if (j < i) {
      lua_pop(L, 1);
      set2(L, up - 1, i);
      return i;
    }
    set2(L, i, j);
  }
}

static IdxT choosePivot(IdxT lo, IdxT up, unsigned int rnd) {
  IdxT r4 = (up - lo) / 4;
  IdxT p = rnd % (r4 * 2) + (lo + r4);
  return p;
}

static void auxsort(lua_State *L, IdxT lo, IdxT up, unsigned int rnd) {
  while (lo < up) {
    IdxT p;
    IdxT n;
    lua_geti(L, 1, lo);
    lua_geti(L, 1, up);
    if (sort_comp(L, -1, -2)) set2(L, lo, up);
    else lua_pop(L, 2);
    if (up - lo == 1) return;
    if (up - lo < RANLIMIT || rnd == 0) p = (lo + up) / 2;
    else p = choosePivot(lo, up, rnd);
    lua_geti(L, 1, p);
    lua_geti(L, 1, lo);
    if (sort_comp(L, -2, -1)) set2(L, p, lo);
    else {
      lua_pop(L, 1);
      lua_geti(L, 1, up);
      if (sort_comp(L, -1, -2)) set2(L, p, up);
      else lua_pop(L, 2);
    }
    if (up - lo == 2) return;
    lua_geti(L, 1, p);
    lua_pushvalue(L, -1);
    lua_geti(L, 1, up - 1);
    set2(L, p, up - 1);
    p = partition(L, lo, up);
    if (p - lo < up - p) {
      auxsort(L, lo, p - 1, rnd);
      n = p - lo;
      lo = p + 1;
    } else {
      auxsort(L, p + 1, up, rnd);
      n = up - p;
      up = p - 1;
    }
    if ((up - lo) / 128 > n) rnd = l_randomizePivot();
  }
}

static int tsort(lua_State *L) {
  lua_Integer n = aux_getn(L, 1, TAB_RW);
  if (n > 1) {
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    auxsort(L, 1, (IdxT)n, 0);
  }
  return 0;
}

/* ---------------------------------------------------------------- scanners */

/* The remaining functions scan their string arguments once (utf8.len, format's format,
   pack's format, tonumber's digits...). They are Lua's own, called directly (upvalue 2)
   from this frame so argument errors keep their names; one unit plus one per 32 bytes of
   string arguments is charged first. What they allocate is charged by the allocator. */
static int costed_scanner(lua_State *L) {
  lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(2));
  const char *what = lua_tostring(L, lua_upvalueindex(3));
  size_t bytes = 0;
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++)
    if (lua_type(L, i) == LUA_TSTRING) bytes += lua_rawlen(L, i);
  charge(L, 1 + bytes_units(bytes), what);
  return orig(L);
}

/* ---------------------------------------------------------------- open */

typedef struct {
  const char *name;
  lua_CFunction fn; /* NULL: wrap the library's own as a scanner */
} costed_reg_t;

static const costed_reg_t string_funcs[] = {
    {"find", dt__costed_str_find}, {"match", dt__costed_str_match}, {"gmatch", dt__costed_str_gmatch},
    {"gsub", dt__costed_str_gsub}, {"rep", dt__costed_str_rep},     {"byte", NULL},          {"char", NULL},      {"format", NULL},
    {"lower", NULL},         {"upper", NULL},         {"reverse", NULL},   {"pack", NULL},
    {"packsize", NULL},      {"unpack", NULL},        {NULL, NULL}};
static const costed_reg_t table_funcs[] = {{"concat", tconcat}, {"insert", tinsert}, {"remove", tremove},
                                           {"move", tmove},     {"unpack", tunpack}, {"sort", tsort},
                                           {NULL, NULL}};
static const costed_reg_t utf8_funcs[] = {{"char", NULL}, {"codepoint", NULL}, {"len", NULL},
                                          {"offset", NULL}, {"codes", NULL}, {NULL, NULL}};

/* Replaces the listed functions of the table at the top of the stack (lib: its name). */
static void replace_funcs(lua_State *L, const char *lib, const costed_reg_t *regs, dt_cost_meter_t *meter) {
  for (const costed_reg_t *r = regs; r->name; r++) {
    lua_pushlightuserdata(L, meter);
    if (r->fn) {
      lua_pushcclosure(L, r->fn, 1);
    } else {
      if (lua_getfield(L, -2, r->name) != LUA_TFUNCTION || !lua_tocfunction(L, -1)) {
        lua_pop(L, 2); /* not there (removed by the embedder): nothing to wrap */
        continue;
      }
      lua_pushfstring(L, "%s.%s", lib, r->name);
      lua_pushcclosure(L, costed_scanner, 3);
    }
    lua_setfield(L, -2, r->name);
  }
}

static void replace_lib(lua_State *L, const char *lib, const costed_reg_t *regs, dt_cost_meter_t *meter) {
  if (lua_getglobal(L, lib) == LUA_TTABLE) replace_funcs(L, lib, regs, meter);
  lua_pop(L, 1);
}

void dt_costed_open(lua_State *L, dt_cost_meter_t *meter) {
  /* The global tables are the package.loaded ones and the string metatable's __index. */
  replace_lib(L, LUA_STRLIBNAME, string_funcs, meter);
  replace_lib(L, LUA_TABLIBNAME, table_funcs, meter);
  replace_lib(L, LUA_UTF8LIBNAME, utf8_funcs, meter);
  lua_pushglobaltable(L);
  static const costed_reg_t base_funcs[] = {{"tonumber", NULL}, {NULL, NULL}};
  replace_funcs(L, "_G", base_funcs, meter);
  lua_pop(L, 1);
}

