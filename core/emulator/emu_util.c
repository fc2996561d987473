/*
 * emu_util.c — small pieces the emulator is built from: id normalisation, identity sets,
 * WAV files (writing recordings, measuring prompts; the RIFF parsing and header are
 * core/util/wav.c's), random tokens, tone names, URL and tone validation. It calls
 * no other emulator module; its maps are core/util/hashmap.c's value maps.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/wav.h"
#include "emu_util.h"

/* ------------------------------------------------------------------ ids */
void dt__emu_id_key(const char *id, char *out, size_t outlen) {
  /* "/app/calls/ID" (replacesCallId as the documents write it) and "{ID}" name the same call */
  const char *slash = strrchr(id, '/');
  if (slash) id = slash + 1;
  char tmp[128];
  size_t k = 0;
  for (; *id && k + 1 < sizeof tmp && k + 1 < outlen; id++)
    if (*id != '{' && *id != '}') tmp[k++] = *id;
  tmp[k] = '\0';
  dt_graph_id_key(tmp, out); /* the engine's normalisation: lower case, no dashes */
}

void dt__emu_id_upper(const char *id, char *out, size_t outlen) {
  size_t k = 0;
  for (; *id && k + 1 < outlen; id++) {
    if (*id == '-') continue;
    out[k++] = (char)toupper((unsigned char)*id);
  }
  out[k] = '\0';
}

/* ------------------------------------------------------------------ json and identities */
cJSON *dt__emu_json_get(const cJSON *obj, const char *name) {
  if (!cJSON_IsObject(obj)) return NULL;
  return cJSON_GetObjectItem(obj, name); /* cJSON's lookup is case-insensitive */
}

const char *dt__emu_json_str(const cJSON *obj, const char *name) {
  const cJSON *v = dt__emu_json_get(obj, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *const identity_kinds[] = {"user", "phone", "application", "applicationInstance",
                                             "guest", "device", "encrypted", "onPremises",
                                             "acsUser", "spoolUser"};

const char *dt__emu_identity_id(const cJSON *set, const char **kind) {
  if (!cJSON_IsObject(set)) return NULL;
  for (size_t i = 0; i < DT_ARRAY_SIZE(identity_kinds); i++) {
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(set, identity_kinds[i]);
    if (!cJSON_IsObject(who)) continue;
    const char *id = dt__emu_json_str(who, "id");
    if (kind) *kind = identity_kinds[i];
    if (id) return id;
    /* a guest may have only a display name */
    const char *dn = dt__emu_json_str(who, "displayName");
    if (dn) return dn;
  }
  return NULL;
}

static cJSON *identity_of(const char *kind, const char *id) {
  cJSON *set = cJSON_CreateObject();
  cJSON *who = cJSON_AddObjectToObject(set, kind);
  cJSON_AddStringToObject(who, "@odata.type", "#microsoft.graph.identity");
  cJSON_AddStringToObject(who, "id", id);
  if (strcmp(kind, "phone") == 0) cJSON_AddStringToObject(who, "displayName", id);
  return set;
}

cJSON *dt__emu_identity_from_short(const cJSON *v) {
  if (cJSON_IsString(v)) {
    const char *s = v->valuestring;
    if (s[0] == '\0' || strlen(s) > 256) return NULL;
    return identity_of(s[0] == '+' ? "phone" : "user", s);
  }
  if (!cJSON_IsObject(v)) return NULL;
  /* {"identity": {...}} (a participantInfo) */
  const cJSON *inner = cJSON_GetObjectItemCaseSensitive(v, "identity");
  if (cJSON_IsObject(inner)) v = inner;
  for (size_t i = 0; i < DT_ARRAY_SIZE(identity_kinds); i++) {
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(v, identity_kinds[i]);
    if (cJSON_IsString(who) && who->valuestring[0] != '\0' && strlen(who->valuestring) <= 256)
      return identity_of(identity_kinds[i], who->valuestring);
    if (cJSON_IsObject(who)) return cJSON_Duplicate(v, 1);
  }
  return NULL;
}

void dt__emu_json_merge(cJSON *obj, cJSON *fields) {
  if (fields == NULL) return;
  cJSON *it = fields->child;
  while (it) {
    cJSON *next = it->next;
    cJSON_AddItemToObject(obj, it->string, cJSON_DetachItemViaPointer(fields, it));
    it = next;
  }
  cJSON_Delete(fields);
}

void dt__emu_identity_desc(const cJSON *set, char *out, size_t outlen) {
  const char *kind = NULL;
  const char *id = dt__emu_identity_id(set, &kind);
  snprintf(out, outlen, "%s:%s", kind ? kind : "?", id ? id : "?");
}

/* ------------------------------------------------------------------ WAV */
static void put_le16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)((v >> 8) & 0xff);
}

