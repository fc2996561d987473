/*
 * flow_http.h — dialtone.http (flow_http.c): a flow's request to a backend. Internal to lua/.
 */
#ifndef DIALTONE_FLOW_HTTP_H
#define DIALTONE_FLOW_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <lua.h>
#include "rt_internal.h"

/* The state behind dialtone.http from rt->o.http (copied): rt->http. */
void dt__flow_http_new(dt_runtime_t *rt);
/* Frees it; requests must be over (the calls' waits ended, which cancels them). */
void dt__flow_http_free(dt_runtime_t *rt);
/* Adds "http" to the table at the top of the stack (the dialtone table). */
void dt__flow_http_open(lua_State *L);

/* Whether host (as in a URL: "api.example.com", "127.0.0.1", "[::1]"; any case) at port is
   allowed by one of the patterns: "*" (any host), "host", "*.domain" (any name below domain,
   not domain itself), each optionally with ":port" ("[::1]:8080"). */
bool dt__flow_http_host_allowed(const char *const *patterns, size_t n, const char *host, int port);
/* Pushes "k=v&..." of the query table at idx, names sorted, both percent-encoded (RFC 3986
   unreserved characters kept); values are strings, numbers or booleans. Raises on bad input. */
void dt__flow_http_push_query(lua_State *L, int idx);
/* Pushes the JSON text of the Lua value at idx (a table: a sequence is an array, {} an
   object; strings, numbers, booleans). Raises on a value JSON cannot hold, cycles and
   nesting deeper than 32. */
void dt__flow_http_push_json_text(lua_State *L, int idx);

#endif
