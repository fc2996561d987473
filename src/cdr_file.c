/*
 * cdr_file.c — finds one call's record in a CDR file (cdr_file.h).
 *
 * Promises: read-only; a line that is not JSON is skipped (the engine writes whole lines,
 * but the file may be read while a line is being appended).
 */
#include "cdr_file.h"

#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/graph.h"

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *dt_cdr_file_find(const char *cdr_path, const char *call_id) {
  char *text = NULL;
  size_t len = 0;
  char want[160];
  if (call_id == NULL || strlen(call_id) >= sizeof want) return NULL;
  if (dt_read_file(cdr_path, 16u << 20, &text, &len) != 0) return NULL;
  dt_graph_id_key(call_id, want);
  cJSON *found = NULL;
  char *line = text;
  while (line && *line && !found) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    const char *id = jstr(j, "call_id");
    char key[160];
    if (id && strlen(id) < sizeof key) {
      dt_graph_id_key(id, key);
      if (strcmp(key, want) == 0) found = j;
    }
    if (found != j) cJSON_Delete(j);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return found;
}
