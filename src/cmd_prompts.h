/*
 * cmd_prompts.h — `dialtone prompts build [DIR] [--voice V] [--rate N] [--force]`
 * (src/cmd_prompts.c): every NAME.txt of a prompts directory (and of its language folders
 * DIR/LANG/) rendered by espeak-ng into NAME.wav beside it, ahead of time.
 */
#ifndef DIALTONE_CMD_PROMPTS_H
#define DIALTONE_CMD_PROMPTS_H
#include <stdio.h>

/* argv[0] is "prompts". Exit codes: 0 all rendered or up to date, 1 a render failed, 2 usage. */
int dt_cmd_prompts_run(FILE *out, FILE *err, int argc, char **argv);
/* The same on stdout and stderr. */
int dt_cmd_prompts_main(int argc, char **argv);

#endif
