/*
 * config_settings.c — the config's flow_settings (see config_settings.h): validation,
 * storage (owned strings), environment text, the dump. Engine-neutral and Lua-free: the
 * config file's table is walked by lua/config_lua.c, the runtime turns the settings into
 * the read-only dialtone.settings (lua/flow_settings.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/config_settings.h"
#include "dialtone/error.h"
#include "dialtone/text.h"

static bool valid_name(const char *n) {
  size_t len = strlen(n);
  if (len == 0 || len > DT_SETTING_NAME_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = n[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

static dt_setting_t *find(const dt_config_settings_t *s, const char *name, bool nocase) {
  for (size_t i = 0; i < s->count; i++)
    if (nocase ? dt_strcasecmp(s->items[i].name, name) == 0 : strcmp(s->items[i].name, name) == 0)
      return &s->items[i];
  return NULL;
}

const dt_setting_t *dt_settings_find(const dt_config_settings_t *s, const char *name) { return find(s, name, false); }

int dt_settings_set(dt_config_settings_t *s, const char *name, dt_setting_type_t type, const char *str, double num,
                    bool flag, char *err, size_t errlen) {
  if (name == NULL || !valid_name(name))
    return dt_seterr(err, errlen, DT_ECONFIG,
                     "flow_settings: '%.80s' is not a setting name (a letter or _, then letters, digits or _; at "
                     "most %d)",
                     name ? name : "", DT_SETTING_NAME_MAX);
  size_t slen = 0;
  if (type == DT_SETTING_STRING) {
    slen = str ? strlen(str) : 0;
    if (str == NULL || slen > DT_SETTING_VALUE_MAX)
      return dt_seterr(err, errlen, DT_ECONFIG, "flow_settings.%s: a string of at most %d bytes", name,
                       DT_SETTING_VALUE_MAX);
    if (!dt_text_utf8_valid(str, slen))
      return dt_seterr(err, errlen, DT_ECONFIG, "flow_settings.%s: the string is not UTF-8", name);
  } else if (type == DT_SETTING_NUMBER && !isfinite(num)) {
    return dt_seterr(err, errlen, DT_ECONFIG, "flow_settings.%s: a finite number", name);
  }
  dt_setting_t *it = find(s, name, false);
  size_t old = it ? strlen(it->name) + (it->str ? strlen(it->str) : 0) : 0;
  size_t bytes = s->bytes - old + strlen(name) + slen;
  if (it == NULL && s->count == DT_SETTINGS_MAX)
    return dt_seterr(err, errlen, DT_ECONFIG, "flow_settings: more than %d settings (at %s)", DT_SETTINGS_MAX, name);
  if (bytes > DT_SETTINGS_MAX_BYTES)
    return dt_seterr(err, errlen, DT_ECONFIG, "flow_settings: more than %d bytes of names and strings (at %s)",
                     DT_SETTINGS_MAX_BYTES, name);
  if (it == NULL) {
    s->items = dt_xrealloc(s->items, (s->count + 1) * sizeof *s->items);
    it = &s->items[s->count++];
    it->name = dt_xstrdup(name);
    it->str = NULL;
  }
  free(it->str);
  it->str = type == DT_SETTING_STRING ? dt_xstrdup(str) : NULL;
  it->type = type;
  it->num = num;
  it->flag = flag;
  s->bytes = bytes;
  return 0;
}

int dt_settings_set_text(dt_config_settings_t *s, const char *name, const char *text, char *err, size_t errlen) {
  const dt_setting_t *it = find(s, name, true);
  if (it == NULL) {
    char lower[DT_SETTING_NAME_MAX + 1];
    size_t i = 0;
    for (; name[i] && i < DT_SETTING_NAME_MAX; i++)
      lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    lower[i] = '\0';
    if (name[i]) return dt_settings_set(s, name, DT_SETTING_STRING, text, 0, false, err, errlen); /* too long */
    return dt_settings_set(s, lower, DT_SETTING_STRING, text, 0, false, err, errlen);
  }
  char *keep = dt_xstrdup(it->name); /* the name, kept while the setting is replaced */
  int rc;
  if (it->type == DT_SETTING_NUMBER) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || *end != '\0' || errno == ERANGE)
      rc = dt_seterr(err, errlen, DT_ECONFIG, "flow_settings.%s: expected a number, got \"%.64s\"", keep, text);
    else
      rc = dt_settings_set(s, keep, DT_SETTING_NUMBER, NULL, v, false, err, errlen);
  } else if (it->type == DT_SETTING_BOOLEAN) {
    bool t = !strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes");
    bool f = !strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no");
    if (!t && !f)
      rc = dt_seterr(err, errlen, DT_ECONFIG, "flow_settings.%s: expected true or false, got \"%.64s\"", keep, text);
    else
      rc = dt_settings_set(s, keep, DT_SETTING_BOOLEAN, NULL, 0, t, err, errlen);
  } else {
    rc = dt_settings_set(s, keep, DT_SETTING_STRING, text, 0, false, err, errlen);
  }
  free(keep);
  return rc;
}

void dt_settings_clear(dt_config_settings_t *s) {
  for (size_t i = 0; i < s->count; i++) {
    free(s->items[i].name);
    free(s->items[i].str);
  }
  free(s->items);
  memset(s, 0, sizeof *s);
}

void dt_settings_dump(const dt_config_settings_t *s, const char *indent, dt_buf_t *out) {
  for (size_t i = 0; i < s->count; i++) {
    const dt_setting_t *it = &s->items[i];
    dt_buf_appendf(out, "%s[\"%s\"] = ", indent, it->name); /* ["end"]: a name may be a Lua keyword */
    if (it->type == DT_SETTING_NUMBER) {
      dt_buf_appendf(out, "%.17g", it->num);
    } else if (it->type == DT_SETTING_BOOLEAN) {
      dt_buf_appendf(out, "%s", it->flag ? "true" : "false");
    } else {
      dt_text_lua_string(out, it->str);
    }
    dt_buf_append(out, ",\n", 2);
  }
}
