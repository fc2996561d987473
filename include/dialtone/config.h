/*
 * config.h — dialtone's configuration: one plain C struct with every key, its defaults,
 * environment overrides and validation. Engine-neutral: the Lua config file is read by
 * lua/config_lua.c (config_lua.h), which feeds values in through the setters below.
 *
 * Precedence, lowest first: built-in defaults, the config file, DIALTONE_* environment
 * variables, command-line flags (dt_config_set_text with an origin such as "--listen").
 * Then dt_config_finalize() fills the defaults that derive from other keys and validates
 * everything. Every error message starts with the key's path (or the variable's name)
 * and says where the bad value came from and what would be accepted.
 *
 * Environment: every key KEY.PATH has DIALTONE_KEY_PATH (upper case, dots become
 * underscores: DIALTONE_LIMITS_OP_TIMEOUT_S, DIALTONE_TLS_CERT), plus the documented
 * aliases DIALTONE_GRAPH_URL, DIALTONE_TENANT_ID, DIALTONE_CLIENT_ID,
 * DIALTONE_CLIENT_SECRET, DIALTONE_TOKEN_URL, DIALTONE_JWKS_URL. An empty variable
 * counts as unset. Lists are comma-separated (DIALTONE_INBOUND_ISSUERS=a,b) and routes
 * are match=flow pairs (DIALTONE_ROUTES=+15550100=sales,28:app-id=support).
 *
 * All strings in the struct are owned by it (NULL = unset) and freed by dt_config_free.
 * Secrets (graph.client_secret, admin.token) are never logged: dt_config_dump masks them.
 */
#ifndef DIALTONE_CONFIG_H
#define DIALTONE_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dialtone/common.h"
#include "dialtone/config_settings.h"

#define DIALTONE_VERSION "0.1.0"
#define DT_CONFIG_DEFAULT_FILE "dialtone.conf.lua"
#define DT_CONFIG_MAX_KEYS 128

typedef struct {
  char *match; /* the called identity: an application id, a phone number ("+15550100"), ...;
                  NULL = any (a route that matches on the other keys only) */
  char *flow;  /* flow name (file name in flows/ without ".lua") */
  char *subject;              /* glob on the call's subject; NULL = any */
  uint8_t policy_recording;   /* dt_route_flag_t (call.h): 0 either, 1 yes, 2 no; the
                                 conditions of dt_route_t (call_incoming.h) */
  uint8_t transferred;
  uint8_t meeting;
} dt_config_route_t;

typedef struct {
  char **items;
  size_t count;
} dt_config_strlist_t;

