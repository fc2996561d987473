/*
 * cmd_emulator.h — `dialtone emulator` (src/cmd_emulator.c): the Graph calls emulator
 * alone, in the foreground (docs/emulator.md).
 */
#ifndef DIALTONE_CMD_EMULATOR_H
#define DIALTONE_CMD_EMULATOR_H

/* `dialtone emulator [--listen ADDR:PORT] [--bot URL] [--time-scale X] [--app-id ID]
   [--tenant-id ID] [--client-secret S] [--recordings DIR] [--fetch-remote-prompts]
   [--quiet]`: prints its URL on the first line of stdout, runs until SIGINT/SIGTERM and
   returns 0 (2 on a usage error, 1 when it cannot start). argv[0] is the command or the
   program name; argv[1] may be "emulator". */
int dt_cmd_emulator_main(int argc, char **argv);

#endif
