/*
 * config_settings.h — the config's flow_settings table: named values a flow reads as
 * dialtone.settings (per-environment values without os.getenv). Flat: a name maps to a
 * string, a number or a boolean.
 *
 * Limits (refused with a message naming the setting): at most DT_SETTINGS_MAX settings;
 * names are identifiers (a letter or _, then letters, digits, _), 1..DT_SETTING_NAME_MAX
 * characters; strings at most DT_SETTING_VALUE_MAX bytes of UTF-8; numbers finite; all
 * names and strings together at most DT_SETTINGS_MAX_BYTES. A name set again replaces its
 * value (the environment overrides the file).
 */
#ifndef DIALTONE_CONFIG_SETTINGS_H
#define DIALTONE_CONFIG_SETTINGS_H
#include <stdbool.h>
#include <stddef.h>
#include "dialtone/common.h"

#define DT_SETTINGS_MAX 64
#define DT_SETTING_NAME_MAX 64
#define DT_SETTING_VALUE_MAX 4096
#define DT_SETTINGS_MAX_BYTES 65536

typedef enum { DT_SETTING_STRING = 0, DT_SETTING_NUMBER, DT_SETTING_BOOLEAN } dt_setting_type_t;

typedef struct {
  char *name;
  dt_setting_type_t type;
  char *str;   /* DT_SETTING_STRING */
  double num;  /* DT_SETTING_NUMBER */
  bool flag;   /* DT_SETTING_BOOLEAN */
} dt_setting_t;

typedef struct {
  dt_setting_t *items; /* in the order first set */
  size_t count;
  size_t bytes;        /* names and strings */
} dt_config_settings_t;

/* Sets (adds or replaces) one setting; str is used for DT_SETTING_STRING only, num for
   numbers, flag for booleans. DT_ECONFIG with the reason in err; nothing changed then. */
int dt_settings_set(dt_config_settings_t *s, const char *name, dt_setting_type_t type, const char *str, double num,
                    bool flag, char *err, size_t errlen);
/* From an environment variable's text: the type of an existing setting whose name matches
   case-insensitively decides (a number must parse; booleans are true/false/1/0/yes/no);
   otherwise a new string setting named in lower case. */
int dt_settings_set_text(dt_config_settings_t *s, const char *name, const char *text, char *err, size_t errlen);
const dt_setting_t *dt_settings_find(const dt_config_settings_t *s, const char *name);
void dt_settings_clear(dt_config_settings_t *s);
/* Appends `["name"] = value,` lines (a Lua table's body), each after indent. */
void dt_settings_dump(const dt_config_settings_t *s, const char *indent, dt_buf_t *out);

#endif
