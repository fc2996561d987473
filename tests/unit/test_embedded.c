/*
 * test_embedded.c — the Lua sources compiled into the binary (lua/embedded.c): every entry
 * is found by name, is NUL-terminated text of its length, and compiles; unknown names are
 * NULL.
 */
#include <string.h>
#include <lauxlib.h>
#include "dialtone/embedded.h"
#include "harness/dt_test.h"

DT_TEST(the_runtime_sources_are_there) {
  const char *needed[] = {"prelude", "api_schema"};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
    const dt_embedded_file_t *f = dt_embedded_find(needed[i]);
    DT_ASSERT_MSG(f != NULL, "%s.lua is not embedded", needed[i]);
    DT_ASSERT_EQ_STR(f->name, needed[i]);
  }
  DT_ASSERT(dt_embedded_find("no_such_file") == NULL);
  DT_ASSERT(dt_embedded_find("prelude.lua") == NULL); /* names are without .lua */
}

DT_TEST(every_entry_is_text_of_its_length_that_compiles) {
  lua_State *L = luaL_newstate();
  int n = 0;
  for (const dt_embedded_file_t *f = dt_embedded_files; f->name; f++, n++) {
    DT_ASSERT_EQ_INT(strlen(f->data), f->len);
    DT_ASSERT(dt_embedded_find(f->name) == f);
    int st = luaL_loadbufferx(L, f->data, f->len, f->name, "t");
    DT_ASSERT_MSG(st == LUA_OK, "%s: %s", f->name, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  DT_ASSERT(n >= 2);
  lua_close(L);
}

DT_TEST_MAIN()
