/*
 * cmd_version.c — `dialtone version` (cmd_version.h): one line for dialtone, one for each
 * library (Lua, libuv, libcurl, mbedTLS, cJSON, llhttp) as built or loaded.
 */
#include "cmd_version.h"

#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <llhttp.h>
#include <lua.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <uv.h>
#include "dialtone/config.h"

int dt_cmd_version_main(FILE *out) {
  char mbed[32];
  mbedtls_version_get_string(mbed);
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  fprintf(out, "dialtone %s\n", DIALTONE_VERSION);
  fprintf(out, "  %s\n", LUA_RELEASE);
  fprintf(out, "  libuv %s\n", uv_version_string());
  fprintf(out, "  libcurl %s\n", curl && curl->version ? curl->version : "?");
  fprintf(out, "  mbedTLS %s\n", mbed);
  fprintf(out, "  cJSON %s\n", cJSON_Version());
  fprintf(out, "  llhttp %d.%d.%d\n", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
  return 0;
}