typedef struct {
  char *listen;        /* "127.0.0.1:8080"; "host:port", "[::1]:8080"; port 0 = any free port */
  char *public_url;    /* default "http(s)://{listen}": base of every callbackUri */
  char *callback_path; /* "/api/calls" */
  struct {
    char *cert;        /* PEM files; both or neither (HTTPS ingress) */
    char *key;
  } tls;
  struct {
    char *listen;      /* unset: /metrics and /calls on the public listener */
    char *token;       /* secret: bearer token for /metrics and /calls; unset = none */
    double health_check_s; /* key set download + token check period for /healthz; 60 */
  } admin;
  char *flows;         /* "flows": directory of flow scripts, watched */
  struct {
    char *dir;         /* default "{flows}/prompts" */
    char *base_url;    /* default "{public_url}/prompts" */
  } prompts;
  struct {
    char *voice;       /* "en-us": espeak-ng voice of call:say and spoken prompts */
    char *language;    /* "en": the language of the default prompts folder */
    int64_t rate;      /* 165 words per minute */
    int64_t cache_mb;  /* 64: the speech cache {prompts.dir}/_tts is trimmed to this */
    int64_t prompts;   /* 1: speak NAME.txt when NAME.wav is missing; 0: an error */
  } tts;
  char *recordings;    /* "recordings": where recordings are stored */
  char *cdr;           /* "cdr.jsonl": call detail records, one JSON object a line */
  char *cdr_spool;     /* unset: where CDRs go that the cdr file cannot take once memory is full */
  struct {
    dt_config_route_t *items; /* tried in order; first match wins */
    size_t count;
    char *default_flow;       /* Lua key routes.default; "main" */
  } routes;
  struct {
    char *base_url;      /* e.g. "https://graph.microsoft.com/v1.0"; defaults to that (per
                            dialect) once all three credentials are set, else NULL */
    char *dialect;       /* "v1.0" (default) or "beta" */
    char *tenant_id;
    char *client_id;
    char *client_secret; /* secret: never logged */
    struct {
      char *cert, *key;  /* certificate credentials instead of the secret (PEM files) */
    } client_certificate;
    char *token_url;     /* default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token */
    char *ca_file;       /* CA bundle for Graph's HTTPS instead of the system's; NULL = the system's */
    int64_t keepalive_interval_s; /* keepAlive period per established call: 900..2700, 0 = off; 1800 */
    char *application_instance_id;   /* unset: calls to phone numbers name no source (Graph refuses them) */
    char *application_instance_name; /* optional displayName; needs the id */
  } graph;
  struct {
    char *jwks_url;      /* either this ... */
    char *openid_config; /* ... or this (default Graph's, used only when jwks_url is unset) */
    dt_config_strlist_t issuers; /* default botframework + graph.microsoft.com */
    char *audience;      /* default graph.client_id */
  } inbound;
  struct {
    char *listen;        /* "127.0.0.1:0" */
    double time_scale;   /* 1.0; 0 = instant */
  } emulator;
  struct {
    char *level;         /* "debug" | "info" (default) | "warn" | "error" | "off" */
    char *format;        /* "text" (default) | "json" */
  } log;
  struct {
    int64_t max_body_bytes;     /* 1 MiB */
    int64_t max_header_bytes;   /* 16 KiB */
    int64_t max_connections;    /* 10000 (lowered to fit RLIMIT_NOFILE by dialtone run) */
    int64_t max_connections_per_ip; /* 0 = no cap */
    int64_t header_timeout_ms;  /* 10000 */
    int64_t max_body_total_bytes; /* 64 MiB */
    int64_t idle_timeout_ms;    /* 60000 */
    int64_t request_timeout_ms; /* 10000 */
    int64_t instruction_budget; /* per resume, 10,000,000 */
    int64_t lua_memory_bytes;   /* all flows together, 64 MiB */
    int64_t call_memory;        /* one call's Lua memory in bytes, 16 MiB */
    double op_timeout_s;        /* per Graph operation, 30 */
    double drain_timeout_s;     /* on shutdown, 30 */
    int64_t max_calls;          /* 100000 */
    int64_t cdr_spool_records;  /* CDRs kept in memory while the cdr file fails, 10000 */
  } limits;
  struct {                      /* dialtone.http (docs/flows.md "HTTP from flows") */
    dt_config_strlist_t allow;  /* host patterns flows may reach; default loopback only */
    double timeout_s;           /* a request's default timeout, 10 */
    double max_timeout_s;       /* the largest timeout a flow may ask for, 60 */
    int64_t max_body;           /* largest response body in bytes, 1 MiB */
    int64_t max_in_flight;      /* requests in flight, all calls together, 100 */
  } http;
  dt_config_settings_t flow_settings; /* dialtone.settings for flows (config_settings.h) */

  /* private: where each key's value came from ("default", "derived", a file name, a
     variable name, a flag), indexed like the schema. */
  char *origin_[DT_CONFIG_MAX_KEYS];
} dt_config_t;

/* ---- lifecycle -------------------------------------------------------------------- */

/* Fills cfg with the built-in defaults (derived defaults come in finalize). */
void dt_config_init(dt_config_t *cfg);
void dt_config_free(dt_config_t *cfg);
/* Applies every DIALTONE_* variable present in the environment. Errors name the variable. */
int dt_config_apply_env(dt_config_t *cfg, char *err, size_t errlen);
/* Fills derived defaults and validates the whole configuration. Call once, last. */
int dt_config_finalize(dt_config_t *cfg, char *err, size_t errlen);
/* After binding a listen address with port 0: puts the real port into listen and into
   every URL that was derived from it (public_url, prompts.base_url). */
