/*
 * cmd_emulator.c — `dialtone emulator` (cmd_emulator.h): the Graph calls emulator
 * (include/dialtone/emulator.h) on this process's loop until SIGINT or SIGTERM.
 *
 * Owns: the command's options (src/args.h), the loop and the two signal handles.
 * Promises: the emulator's URL is the first line of stdout (scripts read it); a signal
 * closes the emulator, and the command returns once its handles are closed.
 */
#include "cmd_emulator.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "args.h"
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/error.h"

typedef struct {
  dt_emulator_t *emu;
  uv_signal_t sigint, sigterm;
} emu_cmd_t;

static void on_signal(uv_signal_t *s, int signum) {
  emu_cmd_t *m = s->data;
  uv_close((uv_handle_t *)&m->sigint, NULL);
  uv_close((uv_handle_t *)&m->sigterm, NULL);
  dt_emulator_close(m->emu, NULL, NULL);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dialtone emulator [--listen ADDR:PORT] [--bot URL] [--time-scale X]\n"
          "                         [--app-id ID] [--tenant-id ID] [--client-secret S] [--client-cert PEM]\n"
          "                         [--roles PERMISSION,...] [--tls] [--tls-cert PEM --tls-key PEM]\n"
          "                         [--tls-dir DIR] [--graph-host NAME,...]\n"
          "                         [--recordings DIR] [--fetch-remote-prompts] [--quiet]\n"
          "Runs the Graph calls emulator; prints its URL on the first line of stdout.\n");
}

int dt_cmd_emulator_main(int argc, char **argv) {
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.listen = "127.0.0.1:9090";
  bool quiet = false, fetch_remote = false, strict = false, tls = false;
  double scale = o.time_scale;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--listen", &o.listen),
      DT_ARG_STR("--bot", &o.bot_url),
      DT_ARG_NUM("--time-scale", &scale, 0, 1000,
                 "--time-scale must be a number from 0 to 1000 (1 = real time, 0 = instant)"),
      DT_ARG_STR("--app-id", &o.app_id),
      DT_ARG_STR("--tenant-id", &o.tenant_id),
      DT_ARG_STR("--client-secret", &o.client_secret),
      DT_ARG_STR("--client-cert", &o.client_cert_file),
      DT_ARG_STR("--roles", &o.roles),
      DT_ARG_BOOL("--tls", NULL, &tls),
      DT_ARG_STR("--tls-cert", &o.tls_cert_file),
      DT_ARG_STR("--tls-key", &o.tls_key_file),
      DT_ARG_STR("--tls-dir", &o.tls_dir),
      DT_ARG_STR("--graph-host", &o.tls_hosts),
      DT_ARG_STR("--recordings", &o.recordings_dir),
      DT_ARG_BOOL("--fetch-remote-prompts", NULL, &fetch_remote),
      DT_ARG_BOOL("--strict", NULL, &strict),
      DT_ARG_BOOL("--quiet", NULL, &quiet),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone emulator", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option %s"};
  int first = argc > 1 && strcmp(argv[1], "emulator") == 0 ? 2 : 1;
  int code;
  if (!dt_args_parse(&spec, first, argc, argv, stdout, stderr, &code)) return code;
  o.time_scale = scale;
  o.quiet = quiet;
  o.fetch_remote_prompts = fetch_remote;
  o.strict = strict;
  o.tls = tls || (o.tls_cert_file && o.tls_cert_file[0]) || (o.tls_key_file && o.tls_key_file[0]);
  char ca_dir[512];
  const char *home = getenv("HOME");
  if (o.tls && (o.tls_dir == NULL || !o.tls_dir[0]) && home && home[0] && strlen(home) < 400) {
    snprintf(ca_dir, sizeof ca_dir, "%s/.dialtone-emulator-ca", home); /* kept: trust it once */
    o.tls_dir = ca_dir;
  }

  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 1;
  emu_cmd_t m = {0};
  char err[256];
  int rc = dt_emulator_start(&loop, &o, &m.emu, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "dialtone emulator: %s\n", err);
    uv_loop_close(&loop);
    return rc == DT_EINVAL ? 2 : 1;
  }
  printf("%s\n", dt_emulator_url(m.emu));
  const char *ca = dt_emulator_ca_file(m.emu);
  if (ca)
    printf("HTTPS with a certificate from the emulator's local CA: %s\n"
           "trust it: NODE_EXTRA_CA_CERTS=%s (Node)  SSL_CERT_FILE=%s (OpenSSL, .NET on Linux)  "
           "REQUESTS_CA_BUNDLE=%s (Python requests)\n",
           ca, ca, ca, ca);
  fflush(stdout);
  uv_signal_init(&loop, &m.sigint);
  uv_signal_init(&loop, &m.sigterm);
  m.sigint.data = m.sigterm.data = &m;
  uv_signal_start(&m.sigint, on_signal, SIGINT);
  uv_signal_start(&m.sigterm, on_signal, SIGTERM);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}
