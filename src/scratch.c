/*
 * scratch.c — the throw-away directories of `dialtone demo` and `dialtone console`
 * (scratch.h). Promises: removal takes only what was made here (the CDR file, the work
 * directory, an empty recordings directory of our own); recordings are never deleted.
 */
#include "scratch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"

static char *make_dir(const char *tmp, const char *name, const char *prefix, FILE *err) {
  char *dir = dt_xasprintf("%s/dialtone-%s-XXXXXX", tmp, name);
  if (mkdtemp(dir) != NULL) return dir;
  fprintf(err, "%s: cannot create a directory under %s: %s\n", prefix, tmp, strerror(errno));
  free(dir);
  return NULL;
}

int dt_scratch_make(dt_scratch_t *s, const char *name, const char *recordings, const char *rec_name,
                    const char *prefix, FILE *err) {
  *s = (dt_scratch_t){0};
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
  s->workdir = make_dir(tmp, name, prefix, err);
  if (s->workdir == NULL) return -1;
  s->cdr_path = dt_xasprintf("%s/cdr.jsonl", s->workdir);
  if (recordings) {
    s->recordings_dir = dt_xstrdup(recordings);
    return 0;
  }
  s->recordings_dir = make_dir(tmp, rec_name, prefix, err);
  if (s->recordings_dir == NULL) {
    dt_scratch_remove(s);
    return -1;
  }
  s->own_recordings = true;
  return 0;
}

dt_localrun_options_t dt_scratch_options(const char *flows, double scale, bool beta, bool verbose) {
  dt_localrun_options_t o = {0};
  o.flows_dir = flows;
  o.time_scale = scale;
  o.dialect = beta ? DT_GRAPH_BETA : DT_GRAPH_V1;
  o.quiet = verbose ? 0 : 1;
  return o;
}

int dt_scratch_start(const dt_scratch_t *s, uv_loop_t *loop, dt_localrun_options_t *o, dt_localrun_t **lr,
                     const char *prefix, FILE *err) {
  signal(SIGPIPE, SIG_IGN);
  o->recordings_dir = s->recordings_dir;
  o->cdr_path = s->cdr_path;
  char why[512] = "";
  if (dt_localrun_start(loop, o, lr, why, sizeof why) != 0) {
    fprintf(err, "%s: cannot start: %s\n", prefix, why);
    return -1;
  }
  if (why[0]) fprintf(err, "%s: warning: %s\n", prefix, why);
  return 0;
}

void dt_scratch_remove(dt_scratch_t *s) {
  if (s->cdr_path) unlink(s->cdr_path);
  if (s->workdir) rmdir(s->workdir);
  if (s->own_recordings && s->recordings_dir) rmdir(s->recordings_dir); /* only when empty */
  free(s->workdir);
  free(s->cdr_path);
  free(s->recordings_dir);
  *s = (dt_scratch_t){0};
}