void dt_config_bound_port(dt_config_t *cfg, int port);

/* true when graph base_url, tenant_id, client_id and client_secret are all set: talk to
   the real Graph; otherwise dialtone starts the embedded emulator. */
bool dt_config_has_graph_credentials(const dt_config_t *cfg);

/* Appends the configuration as a Lua table (a valid config file), secrets masked. */
void dt_config_dump(const dt_config_t *cfg, dt_buf_t *out);
/* Where the value of key path came from; NULL for an unknown path. */
const char *dt_config_origin(const dt_config_t *cfg, const char *path);

/* ---- the schema (used by config file loaders) ------------------------------------ */

typedef enum {
  DT_CFG_TABLE = 0, /* a group of keys ("graph", "limits") */
  DT_CFG_STRING,
  DT_CFG_INTEGER,   /* int64_t, integral number in [min, max] */
  DT_CFG_NUMBER,    /* double in [min, max] */
  DT_CFG_STRLIST,   /* list of strings */
  DT_CFG_ROUTES,    /* list of {match=, flow=} entries; other fields are their own keys */
  DT_CFG_SETTINGS   /* flow_settings: name = string, number or boolean (config_settings.h) */
} dt_config_type_t;

typedef struct {
  const char *path;      /* "limits.op_timeout_s" */
  dt_config_type_t type;
  const char *alias;     /* documented environment alias, or NULL */
  double min, max;       /* for numbers */
  bool secret;
  const char *help;      /* one line, for --print-config and error messages */
  /* internal */
  size_t offset;         /* of the value in dt_config_t */
  const char *def_str;   /* static default of a string key, or NULL */
  double def_num;        /* static default of a number key */
} dt_config_key_t;

/* The table of keys (groups first, then their members); count in *count. */
const dt_config_key_t *dt_config_schema(size_t *count);
/* The key with this exact path, or NULL. */
const dt_config_key_t *dt_config_find_key(const char *path);
/* For an unknown path, the closest existing sibling key name ("dialect" for
   "graph.dialct"), or NULL when nothing is close. */
const char *dt_config_suggest(const char *path);
/* What a key of this type holds, in words for error messages: "an integer",
   "a list of strings" (static storage; "?" for a value outside the enum). */
const char *dt_config_type_name(dt_config_type_t t);
/* "DIALTONE_LIMITS_OP_TIMEOUT_S" for "limits.op_timeout_s" (into out). */
void dt_config_env_name(const char *path, char *out, size_t outlen);

/* ---- setters: origin is copied; it names the source in later error messages ------ */

/* Sets a key from text, parsed by the key's type (numbers, comma lists, match=flow
   pairs). Used for environment variables and command-line flags. */
int dt_config_set_text(dt_config_t *cfg, const char *path, const char *text, const char *origin,
                       char *err, size_t errlen);
int dt_config_set_string(dt_config_t *cfg, const char *path, const char *value, const char *origin,
                         char *err, size_t errlen);
int dt_config_set_number(dt_config_t *cfg, const char *path, double value, const char *origin,
                         char *err, size_t errlen);
/* Replaces a list (DT_CFG_STRLIST). */
int dt_config_set_strlist(dt_config_t *cfg, const char *path, const char *const *items, size_t count,
                          const char *origin, char *err, size_t errlen);
/* Clears the route list (the first route from a new source replaces the old list). */
void dt_config_clear_routes(dt_config_t *cfg, const char *origin);
/* Appends a route (its strings copied; the caller's are only read) after checking it
   (dt_route_check and the flow's name). */
int dt_config_add_route(dt_config_t *cfg, const dt_config_route_t *route, char *err, size_t errlen);
/* Sets one flow setting (flow_settings.NAME); see config_settings.h for the limits. The
   environment's DIALTONE_FLOW_SETTINGS_NAME goes through dt_settings_set_text. */
int dt_config_set_setting(dt_config_t *cfg, const char *name, dt_setting_type_t type, const char *str, double num,
                          bool flag, const char *origin, char *err, size_t errlen);

#endif
