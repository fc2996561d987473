/*
 * flow_time.c — time for flows (see flow_time.h): dialtone.now(), dialtone.hours{...} with
 * :open([t]) and :next_open([t]), and os.time() / os.date() on the flows' clock.
 *
 * The clock is the runtime's (dt_runtime_options_t.clock): the real wall clock in
 * `dialtone run`, the simulated one in `dialtone test` (t:set_time moves it), so a flow's
 * "are we open" is tested at any date without waiting for it.
 *
 * Time zones come from core/util/tz.c, which reads the TZif files of the system's tzdata
 * itself: converting with localtime_r would need setenv("TZ"), which changes the zone of
 * every thread of the process while calls run (and races with the embedded emulator's
 * thread). A zone is loaded once per runtime and kept in a registry cache (at most
 * ZONE_CACHE zones; past that a zone is loaded for its hours object alone), freed by the
 * zone userdata's __gc (C's: flows cannot set __gc).
 *
 * Every input is checked; a bad one raises a Lua error naming the option and what is
 * accepted, and creates nothing.
 */
#include <math.h>
#include <string.h>
#include <lauxlib.h>
#include "dialtone/clock.h"
#include "dialtone/hours.h"
#include "dialtone/tz.h"
#include "flow_time.h"
#include "rt_state.h"

#define ZONE_MT "dialtone.zone"
#define HOURS_MT "dialtone.hours"
#define ZONE_CACHE 64
#define T_MAX 1e11 /* about year 5138: times outside +-T_MAX are refused */

static const char CACHE_KEY = 'z';

double dt__flow_time_now(const dt_runtime_t *rt) {
  if (rt->o.clock) return rt->o.clock(rt->o.clock_ud);
  return (double)dt_clock_unix_ms() / 1000.0;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, dt__flow_time_now(dt__rt_state_of(L)));
  return 1;
}

/* ------------------------------------------------------------------ zones */

typedef struct {
  dt_tz_t *tz;
} zone_box_t;

static int zone_gc(lua_State *L) {
  zone_box_t *b = luaL_checkudata(L, 1, ZONE_MT);
  dt_tz_free(b->tz);
  b->tz = NULL;
  return 0;
}

/* Pushes the zone userdata for name (cached), or raises. */
static const dt_tz_t *push_zone(lua_State *L, const char *name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    return ((zone_box_t *)lua_touserdata(L, -1))->tz;
  }
  lua_pop(L, 1);
  zone_box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->tz = NULL;
  luaL_setmetatable(L, ZONE_MT);
  char err[256];
  if (dt_tz_load(NULL, name, &b->tz, err, sizeof err) != 0) luaL_error(L, "dialtone.hours: tz: %s", err);
  lua_Integer n = 0; /* count the cache (small) */
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    n++;
    lua_pop(L, 1);
  }
  if (n < ZONE_CACHE) {
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_remove(L, -2);
  return b->tz;
}

/* ------------------------------------------------------------------ hours */

static const char *const DAYS[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const HOURS_KEYS[] = {"tz",  "daily", "mon_fri", "sat_sun", "mon", "tue", "wed",
                                         "thu", "fri",   "sat",     "sun",     "holidays", NULL};
#define HOURS_KEY_LIST "tz, mon_fri, sat_sun, daily, mon, tue, wed, thu, fri, sat, sun, holidays"

/* Spans of option key into the days whose bit is in mask; false = closed. */
static bool day_option(lua_State *L, dt_hours_t *h, const char *key, unsigned mask) {
  int t = lua_getfield(L, 1, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  dt_hours_span_t spans[DT_HOURS_MAX_SPANS];
  uint8_t n = 0;
  if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    n = 0;
  } else if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    char err[256];
    if (len > 256 || strlen(s) != len) luaL_error(L, "dialtone.hours: %s: too long or not text", key);
    if (dt_hours_parse_spans(s, spans, &n, err, sizeof err) != 0) luaL_error(L, "dialtone.hours: %s: %s", key, err);
  } else {
    luaL_error(L, "dialtone.hours: %s must be \"HH:MM-HH:MM\" (several separated by commas), \"closed\" or false, "
                  "got %s",
               key, luaL_typename(L, -1));
  }
  for (int d = 0; d < 7; d++)
    if (mask & (1u << d)) {
      memcpy(h->spans[d], spans, sizeof spans);
      h->nspans[d] = n;
    }
  lua_pop(L, 1);
  return true;
}

