/*
 * logcap.h — the engine's log kept aside while a command prints a transcript, and shown
 * only when something failed (src/logcap.c; `dialtone demo`, `dialtone console`).
 */
#ifndef DIALTONE_LOGCAP_H
#define DIALTONE_LOGCAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
  FILE *f;
  char *text;
  size_t len;
} dt_logcap_t;

/* From now on the log (dt_log_*) goes into memory. */
void dt_logcap_start(dt_logcap_t *c);
/* Puts the log back on stderr. When show and something was logged, prints
   "PREFIX: the log of the run:" and the log on err — only its last tail bytes when tail is
   not 0 and the log is longer (then "the log of the run (its end):"). Frees the text. */
void dt_logcap_end(dt_logcap_t *c, bool show, FILE *err, const char *prefix, size_t tail);

#endif
