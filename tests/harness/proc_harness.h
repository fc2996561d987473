/*
 * proc_harness.h — tests that run the real `dialtone` binary (DT_BINARY) as separate
 * processes: a `dialtone emulator` playing "real Graph" and `dialtone run` configured
 * against it (graph.base_url, token_url, inbound.jwks_url point at the emulator), so
 * signals, crashes (SIGKILL) and restarts are the real thing.
 *
 *   p_env_t env;  p_env_init(&env);                      // a temporary directory
 *   p_start_emulator(&env, &emu, "--time-scale 0");     // env.emu_url
 *   p_write_config(&env, "limits = {drain_timeout_s = 2}");
 *   p_start_engine(&env, &eng);                          // env.callback
 *   p_place_call(&env, "\"script\":[...]", id);
 *   p_kill(&eng, SIGTERM);  p_wait_exit(&eng, 20000);    // exit status
 *   p_env_free(&env);                                    // kills what is left, removes the directory
 *
 * Every wait is bounded. HTTP is blocking libcurl (the test is the only client).
 */
#ifndef DT_PROC_HARNESS_H
#define DT_PROC_HARNESS_H
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/graph.h"

extern char **environ;

typedef struct {
  pid_t pid;
  char out[300], err[300];  /* stdout / stderr files */
  int status;               /* exit status once waited for (-1: killed by a signal) */
  bool running;
} p_proc_t;

typedef struct {
  char dir[64];
  char flows[128], recordings[128], journal[160], cdr[128], config[128];
  char emu_url[128], callback[256];
  char app_id[64], tenant_id[64];
  char secret[64];
  p_proc_t *procs[8];
  size_t nprocs;
} p_env_t;

static inline const char *p_binary(void) {
  const char *b = getenv("DT_BINARY");
  return b ? b : "./dialtone";
}

static inline const char *p_source_dir(void) {
  const char *s = getenv("DT_SOURCE_DIR");
  return s ? s : ".";
}

static __attribute__((unused)) char *p_slurp(const char *path) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, 256 << 20, &text, &len) != 0) return NULL;
  return text;
}

static __attribute__((unused)) bool p_file_has(const char *path, const char *needle) {
  char *t = p_slurp(path);
  bool r = t && strstr(t, needle) != NULL;
  free(t);
  return r;
}

static inline void p_sleep_ms(unsigned ms) { usleep(ms * 1000u); }

#define P_UNTIL(ms, cond) \
  for (uint64_t p__end = dt_now_ms() + (ms); !(cond) && dt_now_ms() < p__end; p_sleep_ms(20))

static __attribute__((unused)) int p_env_init(p_env_t *e) {
  memset(e, 0, sizeof *e);
  snprintf(e->dir, sizeof e->dir, "/tmp/dt_proctest_XXXXXX");
  if (!mkdtemp(e->dir)) return -1;
  snprintf(e->flows, sizeof e->flows, "%s/flows", e->dir);
  snprintf(e->recordings, sizeof e->recordings, "%s/recordings", e->dir);
  snprintf(e->journal, sizeof e->journal, "%s/.journal", e->recordings);
  snprintf(e->cdr, sizeof e->cdr, "%s/cdr.jsonl", e->dir);
  snprintf(e->config, sizeof e->config, "%s/dialtone.conf.lua", e->dir);
  snprintf(e->secret, sizeof e->secret, "dt-test-secret-%08x", (unsigned)getpid() * 2654435761u);
  mkdir(e->flows, 0755);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

/* Starts DT_BINARY with argv (argv[0] is ignored), stdout and stderr into files named tag. */
static __attribute__((unused)) int p_spawn(p_env_t *e, p_proc_t *p, const char *tag, const char *const *args) {
  memset(p, 0, sizeof *p);
  snprintf(p->out, sizeof p->out, "%s/%s.out", e->dir, tag);
  snprintf(p->err, sizeof p->err, "%s/%s.err", e->dir, tag);
  const char *argv[32];
  size_t n = 0;
  argv[n++] = p_binary();
  for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p->out, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p->err, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  p->running = true;
  if (e->nprocs < DT_ARRAY_SIZE(e->procs)) e->procs[e->nprocs++] = p;
  return 0;
}

static __attribute__((unused)) void p_kill(p_proc_t *p, int sig) {
  if (p->running) kill(p->pid, sig);
}

/* Waits (bounded) for the process to exit; returns its exit status, -1 if a signal ended
   it, -2 if it did not exit in time (it is then killed). */
static __attribute__((unused)) int p_wait_exit(p_proc_t *p, unsigned ms) {
  if (!p->running) return p->status;
  int st = 0;
  pid_t r = 0;
  for (uint64_t end = dt_now_ms() + ms; (r = waitpid(p->pid, &st, WNOHANG)) == 0 && dt_now_ms() < end;)
    p_sleep_ms(20);
  if (r == 0) {
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->running = false;
    p->status = -2;
    return -2;
  }
  p->running = false;
  p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return p->status;
}

static __attribute__((unused)) bool p_alive(p_proc_t *p) {
  if (!p->running) return false;
  int st;
  if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
    p->running = false;
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return false;
  }
  return true;
}

