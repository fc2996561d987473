/* embedded.c — lookup in the table of Lua sources compiled into the binary. */
#include <string.h>
#include "dialtone/embedded.h"

const dt_embedded_file_t *dt_embedded_find(const char *name) {
  for (const dt_embedded_file_t *f = dt_embedded_files; f->name != NULL; f++)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}
