/*
 * error.h — the one list of dialtone error codes.
 *
 * Every C function that can fail returns int: 0 on success or a negative DT_E* code
 * from this list (the libuv convention). dt_strerror() and dt_err_name() turn a code
 * into text. Functions that can say more take an optional `char *err, size_t errlen`
 * buffer for a human-readable detail.
 */
#ifndef DIALTONE_ERROR_H
#define DIALTONE_ERROR_H

#define DT_ERRNO_MAP(XX)                                                        \
  XX(EINVAL, "invalid argument")                                               \
  XX(ENOMEM, "out of memory")                                                  \
  XX(EIO, "input/output error")                                                \
  XX(ENOENT, "not found")                                                      \
  XX(EEXIST, "already exists")                                                 \
  XX(EBUSY, "busy")                                                            \
  XX(ETIMEDOUT, "timed out")                                                   \
  XX(ECANCELED, "cancelled")                                                   \
  XX(ECONNREFUSED, "connection refused")                                       \
  XX(ECONN, "connection failed")                                               \
  XX(ETLS, "TLS failure")                                                      \
  XX(EPARSE, "malformed input")                                                \
  XX(ETOOBIG, "input too large")                                               \
  XX(EAUTH, "authentication failed")                                           \
  XX(EHTTP, "unexpected HTTP status")                                          \
  XX(EGRAPH, "Graph reported an error")                                        \
  XX(ESTATE, "not allowed in the current state")                               \
  XX(EHANGUP, "the call has ended")                                            \
  XX(ECONFIG, "configuration error")                                           \
  XX(ELUA, "Lua error")                                                        \
  XX(ELIMIT, "limit exceeded")                                                 \
  XX(ECLOSED, "closed")                                                        \
  XX(EUNSUPPORTED, "not supported")                                            \
  XX(EDNS, "host name not resolved")

typedef enum {
  DT_OK = 0,
  DT__ERR_BASE = -1000,
#define DT__ERR_ENUM(name, msg) DT_##name,
  DT_ERRNO_MAP(DT__ERR_ENUM)
#undef DT__ERR_ENUM
  DT__ERR_END
} dt_errno_t;

/* "invalid argument" for DT_EINVAL; "unknown error" for anything else. Never NULL. */
const char *dt_strerror(int err);
/* "EINVAL" for DT_EINVAL; "UNKNOWN" for anything else. Never NULL. */
const char *dt_err_name(int err);
/* snprintf into err (if err != NULL and errlen > 0); returns code, for `return dt_seterr(...)`. */
int dt_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
