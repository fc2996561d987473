/*
 * logcap.c — the log kept in memory while a transcript is printed (logcap.h). Promises:
 * the log's output is restored by dt_logcap_end whatever happened; a start that cannot get
 * a memory stream leaves the log where it was.
 */
#include "logcap.h"

#include <stdlib.h>
#include "dialtone/log.h"

void dt_logcap_start(dt_logcap_t *c) {
  *c = (dt_logcap_t){0};
  c->f = open_memstream(&c->text, &c->len);
  if (c->f) dt_log_set_output(c->f);
}

void dt_logcap_end(dt_logcap_t *c, bool show, FILE *err, const char *prefix, size_t tail) {
  if (c->f == NULL) return;
  dt_log_set_output(NULL);
  fclose(c->f);
  if (show && c->text && c->len > 0) {
    size_t from = tail && c->len > tail ? c->len - tail : 0;
    fprintf(err, "%s: the log of the run%s:\n%s", prefix, from ? " (its end)" : "", c->text + from);
  }
  free(c->text);
  *c = (dt_logcap_t){0};
}
