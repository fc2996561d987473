/*
 * runtime.c — the flow runtime of runtime.h: its options, its metrics, and the composition
 * of the modules below it (see rt_internal.h): the capped state (rt_state.c), the sandbox
 * and prelude (sandbox.c), the flow registry (flows.c), the scheduler, the only caller of
 * lua_resume (scheduler.c). The public functions are here; each hands its job to the module
 * that owns it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "call_lua.h"
#include "flow_http.h"
#include "flows.h"
#include "libs.h"
#include "prompts.h"
#include "rt_state.h"
#include "say.h"
#include "sandbox.h"
#include "scheduler.h"

static void describe_metrics(dt_metrics_t *m) {
  static const dt_metrics_family_t METRICS[] = {
      {"dt_flow_errors_total", "counter", "Flows that ended in an error (raised, stopped by a budget, or failed to start)."},
      {"dt_flow_reloads_total", "counter",
       "Flow files compiled: result=ok (a new version) or error (the previous version stays)."},
      {"dt_flow_version", "gauge", "Current version of each flow (0 once its file was removed)."},
      {"dt_calls_active", "gauge", "Calls whose flow runs, per flow version."},
      {"dt_menu_choices_total", "counter",
       "call:menu outcomes per flow and menu (its name, else its prompt): the option chosen, or none."},
      {"dt_flow_memory_stops_total", "counter",
       "Flows stopped for Lua memory: cap=call (limits.call_memory) or cap=global (the call "
       "holding the most when limits.lua_memory_bytes was reached)."}};
  dt_metrics_describe_all(m, METRICS, DT_ARRAY_SIZE(METRICS));
}

int dt_runtime_new(const dt_runtime_options_t *opts, dt_runtime_t **out, char *err, size_t errlen) {
  if (!opts->flows_dir || !opts->prompts_base_url)
    return dt_seterr(err, errlen, DT_EINVAL, "flows_dir and prompts_base_url are required");
  dt_runtime_t *rt = dt_xcalloc(1, sizeof *rt);
  rt->o = *opts;
  rt->flows_dir = dt_xstrdup(opts->flows_dir);
  rt->prompts_dir = opts->prompts_dir ? dt_xstrdup(opts->prompts_dir) : NULL;
  size_t bl = strlen(opts->prompts_base_url);
  while (bl > 0 && opts->prompts_base_url[bl - 1] == '/') bl--;
  rt->prompts_base_url = dt_xstrndup(opts->prompts_base_url, bl);
  if (!rt->o.instruction_budget) rt->o.instruction_budget = 10000000;
  dt__say_options(rt);
  rt->mem_limit = opts->memory_bytes ? opts->memory_bytes : (size_t)1 << 30;
  rt->call_mem_limit = opts->call_memory_bytes ? opts->call_memory_bytes : DT_CALL_MEMORY_DEFAULT;
  rt->timer_scale = opts->timer_scale > 0 ? opts->timer_scale : 1.0;
  rt->instant_timers = opts->instant_timers;
  if (rt->o.metrics) describe_metrics(rt->o.metrics);
  dt__flow_http_new(rt);
  int rc = DT_ENOMEM;
  if (!dt__rt_state_new(rt, err, errlen) || (rc = dt__sandbox_open(rt, err, errlen)) != 0) {
    dt_runtime_free(rt);
    return rc;
  }
  *out = rt;
  return 0;
}

void dt_runtime_free(dt_runtime_t *rt) {
  if (!rt) return;
  rt->closing = true;
  dt__flows_free(rt);
  dt__rt_state_close(rt);
  dt__libs_free(rt);
  dt__prompts_forget(rt);
  dt__flow_http_free(rt);
  free(rt->flows_dir);
  free(rt->prompts_dir);
  free(rt->prompts_base_url);
  free(rt->tts_voice);
  free(rt->language);
  free(rt);
}

int dt_runtime_reload(dt_runtime_t *rt, unsigned *failed, char *err, size_t errlen) {
  return dt__flows_reload(rt, failed, err, errlen);
}

int dt_runtime_load_flow(dt_runtime_t *rt, const char *name, const char *text, size_t len, char *err,
                         size_t errlen) {
  return dt__flows_load(rt, name, text, len, err, errlen);
}

unsigned dt_runtime_flow_version(dt_runtime_t *rt, const char *name) { return dt__flows_version(rt, name); }

void dt_runtime_set_timer_scale(dt_runtime_t *rt, double scale) {
  rt->instant_timers = !(scale > 0);
  rt->timer_scale = scale > 0 ? scale : 1.0;
}

uint64_t dt_runtime_timer_ms(const dt_runtime_t *rt, double seconds) { return dt__call_lua_timer_ms(rt, seconds); }

size_t dt_runtime_call_memory(const dt_runtime_t *rt, const dt_call_t *c) {
  const dt_lcall_t *lc = c->rt;
  return lc && lc->mem_slot ? rt->owners[lc->mem_slot].bytes : 0;
}

size_t dt_runtime_memory(const dt_runtime_t *rt) { return rt->mem; }

bool dt_runtime_take_slowest(void *ud, char *id, size_t idlen, double *seconds) {
  dt_runtime_t *rt = ud;
  if (!rt->slowest_ns) return false;
  snprintf(id, idlen, "%s", rt->slowest_id);
  *seconds = (double)rt->slowest_ns / 1e9;
  rt->slowest_ns = 0;
  return true;
}

size_t dt_runtime_active(const dt_runtime_t *rt) { return rt->active; }

int dt_runtime_on_start(dt_call_t *call, void *rt) { return dt__scheduler_start(rt, call); }
void dt_runtime_on_result(dt_call_t *call, void *rt) { dt__scheduler_result(rt, call); }
void dt_runtime_on_release(dt_call_t *call, void *rt) { dt__scheduler_release(rt, call); }