static void holidays_option(lua_State *L, dt_hours_t *h) {
  int t = lua_getfield(L, 1, "holidays");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (t != LUA_TTABLE) luaL_error(L, "dialtone.hours: holidays must be a list of \"YYYY-MM-DD\" dates");
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  if (n > DT_HOURS_MAX_HOLIDAYS) luaL_error(L, "dialtone.hours: at most %d holidays", DT_HOURS_MAX_HOLIDAYS);
  lua_pushnil(L);
  while (lua_next(L, -2)) { /* every entry: a list has nothing but 1..n */
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n)
      luaL_error(L, "dialtone.hours: holidays must be a list of \"YYYY-MM-DD\" dates (not a map)");
    int32_t day = 0;
    if (lua_type(L, -1) != LUA_TSTRING || dt_hours_parse_date(lua_tostring(L, -1), &day) != 0) {
      int i = (int)lua_tointeger(L, -2);
      luaL_error(L, "dialtone.hours: holidays[%d]: '%s' is not a date \"YYYY-MM-DD\" (1970 or later)", i,
                 luaL_tolstring(L, -1, NULL));
    }
    dt_hours_add_holiday(h, day); /* n <= the maximum: never DT_ELIMIT */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* dialtone.hours{tz=, mon_fri=, sat=, ..., holidays=} -> hours object */
static int l_hours(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    bool known = false;
    for (int i = 0; k && HOURS_KEYS[i]; i++) known = known || strcmp(k, HOURS_KEYS[i]) == 0;
    if (!known)
      return luaL_error(L, "dialtone.hours: unknown option '%s' (options: " HOURS_KEY_LIST ")",
                        k ? k : luaL_typename(L, -2));
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "tz") != LUA_TSTRING)
    return luaL_error(L, "dialtone.hours: tz is required: an IANA time zone such as \"America/New_York\"");
  const char *tzname = lua_tostring(L, -1);
  dt_hours_t *h = lua_newuserdatauv(L, sizeof *h, 1); /* before the zone: it keeps the zone alive */
  memset(h, 0, sizeof *h);
  luaL_setmetatable(L, HOURS_MT);
  h->tz = push_zone(L, tzname);
  lua_setiuservalue(L, -2, 1);
  /* the broadest key first: a day's own key wins over a group */
  bool any = day_option(L, h, "daily", 0x7f);
  any = day_option(L, h, "mon_fri", 0x3e) | any;
  any = day_option(L, h, "sat_sun", 0x41) | any;
  for (int d = 0; d < 7; d++) any = day_option(L, h, DAYS[d], 1u << d) | any;
  if (!any)
    return luaL_error(L, "dialtone.hours: no opening hours given (mon_fri = \"08:00-18:00\", sat = ..., daily = ...)");
  holidays_option(L, h);
  return 1;
}

static int64_t check_time(lua_State *L, int idx, const char *what) {
  if (lua_isnoneornil(L, idx)) return (int64_t)floor(dt__flow_time_now(dt__rt_state_of(L)));
  if (!lua_isnumber(L, idx) || lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "%s: t must be a Unix time in seconds (like dialtone.now()), got %s", what, luaL_typename(L, idx));
  double t = lua_tonumber(L, idx);
  if (!(t > -T_MAX && t < T_MAX)) luaL_error(L, "%s: t is out of range", what);
  return (int64_t)floor(t);
}

static int l_open(lua_State *L) {
  dt_hours_t *h = luaL_checkudata(L, 1, HOURS_MT);
  lua_pushboolean(L, dt_hours_open(h, check_time(L, 2, "hours:open")));
  return 1;
}

static int l_next_open(lua_State *L) {
  dt_hours_t *h = luaL_checkudata(L, 1, HOURS_MT);
  int64_t t = check_time(L, 2, "hours:next_open"), next = 0;
  if (!dt_hours_next_open(h, t, &next)) {
    lua_pushnil(L);
  } else if (next == t && !lua_isnoneornil(L, 2)) {
    lua_pushvalue(L, 2); /* open at t: t as given */
  } else if (next == t) {
    lua_pushnumber(L, dt__flow_time_now(dt__rt_state_of(L)));
  } else {
    lua_pushinteger(L, (lua_Integer)next);
  }
  return 1;
}

static int l_hours_tostring(lua_State *L) {
  dt_hours_t *h = luaL_checkudata(L, 1, HOURS_MT);
  lua_pushfstring(L, "hours (%s)", dt_tz_name(h->tz));
  return 1;
}

/* ------------------------------------------------------------------ os.time / os.date */

/* os.time([table]): with no argument the flows' clock (whole seconds, as Lua's); with a
   table, Lua's own os.time (the server's local zone, as documented for Lua). */
static int l_os_time(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_pushinteger(L, (lua_Integer)floor(dt__flow_time_now(dt__rt_state_of(L))));
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* os.date([format [, t]]): t defaults to the flows' clock. */
static int l_os_date(lua_State *L) {
  int n = lua_gettop(L);
  if (n < 1) {
    lua_pushliteral(L, "%c");
    n = 1;
  }
  if (n < 2 || lua_isnil(L, 2)) {
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)floor(dt__flow_time_now(dt__rt_state_of(L))));
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static void os_wrap(lua_State *L, const char *name, lua_CFunction fn) {
  lua_getglobal(L, "os");
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name[0] == 't' ? "os_time" : "os_date");
}

void dt__flow_time_os_funcs(lua_State *L) {
  os_wrap(L, "time", l_os_time);
  os_wrap(L, "date", l_os_date);
}

void dt__flow_time_dialtone_funcs(lua_State *L) {
  lua_newtable(L); /* the zone cache */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  luaL_newmetatable(L, ZONE_MT);
  lua_pushcfunction(L, zone_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
  luaL_newmetatable(L, HOURS_MT);
  static const luaL_Reg METHODS[] = {{"open", l_open}, {"next_open", l_next_open}, {NULL, NULL}};
  luaL_newlib(L, METHODS);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_hours_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
  static const luaL_Reg FUNCS[] = {{"now", l_now}, {"hours", l_hours}, {NULL, NULL}};
  luaL_setfuncs(L, FUNCS, 0);
}
