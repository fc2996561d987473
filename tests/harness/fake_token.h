/*
 * fake_token.h — the token endpoint and bearer check of the fake Graphs that
 * test_graph_client and test_graph_retry run on dt_http_server (header-only).
 *
 * The fake issues a fresh token "tok-N" for the N-th request to /token (expires_in 3599,
 * the way Entra answers client credentials) and accepts a Graph request only with
 * "Authorization: Bearer <the token it issued last>"; a test revokes the token by
 * overwriting the fake's copy. The fake's own struct keeps the count and the token; these
 * helpers take them by pointer. respond() answers with the optional Location/Retry-After
 * headers the fakes need.
 */
#ifndef DT_HARNESS_FAKE_TOKEN_H
#define DT_HARNESS_FAKE_TOKEN_H
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "dialtone/http_server.h"

/* Answers req: a JSON body when body != NULL, Location and Retry-After when given. */
static inline void respond(dt_http_request_t *req, int status, const char *location, const char *retry_after,
                           const char *body) {
  /* initialised: once inlined, gcc cannot see that n bounds the reads */
  dt_http_header_t h[3] = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
  size_t n = 0;
  if (body) h[n++] = (dt_http_header_t){"Content-Type", "application/json"};
  if (location) h[n++] = (dt_http_header_t){"Location", location};
  if (retry_after) h[n++] = (dt_http_header_t){"Retry-After", retry_after};
  dt_http_respond_ex(req, status, h, n, body, body ? strlen(body) : 0);
}

static inline bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* When req is for /token: counts it in *requests, issues "tok-<count>" into valid and
   answers with it; returns true. Any other path: false, nothing done. */
static inline bool fake_token_serve(dt_http_request_t *req, int *requests, char *valid, size_t validlen) {
  if (strcmp(req->path, "/token") != 0) return false;
  char body[128];
  (*requests)++;
  snprintf(valid, validlen, "tok-%d", *requests);
  snprintf(body, sizeof body, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"%s\"}", valid);
  respond(req, 200, NULL, NULL, body);
  return true;
}

/* True when req carries "Authorization: Bearer <valid>". */
static inline bool fake_token_accepts(dt_http_request_t *req, const char *valid) {
  char want[64];
  snprintf(want, sizeof want, "Bearer %s", valid);
  const char *auth = dt_http_request_header(req, "Authorization");
  return auth != NULL && strcmp(auth, want) == 0;
}

/* Graph's answer to a bearer token it does not accept. */
static inline void fake_token_reject(dt_http_request_t *req) {
  respond(req, 401, NULL, NULL,
          "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"Access token validation failure.\"}}");
}

#endif
