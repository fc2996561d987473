/*
 * meeting_link.c — Teams meeting join links to Graph's join coordinates (meeting_link.h):
 * the classic meetup-join link (thread id, message id, the context's tenant and organizer)
 * and the short /meet/ link (join meeting id and passcode). Pure: no I/O, no allocation
 * that outlives the call (the context JSON is parsed and freed here).
 *
 * Promises (meeting_link.h): an unreadable link is DT_EINVAL with a sentence; outputs are
 * bounded, URL-decoded and NUL-terminated.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/meeting_link.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return DT_EINVAL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes %XX in s[0..n) into out (cap bytes with the NUL). -1: bad escape, a control
   character, or too long. */
static int url_decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n) return -1;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = (unsigned char)(h * 16 + l);
      i += 2;
    }
    if (c < 0x20 || c == 0x7f) return -1;
    if (o + 1 >= cap) return -1;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return 0;
}

/* The value of query parameter name in q[0..n) (not decoded), or NULL. */
static const char *query_param(const char *q, size_t n, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  const char *end = q + n;
  for (const char *p = q; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      *vlen = (size_t)(stop - p - (ptrdiff_t)nl - 1);
      return p + nl + 1;
    }
    p = amp ? amp + 1 : end;
  }
  return NULL;
}

static bool all_of(const char *s, const char *extra, bool alnum) {
  if (!s[0]) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (alnum ? isalnum(c) : isdigit(c)) continue;
    if (extra && strchr(extra, c)) continue;
    return false;
  }
  return true;
}

static const char *const HOSTS[] = {"teams.microsoft.com", "teams.microsoft.us", "gov.teams.microsoft.us",
                                    "dod.teams.microsoft.mil", "teams.live.com"};

static int context_fields(const char *json, dt_meeting_link_t *out, char *err, size_t errlen) {
  cJSON *ctx = cJSON_Parse(json);
  if (!cJSON_IsObject(ctx)) {
    cJSON_Delete(ctx);
    return fail(err, errlen, "the link's context is not a JSON object such as {\"Tid\":\"…\",\"Oid\":\"…\"}");
  }
  struct {
    const char *key;
    char *dst;
    bool required;
  } f[] = {{"Tid", out->tenant_id, true}, {"Oid", out->organizer_id, true}, {"MessageId", out->reply_chain_id, false}};
  int rc = 0;
  for (size_t i = 0; i < DT_ARRAY_SIZE(f) && rc == 0; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, f[i].key);
    if (v == NULL && !f[i].required) continue;
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    char num[32];
    if (cJSON_IsNumber(v) && !f[i].required && v->valuedouble >= 0 && v->valuedouble < 1e15) {
      snprintf(num, sizeof num, "%.0f", v->valuedouble);
      s = num;
    }
    if (s == NULL || strlen(s) >= 64 || !all_of(s, "-", f[i].required))
      rc = fail(err, errlen, "the link's context has no valid \"%s\" (%s)", f[i].key,
                f[i].required ? (i == 0 ? "the tenant id" : "the organizer's user id") : "the reply chain id");
    else
      snprintf(f[i].dst, 64, "%s", s);
  }
  cJSON_Delete(ctx);
  return rc;
}

