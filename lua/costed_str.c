/*
 * costed_str.c — the costed string functions of costed_lib.h that are Lua's own code with
 * charges added: the pattern matcher (find, match, gmatch, gsub: one unit per matcher step,
 * per 8 bytes scanned) and rep (built by doubling, one unit per 32 bytes). Behaviour and
 * messages are Lua 5.4.4's (lstrlib.c). Those parts are:
 *
 * Copyright (C) 1994-2022 Lua.org, PUC-Rio.
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this
 * software and associated documentation files (the "Software"), to deal in the Software
 * without restriction, including without limitation the rights to use, copy, modify,
 * merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
 * permit persons to whom the Software is furnished to do so, subject to the following
 * conditions:
 *
 * The above copyright notice and this permission notice shall be included in all copies
 * or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
 * INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
 * PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
 * HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
 * CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
 * THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
#include <ctype.h>
#include <string.h>
#include "costed_internal.h"
#include "costed_str.h"

/* ---------------------------------------------------------------- positions (lstrlib.c) */

static size_t posrelatI(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  else if (pos == 0) return 1;
  else if (pos < -(lua_Integer)len) return 1;
  else return len + (size_t)pos + 1;
}

/* ---------------------------------------------------------------- rep */

/* Lua's rep loops once per repetition even when nothing is copied, so (""):rep(1e15)
   spins for days without allocating. Here the result is written once and then doubled
   (the buffer is periodic with period l + lsep), and the copying is charged. */
int dt__costed_str_rep(lua_State *L) {
  size_t l, lsep;
  const char *s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || l + lsep == 0) {
    lua_pushliteral(L, "");
  } else if (l_unlikely(l + lsep < l || l + lsep > MAXSIZE / (size_t)n)) {
    return luaL_error(L, "resulting string too large");
  } else {
    size_t totallen = (size_t)n * l + (size_t)(n - 1) * lsep;
    charge(L, 1 + bytes_units(totallen), "string.rep");
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, totallen);
    size_t filled = l;
    memcpy(p, s, l);
    if (filled < totallen) {
      memcpy(p + l, sep, lsep);
      filled += lsep;
    }
    while (filled < totallen) {
      size_t chunk = filled < totallen - filled ? filled : totallen - filled;
      memcpy(p + filled, p, chunk);
      filled += chunk;
    }
    luaL_pushresultsize(&b, totallen);
  }
  return 1;
}

/* ---------------------------------------------------------------- pattern matching (lstrlib.c) */

#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define MAXCCALLS 200
#define L_ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct MatchState {
  const char *src_init;
  const char *src_end;
  const char *p_end;
  lua_State *L;
  int matchdepth;
  unsigned char level;
  /* costing: steps not yet charged, the meter and the function's name */
  uint64_t pending;
  dt_cost_meter_t *meter;
  const char *what;
  struct {
    const char *init;
    ptrdiff_t len;
  } capture[LUA_MAXCAPTURES];
} MatchState;

static void ms_flush(MatchState *ms) {
  uint64_t units = ms->pending;
  ms->pending = 0;
  if (units && ms->meter && ms->meter->charge) ms->meter->charge(ms->L, ms->meter, units, ms->what);
}

static inline void ms_step(MatchState *ms, uint64_t units) {
  ms->pending += units;
  if (l_unlikely(ms->pending >= MATCH_BATCH)) ms_flush(ms);
}

static const char *match(MatchState *ms, const char *s, const char *p);

static int check_capture(MatchState *ms, int l) {
  l -= '1';
  if (l_unlikely(l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED))
    return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  return l;
}

static int capture_to_close(MatchState *ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == CAP_UNFINISHED) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

static const char *classend(MatchState *ms, const char *p) {
  switch (*p++) {
  case L_ESC: {
    if (l_unlikely(p == ms->p_end)) luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  case '[': {
    if (*p == '^') p++;
    do {
      if (l_unlikely(p == ms->p_end)) luaL_error(ms->L, "malformed pattern (missing ']')");
      if (*(p++) == L_ESC && p < ms->p_end) p++;
    } while (*p != ']');
    return p + 1;
  }
  default: return p;
  }
}

static int match_class(int c, int cl) {
  int res;
  switch (tolower(cl)) {
  case 'a': res = isalpha(c); break;
  case 'c': res = iscntrl(c); break;
  case 'd': res = isdigit(c); break;
  case 'g': res = isgraph(c); break;
  case 'l': res = islower(c); break;
  case 'p': res = ispunct(c); break;
  case 's': res = isspace(c); break;
  case 'u': res = isupper(c); break;
  case 'w': res = isalnum(c); break;
  case 'x': res = isxdigit(c); break;
  case 'z': res = (c == 0); break;
  default: return (cl == c);
  }
  return (islower(cl) ? res : !res);
}

static int matchbracketclass(int c, const char *p, const char *ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == L_ESC) {
      p++;
      if (match_class(c, uchar(*p))) return sig;
    } else if ((*(p + 1) == '-') && (p + 2 < ec)) {
      p += 2;
      if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
    } else if (uchar(*p) == c)
      return sig;
  }
  return !sig;
}

