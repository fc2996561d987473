/*
 * lpattern.c — a Lua pattern's syntax checked whole (lpattern.h), walking it as lstrlib.c's
 * matcher would: single characters and classes with an optional quantifier, sets [...],
 * %b xy, %f[set], back-references %1-%9 to closed captures, captures ( ) and position
 * captures (), anchors ^ (first) and $ (last).
 */
#include <stdbool.h>
#include <stdio.h>
#include "dialtone/error.h"
#include "dialtone/lpattern.h"

#define MAX_CAPTURES 32 /* LUA_MAXCAPTURES */

/* The end (one past its ']') of the set whose '[' is at p[i - 1], as lstrlib.c's classEnd
   finds it: a ']' right after '[' or '[^' belongs to the set, '%' escapes the next byte.
   False when the set does not close. */
static bool set_end(const char *p, size_t n, size_t i, size_t *end) {
  if (i < n && p[i] == '^') i++;
  do {
    if (i >= n) return false;
    if (p[i++] == '%' && i < n) i++;
  } while (i >= n || p[i] != ']');
  *end = i + 1;
  return true;
}

int dt_lpattern_check(const char *p, size_t n, char *err, size_t errlen) {
  bool closed[MAX_CAPTURES];
  int ncap = 0, open = 0;
  size_t i = (n > 0 && p[0] == '^') ? 1 : 0;
  while (i < n) {
    char c = p[i];
    bool item = true; /* a single-character item: may take a quantifier */
    if (c == '(') {
      if (ncap >= MAX_CAPTURES) return dt_seterr(err, errlen, DT_EINVAL, "too many captures");
      bool position = i + 1 < n && p[i + 1] == ')';
      closed[ncap++] = position;
      if (!position) open++;
      i += position ? 2 : 1;
      continue;
    }
    if (c == ')') {
      int l = ncap - 1;
      while (l >= 0 && closed[l]) l--;
      if (l < 0) return dt_seterr(err, errlen, DT_EINVAL, "invalid pattern capture");
      closed[l] = true;
      open--;
      i++;
      continue;
    }
    if (c == '$' && i + 1 == n) break;
    if (c == '%') {
      if (i + 1 >= n) return dt_seterr(err, errlen, DT_EINVAL, "malformed pattern (ends with '%%')");
      char d = p[i + 1];
      if (d == 'b') {
        if (i + 3 >= n) return dt_seterr(err, errlen, DT_EINVAL, "missing arguments to '%%b'");
        i += 4;
        item = false;
      } else if (d == 'f') {
        i += 2;
        if (i >= n || p[i] != '[') return dt_seterr(err, errlen, DT_EINVAL, "missing '[' after '%%f' in pattern");
        size_t e;
        if (!set_end(p, n, i + 1, &e)) return dt_seterr(err, errlen, DT_EINVAL, "malformed pattern (missing ']')");
        i = e;
        item = false;
      } else if (d >= '0' && d <= '9') {
        int l = d - '1';
        if (l < 0 || l >= ncap || !closed[l])
          return dt_seterr(err, errlen, DT_EINVAL, "invalid capture index %%%d", l + 1);
        i += 2;
        item = false;
      } else {
        i += 2;
      }
    } else if (c == '[') {
      size_t e;
      if (!set_end(p, n, i + 1, &e)) return dt_seterr(err, errlen, DT_EINVAL, "malformed pattern (missing ']')");
      i = e;
    } else {
      i++;
    }
    if (item && i < n && (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?')) i++;
  }
  if (open > 0) return dt_seterr(err, errlen, DT_EINVAL, "unfinished capture");
  return 0;
}

int dt_lpattern_l_check(lua_State *L) {
  size_t n;
  const char *p = lua_tolstring(L, 1, &n);
  if (p == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, "not a string");
    return 2;
  }
  char err[128];
  if (dt_lpattern_check(p, n, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}