int dt_meeting_link_parse(const char *url, dt_meeting_link_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (err && errlen) err[0] = '\0';
  if (url == NULL || !url[0]) return fail(err, errlen, "the join link is empty");
  size_t len = strlen(url);
  if (len > DT_MEETING_LINK_MAX) return fail(err, errlen, "the join link is longer than %d bytes", DT_MEETING_LINK_MAX);
  if (dt_strncasecmp(url, "https://", 8) != 0) return fail(err, errlen, "a Teams join link starts with https://");
  const char *host = url + 8;
  const char *path = strchr(host, '/');
  if (path == NULL) return fail(err, errlen, "the join link has no path (expected /l/meetup-join/…)");
  size_t hl = (size_t)(path - host);
  bool known = false;
  for (size_t i = 0; i < DT_ARRAY_SIZE(HOSTS); i++)
    if (strlen(HOSTS[i]) == hl && dt_strncasecmp(host, HOSTS[i], hl) == 0) known = true;
  if (!known) return fail(err, errlen, "'%.*s' is not a Teams host (teams.microsoft.com)", (int)(hl > 80 ? 80 : hl), host);
  const char *q = strchr(path, '?');
  const char *pend = q ? q : url + len;
  size_t qlen = q ? (size_t)(url + len - q - 1) : 0;
  const char *hash = q ? memchr(q + 1, '#', qlen) : NULL;
  if (hash) qlen = (size_t)(hash - q - 1);

  static const char CLASSIC[] = "/l/meetup-join/", SHORT[] = "/meet/";
  if ((size_t)(pend - path) > sizeof CLASSIC - 1 && strncmp(path, CLASSIC, sizeof CLASSIC - 1) == 0) {
    const char *t = path + sizeof CLASSIC - 1;
    const char *slash = memchr(t, '/', (size_t)(pend - t));
    if (slash == NULL || slash == t) return fail(err, errlen, "the join link names no thread and message (…/meetup-join/{thread}/{message})");
    if (url_decode(t, (size_t)(slash - t), out->thread_id, sizeof out->thread_id) < 0)
      return fail(err, errlen, "the link's thread id is not valid URL-encoded text (or longer than %zu bytes)",
                  sizeof out->thread_id - 1);
    if (strncmp(out->thread_id, "19:", 3) != 0 || strstr(out->thread_id, "@thread.") == NULL)
      return fail(err, errlen, "the link's thread id '%.80s' is not a Teams thread (19:…@thread.v2)", out->thread_id);
    const char *m = slash + 1;
    const char *mend = memchr(m, '/', (size_t)(pend - m));
    if (mend == NULL) mend = pend;
    if (url_decode(m, (size_t)(mend - m), out->message_id, sizeof out->message_id) < 0 || !all_of(out->message_id, NULL, false))
      return fail(err, errlen, "the link's message id is missing or not a number");
    size_t cl;
    const char *cv = q ? query_param(q + 1, qlen, "context", &cl) : NULL;
    if (cv == NULL) return fail(err, errlen, "the join link has no context= (the organizer and tenant)");
    char ctx[1024];
    if (url_decode(cv, cl, ctx, sizeof ctx) < 0)
      return fail(err, errlen, "the link's context is not valid URL-encoded text (or longer than %zu bytes)", sizeof ctx - 1);
    int rc = context_fields(ctx, out, err, errlen);
    if (rc < 0) return rc;
    out->kind = DT_MEETING_LINK_CLASSIC;
    return 0;
  }
  if ((size_t)(pend - path) > sizeof SHORT - 1 && strncmp(path, SHORT, sizeof SHORT - 1) == 0) {
    const char *id = path + sizeof SHORT - 1;
    const char *idend = memchr(id, '/', (size_t)(pend - id));
    if (idend == NULL) idend = pend;
    if (url_decode(id, (size_t)(idend - id), out->join_meeting_id, sizeof out->join_meeting_id) < 0 ||
        !all_of(out->join_meeting_id, NULL, false))
      return fail(err, errlen, "the short link's meeting id is missing or not a number");
    size_t pl;
    const char *pv = q ? query_param(q + 1, qlen, "p", &pl) : NULL;
    if (pv && (url_decode(pv, pl, out->passcode, sizeof out->passcode) < 0 || !all_of(out->passcode, NULL, true)))
      return fail(err, errlen, "the short link's passcode (p=) is not letters and digits");
    out->kind = DT_MEETING_LINK_SHORT;
    return 0;
  }
  return fail(err, errlen, "the link is neither a meetup-join link (/l/meetup-join/…) nor a short link (/meet/…)");
}