static int singlematch(MatchState *ms, const char *s, const char *p, const char *ep) {
  if (s >= ms->src_end) return 0;
  int c = uchar(*s);
  switch (*p) {
  case '.': return 1;
  case L_ESC: return match_class(c, uchar(*(p + 1)));
  case '[': return matchbracketclass(c, p, ep - 1);
  default: return (uchar(*p) == c);
  }
}

static const char *matchbalance(MatchState *ms, const char *s, const char *p) {
  if (l_unlikely(p >= ms->p_end - 1)) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (*s != *p) return NULL;
  int b = *p;
  int e = *(p + 1);
  int cont = 1;
  const char *start = s;
  while (++s < ms->src_end) {
    if (*s == e) {
      if (--cont == 0) {
        ms_step(ms, 1 + (uint64_t)(s - start) / 8);
        return s + 1;
      }
    } else if (*s == b)
      cont++;
  }
  ms_step(ms, 1 + (uint64_t)(s - start) / 8);
  return NULL;
}

static const char *max_expand(MatchState *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0;
  while (singlematch(ms, s + i, p, ep)) i++;
  ms_step(ms, 1 + (uint64_t)i / 8);
  while (i >= 0) {
    const char *res = match(ms, (s + i), ep + 1);
    if (res) return res;
    i--;
  }
  return NULL;
}

static const char *min_expand(MatchState *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *res = match(ms, s, ep + 1);
    if (res != NULL) return res;
    else if (singlematch(ms, s, p, ep)) s++;
    else return NULL;
  }
}

static const char *start_capture(MatchState *ms, const char *s, const char *p, int what) {
  const char *res;
  int level = ms->level;
  if (level >= LUA_MAXCAPTURES) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  if ((res = match(ms, s, p)) == NULL) ms->level--;
  return res;
}

static const char *end_capture(MatchState *ms, const char *s, const char *p) {
  int l = capture_to_close(ms);
  const char *res;
  ms->capture[l].len = s - ms->capture[l].init;
  if ((res = match(ms, s, p)) == NULL) ms->capture[l].len = CAP_UNFINISHED;
  return res;
}

static const char *match_capture(MatchState *ms, const char *s, int l) {
  size_t len;
  l = check_capture(ms, l);
  len = ms->capture[l].len;
  ms_step(ms, 1 + len / 8);
  if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  else return NULL;
}

/* One step charged per entry and per tail-recursive round: backtracking patterns make
   these exponential in number, which is exactly what must be bounded. */
static const char *match(MatchState *ms, const char *s, const char *p) {
  if (l_unlikely(ms->matchdepth-- == 0)) luaL_error(ms->L, "pattern too complex");
init:
  ms_step(ms, 1);
  if (p != ms->p_end) {
    switch (*p) {
    case '(': {
      if (*(p + 1) == ')') s = start_capture(ms, s, p + 2, CAP_POSITION);
      else s = start_capture(ms, s, p + 1, CAP_UNFINISHED);
      break;
    }
    case ')': {
      s = end_capture(ms, s, p + 1);
      break;
    }
    case '$': {
      if ((p + 1) != ms->p_end) goto dflt;
      s = (s == ms->src_end) ? s : NULL;
      break;
    }
    case L_ESC: {
      switch (*(p + 1)) {
      case 'b': {
        s = matchbalance(ms, s, p + 2);
        if (s != NULL) {
          p += 4;
          goto init;
        }
        break;
      }
      case 'f': {
        const char *ep;
        char previous;
        p += 2;
        if (l_unlikely(*p != '[')) luaL_error(ms->L, "missing '[' after '%%f' in pattern");
        ep = classend(ms, p);
        previous = (s == ms->src_init) ? '\0' : *(s - 1);
        if (!matchbracketclass(uchar(previous), p, ep - 1) && matchbracketclass(uchar(*s), p, ep - 1)) {
          p = ep;
          goto init;
        }
        s = NULL;
        break;
      }
      case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9': {
        s = match_capture(ms, s, uchar(*(p + 1)));
        if (s != NULL) {
          p += 2;
          goto init;
        }
        break;
      }
      default: goto dflt;
      }
      break;
    }
    default:
    dflt: {
      const char *ep = classend(ms, p);
      if (!singlematch(ms, s, p, ep)) {
        if (*ep == '*' || *ep == '?' || *ep == '-') {
          p = ep + 1;
          goto init;
        } else
          s = NULL;
      } else {
        switch (*ep) {
        case '?': {
          const char *res;
          if ((res = match(ms, s + 1, ep + 1)) != NULL) s = res;
          else {
            p = ep + 1;
            goto init;
          }
          break;
        }
        case '+': s++; /* FALLTHROUGH */
        case '*': s = max_expand(ms, s, p, ep); break;
        case '-': s = min_expand(ms, s, p, ep); break;
        default:
          s++;
          p = ep;
          goto init;
        }
      }
      break;
    }
    }
  }
  ms->matchdepth++;
  return s;
}

