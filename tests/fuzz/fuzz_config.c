/*
 * fuzz_config.c — libFuzzer target for the Lua configuration loader (lua/config_lua.c)
 * and, behind it, the schema, setters and validation of core/calls/config.c.
 *
 * Each input is the whole text of a config file. It is written to dialtone.conf.lua in a
 * private temporary directory (the loader reads files only) and loaded into a fresh
 * config; the loader's own instruction (1,000,000) and memory (16 MiB) limits are what
 * keep hostile files from hanging or exhausting the fuzzer.
 *
 * Promises checked, beyond "no crash, no leak, no UB": the result is 0 or DT_ECONFIG
 * (DT_ENOMEM only if a Lua state cannot be made) with a message; and a file that loads
 * and validates round-trips: dt_config_dump's output (documented as a valid config file)
 * loads and validates again and dumps the same values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/error.h"
#include "dialtone/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[96];

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_config: broken promise: %s\n", what);
    abort();
  }
}

static void cleanup(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  dt_log_set_level(DT_LOG_OFF);
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/dt-fuzz-config-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
  check(mkdtemp(dir) != NULL, "mkdtemp");
  snprintf(path, sizeof path, "%s/dialtone.conf.lua", dir);
  atexit(cleanup);
  return 0;
}

static void write_input(const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  check(f != NULL, "open the temporary config file");
  check(fwrite(data, 1, size, f) == size || size == 0, "write the temporary config file");
  check(fclose(f) == 0, "close the temporary config file");
}

/* Loads path into cfg and validates; returns the code, message in err. */
static int load(dt_config_t *cfg, char *err, size_t errlen) {
  dt_config_init(cfg);
  err[0] = '\0';
  int rc = dt_config_load_lua(cfg, path, true, err, errlen);
  if (rc == 0) rc = dt_config_finalize(cfg, err, errlen);
  check(rc == 0 || rc == DT_ECONFIG || rc == DT_ENOMEM, "unexpected error code");
  check(rc == 0 || err[0] != '\0', "error without a message");
  return rc;
}

/* The dump without its "-- origin" comments, which legitimately differ between loads. */
static char *values_of(const char *dump) {
  dt_buf_t out = {0};
  for (const char *line = dump; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const char *c = NULL;
    for (size_t i = 0; i + 3 < len; i++) /* ",  -- " ends the value part of a line */
      if (memcmp(line + i, "  --", 4) == 0) {
        c = line + i;
        break;
      }
    dt_buf_append(&out, line, c ? (size_t)(c - line) : len);
    dt_buf_append(&out, "\n", 1);
    line += len + (nl ? 1 : 0);
  }
  char *s = dt_xstrndup(out.data ? out.data : "", out.len);
  dt_buf_free(&out);
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > DT_CONFIG_FILE_MAX) return 0;
  write_input(data, size);
  dt_config_t cfg;
  char err[1024];
  int rc = load(&cfg, err, sizeof err);
  if (rc != 0) {
    dt_config_free(&cfg);
    return 0;
  }
  size_t nkeys = 0;
  const dt_config_key_t *keys = dt_config_schema(&nkeys);
  for (size_t i = 0; i < nkeys; i++)
    check(dt_config_origin(&cfg, keys[i].path) != NULL, "a key without an origin");
  dt_buf_t dump = {0};
  dt_config_dump(&cfg, &dump);
  dt_config_free(&cfg);

  /* Round trip: what dt_config_dump wrote is a config file that says the same. */
  write_input(dump.data, dump.len);
  rc = load(&cfg, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "fuzz_config: the dump of a valid config does not load: %s\n--- dump:\n%s\n", err,
            dump.data);
    check(0, "dump round trip loads");
  }
  dt_buf_t again = {0};
  dt_config_dump(&cfg, &again);
  dt_config_free(&cfg);
  char *a = values_of(dump.data), *b = values_of(again.data);
  if (strcmp(a, b) != 0) {
    fprintf(stderr, "fuzz_config: values changed in a dump round trip\n--- first:\n%s\n--- second:\n%s\n", a,
            b);
    check(0, "dump round trip keeps the values");
  }
  free(a);
  free(b);
  dt_buf_free(&dump);
  dt_buf_free(&again);
  return 0;
}
