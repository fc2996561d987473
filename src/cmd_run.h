/*
 * cmd_run.h — `dialtone run [--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]`
 * (src/cmd_run.c): the engine on one loop, with the embedded Graph emulator when there are
 * no Graph credentials, until SIGINT/SIGTERM drains it (SIGHUP reloads the flows).
 */
#ifndef DIALTONE_CMD_RUN_H
#define DIALTONE_CMD_RUN_H
#include "args.h"

/* argv[0] is the command name; g: the global options (--config, --log-format,
   --log-level). Returns the exit code: 0 after a clean drain, 1 when it cannot start,
   2 on a usage or configuration error. */
int dt_cmd_run_main(int argc, char **argv, const dt_args_global_t *g);

#endif
