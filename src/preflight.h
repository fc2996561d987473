/*
 * preflight.h — `dialtone run`'s start-up checks (src/preflight.c).
 *
 * With real Graph settings, before the engine listens: one token from the token endpoint
 * and the inbound key set (OpenID configuration -> jwks_uri, or inbound.jwks_url) must
 * load, or `run` exits 1 with one line naming what failed, the URL, the cause in words
 * (connection refused, DNS, TLS certificate, timeout, the identity platform's error code
 * and description) and the fix where it is obvious. Plus the warnings about settings that
 * will not work with real Graph (a callback URL that is not public HTTPS) and the ones the
 * embedded emulator does not use.
 */
#ifndef DIALTONE_PREFLIGHT_H
#define DIALTONE_PREFLIGHT_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "dialtone/config.h"

/* Runs the checks on loop (which must have nothing else to do) and returns 0, or an error
   code with err holding the one line to log. */
int dt_preflight_run(uv_loop_t *loop, const dt_config_t *cfg, char *err, size_t errlen);

/* Why Graph cannot call public_url back (it is http:// or names a loopback or
   unspecified host), with the fix; false when it looks public HTTPS. Pure. */
bool dt_preflight_public_url_problem(const char *public_url, char *out, size_t outlen);

/* The fix to suggest for a token endpoint failure, from the oauth error text ("" if none). */
const char *dt_preflight_token_hint(const char *error_text);

/* Logs a warning for each setting the chosen mode does not use: with real Graph, a
   public_url Graph cannot reach; with the embedded emulator, the inbound.* and graph.*
   keys an operator set that only apply to real Graph. Returns how many it logged. */
int dt_preflight_warn_settings(const dt_config_t *cfg, bool real_graph);

#endif