/* Plain search: memchr + memcmp per candidate, O(l1 * l2) at worst ("aaa…a" for "aa…ab"):
   each candidate is charged for the bytes it compares. */
static const char *lmemfind(MatchState *ms, const char *s1, size_t l1, const char *s2, size_t l2) {
  if (l2 == 0) return s1;
  else if (l2 > l1) return NULL;
  const char *init;
  l2--;
  l1 = l1 - l2;
  while (l1 > 0 && (init = (const char *)memchr(s1, *s2, l1)) != NULL) {
    ms_step(ms, 1 + (uint64_t)(init - s1) / 64 + l2 / 16);
    init++;
    if (memcmp(init, s2 + 1, l2) == 0) return init - 1;
    l1 -= init - s1;
    s1 = init;
  }
  ms_step(ms, 1 + l1 / 64);
  return NULL;
}

static size_t get_onecapture(MatchState *ms, int i, const char *s, const char *e, const char **cap) {
  if (i >= ms->level) {
    if (l_unlikely(i != 0)) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    *cap = s;
    return e - s;
  } else {
    ptrdiff_t capl = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (l_unlikely(capl == CAP_UNFINISHED)) luaL_error(ms->L, "unfinished capture");
    else if (capl == CAP_POSITION) lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    return capl;
  }
}

static void push_onecapture(MatchState *ms, int i, const char *s, const char *e) {
  const char *cap;
  ptrdiff_t l = get_onecapture(ms, i, s, e, &cap);
  if (l != CAP_POSITION) lua_pushlstring(ms->L, cap, l);
}

static int push_captures(MatchState *ms, const char *s, const char *e) {
  int i;
  int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (i = 0; i < nlevels; i++) push_onecapture(ms, i, s, e);
  return nlevels;
}

static int nospecials(const char *p, size_t l) {
  size_t upto = 0;
  do {
    if (strpbrk(p + upto, SPECIALS)) return 0;
    upto += strlen(p + upto) + 1;
  } while (upto <= l);
  return 1;
}

static void prepstate(MatchState *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp,
                      const char *what) {
  ms->L = L;
  ms->matchdepth = MAXCCALLS;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p + lp;
  ms->pending = 0;
  ms->meter = meter_of(L);
  ms->what = what;
}

static void reprepstate(MatchState *ms) { ms->level = 0; }

static int str_find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = posrelatI(luaL_optinteger(L, 3, 1), ls) - 1;
  MatchState ms;
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || nospecials(p, lp))) {
    prepstate(&ms, L, s, ls, p, lp, "string.find");
    ms_step(&ms, 1 + lp / 64);
    const char *s2 = lmemfind(&ms, s + init, ls - init, p, lp);
    ms_flush(&ms);
    if (s2) {
      lua_pushinteger(L, (s2 - s) + 1);
      lua_pushinteger(L, (s2 - s) + lp);
      return 2;
    }
  } else {
    const char *s1 = s + init;
    int anchor = (*p == '^');
    if (anchor) {
      p++;
      lp--;
    }
    prepstate(&ms, L, s, ls, p, lp, find ? "string.find" : "string.match");
    do {
      const char *res;
      reprepstate(&ms);
      if ((res = match(&ms, s1, p)) != NULL) {
        ms_flush(&ms);
        if (find) {
          lua_pushinteger(L, (s1 - s) + 1);
          lua_pushinteger(L, res - s);
          return push_captures(&ms, NULL, 0) + 2;
        } else
          return push_captures(&ms, s1, res);
      }
    } while (s1++ < ms.src_end && !anchor);
    ms_flush(&ms);
  }
  luaL_pushfail(L);
  return 1;
}

int dt__costed_str_find(lua_State *L) { return str_find_aux(L, 1); }
int dt__costed_str_match(lua_State *L) { return str_find_aux(L, 0); }

