/*
 * prompts.c — prompt names as the flow runtime sees them (see rt_internal.h for the
 * modules): a name or URL checked and turned into the URL the Graph API fetches
 * ({prompts_base_url}/NAME.wav), and whether {prompts_dir}/NAME.wav exists, with the answer
 * cached for up to a second. Owns rt->prompt_seen.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lauxlib.h>
#include "dialtone/common.h"
#include "prompts.h"

/* Every play and gather checks its prompts exist; a stat per prompt was the engine's most
   frequent system call after the network ones. An answer is reused for up to a second,
   so a prompt file added or removed is noticed within that. */
#define PROMPT_SEEN_SLOTS 64
#define PROMPT_SEEN_MS 1000

struct dt_prompt_seen_s {
  char *name;
  uint64_t at_ms;
  bool exists;
};

void dt__prompts_forget(dt_runtime_t *rt) {
  if (!rt->prompt_seen) return;
  for (size_t i = 0; i < PROMPT_SEEN_SLOTS; i++) free(rt->prompt_seen[i].name);
  free(rt->prompt_seen);
  rt->prompt_seen = NULL;
}

bool dt__prompts_exists(dt_runtime_t *rt, const char *name) {
  if (!rt->prompts_dir) return false;
  uint64_t now = dt_now_ms(), h = 1469598103934665603ull;
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  struct dt_prompt_seen_s *e = rt->prompt_seen ? &rt->prompt_seen[h % PROMPT_SEEN_SLOTS] : NULL;
  if (e && e->name && now - e->at_ms < PROMPT_SEEN_MS && strcmp(e->name, name) == 0) return e->exists;
  char path[1024];
  size_t n = strlen(name);
  bool wav = n > 4 && strcmp(name + n - 4, ".wav") == 0;
  snprintf(path, sizeof path, "%s/%s%s", rt->prompts_dir, name, wav ? "" : ".wav");
  struct stat st;
  bool exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
  if (!rt->prompt_seen) rt->prompt_seen = dt_xcalloc(PROMPT_SEEN_SLOTS, sizeof *rt->prompt_seen);
  e = &rt->prompt_seen[h % PROMPT_SEEN_SLOTS];
  if (!e->name || strcmp(e->name, name) != 0) {
    free(e->name);
    e->name = dt_xstrdup(name);
  }
  e->at_ms = now;
  e->exists = exists;
  return exists;
}

bool dt__prompts_name_ok(const char *name) {
  size_t n = strlen(name);
  bool ok = n > 0 && n <= 200 && name[0] != '/' && name[0] != '.' && strstr(name, "..") == NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.' || name[i] == '/';
  return ok;
}

const char *dt__prompts_uri(lua_State *L, dt_runtime_t *rt, const char *name) {
  if (strstr(name, "://")) {
    if (strncmp(name, "http://", 7) != 0 && strncmp(name, "https://", 8) != 0)
      luaL_error(L, "prompt '%s': only http and https URLs are allowed", name);
    lua_pushstring(L, name);
    return lua_tostring(L, -1);
  }
  size_t n = strlen(name);
  if (!dt__prompts_name_ok(name)) luaL_error(L, "bad prompt name '%s' (letters, digits, _ - . / only, or a full URL)", name);
  if (rt->prompts_dir && !dt__prompts_exists(rt, name))
    luaL_error(L, "unknown prompt '%s' (no %s/%s.wav)", name, rt->prompts_dir, name);
  bool wav = n > 4 && strcmp(name + n - 4, ".wav") == 0;
  lua_pushfstring(L, "%s/%s%s", rt->prompts_base_url, name, wav ? "" : ".wav");
  return lua_tostring(L, -1);
}
