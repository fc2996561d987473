/*
 * meter_fixture.h — a cost meter for the costed library tests (test_costed_lib.c,
 * test_costed_str.c): it adds up the units and raises "budget spent in <what>" past limit.
 */
#ifndef DT_METER_FIXTURE_H
#define DT_METER_FIXTURE_H
#include <stdint.h>
#include <lauxlib.h>
#include "costed_lib.h"

typedef struct {
  uint64_t used, limit;
} budget_t;

static inline void charge(lua_State *L, dt_cost_meter_t *m, uint64_t units, const char *what) {
  budget_t *b = m->ud;
  b->used += units;
  if (b->used > b->limit) luaL_error(L, "budget spent in %s", what);
}

#endif
