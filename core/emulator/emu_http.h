/*
 * emu_http.h — HTTP answers in Graph's shapes (emu_http.c), for every front of the
 * emulator: JSON bodies with a request-id, Graph error bodies, the origin a client used,
 * and injected HTTP faults. Calls only emu_util.
 */
#ifndef DT_EMU_HTTP_H
#define DT_EMU_HTTP_H
#include "emu_model.h"

void dt__emu_respond_json(dt_http_request_t *req, int status, cJSON *body /* consumed, may be NULL */,
                          const char *location);
void dt__emu_respond_error(dt_http_request_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A Graph error body ({"error":{"code","message","innerError":{...}}}); rid receives the
   request-id it names. client_rid (may be NULL) is echoed. Caller frees. */
char *dt__emu_error_text(const char *code, const char *message, const char *client_rid, char rid[37]);
/* "http://host:port" from the Host header, else the emulator's URL. Caller frees. */
char *dt__emu_origin(dt_emulator_t *emu, const dt_http_request_t *req);

/* An injected status fault (faults graph_status / recording_status): the status to answer
   now, or 0 for none; counts one use against *count (0 = unlimited), clearing *status after
   the last. */
int dt__emu_fault_take(int *status, int *count);
/* Answers an injected fault: {"error":{"code":code,"message":"Injected fault."}} with
   Retry-After (retry_after_s, at least 1). */
void dt__emu_respond_fault(dt_http_request_t *req, int status, int retry_after_s, const char *code);

#endif
