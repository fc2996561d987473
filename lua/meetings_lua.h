/*
 * meetings_lua.h — dialtone.meetings.create / get (meetings_lua.c). Internal to lua/.
 */
#ifndef DIALTONE_MEETINGS_LUA_H
#define DIALTONE_MEETINGS_LUA_H
#include <lua.h>

/* Adds the "meetings" table to the table at the top of the stack (the dialtone table). */
void dt__meetings_lua_open(lua_State *L);

#endif
