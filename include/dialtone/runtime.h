/*
 * runtime.h — the flow runtime: one shared lua_State, one coroutine per call, the flow
 * registry with versions, the sandbox, budgets. Implemented in lua/ (the only place that
 * calls lua_*); the engine (src/engine.c) reaches it only through this header, as
 * Redis's script.c reaches script_lua.c.
 *
 * Promises:
 *  - Flows are the *.lua files of flows_dir; a file's name (without .lua) is the flow's
 *    name; it must return function(call). Each compile is a new version; a call keeps the
 *    version it started on until it ends (dt_runtime_reload swaps versions for new calls
 *    only; a file that does not compile changes nothing and is reported with file:line).
 *  - The hooks below are the registry's dt_calls_hooks_t (pass the runtime as ud).
 *  - Exactly one function calls lua_resume; resumes never nest (a ready queue).
 *  - A flow error ends only its own call: logged with a traceback and the call id; the
 *    "error" prompt is played if prompts_dir/error.wav exists; then the call is hung up.
 *  - Per-resume instruction budget (count hook, then a line hook after a kill so pcall
 *    cannot swallow it); library functions charge their work to it (costed_lib.h).
 *  - A capped allocator for the whole state, with every block attributed to the call that
 *    allocated it: a call over its own cap (call_memory_bytes) is stopped; at the global cap
 *    the call holding the most is stopped, even while parked in a primitive.
 */
#ifndef DIALTONE_RUNTIME_H
#define DIALTONE_RUNTIME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "dialtone/call.h"
#include "dialtone/config.h"
#include "dialtone/metrics.h"

typedef struct dt_runtime_s dt_runtime_t;

/* dialtone.http (lua/flow_http.c; docs/flows.md "HTTP from flows"). */
typedef struct {
  dt_http_client_t *client;       /* borrowed; NULL = dialtone.http raises "not available" */
  const char *const *allow;       /* host patterns flows may reach (copied); NULL = loopback
                                     only: DT_FLOW_HTTP_DEFAULT_ALLOW */
  size_t allow_count;
  double timeout_s;               /* a request's default timeout; 0 = 10 */
  double max_timeout_s;           /* the largest timeout a flow may ask for; 0 = 60 */
  size_t max_body_bytes;          /* largest response body; 0 = 1 MiB */
  unsigned max_in_flight;         /* requests in flight, all calls together; 0 = 100 */
} dt_flow_http_options_t;

#define DT_FLOW_HTTP_DEFAULT_ALLOW "localhost,127.0.0.1,[::1]"

/* A flow test's answer to a flow's request (`dialtone test`, t:http_stub): fills *res (its
   strings stay the stub's until its next call) and returns 0, or returns DT_ENOENT when no
   stub answers the request (the flow then gets an "unanswered" error). */
typedef int (*dt_runtime_http_stub_fn)(const dt_http_request_options_t *req, dt_http_response_t *res, void *ud);

