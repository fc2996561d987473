/*
 * cmd_version.h — `dialtone version` (src/cmd_version.c): the versions of dialtone and of
 * the libraries it was built with.
 */
#ifndef DIALTONE_CMD_VERSION_H
#define DIALTONE_CMD_VERSION_H

#include <stdio.h>

/* Prints the versions on out; returns 0. (src/main.c refuses arguments.) */
int dt_cmd_version_main(FILE *out);

#endif
