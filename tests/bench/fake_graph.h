/*
 * fake_graph.h — the light fixed-script fake Graph of dt_bench --light (issue 17 point 5).
 *
 * Owns: one lean_http listener playing Graph (token endpoint, OpenID configuration, JWKS,
 * the calls REST surface, recordings) and one keep-alive pool sending notifications to the
 * bot. Each call plays a fixed script (tests/bench/light_*.json, captured from the full
 * emulator): notification steps are sent in order, one in flight per call as Graph does;
 * a request step waits for the bot's request about that call with the same key
 * ("POST playPrompt", "DELETE call") and answers it with the canned status and body. A
 * request may consume any not yet consumed request step of its call with its key (the bot's
 * concurrent requests arrive in any order); one that matches none is answered 200 with a
 * generic completed operation and counted as unexpected. In any_request mode (the floor
 * bot) every request consumes the next request step whatever its key. Notifications carry
 * one RS256 token signed at start (valid for the run) with the key the JWKS serves.
 * Promises: costs far less CPU per notification than the full emulator (no JSON parsing,
 * no simulated media, no per-notification signing); counts everything it sends and gets.
 */
#ifndef DT_BENCH_FAKE_GRAPH_H
#define DT_BENCH_FAKE_GRAPH_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct fake_graph_s fake_graph_t;

typedef struct {
  uint64_t calls_placed, calls_terminated, calls_active;
  uint64_t notifications_sent, notifications_accepted, notifications_failed; /* accepted = answered 202 */
  uint64_t requests, unexpected_requests, other_requests;                    /* other = token, keys, WAVs */
} fake_stats_t;

/* A latency sample: a notification left at sent_ns; the bot's next request about the same
   call arrived lat_ns later. */
typedef void (*fake_latency_fn)(uint64_t sent_ns, uint64_t lat_ns, void *ud);

/* Loads the scripts, generates the signing key, listens on a free loopback port. Returns 0
   or -1 with a reason in err. */
int fake_graph_start(uv_loop_t *loop, const char *scripts_path, const char *app_id, const char *tenant_id,
                     fake_graph_t **out, char *err, size_t errlen);
const char *fake_graph_url(const fake_graph_t *g); /* "http://127.0.0.1:PORT" */
/* Where notifications go (the bot's callback URL, "http://127.0.0.1:PORT/api/calls") and
   how requests are matched (any_request: the floor bot). Set before placing calls. */
int fake_graph_set_bot(fake_graph_t *g, const char *bot_url, bool any_request, unsigned conns);
void fake_graph_on_latency(fake_graph_t *g, fake_latency_fn fn, void *ud);
/* Places one call with the next script (round robin). */
void fake_graph_place_call(fake_graph_t *g);
fake_stats_t fake_graph_stats(const fake_graph_t *g);
/* Ends every call without notifying, closes the pool (not the listener: the bot may still
   ask for something) and stops counting; the scripts and key stay for the next bot. */
void fake_graph_reset(fake_graph_t *g);
void fake_graph_close(fake_graph_t *g);

#endif