typedef struct {
  uv_loop_t *loop;
  const char *flows_dir;          /* required */
  const char *prompts_dir;        /* optional: names are checked against {dir}/NAME.wav */
  const char *prompts_base_url;   /* required: "welcome" -> {base}/welcome.wav */
  uint64_t instruction_budget;    /* per resume; default 10,000,000 */
  size_t memory_bytes;            /* cap of the Lua allocator; default 1 GiB */
  size_t call_memory_bytes;       /* cap of one call's Lua memory; 0 = DT_CALL_MEMORY_DEFAULT */
  dt_metrics_t *metrics;          /* optional, borrowed */
  /* Flow timers (gather/menu timeouts and inter-digit waits, call:sleep) are multiplied
     by timer_scale; 0 or unset = 1 (real time). instant_timers: they fire at once — after
     at most DT_INSTANT_TIMER_MS of real time, so that keys already on their way over
     loopback still count (time scale 0 of the emulator). Operation deadlines are never
     scaled. */
  double timer_scale;
  bool instant_timers;
  dt_flow_http_options_t http;    /* dialtone.http */
  /* The flows' wall clock (dialtone.now, os.time, os.date, dialtone.hours): Unix seconds.
     NULL = the real clock; `dialtone test` passes its simulated one. */
  double (*clock)(void *ud);
  void *clock_ud;
  /* dialtone.settings (config flow_settings), copied when the runtime starts; borrowed. */
  const dt_config_settings_t *settings;
  /* Text to speech (call:say, the say helpers, prompts spoken from NAME.txt): espeak-ng
     voice (default "en-us") and words per minute (default 165); the cache under
     {prompts_dir}/_tts is trimmed to tts_cache_bytes (default 64 MiB); tts_no_prompts: a
     missing NAME.wav is an error even when NAME.txt exists (default: NAME.txt is spoken);
     language: that of the default prompts folder (default "en"). */
  const char *tts_voice;
  int tts_rate;
  uint64_t tts_cache_bytes;
  bool tts_no_prompts;
  const char *language;
} dt_runtime_options_t;

#define DT_INSTANT_TIMER_MS 250
#define DT_CALL_MEMORY_DEFAULT ((size_t)16 << 20)

/* Creates the state, loads the prelude. Does not load flows. */
int dt_runtime_new(const dt_runtime_options_t *opts, dt_runtime_t **out, char *err, size_t errlen);
/* Closes every coroutine still alive and the state. Calls must already be released. */
void dt_runtime_free(dt_runtime_t *rt);

/* Loads or reloads every flow file of flows_dir. Returns the number of flows that compiled
   (new or changed) or a negative DT_E*; *failed (optional) gets the number that did not
   compile (each is logged with file:line; with errbuf, the first message is copied). */
int dt_runtime_reload(dt_runtime_t *rt, unsigned *failed, char *err, size_t errlen);
/* Compiles one flow from text (tests, `dialtone test`); replaces a flow of that name. */
int dt_runtime_load_flow(dt_runtime_t *rt, const char *name, const char *text, size_t len, char *err,
                         size_t errlen);
/* Changes the flow timer scale for primitives started from now on (scale <= 0 = instant). */
void dt_runtime_set_timer_scale(dt_runtime_t *rt, double scale);
/* A flow wait of `seconds` as timer milliseconds under the timer scale (at least 1). */
uint64_t dt_runtime_timer_ms(const dt_runtime_t *rt, double seconds);
/* Current version of a flow (0 = no such flow). */
unsigned dt_runtime_flow_version(dt_runtime_t *rt, const char *name);
/* Lua bytes attributed to one call (what it allocated and still holds). */
size_t dt_runtime_call_memory(const dt_runtime_t *rt, const dt_call_t *call);
/* Bytes held by the Lua allocator. */
size_t dt_runtime_memory(const dt_runtime_t *rt);
/* For the loop-stall watchdog (loop_watch.h's blame, ud = the runtime): the call whose
   single resume took longest since the last question, and its seconds; then forgets it. */
bool dt_runtime_take_slowest(void *rt, char *id, size_t idlen, double *seconds);
/* From now on dialtone.http asks fn instead of the network (NULL: the network again). */
void dt_runtime_set_http_stub(dt_runtime_t *rt, dt_runtime_http_stub_fn fn, void *ud);
/* dialtone.http requests on the network now (for tests and the drain). */
size_t dt_runtime_http_in_flight(const dt_runtime_t *rt);
/* Speech syntheses queued or running in this process (say.c), for a settled clock. */
size_t dt_runtime_synth_pending(void);
/* Coroutines alive (calls whose flow has not finished). */
size_t dt_runtime_active(const dt_runtime_t *rt);

/* Registry hooks (ud = the runtime). */
int dt_runtime_on_start(dt_call_t *call, void *rt);
void dt_runtime_on_result(dt_call_t *call, void *rt);
void dt_runtime_on_release(dt_call_t *call, void *rt);

#endif
