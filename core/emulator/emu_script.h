/*
 * emu_script.h — caller scripts (emu_script.c): the JSON array of steps a simulated party
 * runs, and the cursor that arms each step on its trigger. What a due step does is the
 * upper module's (dt_emulator_s.script_act). Calls emu_util, emu_sched, emu_timeline.
 */
#ifndef DT_EMU_SCRIPT_H
#define DT_EMU_SCRIPT_H
#include "emu_model.h"

/* Parses a script (JSON array; NULL or null = empty). On error returns DT_EINVAL with a
   message in err and out empty. */
int dt__emu_script_parse(const cJSON *arr, emu_script_t *out, char *err, size_t errlen);
void dt__emu_script_free(emu_script_t *s);
void dt__emu_script_copy(emu_script_t *dst, const emu_script_t *src);
cJSON *dt__emu_script_json(const emu_script_t *s);

/* Runs c->script from its first step (a step without "on" runs after_ms from now). */
void dt__emu_script_start(emu_call_t *c);
/* Something happened to the party at simulated time at (on: EMU_ON_*; name/url: the
   prompt's): the step that waits for it (and matches) runs after_ms later. */
void dt__emu_script_trigger(emu_call_t *c, int on, const char *name, const char *url, uint64_t at);

#endif
