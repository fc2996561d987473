/*
 * luajson.h — cJSON to Lua values (lua/luajson.c): one conversion for the flow runtime
 * (call:participants) and `dialtone test` (json_decode, the emulator's answers).
 *
 * Promises: arrays become sequences, objects tables (null members and nameless items left
 * out), strings, booleans as they are; a number that is a whole number within ±2^53 becomes
 * a Lua integer, any other a float; null, and anything nested deeper than 64 levels, nil.
 * Pushes exactly one value (growing the Lua stack as the nesting needs).
 */
#ifndef DIALTONE_LUAJSON_H
#define DIALTONE_LUAJSON_H
#include <lua.h>
#include <cjson/cJSON.h>

void dt_lua_push_json(lua_State *L, const cJSON *j);

#endif
