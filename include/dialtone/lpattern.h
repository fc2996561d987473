/*
 * lpattern.h — checks that a Lua pattern is well formed (lua/lpattern.c) without matching
 * anything. Lua reports a malformed pattern only when the matcher reaches the bad part
 * (string.find("", "^%d(") succeeds), so a pattern a flow supplies (call:gather's pattern,
 * dialtone.prompts' pattern) is checked here once, whole, by call:gather and by
 * `dialtone check`.
 *
 * Promises: the same errors and wording as Lua 5.4's lstrlib.c ("malformed pattern (ends
 * with '%')", "malformed pattern (missing ']')", "unfinished capture", "invalid pattern
 * capture", "missing '[' after '%f' in pattern", "missing arguments to '%b'", "invalid
 * capture index %N", "too many captures"); linear in the pattern's length.
 */
#ifndef DIALTONE_LPATTERN_H
#define DIALTONE_LPATTERN_H
#include <stddef.h>
#include <lua.h>

/* 0 when p[0..n) is a well-formed pattern, else DT_EINVAL with the reason in err. */
int dt_lpattern_check(const char *p, size_t n, char *err, size_t errlen);
/* As a Lua function: check(pattern) -> true | nil, reason. */
int dt_lpattern_l_check(lua_State *L);

#endif
