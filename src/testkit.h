/*
 * testkit.h — `dialtone test [FILES…]`: flow tests written in Lua, run against the engine
 * and its Graph calls emulator in one process (localrun.h) at time scale 0.
 *
 * Usage (argv[0] is the command name and is ignored, as src/main.c passes it):
 *
 *   test [--dir DIR] [--flows DIR] [--dialect v1.0|beta] [--timeout SECONDS]
 *        [--filter TEXT] [--verbose] [FILES|DIRS…]
 *
 * With no FILES it runs the *.lua files of tests/flows (or of --dir DIR). A directory given
 * as an argument contributes every *_test.lua file in it and below it (so `dialtone test
 * examples` finds examples/NAME/NAME_test.lua and not the flows beside them).
 *
 * Each test file runs in its own Lua state (full standard library, separate from the
 * engine's flows) with its own engine + emulator; the Lua API is documented in
 * docs/flow-testing.md and src/testkit.lua. Output on `out`: one line per test
 * ("ok   FILE: NAME" / "FAIL FILE: NAME" followed by the failure: the expectation, the
 * file:line that made it, the call's timeline and the engine's log), then exactly one
 * closing line "N passed, N failed".
 *
 * Returns the process exit code: 0 every test passed, 1 a test failed (or a file did not
 * load, or no test was found), 2 usage error (unknown option, a file that does not exist).
 */
#ifndef DIALTONE_TESTKIT_H
#define DIALTONE_TESTKIT_H
#include <stdio.h>

/* The command: report on stdout, usage errors on stderr. */
int dt_test_main(int argc, char **argv);
/* The same, writing the report to out and usage errors to err. */
int dt_test_run_ex(FILE *out, FILE *err, int argc, char **argv);

#endif
