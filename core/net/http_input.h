/*
 * http_input.h — internal: a connection's input, from bytes to requests (http_input.c).
 *
 * Reading (decrypting when the connection has TLS), parsing with llhttp, building each
 * request when its headers are complete, and handing complete requests to the server's
 * handler. The server wires it once: dt__http_input_init fills srv->settings (llhttp's
 * callbacks) and the read and resume callbacks http_conn.c starts reading with.
 */
#ifndef DIALTONE_NET_HTTP_INPUT_H
#define DIALTONE_NET_HTTP_INPUT_H
#include "http_internal.h"

/* Sets srv->settings, srv->on_read and srv->on_resume_idle. */
void dt__http_input_init(dt_http_server_t *srv);

#endif
