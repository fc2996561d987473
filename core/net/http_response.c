/*
 * http_response.c — the HTTP server's requests and answer bytes (see http_response.h).
 *
 * Owns: a request's memory once it exists (one allocation for the struct, its headers and
 * strings, plus its body buffer), the connection's request queue and the server's orphan
 * list, and the formatting of answers: status line, Date, the caller's headers, the
 * framing headers, the body. Promises: no I/O and no callbacks; a formatted answer costs
 * one allocation (or none when r->out has room).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dialtone/error.h"
#include "http_limits.h"
#include "http_response.h"

typedef dt__http_conn_t conn_t;
typedef dt__http_req_t req_t;

const char *dt__http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: break;
  }
  if (status >= 200 && status < 300) return "OK";
  if (status >= 300 && status < 400) return "Redirect";
  if (status >= 400 && status < 500) return "Client Error";
  if (status >= 500 && status < 600) return "Server Error";
  return "Unknown";
}

const char *dt__http_date(dt_http_server_t *srv) {
  time_t now = time(NULL);
  if (now != srv->date_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    srv->date_sec = now;
  }
  return srv->date;
}

const char *dt__http_header_find(const dt_http_request_t *req, const char *name) {
  if (!req || !name) return NULL;
  for (size_t i = 0; i < req->header_count; i++)
    if (dt_strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

/* ---------------------------------------------------------------- requests */

void dt__http_orphan_add(dt_http_server_t *srv, req_t *r) {
  r->conn = NULL;
  r->orphan = true;
  dt_list_push_front(&srv->orphans, &r->olink);
}

void dt__http_req_free(req_t *r) {
  if (r->orphan) dt_list_remove(&r->srv->orphans, &r->olink);
  r->srv->body_bytes_held -= r->body_cap;
  free(r->body_buf);
  dt_buf_free(&r->out);
  free(r);
}

void dt__http_queue_push(conn_t *c, req_t *r) {
  r->next = NULL;
  if (c->tail) c->tail->next = r;
  else c->head = r;
  c->tail = r;
  c->nreqs++;
}

void dt__http_queue_remove(conn_t *c, req_t *r) {
  req_t **pp = &c->head, *prev = NULL;
  while (*pp && *pp != r) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (!*pp) return;
  *pp = r->next;
  if (c->tail == r) c->tail = prev;
  r->next = NULL;
  c->nreqs--;
}

void dt__http_queue_error(conn_t *c, int status, const char *route) {
  dt_http_server_t *srv = c->srv;
  const char *reason = dt__http_reason(status);
  req_t *r = dt_xcalloc(1, sizeof *r);
  r->srv = srv;
  r->conn = c;
  r->internal = true;
  r->close_after = true;
  r->state = DT__RS_DONE;
  dt_buf_appendf(&r->out,
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                 status, reason, dt__http_date(srv), status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
                 strlen(reason) + 1, reason);
  dt__http_count_request(srv, route, status);
  dt__http_queue_push(c, r);
}

/* ---------------------------------------------------------------- answers */

static bool token_has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

static bool skip_header(const char *name) {
  return dt_strcasecmp(name, "Content-Length") == 0 || dt_strcasecmp(name, "Connection") == 0 ||
         dt_strcasecmp(name, "Transfer-Encoding") == 0 || dt_strcasecmp(name, "Date") == 0;
}

static void put(char **p, const char *s, size_t n) {
  memcpy(*p, s, n);
  *p += n;
}
#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

void dt__http_format_head(req_t *r, int status, const dt_http_header_t *headers, size_t n,
                          bool stream, const char *body, size_t body_len) {
  const char *reason = dt__http_reason(status);
  bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  const char *conn_hdr = NULL;
  if (r->close_after) conn_hdr = "Connection: close\r\n";
  else if (r->http10) conn_hdr = "Connection: keep-alive\r\n";
  char num[32];
  int numlen = 0;
  if (!stream && !no_body) numlen = snprintf(num, sizeof num, "%zu", body_len);
  const char *date = dt__http_date(r->srv);

  size_t need = 9 + 4 + strlen(reason) + 2 + 6 + strlen(date) + 2 + 2;
  for (size_t i = 0; i < n; i++) need += strlen(headers[i].name) + 2 + strlen(headers[i].value) + 2;
  need += 16 + (size_t)numlen + 2;
  if (stream) need += 28;
  if (conn_hdr) need += strlen(conn_hdr);
  bool send_body = !stream && !no_body && !r->head_method;
  if (send_body) need += body_len;

  dt_buf_t *b = &r->out;
  if (b->cap < b->len + need + 1) {
    b->data = dt_xrealloc(b->data, b->len + need + 1);
    b->cap = b->len + need + 1;
  }
  char *p = b->data + b->len;
  p += snprintf(p, 32, "HTTP/1.1 %03d ", status);
  put(&p, reason, strlen(reason));
  PUTS(&p, "\r\nDate: ");
  put(&p, date, strlen(date));
  PUTS(&p, "\r\n");
  for (size_t i = 0; i < n; i++) {
    if (skip_header(headers[i].name)) continue;
    put(&p, headers[i].name, strlen(headers[i].name));
    PUTS(&p, ": ");
    put(&p, headers[i].value, strlen(headers[i].value));
    PUTS(&p, "\r\n");
  }
  if (stream) {
    if (r->stream_mode == DT__STREAM_CHUNKED) PUTS(&p, "Transfer-Encoding: chunked\r\n");
  } else if (!no_body) {
    PUTS(&p, "Content-Length: ");
    put(&p, num, (size_t)numlen);
    PUTS(&p, "\r\n");
  }
  if (conn_hdr) put(&p, conn_hdr, strlen(conn_hdr));
  PUTS(&p, "\r\n");
  if (send_body && body_len) put(&p, body, body_len);
  b->len = (size_t)(p - b->data);
  b->data[b->len] = '\0';
}

int dt__http_check_headers(const dt_http_header_t *headers, size_t n) {
  if (n && !headers) return DT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!headers[i].name || !headers[i].value || !headers[i].name[0]) return DT_EINVAL;
    if (token_has_crlf(headers[i].name) || token_has_crlf(headers[i].value) ||
        strchr(headers[i].name, ':'))
      return DT_EINVAL;
  }
  return 0;
}
