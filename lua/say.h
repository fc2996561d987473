/*
 * say.h — call:say, the say helpers, call:set_language, prompts by language and spoken from
 * their transcripts (say.c). Internal to lua/.
 */
#ifndef DIALTONE_SAY_H
#define DIALTONE_SAY_H
#include <lua.h>
#include "rt_internal.h"

/* Fills the runtime's text-to-speech defaults (voice, rate, cache size, language). */
void dt__say_options(dt_runtime_t *rt);
/* Adds say, say_digits, say_number, say_date, say_time, say_money, set_language to the
   methods table at the top of the stack. */
void dt__say_open(lua_State *L);
/* The call leaves: its speech job (if any) forgets it, or is dropped when not started. */
void dt__say_forget(dt_lcall_t *lc);
/* A prompt name or URL as a URL, pushed and returned: {prompts_dir}/LANG/NAME.wav for the
   call's language, else NAME.wav, else NAME.txt spoken (rendered first when not cached,
   running the primitive that asked again: does not return then). Raises as
   dt__prompts_uri does for a bad or unknown name. */
const char *dt__say_prompt_uri(lua_State *L, const char *name);

#endif
