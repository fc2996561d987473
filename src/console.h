/*
 * console.h — `dialtone console [FLOW]`: a terminal softphone against the embedded Graph
 * emulator. It runs the engine and the emulator in this process (localrun.h), dials FLOW
 * (default main) as an incoming call, shows each prompt as it plays (its name and its
 * transcript text from prompts/NAME.txt), and reads commands from stdin through libuv on
 * the same loop (a terminal, a pipe or a file; never blocking the loop):
 *
 *   1 2 3 * # A-D    keys, sent as tones (several on one line: "427#")
 *   s N              speak for N seconds (what a recording hears)
 *   h                hang up            c   call again          q   quit
 *   w NAME | w N     wait until prompt NAME starts playing, or N seconds (scripts)
 *   ?                help
 *
 * At the end of stdin the call is hung up and the console quits with status 0.
 */
#ifndef DIALTONE_CONSOLE_H
#define DIALTONE_CONSOLE_H
#include <stdio.h>

/* `dialtone console [FLOW] [--flows DIR] [--time-scale X] [--from NUMBER] [--recordings DIR]
   [--beta] [--verbose]`; argv[0] is the command name. Reads stdin, prints to stdout and
   stderr. Returns 0 (quit or end of input), 1 when it cannot start, 2 on a usage error. */
int dt_console_main(int argc, char **argv);

#endif
