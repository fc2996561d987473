/*
 * live_fixture.h — the live view's process tests (test_live_view_process.c, the dashboard
 * in headless Chromium: test_dashboard_browser.c): `dialtone emulator` plays Graph, `dialtone
 * run` serves the admin listener on a free port with an admin token, and the flow "main"
 * answers, gathers up to three keys (terminator #) behind a prompt and says goodbye.
 */
#ifndef DT_LIVE_FIXTURE_H
#define DT_LIVE_FIXTURE_H
#include "harness/proc_harness.h"

#define LIVE_TOKEN "live-admin-token-1"

static const char LIVE_FLOW[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  call:tag{menu = 'main'}\n"
    "  local d = call:gather{prompt = 'main_menu', max = 3, terminators = '#', timeout = 120}\n"
    "  dialtone.log('info', 'GOT', d)\n"
    "  call:play('goodbye')\n"
    "end\n";

typedef struct {
  p_env_t env;
  p_proc_t emu, eng;
  int admin_port;
} live_fixture_t;

/* The admin listener's port from the engine's log ("admin endpoints ... (port N)"). */
static __attribute__((unused)) int live_admin_port(const p_proc_t *eng) {
  char *text = p_slurp(eng->err);
  const char *at = text ? strstr(text, "admin endpoints") : NULL;
  at = at ? strstr(at, "(port ") : NULL;
  int port = at ? atoi(at + 6) : 0;
  free(text);
  return port;
}

static __attribute__((unused)) int live_start(live_fixture_t *f) {
  memset(f, 0, sizeof *f);
  if (p_env_init(&f->env) != 0) return -1;
  if (p_start_emulator(&f->env, &f->emu, "--time-scale 1") != 0) return -1;
  if (p_write_flow(&f->env, "main", LIVE_FLOW) != 0) return -1;
  if (p_write_config(&f->env, "admin = {listen = \"127.0.0.1:0\", token = \"" LIVE_TOKEN "\"},") != 0) return -1;
  if (p_start_engine(&f->env, &f->eng, "engine") != 0) return -1;
  f->admin_port = live_admin_port(&f->eng);
  return f->admin_port > 0 ? 0 : -1;
}

/* GET http://127.0.0.1:ADMIN{path}, the token in the query; status, body in *out. */
static __attribute__((unused)) int live_get(live_fixture_t *f, const char *path, char **out) {
  char url[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s%saccess_token=" LIVE_TOKEN, f->admin_port, path,
           strchr(path, '?') ? "&" : "?");
  return p_http("GET", url, NULL, out);
}

/* POST /emulator/calls/{id}/tones {"tones": tones}: the caller presses keys. */
static __attribute__((unused)) int live_press(live_fixture_t *f, const char *id, const char *tones) {
  char url[512], body[128];
  snprintf(url, sizeof url, "%s/emulator/calls/%s/tones", f->env.emu_url, id);
  snprintf(body, sizeof body, "{\"tones\":\"%s\"}", tones);
  return p_http("POST", url, body, NULL);
}

#endif