/* Resident memory of a running process in KiB (0 if unknown). */
static __attribute__((unused)) long p_rss_kib(const p_proc_t *p) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)p->pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  fclose(f);
  return kib;
}

/* ---- HTTP (blocking) ---- */

/* The CA the test's own HTTP requests trust (an emulator started with --tls); NULL = curl's. */
static const char *p_ca_file;

static size_t p__sink(char *ptr, size_t size, size_t nmemb, void *ud) {
  dt_buf_append(ud, ptr, size * nmemb);
  return size * nmemb;
}

static __attribute__((unused)) int p_http(const char *method, const char *url, const char *body, char **out) {
  CURL *h = curl_easy_init();
  if (!h) return 0;
  dt_buf_t b = {0};
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  if (p_ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, p_ca_file);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, p__sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  if (out) *out = b.data ? b.data : dt_xstrdup("");
  else dt_buf_free(&b);
  return (int)status;
}

static __attribute__((unused)) cJSON *p_http_json(const char *method, const char *url, const char *body, int *status) {
  char *out = NULL;
  int st = p_http(method, url, body, &out);
  if (status) *status = st;
  cJSON *j = cJSON_Parse(out ? out : "");
  free(out);
  return j;
}

static __attribute__((unused)) const char *p_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* POST/GET/DELETE {emulator}/emulator/{path}; returns the status. */
static __attribute__((unused)) int p_control(p_env_t *e, const char *method, const char *path, const char *body) {
  char url[512];
  snprintf(url, sizeof url, "%s/emulator/%s", e->emu_url, path);
  return p_http(method, url, body, NULL);
}

static __attribute__((unused)) double p_emu_stat(p_env_t *e, const char *key) {
  char url[256];
  snprintf(url, sizeof url, "%s/emulator/stats", e->emu_url);
  cJSON *j = p_http_json("GET", url, NULL, NULL);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
  cJSON_Delete(j);
  return d;
}

/* ---- the emulator and the engine ---- */

/* `dialtone emulator --listen 127.0.0.1:0 --quiet --client-secret SECRET` plus args
   (space separated, no quoting); env.emu_url, app_id and tenant_id are set. */
