/*
 * costed_lib.h — library functions whose work is charged to a cost meter (issue 10,
 * point 3). The instruction budget counts Lua instructions only; a single call into a C
 * library function (a backtracking pattern, (""):rep(1e15), table.move over 1e15 slots,
 * sort with a C comparator) could otherwise hold the loop for as long as it likes.
 *
 * dt_costed_open replaces, in place, the costly functions of the string, table and utf8
 * libraries (and tonumber) of a state with versions that charge their work to a meter:
 *   - pattern functions (find, match, gmatch, gsub): Lua 5.4's matcher with a step
 *     counter (one unit per matcher step, per 8 bytes scanned);
 *   - rep: built by doubling copies (no loop per repetition), one unit per 32 bytes;
 *   - table.concat, insert, remove, move, unpack, sort: one unit per element touched or
 *     comparison made (plus the bytes concat copies);
 *   - the other string/utf8 functions and tonumber: one unit plus one per 32 bytes of
 *     their string arguments (they scan their input once).
 * Because the string metatable's __index is the string table itself, method calls
 * (s:rep(n)) reach the costed functions too. What the units cost is the meter's business:
 * the flow runtime adds them to the running call's instruction budget, the config loader
 * to its own; when the budget is spent the meter raises, and the function never returns.
 * Allocation-heavy work (building big strings) is charged by the allocators, not here.
 */
#ifndef DIALTONE_COSTED_LIB_H
#define DIALTONE_COSTED_LIB_H
#include <stdint.h>
#include <lua.h>

typedef struct dt_cost_meter_s dt_cost_meter_t;

struct dt_cost_meter_s {
  /* Charges `units` of work done by library function `what` (e.g. "string.find"). Either
     returns (budget left) or raises a Lua error (luaL_error) and does not return. */
  void (*charge)(lua_State *L, dt_cost_meter_t *meter, uint64_t units, const char *what);
  void *ud;
};

/* Bytes of copying or scanning that count as one unit. */
#define DT_COST_BYTES_PER_UNIT 32

/* Replaces the costly library functions of L (the tables in package.loaded and the
   globals) with costed ones. The string, table and utf8 libraries must be open. The meter
   must outlive L. Call under lua_pcall (it allocates). */
void dt_costed_open(lua_State *L, dt_cost_meter_t *meter);

#endif
