/*
 * scratch.h — the throw-away directories of a command that runs the engine and the
 * emulator in this process (`dialtone demo`, `dialtone console`; src/scratch.c): a work
 * directory holding the CDR file, and a recordings directory (given, or a new one).
 */
#ifndef DIALTONE_SCRATCH_H
#define DIALTONE_SCRATCH_H
#include <stdbool.h>
#include <stdio.h>

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
/* Removes the CDR file and the work directory (nothing else in it), and the recordings
   directory when it was made here and is empty; frees the strings. */
void dt_scratch_remove(dt_scratch_t *s);

#endif