static __attribute__((unused)) int p_start_emulator(p_env_t *e, p_proc_t *p, const char *extra) {
  const char *args[24] = {"emulator", "--listen", "127.0.0.1:0", "--quiet", "--client-secret", e->secret};
  size_t n = 6;
  char *copy = dt_xstrdup(extra ? extra : "");
  for (char *tok = strtok(copy, " "); tok && n < 23; tok = strtok(NULL, " ")) args[n++] = tok;
  args[n] = NULL;
  int rc = p_spawn(e, p, "emulator", args);
  if (rc == 0) P_UNTIL(20000, p_file_has(p->out, "\n"));
  free(copy);
  if (rc != 0) return rc;
  char *out = p_slurp(p->out);
  if (!out || (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0)) {
    fprintf(stderr, "the emulator did not say where it listens: %s\n", out ? out : "(nothing)");
    free(out);
    return -1;
  }
  out[strcspn(out, "\r\n")] = '\0';
  snprintf(e->emu_url, sizeof e->emu_url, "%s", out);
  free(out);
  char url[256];
  snprintf(url, sizeof url, "%s/emulator/config", e->emu_url);
  cJSON *cfg = p_http_json("GET", url, NULL, NULL);
  snprintf(e->app_id, sizeof e->app_id, "%s", p_str(cfg, "app_id") ? p_str(cfg, "app_id") : "");
  snprintf(e->tenant_id, sizeof e->tenant_id, "%s", p_str(cfg, "tenant_id") ? p_str(cfg, "tenant_id") : "");
  cJSON_Delete(cfg);
  return e->app_id[0] && e->tenant_id[0] ? 0 : -1;
}

/* Writes the engine's configuration: the emulator as real Graph (credentials, token
   endpoint, JWKS), the environment's directories, debug logging; `extra` adds Lua table
   fields ("limits = {drain_timeout_s = 2}, ") — keys it names must not repeat ours, so
   limits and log are only set here when extra leaves them out. */
static __attribute__((unused)) int p_write_config(p_env_t *e, const char *extra) {
  dt_buf_t b = {0};
  dt_buf_appendf(&b,
                 "return {\n"
                 "  listen = \"127.0.0.1:0\",\n"
                 "  flows = \"%s\",\n"
                 "  prompts = {dir = \"%s/flows/prompts\"},\n"
                 "  recordings = \"%s\",\n"
                 "  cdr = \"%s\",\n"
                 "  graph = {base_url = \"%s/v1.0\", tenant_id = \"%s\", client_id = \"%s\",\n"
                 "           client_secret = \"%s\", token_url = \"%s/%s/oauth2/v2.0/token\"},\n"
                 "  inbound = {jwks_url = \"%s/discovery/keys\"},\n",
                 e->flows, p_source_dir(), e->recordings, e->cdr, e->emu_url, e->tenant_id, e->app_id, e->secret,
                 e->emu_url, e->tenant_id, e->emu_url);
  if (!extra || !strstr(extra, "log =")) dt_buf_appendf(&b, "  log = {level = \"debug\"},\n");
  if (!extra || !strstr(extra, "limits =")) dt_buf_appendf(&b, "  limits = {drain_timeout_s = 2, op_timeout_s = 10},\n");
  if (extra) dt_buf_appendf(&b, "  %s\n", extra);
  dt_buf_appendf(&b, "}\n");
  int rc = dt_write_file_atomic(e->config, b.data, b.len);
  dt_buf_free(&b);
  return rc;
}

static __attribute__((unused)) int p_write_flow(p_env_t *e, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.lua", e->flows, name);
  return dt_write_file_atomic(path, text, strlen(text));
}

/* `dialtone --config FILE run`; waits until it listens and sets env.callback. Each start
   appends to the same log files (tag). */
