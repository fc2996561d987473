/*
 * roster_lua.h — the call handle's roster and participant methods (roster_lua.c):
 * wait_participant, participant, mute_participant, remove_participant, start_hold_music,
 * stop_hold_music. Internal to lua/.
 */
#ifndef DIALTONE_ROSTER_LUA_H
#define DIALTONE_ROSTER_LUA_H
#include <lua.h>

/* Adds the methods to the methods table at the top of the stack. */
void dt__roster_lua_open(lua_State *L);

#endif
