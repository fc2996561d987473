/*
 * costed_str.h — the costed string functions (costed_str.c): the pattern functions and rep.
 * Each is a C closure whose upvalue 1 is the meter (light userdata). Internal to lua/.
 */
#ifndef DIALTONE_COSTED_STR_H
#define DIALTONE_COSTED_STR_H
#include <lua.h>

int dt__costed_str_find(lua_State *L);
int dt__costed_str_match(lua_State *L);
int dt__costed_str_gmatch(lua_State *L);
int dt__costed_str_gsub(lua_State *L);
int dt__costed_str_rep(lua_State *L);

#endif