typedef struct GMatchState {
  const char *src;
  const char *p;
  const char *lastmatch;
  MatchState ms;
} GMatchState;

static int gmatch_aux(lua_State *L) {
  GMatchState *gm = (GMatchState *)lua_touserdata(L, lua_upvalueindex(3));
  const char *src;
  gm->ms.L = L;
  for (src = gm->src; src <= gm->ms.src_end; src++) {
    const char *e;
    reprepstate(&gm->ms);
    if ((e = match(&gm->ms, src, gm->p)) != NULL && e != gm->lastmatch) {
      gm->src = gm->lastmatch = e;
      ms_flush(&gm->ms);
      return push_captures(&gm->ms, src, e);
    }
  }
  ms_flush(&gm->ms);
  return 0;
}

int dt__costed_str_gmatch(lua_State *L) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = posrelatI(luaL_optinteger(L, 3, 1), ls) - 1;
  dt_cost_meter_t *meter = meter_of(L);
  GMatchState *gm;
  lua_settop(L, 2);
  gm = (GMatchState *)lua_newuserdatauv(L, sizeof(GMatchState), 0);
  if (init > ls) init = ls + 1;
  prepstate(&gm->ms, L, s, ls, p, lp, "string.gmatch");
  gm->ms.meter = meter; /* the iterator's upvalues are its own, not ours */
  gm->src = s + init;
  gm->p = p;
  gm->lastmatch = NULL;
  lua_pushcclosure(L, gmatch_aux, 3);
  return 1;
}

static void add_s(MatchState *ms, luaL_Buffer *b, const char *s, const char *e) {
  size_t l;
  lua_State *L = ms->L;
  const char *news = lua_tolstring(L, 3, &l);
  const char *p;
  ms_step(ms, 1 + l / DT_COST_BYTES_PER_UNIT);
  while ((p = (char *)memchr(news, L_ESC, l)) != NULL) {
    luaL_addlstring(b, news, p - news);
    p++;
    if (*p == L_ESC) luaL_addchar(b, *p);
    else if (*p == '0') luaL_addlstring(b, s, e - s);
    else if (isdigit(uchar(*p))) {
      const char *cap;
      ptrdiff_t resl = get_onecapture(ms, *p - '1', s, e, &cap);
      if (resl == CAP_POSITION) luaL_addvalue(b);
      else luaL_addlstring(b, cap, resl);
    } else
      luaL_error(L, "invalid use of '%c' in replacement string", L_ESC);
    l -= p + 1 - news;
    news = p + 1;
  }
  luaL_addlstring(b, news, l);
}

static int add_value(MatchState *ms, luaL_Buffer *b, const char *s, const char *e, int tr) {
  lua_State *L = ms->L;
  switch (tr) {
  case LUA_TFUNCTION: {
    int n;
    lua_pushvalue(L, 3);
    n = push_captures(ms, s, e);
    lua_call(L, n, 1);
    break;
  }
  case LUA_TTABLE: {
    push_onecapture(ms, 0, s, e);
    lua_gettable(L, 3);
    break;
  }
  default: {
    add_s(ms, b, s, e);
    return 1;
  }
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, s, e - s);
    return 0;
  } else if (l_unlikely(!lua_isstring(L, -1)))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  else {
    luaL_addvalue(b);
    return 1;
  }
}

int dt__costed_str_gsub(lua_State *L) {
  size_t srcl, lp;
  const char *src = luaL_checklstring(L, 1, &srcl);
  const char *p = luaL_checklstring(L, 2, &lp);
  const char *lastmatch = NULL;
  int tr = lua_type(L, 3);
  lua_Integer max_s = luaL_optinteger(L, 4, srcl + 1);
  int anchor = (*p == '^');
  lua_Integer n = 0;
  int changed = 0;
  MatchState ms;
  luaL_Buffer b;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  luaL_buffinit(L, &b);
  if (anchor) {
    p++;
    lp--;
  }
  prepstate(&ms, L, src, srcl, p, lp, "string.gsub");
  while (n < max_s) {
    const char *e;
    reprepstate(&ms);
    if ((e = match(&ms, src, p)) != NULL && e != lastmatch) {
      n++;
      changed = add_value(&ms, &b, src, e, tr) | changed;
      src = lastmatch = e;
    } else if (src < ms.src_end)
      luaL_addchar(&b, *src++);
    else
      break;
    if (anchor) break;
  }
  ms_flush(&ms);
  if (!changed) lua_pushvalue(L, 1);
  else {
    luaL_addlstring(&b, src, ms.src_end - src);
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

