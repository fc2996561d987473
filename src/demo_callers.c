/*
 * demo_callers.c — reads and checks the demo's callers file (demo_callers.h).
 *
 * Owns: the file's shape and its error messages. Promises: a file that loads is complete
 * (every call has a title, a number, a script and an outcome; every party a known
 * behaviour; every prompt name is one word), so the demo never starts half a run on bad
 * data; an error names the file, the line and column for JSON syntax, or the key path
 * (calls[2].expect.outcome) for a wrong shape. Nothing here knows the shipped flow.
 */
#include "demo_callers.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"

typedef struct {
  const char *path;
  char *err;
  size_t errlen;
} ld_t;

static int fail(ld_t *l, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ld_t *l, const char *where, const char *fmt, ...) {
  char msg[256];
  DT_VFORMAT(msg, fmt);
  snprintf(l->err, l->errlen, "%s: %s%s%s", l->path, where, where[0] ? ": " : "", msg);
  return DT_EINVAL;
}

/* The same at where.key. */
static int fail_at(ld_t *l, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(ld_t *l, const char *where, const char *key, const char *fmt, ...) {
  char at[400], msg[256];
  snprintf(at, sizeof at, "%s%s%s", where, where[0] ? "." : "", key);
  DT_VFORMAT(msg, fmt);
  return fail(l, at, "%s", msg);
}

/* Every key of o is in keys (NULL-terminated) or "comment". */
static int only_keys(ld_t *l, const cJSON *o, const char *where, const char *const *keys) {
  const cJSON *k;
  cJSON_ArrayForEach(k, o) {
    bool known = strcmp(k->string, "comment") == 0;
    for (size_t i = 0; keys[i] && !known; i++) known = strcmp(k->string, keys[i]) == 0;
    if (!known) {
      char list[200] = "";
      for (size_t i = 0; keys[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", keys[i]);
      return fail(l, where, "unknown key '%s' (the keys are %s)", k->string, list);
    }
  }
  return 0;
}

/* o[key] as a string into *out (NULL when absent and not required). */
static int get_str(ld_t *l, const cJSON *o, const char *key, const char *where, bool required, const char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NULL;
  if (v == NULL && !required) return 0;
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
    return fail_at(l, where, key, "%s", v == NULL ? "missing (a string)" : "expected a non-empty string");
  *out = v->valuestring;
  return 0;
}

static int load_party(ld_t *l, const cJSON *p, const char *where, dt_demo_party_t *out) {
  static const char *const keys[] = {"behaviour", "answer_delay_ms", "script", NULL};
  if (!cJSON_IsObject(p)) return fail(l, where, "expected an object {\"behaviour\": ...}");
  int rc = only_keys(l, p, where, keys);
  if (rc != 0) return rc;
  static const struct { const char *name; dt_emulator_behaviour_t b; } behaviours[] = {
      {"answer", DT_EMULATOR_ANSWER}, {"busy", DT_EMULATOR_BUSY},
      {"noanswer", DT_EMULATOR_NOANSWER}, {"reject", DT_EMULATOR_REJECT}};
  const char *b = NULL;
  if ((rc = get_str(l, p, "behaviour", where, true, &b)) != 0) return rc;
  size_t i = 0;
  while (i < DT_ARRAY_SIZE(behaviours) && strcmp(behaviours[i].name, b) != 0) i++;
  if (i == DT_ARRAY_SIZE(behaviours))
    return fail_at(l, where, "behaviour", "'%s' is not answer, busy, noanswer or reject", b);
  out->id = p->string;
  out->party = (dt_emulator_party_t){behaviours[i].b, -1, NULL};
  const cJSON *delay = cJSON_GetObjectItemCaseSensitive(p, "answer_delay_ms");
  if (delay) {
    if (!cJSON_IsNumber(delay) || delay->valuedouble < 0 || delay->valuedouble > 86400000)
      return fail_at(l, where, "answer_delay_ms", "expected a number of milliseconds from 0 to 86400000");
    out->party.answer_delay_ms = (int64_t)delay->valuedouble;
  }
  const cJSON *script = cJSON_GetObjectItemCaseSensitive(p, "script");
  if (script && !cJSON_IsArray(script)) return fail_at(l, where, "script", "expected an array (a caller script)");
  out->party.script = script;
  return 0;
}

static int load_expect(ld_t *l, const cJSON *e, const char *where, dt_demo_call_t *c) {
  static const char *const keys[] = {"outcome", "prompts", "recordings", "transfer", NULL};
  if (!cJSON_IsObject(e)) return fail(l, where, "missing or not an object {\"outcome\": ..., \"prompts\": [...]}");
  int rc = only_keys(l, e, where, keys);
  if (rc == 0) rc = get_str(l, e, "outcome", where, true, &c->outcome);
  if (rc == 0) rc = get_str(l, e, "transfer", where, false, &c->transfer);
  if (rc != 0) return rc;
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(e, "recordings");
  if (recs && (!cJSON_IsNumber(recs) || recs->valuedouble < 0 || recs->valuedouble > 1000 ||
               recs->valuedouble != (int)recs->valuedouble))
    return fail_at(l, where, "recordings", "expected a whole number from 0 to 1000");
  c->recordings = recs ? (int)recs->valuedouble : 0;
  const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(e, "prompts");
  if (!cJSON_IsArray(prompts)) return fail_at(l, where, "prompts", "expected an array of prompt names");
  dt_buf_t b = {0};
  dt_buf_append(&b, "", 0);
  const cJSON *p;
  int i = 0;
  cJSON_ArrayForEach(p, prompts) {
    if (!cJSON_IsString(p) || p->valuestring[0] == '\0' || strpbrk(p->valuestring, " \t\r\n") != NULL) {
      dt_buf_free(&b);
      char key[32];
      snprintf(key, sizeof key, "prompts[%d]", i);
      return fail_at(l, where, key, "expected a prompt name (one word)");
    }
    dt_buf_appendf(&b, "%s%s", b.len ? " " : "", p->valuestring);
    i++;
  }
  c->must_play = b.data;
  return 0;
}

static int load_call(ld_t *l, const cJSON *j, size_t n, dt_demo_call_t *c) {
  static const char *const keys[] = {"title", "story", "from", "parties", "script", "expect", NULL};
  char where[64];
  snprintf(where, sizeof where, "calls[%zu]", n);
  if (!cJSON_IsObject(j)) return fail(l, where, "expected an object {\"title\": ..., \"script\": [...], ...}");
  int rc = only_keys(l, j, where, keys);
  if (rc == 0) rc = get_str(l, j, "title", where, true, &c->title);
  if (rc == 0) rc = get_str(l, j, "story", where, false, &c->story);
  if (rc == 0) rc = get_str(l, j, "from", where, true, &c->from);
  if (rc != 0) return rc;
  if (strlen(c->from) > 64)
    return fail_at(l, where, "from", "a phone number such as +15551230001 (at most 64 bytes)");
  if (c->story == NULL) c->story = "";
  c->script = cJSON_GetObjectItemCaseSensitive(j, "script");
  if (!cJSON_IsArray(c->script))
    return fail_at(l, where, "script", "%s",
                c->script ? "expected an array (a caller script)" : "missing (a caller script)");
  const cJSON *parties = cJSON_GetObjectItemCaseSensitive(j, "parties");
  if (parties) {
    if (!cJSON_IsObject(parties))
      return fail_at(l, where, "parties", "expected an object {\"ID\": {\"behaviour\": ...}}");
    c->parties = dt_xcalloc((size_t)cJSON_GetArraySize(parties) + 1, sizeof *c->parties);
    const cJSON *p;
    cJSON_ArrayForEach(p, parties) {
      char pwhere[400];
      snprintf(pwhere, sizeof pwhere, "%s.parties.%s", where, p->string);
      if (strlen(p->string) == 0 || strlen(p->string) > 255)
        return fail(l, pwhere, "an identity id is 1 to 255 bytes");
      if ((rc = load_party(l, p, pwhere, &c->parties[c->nparties])) != 0) return rc;
      c->nparties++;
    }
  }
  char ewhere[80];
  snprintf(ewhere, sizeof ewhere, "%s.expect", where);
  return load_expect(l, cJSON_GetObjectItemCaseSensitive(j, "expect"), ewhere, c);
}

/* "PATH:LINE:COL: not valid JSON" for a parse error at offset off of text. */
static int syntax_error(ld_t *l, const char *text, size_t len, const char *at) {
  size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
  int line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  snprintf(l->err, l->errlen, "%s:%d:%d: not valid JSON", l->path, line, col);
  return DT_EINVAL;
}

int dt_demo_callers_load(const char *path, dt_demo_callers_t *out, char *err, size_t errlen) {
  *out = (dt_demo_callers_t){0};
  ld_t l = {path, err, errlen};
  char *text = NULL;
  size_t len = 0;
  int rc = dt_read_file(path, DT_DEMO_CALLERS_MAX_BYTES, &text, &len);
  if (rc == DT_ETOOBIG) return fail(&l, "", "larger than %u bytes", DT_DEMO_CALLERS_MAX_BYTES);
  if (rc != 0) {
    snprintf(err, errlen, "%s: %s", path, rc == DT_ENOENT ? "no such file" : "cannot be read");
    return DT_ENOENT;
  }
  const char *end = NULL;
  /* len + 1: the terminating NUL (dt_read_file's) is what tells cJSON the text ends there */
  out->root = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
  if (out->root == NULL) {
    rc = syntax_error(&l, text, len, end ? end : cJSON_GetErrorPtr());
    free(text);
    return rc;
  }
  free(text);
  static const char *const keys[] = {"calls", NULL};
  const cJSON *calls = cJSON_GetObjectItemCaseSensitive(out->root, "calls");
  if (!cJSON_IsObject(out->root)) rc = fail(&l, "", "expected an object {\"calls\": [...]}");
  else if ((rc = only_keys(&l, out->root, "", keys)) != 0) {
  } else if (!cJSON_IsArray(calls) || cJSON_GetArraySize(calls) == 0 ||
             cJSON_GetArraySize(calls) > DT_DEMO_CALLERS_MAX)
    rc = fail(&l, "calls", "expected an array of 1 to %d calls", DT_DEMO_CALLERS_MAX);
  if (rc == 0) {
    out->calls = dt_xcalloc((size_t)cJSON_GetArraySize(calls), sizeof *out->calls);
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
      rc = load_call(&l, c, out->count, &out->calls[out->count]);
      out->count++;
      if (rc != 0) break;
    }
  }
  if (rc != 0) dt_demo_callers_free(out);
  return rc;
}

void dt_demo_callers_free(dt_demo_callers_t *c) {
  for (size_t i = 0; i < c->count; i++) {
    free(c->calls[i].parties);
    free(c->calls[i].must_play);
  }
  free(c->calls);
  cJSON_Delete(c->root);
  *c = (dt_demo_callers_t){0};
}
