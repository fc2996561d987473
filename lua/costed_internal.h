/*
 * costed_internal.h — what the costed library files share (costed_lib.c, costed_str.c):
 * Lua's own limits and the charging helpers. Internal to lua/; no functions of a module.
 */
#ifndef DIALTONE_COSTED_INTERNAL_H
#define DIALTONE_COSTED_INTERNAL_H
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <lauxlib.h>
#include "costed_lib.h"

#define uchar(c) ((unsigned char)(c))
#define MAX_SIZET ((size_t)(~(size_t)0))
#define MAXSIZE (sizeof(size_t) < sizeof(int) ? MAX_SIZET : (size_t)(INT_MAX))
#ifndef LUA_MAXCAPTURES
#define LUA_MAXCAPTURES 32
#endif
#ifndef l_unlikely
#define l_unlikely(x) (x)
#endif

/* Matcher steps are charged in batches: one call through the meter per this many. */
#define MATCH_BATCH 1024

static inline dt_cost_meter_t *meter_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static inline void charge(lua_State *L, uint64_t units, const char *what) {
  dt_cost_meter_t *m = meter_of(L);
  if (m && m->charge) m->charge(L, m, units, what);
}

static inline uint64_t bytes_units(size_t n) { return (uint64_t)(n / DT_COST_BYTES_PER_UNIT); }

#endif
