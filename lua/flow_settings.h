/*
 * flow_settings.h — dialtone.settings (flow_settings.c). Internal to lua/.
 */
#ifndef DIALTONE_FLOW_SETTINGS_H
#define DIALTONE_FLOW_SETTINGS_H
#include <lua.h>
#include "dialtone/config_settings.h"

/* Pushes a new table name -> value of the settings (s NULL: an empty table). The prelude
   makes it read-only, as every library table a flow sees. */
void dt__flow_settings_push(lua_State *L, const dt_config_settings_t *s);

#endif
