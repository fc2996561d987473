/*
 * cdr_file.h — reading back the engine's CDR file (JSON lines, include/dialtone/cdr.h) in
 * the commands that run a call and then look at its record: `dialtone demo` and
 * `dialtone console` (src/cdr_file.c).
 */
#ifndef DIALTONE_CDR_FILE_H
#define DIALTONE_CDR_FILE_H
#include <cjson/cJSON.h>

/* The CDR line of call_id in the file cdr_path (ids compared as Graph ids: dt_graph_id_key),
   parsed (caller frees with cJSON_Delete), or NULL when it has not been written yet. Reads
   at most the file's first 16 MiB. */
cJSON *dt_cdr_file_find(const char *cdr_path, const char *call_id);

#endif