#define WAV_RATE 8000u

void dt__emu_wav_build(uint64_t duration_ms, const emu_segment_t *seg, size_t nseg, char **out,
                       size_t *len) {
  if (duration_ms > 10u * 60u * 1000u) duration_ms = 10u * 60u * 1000u; /* never more than 10 min */
  uint32_t samples = (uint32_t)(duration_ms * WAV_RATE / 1000u);
  uint32_t data_len = samples * 2u;
  unsigned char *w = dt_xcalloc(1, DT_WAV_HEADER_LEN + (size_t)data_len);
  dt_wav_header_write(w, 1, WAV_RATE, 16, data_len); /* PCM, mono, 16-bit */
  for (size_t s = 0; s < nseg; s++) {
    uint64_t a = seg[s].start * WAV_RATE / 1000u, b = seg[s].end * WAV_RATE / 1000u;
    if (b > samples) b = samples;
    for (uint64_t i = a; i < b; i++) {
      /* a 440 Hz tone stands in for the caller's voice */
      double v = sin(2.0 * M_PI * 440.0 * (double)i / WAV_RATE) * 8000.0;
      int16_t sv = (int16_t)lrint(v);
      put_le16(w + DT_WAV_HEADER_LEN + i * 2, (unsigned)(uint16_t)sv);
    }
  }
  *out = (char *)w;
  *len = DT_WAV_HEADER_LEN + (size_t)data_len;
}

int dt__emu_wav_duration(const void *data, size_t len, uint64_t total_len, int64_t *ms) {
  dt_wav_info_t w;
  if (dt_wav_parse(data, len, &w, NULL, 0) != 0 || w.block_align == 0) return DT_EPARSE;
  uint64_t whole = total_len > len ? total_len : len;
  uint64_t avail = whole - w.data_offset;
  uint64_t dlen = w.data_size;
  /* streamed files carry 0 or 0xFFFFFFFF: then the file's size tells; a size larger than the
     file is clamped when the file's size is known (else it is a partial read) */
  if (dlen == 0 || dlen == 0xFFFFFFFFu || (total_len && dlen > avail)) dlen = avail;
  *ms = (int64_t)(dlen * 1000u / w.byte_rate);
  return 0;
}

void dt__emu_random_token(char *out, size_t n) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char r[128];
  if (n == 0) return;
  if (n - 1 > sizeof r) n = sizeof r + 1;
  dt_random_bytes(r, n - 1);
  for (size_t i = 0; i + 1 < n; i++) out[i] = abc[r[i] & 63];
  out[n - 1] = '\0';
}

