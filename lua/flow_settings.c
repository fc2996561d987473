/*
 * flow_settings.c — dialtone.settings (see flow_settings.h): the config's flow_settings
 * (core/calls/config_settings.c, already validated and bounded) as a Lua table, made once
 * when the runtime starts. The prelude turns it into a read-only view shared by every
 * flow: a flow that assigns to it gets "dialtone.settings is read-only".
 */
#include "flow_settings.h"

void dt__flow_settings_push(lua_State *L, const dt_config_settings_t *s) {
  lua_createtable(L, 0, s ? (int)s->count : 0);
  for (size_t i = 0; s && i < s->count; i++) {
    const dt_setting_t *it = &s->items[i];
    if (it->type == DT_SETTING_STRING) {
      lua_pushstring(L, it->str);
    } else if (it->type == DT_SETTING_BOOLEAN) {
      lua_pushboolean(L, it->flag);
    } else if (it->num == (double)(lua_Integer)it->num && it->num >= -9.2e18 && it->num <= 9.2e18) {
      lua_pushinteger(L, (lua_Integer)it->num); /* 3 stays an integer, as written */
    } else {
      lua_pushnumber(L, it->num);
    }
    lua_setfield(L, -2, it->name);
  }
}
