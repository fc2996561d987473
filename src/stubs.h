/*
 * stubs.h — `dialtone stubs [DIR]`: LuaLS annotations for the flows in DIR (default
 * $DIALTONE_FLOWS or ./flows), generated from lua/api_schema.lua by src/stubs.lua.
 *
 * Writes DIR/.luals/dialtone.lua (a ---@meta file: the dialtone.Call class with every
 * primitive and its options, the dialtone module) and DIR/.luarc.json (Lua 5.4, .luals as
 * a library, the libraries the sandbox lacks disabled) unless a .luarc.json is already
 * there, which is kept (with a note on how to add the library to it). Neither file is a
 * flow: the engine, `dialtone check` and `dialtone test` skip dot files and directories.
 *
 * Exit codes: 0 written, 1 a file could not be written, 2 usage error.
 */
#ifndef DIALTONE_STUBS_H
#define DIALTONE_STUBS_H
#include <stdio.h>

/* argv[0] is the command name. Reports on out, errors on err. */
int dt_stubs_run(FILE *out, FILE *err, int argc, char **argv);
int dt_stubs_main(int argc, char **argv);

#endif
