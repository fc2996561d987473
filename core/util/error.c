/* error.c — names and messages for the codes in dialtone/error.h, generated from one X-macro. */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include "dialtone/error.h"

const char *dt_strerror(int err) {
  switch (err) {
  case 0: return "success";
#define DT__ERR_MSG(name, msg) case DT_##name: return msg;
    DT_ERRNO_MAP(DT__ERR_MSG)
#undef DT__ERR_MSG
  default: return "unknown error";
  }
}

const char *dt_err_name(int err) {
  switch (err) {
  case 0: return "OK";
#define DT__ERR_NAME(name, msg) case DT_##name: return #name;
    DT_ERRNO_MAP(DT__ERR_NAME)
#undef DT__ERR_NAME
  default: return "UNKNOWN";
  }
}

int dt_seterr(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}
