/*
 * test_config_lua.c — the configuration file's sandbox (lua/config_lua.c, on a state from
 * lstate.c's factory): what the file may use, the instruction budget (in Lua code and in
 * library functions) and the memory cap, each error naming the file and line.
 * (tests/unit/test_config.c covers the schema walk and the whole start-up sequence.)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

/* Applies text as a config file; the message (if any) in err. */
static int apply(const char *text, char *err, size_t errlen) {
  char path[] = "/tmp/dt_config_lua_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
  close(fd);
  dt_config_t cfg;
  dt_config_init(&cfg);
  err[0] = '\0';
  int rc = dt_config_load_lua(&cfg, path, true, err, errlen);
  dt_config_free(&cfg);
  unlink(path);
  return rc;
}

DT_TEST(the_file_sees_only_the_safe_libraries) {
  char err[512];
  int rc = apply("assert(string and table and math and utf8 and getenv)\n"
                 "assert(not io and not os and not require and not debug and not load and not dofile)\n"
                 "assert(not print and not collectgarbage and not loadfile)\n"
                 "return {}", err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
}

DT_TEST(getenv_reads_the_environment) {
  char err[512];
  setenv("DT_TEST_CONFIG_LUA", "yes", 1);
  int rc = apply("assert(getenv('DT_TEST_CONFIG_LUA') == 'yes' and getenv('DT_NO_SUCH_VARIABLE') == nil)\n"
                 "return {}", err, sizeof err);
  unsetenv("DT_TEST_CONFIG_LUA");
  DT_ASSERT_MSG(rc == 0, "%s", err);
}

DT_TEST(a_loop_is_stopped_at_its_line) {
  char err[512];
  DT_ASSERT_EQ_INT(apply("local x = 0\nwhile true do x = x + 1 end\nreturn {}", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, ":2: the configuration ran for more than 1000000 instructions");
}

DT_TEST(a_library_function_is_stopped_too) {
  char err[512];
  DT_ASSERT_EQ_INT(apply("local s = string.rep('a', 100000)\nfor i = 1, 100 do s:find('.-.-.-b') end\nreturn {}",
                         err, sizeof err),
                   DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "the configuration ran for more than 1000000 instructions (in string.find)");
}

DT_TEST(memory_is_capped) {
  char err[512];
  DT_ASSERT_EQ_INT(apply("local t = {}\nfor i = 1, 64 do t[i] = string.rep('x', 1 << 20) .. i end\nreturn {}", err,
                         sizeof err),
                   DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "uses too much memory");
}

DT_TEST(finalizers_are_refused) {
  char err[512];
  DT_ASSERT_EQ_INT(apply("setmetatable({}, {__gc = function() end})\nreturn {}", err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "__gc metamethods are not allowed in the configuration");
  DT_ASSERT_CONTAINS(err, ":1:");
}

DT_TEST(a_missing_optional_file_is_nothing) {
  dt_config_t cfg;
  dt_config_init(&cfg);
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_config_load_lua(&cfg, "/nonexistent/dialtone.conf.lua", false, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_config_load_lua(&cfg, "/nonexistent/dialtone.conf.lua", true, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_CONTAINS(err, "no such file");
  dt_config_free(&cfg);
}

DT_TEST_MAIN()