static __attribute__((unused)) int p_start_engine(p_env_t *e, p_proc_t *p, const char *tag) {
  const char *args[] = {"--config", e->config, "run", NULL};
  char *before = NULL;
  char errpath[300];
  snprintf(errpath, sizeof errpath, "%s/%s.err", e->dir, tag);
  before = p_slurp(errpath);
  size_t skip = before ? strlen(before) : 0;
  free(before);
  if (p_spawn(e, p, tag, args) != 0) return -1;
  const char *needle = "(notifications to ";
  char *text = NULL;
  for (uint64_t end = dt_now_ms() + 30000; dt_now_ms() < end; p_sleep_ms(20)) {
    free(text);
    text = p_slurp(p->err);
    if (text && strlen(text) > skip && strstr(text + skip, needle)) break;
    if (!p_alive(p)) break;
  }
  const char *at = text && strlen(text) > skip ? strstr(text + skip, needle) : NULL;
  if (!at) {
    fprintf(stderr, "the engine did not start:\n%s\n", text ? text + skip : "(no output)");
    free(text);
    return -1;
  }
  at += strlen(needle);
  size_t n = strcspn(at, ")");
  snprintf(e->callback, sizeof e->callback, "%.*s", (int)n, at);
  free(text);
  return 0;
}

/* Places an incoming call to the engine (extra JSON members or NULL); id gets its id. */
static __attribute__((unused)) int p_place_call(p_env_t *e, const char *extra, char id[128]) {
  char url[256];
  snprintf(url, sizeof url, "%s/emulator/calls", e->emu_url);
  char *body = dt_xasprintf("{\"bot_url\":\"%s\"%s%s}", e->callback, extra ? "," : "", extra ? extra : "");
  int st = 0;
  cJSON *j = p_http_json("POST", url, body, &st);
  free(body);
  snprintf(id, 128, "%s", p_str(j, "id") ? p_str(j, "id") : "");
  cJSON_Delete(j);
  return st;
}

static __attribute__((unused)) cJSON *p_timeline(p_env_t *e, const char *id) {
  char url[512];
  snprintf(url, sizeof url, "%s/emulator/calls/%s/timeline", e->emu_url, id);
  cJSON *j = p_http_json("GET", url, NULL, NULL);
  cJSON *entries = cJSON_DetachItemFromObjectCaseSensitive(j, "entries");
  cJSON_Delete(j);
  return entries;
}

/* Timeline entries of kind whose field equals value (NULL: any). */
static __attribute__((unused)) int p_count(const cJSON *tl, const char *kind, const char *field, const char *value) {
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, tl) {
    const char *k = p_str(it, "kind");
    if (!k || strcmp(k, kind) != 0) continue;
    if (field) {
      const char *v = p_str(it, field);
      if (!v || (value && strcmp(v, value) != 0)) continue;
    }
    n++;
  }
  return n;
}

static __attribute__((unused)) bool p_same_id(const char *a, const char *b) {
  char ka[300], kb[300];
  if (!a || !b || strlen(a) >= sizeof ka || strlen(b) >= sizeof kb) return false;
  dt_graph_id_key(a, ka);
  dt_graph_id_key(b, kb);
  return strcmp(ka, kb) == 0;
}

/* The CDR of a call (caller frees) or NULL. */
static __attribute__((unused)) cJSON *p_cdr(p_env_t *e, const char *id) {
  char *text = p_slurp(e->cdr);
  cJSON *found = NULL;
  for (char *line = text; line && *line && !found;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    if (j && p_same_id(p_str(j, "call_id"), id)) found = j;
    else cJSON_Delete(j);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return found;
}

/* Lines in the CDR file. */
static __attribute__((unused)) int p_cdr_lines(p_env_t *e) {
  char *text = p_slurp(e->cdr);
  int n = 0;
  for (char *c = text; c && *c; c++)
    if (*c == '\n') n++;
  free(text);
  return n;
}

/* Kills whatever still runs, removes the directory (unless P_KEEP is set). */
static __attribute__((unused)) void p_env_free(p_env_t *e) {
  for (size_t i = 0; i < e->nprocs; i++) {
    if (e->procs[i]->running) {
      kill(e->procs[i]->pid, SIGKILL);
      p_wait_exit(e->procs[i], 5000);
    }
  }
  if (getenv("P_KEEP")) {
    fprintf(stderr, "kept %s\n", e->dir);
    return;
  }
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", e->dir);
}

#endif
