/*
 * localrun.h — dialtone's engine and its Graph calls emulator in one process, on one
 * libuv loop, talking to each other over real HTTP on loopback. It is what `dialtone demo`,
 * `dialtone console` and `dialtone test` stand on.
 *
 * Promises: dt_localrun_start starts the emulator (time_scale as given; 0 = instant) and
 * the engine with flows from flows_dir, the engine's Graph, token and inbound JWKS URLs all
 * pointing at the emulator, the emulator's bot URL at the engine's callback. Every timeline
 * entry the emulator records (requests received, notifications sent, prompts played,
 * recordings, transfers, hangups — the same JSON objects GET /emulator/calls/{id}/timeline
 * returns, see docs/emulator.md) is handed to the event hook, in order, on the loop.
 * Callers act on the emulator through its typed control API (dt_localrun_emulator, then
 * dt_emulator_place_call, dt_emulator_press ...); dt_localrun_control addresses the same
 * API by method and path (dt_emulator_control). dt_localrun_place_call routes an incoming
 * call to a named flow and dt_localrun_dial places an outbound call that runs a named
 * flow, both from C. Closing stops both and frees everything.
 */
#ifndef DIALTONE_LOCALRUN_H
#define DIALTONE_LOCALRUN_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/engine.h"
#include "dialtone/emulator.h"
#include "dialtone/graph.h"

typedef struct dt_localrun_s dt_localrun_t;

typedef struct {
  const char *flows_dir;        /* default "flows" */
  const char *prompts_dir;      /* default {flows_dir}/prompts */
  const char *recordings_dir;   /* default: a fresh temporary directory, removed at close */
  const char *cdr_path;         /* optional */
  double time_scale;            /* 1 real time, 0 instant; the emulator's media and the engine's
                                   flow timers (gather timeouts, call:sleep) both follow it */
  dt_graph_dialect_t dialect;
  int quiet;                    /* non-zero: engine and emulator log warnings and errors only */
  const char *default_flow;     /* the flow incoming calls run; default "main" */
  const dt_route_t *routes;     /* routes tried before default_flow (copied); may be NULL */
  size_t route_count;
  int keepalive_interval_s;     /* the engine's keepAlive period: 0 = 1800 (the default of
                                   graph.keepalive_interval_s), < 0 = never (then the
                                   emulator ends every call after 45 minutes) */
  int keepalive_simulated;      /* time scale 0 with a clock the caller moves (`dialtone test`):
                                   the emulator's 45-minute rule and the engine's keepAlive
                                   both run on the simulated clock; the caller moves the clock
                                   to the engine's keepAlives (dt_localrun_keepalive_step).
                                   Not with settled_clock, whose idle jumps would chase them */
  const char *application_instance_id; /* graph.application_instance_id for the engine (PSTN
                                   dials); NULL = none: the emulator refuses them, as Graph */
  int settled_clock;            /* time_scale 0 only: the emulator's clock is manual and moves
                                   to its next instant only once the engine and the emulator
                                   have settled (dt_localrun_settled for LR_QUIET_TURNS loop
                                   turns), so what the engine does in answer to an event
                                   happens at that event's simulated instant (`dialtone demo`;
                                   `dialtone test` moves the clock itself) */
  const dt_config_settings_t *flow_settings; /* dialtone.settings; borrowed; NULL = none */
} dt_localrun_options_t;

/* One timeline entry (owned by the emulator; valid during the call only). */
typedef void (*dt_localrun_event_fn)(const cJSON *entry, void *ud);

/* On success err may still hold a warning: a flow that did not compile (its calls fail). */
int dt_localrun_start(uv_loop_t *loop, const dt_localrun_options_t *opts, dt_localrun_t **out,
                      char *err, size_t errlen);
dt_engine_t *dt_localrun_engine(dt_localrun_t *lr);
/* The flows' wall clock (dialtone.now, os.time, os.date) in Unix seconds. At time scale 0
   it is the emulator's simulated clock from the real time of the start (or the time set
   below), so it moves only as simulated time does; otherwise the real clock. */
double dt_localrun_wall_clock(const dt_localrun_t *lr);
/* Time scale 0: the flows' wall clock reads unix_s now and runs on from there with the
   simulated clock (`dialtone test`'s t:set_time). */
void dt_localrun_set_wall_clock(dt_localrun_t *lr, double unix_s);
/* Time scale 0: when the engine's next keepAlive (on the simulated clock) comes before the
   emulator's next event and no later than target (< 0: no limit), moves the clock to it
   and sends the keepAlives due then. True when it did (the caller lets the loop settle). */
bool dt_localrun_keepalive_step(dt_localrun_t *lr, int64_t target);
dt_emulator_t *dt_localrun_emulator(dt_localrun_t *lr);
const char *dt_localrun_recordings_dir(const dt_localrun_t *lr);
/* Installs (or with fn NULL removes) the hook that sees every timeline entry of every call. */
void dt_localrun_on_event(dt_localrun_t *lr, dt_localrun_event_fn fn, void *ud);
/* A control API request in-process: method "GET"/"POST"/..., path as under /emulator
   (e.g. "/calls", "/calls/ID/tones"), body JSON text or NULL. Returns the HTTP status the
   control API would answer; *response (may be NULL) receives the parsed JSON answer, which
   the caller frees with cJSON_Delete. */
int dt_localrun_control(dt_localrun_t *lr, const char *method, const char *path, const char *body,
                        cJSON **response);
/* Places an incoming call (the emulator's dt_emulator_place_call; call may be NULL) that
   runs the named flow whatever the engine's routes say; flow NULL or "" = the routes (and
   the default flow) decide. A flow the engine does not hold: DT_ENOENT, err "no flow named
   'X'", nothing placed. The call's id goes to call_id (may be NULL). */
int dt_localrun_place_call(dt_localrun_t *lr, const char *flow, const dt_emulator_call_options_t *call,
                           char call_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen);
/* Makes the engine place an outbound call, as dialtone.dial{flow=flow, ...} would from a
   flow but with no calling call: p gives the targets or the meeting (p->callback_uri is
   ignored); the new call runs the named flow once answered. A flow the engine does not
   hold: DT_ENOENT, "no flow named 'X'", nothing dialed. The call shows in the emulator as
   an "outgoing" timeline entry (dialtone test's t:expect_dial finds it there). */
int dt_localrun_dial(dt_localrun_t *lr, const char *flow, const dt_graph_create_params_t *p, char *err,
                     size_t errlen);
/* Whether the engine and the emulator have settled: the emulator owes nothing
   (dt_emulator_busy) and nothing is due on the loop (uv_backend_timeout is not 0: no idle
   handle, pending callback or expired timer — the engine's Graph requests start from a 0 ms
   timer). A caller's own timers count: stop them before asking. What one side wrote on
   loopback is read by the other in the next loop turn's poll, so callers wait for several
   settled turns in a row before moving the simulated clock. */
bool dt_localrun_settled(dt_localrun_t *lr);
/* Closes engine then emulator; done (may be NULL) runs from the loop when all is freed. */
void dt_localrun_close(dt_localrun_t *lr, void (*done)(void *ud), void *ud);

#endif
