/*
 * emu_http.c — HTTP answers in Graph's shapes for every front of the emulator (Graph REST,
 * control API, token endpoint, recordings): JSON with a request-id header, Graph error
 * bodies, the origin the client used, injected HTTP faults.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emu_http.h"
#include "emu_util.h"

void dt__emu_respond_json(dt_http_request_t *req, int status, cJSON *body, const char *location) {
  char rid[37];
  dt_guid(rid);
  char *text = body ? cJSON_PrintUnformatted(body) : NULL;
  cJSON_Delete(body);
  dt_http_header_t h[3];
  size_t n = 0;
  h[n++] = (dt_http_header_t){"Content-Type", "application/json"};
  h[n++] = (dt_http_header_t){"request-id", rid};
  if (location) h[n++] = (dt_http_header_t){"Location", location};
  dt_http_respond_ex(req, status, h, n, text, text ? strlen(text) : 0);
  free(text);
}

char *dt__emu_error_text(const char *code, const char *message, const char *client_rid, char rid[37]) {
  char iso[32], crid[37];
  dt__emu_iso_now(iso);
  dt_guid(rid);
  if (client_rid && strlen(client_rid) < sizeof crid) snprintf(crid, sizeof crid, "%s", client_rid);
  else dt_guid(crid);
  cJSON *o = cJSON_CreateObject();
  cJSON *e = cJSON_AddObjectToObject(o, "error");
  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", message);
  cJSON *ie = cJSON_AddObjectToObject(e, "innerError");
  cJSON_AddStringToObject(ie, "date", iso);
  cJSON_AddStringToObject(ie, "request-id", rid);
  cJSON_AddStringToObject(ie, "client-request-id", crid);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

void dt__emu_respond_error(dt_http_request_t *req, int status, const char *code, const char *fmt, ...) {
  char msg[512];
  DT_VFORMAT(msg, fmt);
  char rid[37];
  char *text = dt__emu_error_text(code, msg, dt_http_request_header(req, "client-request-id"), rid);
  dt_http_header_t h[2] = {{"Content-Type", "application/json"}, {"request-id", rid}};
  dt_http_respond_ex(req, status, h, 2, text, strlen(text));
  free(text);
}

char *dt__emu_origin(dt_emulator_t *emu, const dt_http_request_t *req) {
  const char *host = dt_http_request_header(req, "Host");
  if (host == NULL || host[0] == '\0' || strlen(host) > 255) return dt_xstrdup(emu->url);
  for (const char *p = host; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']' || *p == '_'))
      return dt_xstrdup(emu->url);
  return dt_xasprintf("%s://%s", req->tls ? "https" : "http", host);
}

int dt__emu_fault_take(int *status, int *count) {
  int st = *status;
  if (st && *count > 0 && --*count == 0) *status = 0;
  return st;
}

void dt__emu_respond_fault(dt_http_request_t *req, int status, int retry_after_s, const char *code) {
  char ra[16], body[256];
  snprintf(ra, sizeof ra, "%d", retry_after_s > 0 ? retry_after_s : 1);
  int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"Injected fault.\"}}", code);
  dt_http_header_t h[] = {{"Content-Type", "application/json"}, {"Retry-After", ra}};
  dt_http_respond_ex(req, status, h, 2, body, (size_t)n);
}

