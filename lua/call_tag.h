/*
 * call_tag.h — call:tag{...} (call_tag.c). Internal to lua/.
 */
#ifndef DIALTONE_CALL_TAG_H
#define DIALTONE_CALL_TAG_H
#include <lua.h>

/* call:tag{key = string | number, ...}: the method (registered in call_lua.c's table). */
int dt__call_tag(lua_State *L);

#endif
