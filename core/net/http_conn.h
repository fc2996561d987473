/*
 * http_conn.h — internal: a connection's output and life (http_conn.c).
 *
 * Writing answers in request order (through the TLS session when there is one), the one
 * timer per connection, reading on and off (backpressure), graceful and immediate close,
 * and the server's last close callback. Reading itself is http_input.c's: this side starts
 * and resumes it through the callbacks the server struct holds (srv->on_read,
 * srv->on_resume_idle), so it never calls up.
 */
#ifndef DIALTONE_NET_HTTP_CONN_H
#define DIALTONE_NET_HTTP_CONN_H
#include "http_internal.h"

/* Arms the connection's timer for mode (DT__TM_*), replacing whatever it was doing. */
void dt__http_timer_set(dt__http_conn_t *c, int mode, unsigned ms);
void dt__http_timer_clear(dt__http_conn_t *c);
/* Reads while there is room: not closing, not paused or stopped, the write queue under
   its high-water mark (or lingering, when input is drained and discarded). */
void dt__http_conn_update_read(dt__http_conn_t *c);
/* Moves finished answers from the head of the queue to the socket, in order; may finish a
   graceful close, arm the idle timer, schedule a resume of parsing. */
void dt__http_conn_flush(dt__http_conn_t *c);
/* The server answers with status itself (the request being read is dropped) and closes
   once it is written. */
void dt__http_conn_fail(dt__http_conn_t *c, int status);
/* The peer finished sending: answer what was asked (half-close), unless a stream is open. */
void dt__http_conn_eof(dt__http_conn_t *c);
/* Closes now. Unanswered requests become orphans; open streams get their on_abort, last. */
void dt__http_conn_close(dt__http_conn_t *c);
/* Sends the TLS session's pending ciphertext (handshake records, alerts). */
void dt__http_tls_flush_output(dt__http_conn_t *c);
/* Frees the server when it is closing and its last handle has closed; calls its done. */
void dt__http_server_maybe_done(dt_http_server_t *srv);

#endif
