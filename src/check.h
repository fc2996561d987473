/*
 * check.h — `dialtone check [DIR|FILES…]`: compile and lint flows without running a call.
 *
 * Usage (argv[0] is the subcommand name and is ignored, so src/main.c calls
 * `dt_check_main(argc - 1, argv + 1)` for `dialtone check …`):
 *
 *   check [--format text|json] [--prompts DIR] [DIR|FILE]...
 *
 * With no paths it checks $DIALTONE_FLOWS, or ./flows. A directory contributes its *.lua
 * files and those of its lib/ (the modules; not recursively otherwise: prompts/ and other
 * subdirectories are skipped; dot files too). A file in a lib/ directory is checked as a
 * module: like a flow, but it may return anything, and its prompts are those of the flows
 * directory above. dialtone.prompts{names…, pattern =} declarations are checked against
 * the prompt files.
 * Each flow is checked for: syntax errors; reads and writes of globals the flow sandbox
 * does not provide (found exactly, from the compiled bytecode); calls to primitives that do
 * not exist and option keys a primitive does not take (`call:gather{mx=3}`,
 * `dialtone.dial{…}`); prompt names given as literals that have no {prompts}/NAME.wav
 * (the prompts dir is DIR/prompts for a flow in DIR, or --prompts DIR); `call:menu{…}`
 * without `invalid=` or `noinput=`; and top-level code that does not return a function
 * (run in an empty sandbox under an instruction and memory limit).
 *
 * Output on `out`: one `file:line: message` line per problem and a closing
 * `checked N flows, M problems` line; with --format json a JSON array of
 * {"file","line","check","message"} objects and nothing else. Usage errors go to `err`.
 *
 * Returns the process exit code: 0 no problems, 1 problems found (or an internal
 * failure), 2 usage error (unknown option, a path that does not exist).
 */
#ifndef DIALTONE_CHECK_H
#define DIALTONE_CHECK_H
#include <stdio.h>

/* The command: report on stdout, usage errors on stderr. */
int dt_check_main(int argc, char **argv);
/* The same, writing the report to out (usage errors still go to stderr). */
int dt_check_run(FILE *out, int argc, char **argv);
/* The same, with usage errors written to err. */
int dt_check_run_ex(FILE *out, FILE *err, int argc, char **argv);

#endif
