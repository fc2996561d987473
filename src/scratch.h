/*
 * scratch.h — the throw-away directories of a command that runs the engine and the
 * emulator in this process (`dialtone demo`, `dialtone console`; src/scratch.c): a work
 * directory holding the CDR file, and a recordings directory (given, or a new one); and
 * the start of the engine and the emulator on them.
 */
#ifndef DIALTONE_SCRATCH_H
#define DIALTONE_SCRATCH_H
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>
#include "dialtone/localrun.h"

typedef struct {
  char *workdir;        /* $TMPDIR/dialtone-NAME-XXXXXX (or under /tmp) */
  char *cdr_path;       /* workdir/cdr.jsonl */
  char *recordings_dir; /* the one given, or $TMPDIR/dialtone-REC_NAME-XXXXXX */
  bool own_recordings;  /* made here: removed at the end when empty */
} dt_scratch_t;

/* Makes the directories. recordings: the directory to use (NULL: make one named after
   rec_name). Returns 0, or -1 after printing "PREFIX: cannot create a directory under
   T: why" on err, with nothing left behind. */
int dt_scratch_make(dt_scratch_t *s, const char *name, const char *recordings, const char *rec_name,
                    const char *prefix, FILE *err);
/* The options every such command starts with: the flows directory, the time scale, the
   dialect (beta or v1.0), and a quiet engine unless verbose. */
dt_localrun_options_t dt_scratch_options(const char *flows, double scale, bool beta, bool verbose);
/* Starts the engine and the emulator (dt_localrun_start) on loop with o (flows, time
   scale, dialect ...) and these directories for the CDR file and the recordings. Returns 0
   (a warning, such as a flow that did not compile, printed as "PREFIX: warning: ..." on
   err), or -1 after "PREFIX: cannot start: why". SIGPIPE is ignored from here on: a peer
   that goes away must not end the process. */
int dt_scratch_start(const dt_scratch_t *s, uv_loop_t *loop, dt_localrun_options_t *o, dt_localrun_t **lr,
                     const char *prefix, FILE *err);
/* Removes the CDR file and the work directory (nothing else in it), and the recordings
   directory when it was made here and is empty; frees the strings. */
void dt_scratch_remove(dt_scratch_t *s);

#endif