double dt__emu_rand01(dt_emulator_t *emu) {
  /* xorshift64*: fault injection needs cheap, not secure, randomness */
  uint64_t x = emu->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  emu->rng = x;
  return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------ names and time */
void dt__emu_prompt_name(const char *url, char *out, size_t outlen) {
  size_t end = strcspn(url, "?#");
  size_t start = end;
  while (start > 0 && url[start - 1] != '/') start--;
  size_t dot = end;
  for (size_t i = start; i < end; i++)
    if (url[i] == '.') dot = i;
  size_t n = dot - start;
  if (n + 1 > outlen) n = outlen - 1;
  memcpy(out, url + start, n);
  out[n] = '\0';
}

const char *dt__emu_state_name(int st) {
  static const char *const names[] = {"incoming",    "establishing", "established",
                                      "transferring", "transferAccepted", "redirecting",
                                      "terminating", "terminated", "ringing", "hold"};
  return (st >= 0 && st < (int)DT_ARRAY_SIZE(names)) ? names[st] : "unknown";
}

void dt__emu_iso_now(char out[32]) { dt_iso8601_now(out); }

/* ------------------------------------------------------------------ tones */
char dt__emu_tone_char(const char *name) {
  if (name == NULL || name[0] == '\0') return 0;
  if (name[1] == '\0') {
    char ch = name[0];
    if ((ch >= '0' && ch <= '9') || ch == '*' || ch == '#') return ch;
    if (ch >= 'A' && ch <= 'D') return ch;
    if (ch >= 'a' && ch <= 'd') return (char)(ch - 32);
    return 0;
  }
  if (dt_strncasecmp(name, "tone", 4) == 0 && name[4] >= '0' && name[4] <= '9' && name[5] == '\0')
    return name[4];
  if (dt_strcasecmp(name, "star") == 0) return '*';
  if (dt_strcasecmp(name, "pound") == 0) return '#';
  if (dt_strcasecmp(name, "flash") == 0) return 'F';
  return 0;
}

const char *dt__emu_tone_name(char c) {
  static const char *const digits[] = {"tone0", "tone1", "tone2", "tone3", "tone4",
                                       "tone5", "tone6", "tone7", "tone8", "tone9"};
  if (c >= '0' && c <= '9') return digits[c - '0'];
  switch (c) {
  case '*': return "star";
  case '#': return "pound";
  case 'A': case 'a': return "a";
  case 'B': case 'b': return "b";
  case 'C': case 'c': return "c";
  case 'D': case 'd': return "d";
  case 'F': return "flash";
  default: return NULL;
  }
}

/* ------------------------------------------------------------------ validation */
bool dt__emu_valid_url(const char *u) {
  return u && strlen(u) < 2048 &&
         (dt_strncasecmp(u, "http://", 7) == 0 || dt_strncasecmp(u, "https://", 8) == 0);
}

bool dt__emu_valid_tones(const char *t) {
  if (t == NULL || strlen(t) > 64) return false;
  for (; *t; t++)
    if (!dt__emu_tone_name(*t) || *t == 'F') return false;
  return true;
}

bool dt__emu_path_under(const char *path, const char *prefix, const char **rest) {
  size_t n = strlen(prefix);
  if (dt_strncasecmp(path, prefix, n) != 0) return false;
  if (path[n] != '\0' && path[n] != '/') return false;
  *rest = path + n;
  return true;
}

int dt__emu_path_split(const char *path, char *seg, size_t seg_size, int max) {
  int ns = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (ns == max || n >= seg_size) return -1;
    char *row = seg + (size_t)ns * seg_size;
    memcpy(row, p, n);
    row[n] = '\0';
    ns++;
    p += n;
  }
  return ns;
}

/* Whether url's host is this machine: 127.0.0.0/8, localhost or [::1]. */
bool dt__emu_url_is_loopback(const char *url) {
  const char *p = strstr(url, "://");
  if (p == NULL) return false;
  p += 3;
  const char *at = strpbrk(p, "@/");
  if (at && *at == '@') p = at + 1; /* user:pass@host */
  if (strncmp(p, "[::1]", 5) == 0) return p[5] == '\0' || p[5] == ':' || p[5] == '/';
  size_t n = strcspn(p, ":/?#");
  if (n == 9 && dt_strncasecmp(p, "localhost", 9) == 0) return true;
  if (n < 4 || strncmp(p, "127.", 4) != 0) return false;
  for (size_t i = 4; i < n; i++)
    if (!(p[i] == '.' || (p[i] >= '0' && p[i] <= '9'))) return false;
  return true;
}
