/*
 * demo.h — `dialtone demo`: the engine and the embedded Graph emulator in one process
 * (localrun.h), scripted callers walking every branch of flows/main.lua (their scripts and
 * the expected outcomes are data beside the flow: flows/main.demo.json, demo_callers.h),
 * and a readable transcript of each call as it happens (the simulated time of every line, each prompt
 * with its transcript text from prompts/NAME.txt, keys, recordings, transfers, endings),
 * then a summary. Exit 0 when every call went as scripted, 1 otherwise (with the reason),
 * 2 on a usage error (a missing or malformed DIR/main.demo.json included).
 *
 * The transcript printer (transcript.h) is shared with `dialtone console`.
 */
#ifndef DIALTONE_DEMO_H
#define DIALTONE_DEMO_H
#include <stdio.h>

/* `dialtone demo [--flows DIR] [--time-scale X] [--recordings DIR] [--beta] [--verbose]`.
   argv[0] is the command name. Prints to stdout/stderr. */
int dt_demo_main(int argc, char **argv);
/* The same, printing the transcript to out and problems to err (tests capture them). */
int dt_demo_run(int argc, char **argv, FILE *out, FILE *err);

#endif
