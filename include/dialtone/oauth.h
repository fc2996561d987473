/*
 * oauth.h — OAuth 2.0 client-credentials token source for Graph.
 *
 * Fetches an access token from token_url (form POST: client_id, client_secret, scope,
 * grant_type=client_credentials), caches it and refreshes it ahead of expiry
 * (refresh_margin_s before expires_in runs out). However many callers ask while a fetch
 * is under way, exactly one request is in flight; all waiters are called when it ends.
 * The secret and tokens are never logged.
 */
#ifndef DIALTONE_OAUTH_H
#define DIALTONE_OAUTH_H
#include <uv.h>
#include "dialtone/client_cert.h"
#include "dialtone/http_client.h"

typedef struct dt_oauth_source_s dt_oauth_source_t;
typedef struct dt_oauth_wait_s dt_oauth_wait_t;

typedef struct {
  const char *token_url;
  const char *client_id;
  const char *client_secret;  /* or, instead: */
  const dt_client_cert_t *client_cert; /* certificate credentials (borrowed; with its key): each
                                          token request carries a fresh client assertion */
  const char *scope;          /* default "https://graph.microsoft.com/.default" */
  unsigned refresh_margin_s;  /* default 300 */
  long timeout_ms;            /* default 10000 */
  bool quiet;                 /* failures at debug level only: the caller reports them
                                 (dt_oauth_last_error), as the start-up check does */
} dt_oauth_options_t;

/* err != 0 means no token (token is NULL); token is valid during the callback only. */
typedef void (*dt_oauth_fn)(int err, const char *token, void *ud);

int dt_oauth_source_new(uv_loop_t *loop, dt_http_client_t *http, const dt_oauth_options_t *opts,
                        dt_oauth_source_t **out);
/* A valid cached token, or NULL (then call dt_oauth_get). No I/O. */
const char *dt_oauth_cached(dt_oauth_source_t *ts);
/* Asks for a token. The callback always runs later on the loop. out_wait may be NULL. */
int dt_oauth_get(dt_oauth_source_t *ts, dt_oauth_fn cb, void *ud, dt_oauth_wait_t **out_wait);
void dt_oauth_wait_cancel(dt_oauth_wait_t *w);
/* Forgets the cached token (after a 401), so the next get fetches a new one. */
void dt_oauth_invalidate(dt_oauth_source_t *ts);
/* Number of token requests sent so far (tests). */
unsigned dt_oauth_fetch_count(const dt_oauth_source_t *ts);
/* Why the last token request failed, in words (the endpoint's URL, then "connection
   refused (...)", or "answered HTTP 401: invalid_client: AADSTS7000215: ..."); NULL while
   the last one succeeded or none was sent. Valid until the next fetch ends. */
const char *dt_oauth_last_error(const dt_oauth_source_t *ts);
/* Cancels waiters (no callbacks) and frees. */
void dt_oauth_source_free(dt_oauth_source_t *ts);

#endif
