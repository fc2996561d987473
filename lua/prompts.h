/*
 * prompts.h — prompt names -> URLs, and whether a prompt file exists (prompts.c).
 * Internal to lua/.
 */
#ifndef DIALTONE_PROMPTS_H
#define DIALTONE_PROMPTS_H
#include <stdbool.h>
#include <lua.h>
#include "rt_internal.h"

/* Whether {prompts_dir}/NAME.wav (or NAME, when it ends in .wav) is a regular file; false
   without a prompts_dir. The answer is reused for up to a second. */
bool dt__prompts_exists(dt_runtime_t *rt, const char *name);
/* Whether name is a prompt name (1..200 of letters, digits, _ - . /, not starting with / or .,
   no ".."). */
bool dt__prompts_name_ok(const char *name);
/* Forgets the cached answers (a reload looks at the files afresh; the runtime's end). */
void dt__prompts_forget(dt_runtime_t *rt);
/* The prompt name or http(s) URL as a URL, pushed onto L's stack and returned; raises on a
   bad name, or an unknown one when there is a prompts_dir. */
const char *dt__prompts_uri(lua_State *L, dt_runtime_t *rt, const char *name);

#endif
