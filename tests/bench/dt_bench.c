/*
 * dt_bench.c — the load tool of scripts/bench.sh (docs/performance.md).
 *
 * Owns: one process that plays Graph (the emulator library at time scale 0, on this
 * process's loop) and the callers (scripted calls placed through the control API), and
 * measures the engine FROM THE OUTSIDE: the engine is `dialtone run` in a child process,
 * configured through DIALTONE_* variables against the emulator exactly as it would be
 * against Graph (credentials, token URL, OpenID configuration, signed notifications).
 * The two processes are pinned to different cores when there are two.
 *
 * Phases, in order: warm-up; parked calls (RSS of the engine before and after N calls
 * wait in a gather); throughput (N calls kept in flight for S seconds: calls/s,
 * notifications/s, engine CPU per 1,000 calls, latency at that load); latency at half
 * the measured notification rate (open loop); a flow reload (SIGHUP) under the same half
 * load, with every notification accounted for. Latency is the time from a notification
 * leaving the emulator to the first Graph request about the same call arriving back
 * (dt_emulator_on_probe); requests that no notification preceded are not counted.
 *
 * Prints a table, writes JSON, exits 0 when every phase ran (whatever the figures), 1
 * when something failed (engine died, calls lost), 2 on a usage error.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/http_client.h"
#include "dialtone/log.h"
#include "fake_graph.h"

#define PARK_ROUTE "+15550199"
#define MAX_SCRIPTS 16
#define PARK_BATCH 100

/* ------------------------------------------------------------------ options */

typedef struct {
  int calls;             /* concurrent calls in the throughput phase */
  double seconds;        /* length of the throughput and half-load phases */
  int park;              /* calls parked in a gather for the RSS figure */
  double rate;           /* half-load notifications/s; 0 = half of the measured maximum */
  const char *json_path;
  const char *flow_path;
  const char *scripts_path;
  const char *binary;
  const char *log_level;
  bool no_reload, no_pin, keep;
  const char *floor;      /* dt_floor_bot: with light_menu/light_demo, the light phases run */
  const char *light_menu; /* fixed scripts of the light fake Graph (tests/bench/light_*.json) */
  const char *light_demo;
  double light_seconds;   /* length of each light window; 0 = seconds */
  bool light_only;        /* skip the full-emulator phases */
} opts_t;

/* ------------------------------------------------------------------ latency samples */

typedef struct {
  uint64_t sent_ns;
  uint32_t lat_ns;
} sample_t;

typedef struct {
  char id[37];
  bool pending, req_pending;
  uint64_t sent_ns, req_ns;
} slot_t;

typedef struct {
  sample_t *v;
  size_t n, cap;
} samples_t;

typedef struct {
  opts_t o;
  uv_loop_t loop;
  uv_timer_t tick;
  dt_emulator_t *emu;
  dt_http_client_t *http;
  char emu_url[128], engine_url[128];
  char dir[64], flows_dir[128], cdr_path[160], log_path[160], flow_copy[160];
  pid_t engine;
  int engine_port;
  cJSON *scripts[MAX_SCRIPTS]; /* the caller scripts, parsed once */
  size_t nscripts, next_script;
  /* call id -> last notification (open addressing, grows) */
  slot_t *map;
  size_t map_cap, map_n;
  samples_t *rec; /* where latencies go now (NULL = not recorded) */
  samples_t *rec_emu; /* the emulator's own turnaround: request in -> next notification out */
  uint64_t notifies, requests, unpaired_requests;
  cJSON *out;     /* the JSON result */
  bool failed;
} bench_t;

static bench_t B;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dt_bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (B.engine > 0) kill(B.engine, SIGKILL);
  exit(1);
}

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static slot_t *map_get(const char *id) {
  if ((B.map_n + 1) * 2 > B.map_cap) {
    size_t oc = B.map_cap;
    slot_t *old = B.map;
    B.map_cap = oc ? oc * 2 : 4096;
    B.map = dt_xcalloc(B.map_cap, sizeof *B.map);
    B.map_n = 0;
    for (size_t i = 0; i < oc; i++)
      if (old[i].id[0]) {
        slot_t *s = map_get(old[i].id);
        *s = old[i];
      }
    free(old);
  }
  size_t i = fnv(id) & (B.map_cap - 1);
  while (B.map[i].id[0] && strcmp(B.map[i].id, id) != 0) i = (i + 1) & (B.map_cap - 1);
  if (!B.map[i].id[0]) {
    snprintf(B.map[i].id, sizeof B.map[i].id, "%s", id);
    B.map_n++;
  }
  return &B.map[i];
}

static void on_probe(dt_emulator_probe_t what, const char *call_id, uint64_t ns, void *ud) {
  slot_t *s = map_get(call_id);
  if (what == DT_EMU_PROBE_NOTIFY) {
    B.notifies++;
    s->pending = true;
    s->sent_ns = ns;
    if (s->req_pending && B.rec_emu) {
      samples_t *r = B.rec_emu;
      if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 65536;
        r->v = dt_xrealloc(r->v, r->cap * sizeof *r->v);
      }
      uint64_t d = ns - s->req_ns;
      r->v[r->n++] = (sample_t){s->req_ns, d > UINT32_MAX ? UINT32_MAX : (uint32_t)d};
    }
    s->req_pending = false;
    return;
  }
  B.requests++;
  s->req_pending = true;
  s->req_ns = ns;
  if (!s->pending) {
    B.unpaired_requests++;
    return;
  }
  s->pending = false;
  samples_t *r = B.rec;
  if (!r) return;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 65536;
    r->v = dt_xrealloc(r->v, r->cap * sizeof *r->v);
  }
  uint64_t d = ns - s->sent_ns;
  r->v[r->n++] = (sample_t){s->sent_ns, d > UINT32_MAX ? UINT32_MAX : (uint32_t)d};
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  size_t n;
  double p50, p90, p99, max; /* ms */
} lat_t;

static lat_t lat_of(const samples_t *r, uint64_t from_ns, uint64_t to_ns) {
  lat_t l = {0};
  uint32_t *v = dt_xmalloc((r->n + 1) * sizeof *v);
  for (size_t i = 0; i < r->n; i++)
    if (r->v[i].sent_ns >= from_ns && r->v[i].sent_ns < to_ns) v[l.n++] = r->v[i].lat_ns;
  if (l.n) {
    qsort(v, l.n, sizeof *v, cmp_u32);
    l.p50 = v[(l.n - 1) * 50 / 100] / 1e6;
    l.p90 = v[(l.n - 1) * 90 / 100] / 1e6;
    l.p99 = v[(l.n - 1) * 99 / 100] / 1e6;
    l.max = v[l.n - 1] / 1e6;
  }
  free(v);
  return l;
}

/* ------------------------------------------------------------------ the loop */

static void noop(uv_timer_t *t) {}
static void tick(void) { uv_run(&B.loop, UV_RUN_ONCE); }
static double now_s(void) { return (double)uv_hrtime() / 1e9; }

typedef struct {
  bool done;
  int status;
  char *body;
} resp_t;

static void on_resp(const dt_http_response_t *r, void *ud) {
  resp_t *x = ud;
  x->done = true;
  x->status = r->status;
  x->body = dt_xstrndup(r->body ? r->body : "", r->body_len);
}

/* GET url (runs the loop until the answer); returns the status, *body (optional) the body. */
static int http_get(const char *url, char **body) {
  resp_t x = {0};
  dt_http_request_options_t r = {.method = "GET", .url = url, .timeout_ms = 20000, .max_response_bytes = 256u << 20};
  if (dt_http_client_send(B.http, &r, on_resp, &x, NULL) != 0) return 0;
  while (!x.done) tick();
  if (body) *body = x.body;
  else free(x.body);
  return x.status;
}

typedef struct {
  double active, total, notifications, failed;
} emu_stats_t;

/* The emulator is driven through its typed control API (include/dialtone/emulator.h). */
static emu_stats_t emu_stats(void) {
  dt_emulator_stats_t st;
  dt_emulator_get_stats(B.emu, &st);
  emu_stats_t s = {(double)st.active_calls, (double)st.calls_total, (double)st.notifications_total,
                   (double)st.notifications_failed};
  return s;
}

/* Places one incoming call; to_park routes it to the parking flow. id (optional) gets its id. */
static bool place_call(bool to_park, char id[64]) {
  const cJSON *script = B.scripts[B.next_script++ % B.nscripts];
  cJSON *to = NULL;
  dt_emulator_call_options_t o = {0};
  if (to_park) {
    to = cJSON_CreateObject();
    cJSON_AddStringToObject(to, "phone", PARK_ROUTE);
    o.to = to;
  } else {
    o.script = script;
  }
  char call_id[DT_EMULATOR_CALL_ID_LEN] = "", err[256] = "";
  int rc = dt_emulator_place_call(B.emu, &o, call_id, err, sizeof err);
  cJSON_Delete(to);
  if (id) snprintf(id, 64, "%s", call_id);
  if (rc != 0) fprintf(stderr, "dt_bench: placing a call: %s\n", err);
  return rc == 0;
}

/* ------------------------------------------------------------------ the engine process */

typedef struct {
  double cpu_s;   /* user + system */
  double sys_s;
  double wait_s;  /* runnable but waiting for a CPU (the loop thread; /proc/PID/schedstat) */
  long rss_bytes;
} proc_t;

static proc_t engine_proc(void) {
  proc_t p = {0};
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)B.engine);
  FILE *f = fopen(path, "r");
  if (f) {
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    char *rp = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
    {
      p.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
      p.sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
    }
  }
  snprintf(path, sizeof path, "/proc/%d/schedstat", (int)B.engine);
  f = fopen(path, "r");
  if (f) {
    unsigned long long run = 0, wait = 0;
    if (fscanf(f, "%llu %llu", &run, &wait) == 2) p.wait_s = (double)wait / 1e9;
    fclose(f);
  }
  snprintf(path, sizeof path, "/proc/%d/statm", (int)B.engine);
  f = fopen(path, "r");
  if (f) {
    long size = 0, res = 0;
    if (fscanf(f, "%ld %ld", &size, &res) == 2) p.rss_bytes = res * sysconf(_SC_PAGESIZE);
    fclose(f);
  }
  return p;
}

static bool engine_alive(void) {
  int st;
  return B.engine > 0 && waitpid(B.engine, &st, WNOHANG) == 0;
}

static bool handles_sighup(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)B.engine);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool caught = false;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "SigCgt:", 7) == 0) caught = (strtoull(line + 7, NULL, 16) & 1ull) != 0; /* bit 0 = SIGHUP */
  fclose(f);
  return caught;
}

static void pin(pid_t pid, int cpu) {
  if (B.o.no_pin || sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(pid, sizeof set, &set) != 0) fprintf(stderr, "dt_bench: cannot pin to cpu %d\n", cpu);
}

static int free_port(void) {
  uv_tcp_t t;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&B.loop, &t);
  int port = 0;
  if (uv_tcp_bind(&t, (const struct sockaddr *)&a, 0) == 0) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len) == 0) port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&B.loop, UV_RUN_NOWAIT);
  return port;
}

/* graph_url: the emulator's, or the light fake's (same app and tenant ids) */
static void spawn_engine(const char *prompts_dir, const char *graph_url) {
  B.engine_port = free_port();
  if (!B.engine_port) die("no free port");
  snprintf(B.engine_url, sizeof B.engine_url, "http://127.0.0.1:%d", B.engine_port);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    char v[512];
    snprintf(v, sizeof v, "%s/v1.0", graph_url);
    setenv("DIALTONE_GRAPH_URL", v, 1);
    snprintf(v, sizeof v, "%s/%s/oauth2/v2.0/token", graph_url, dt_emulator_tenant_id(B.emu));
    setenv("DIALTONE_TOKEN_URL", v, 1);
    setenv("DIALTONE_TENANT_ID", dt_emulator_tenant_id(B.emu), 1);
    setenv("DIALTONE_CLIENT_ID", dt_emulator_app_id(B.emu), 1);
    setenv("DIALTONE_CLIENT_SECRET", "bench-secret", 1);
    snprintf(v, sizeof v, "%s/.well-known/openid-configuration", graph_url);
    setenv("DIALTONE_INBOUND_OPENID_CONFIG", v, 1);
    snprintf(v, sizeof v, "127.0.0.1:%d", B.engine_port);
    setenv("DIALTONE_LISTEN", v, 1);
    setenv("DIALTONE_FLOWS", B.flows_dir, 1);
    setenv("DIALTONE_PROMPTS_DIR", prompts_dir, 1);
    setenv("DIALTONE_CDR", B.cdr_path, 1);
    snprintf(v, sizeof v, "%s/recordings", B.dir);
    setenv("DIALTONE_RECORDINGS", v, 1);
    setenv("DIALTONE_ROUTES", PARK_ROUTE "=bench_park", 1);
    setenv("DIALTONE_LOG_LEVEL", B.o.log_level, 1);
    setenv("DIALTONE_LIMITS_MAX_CALLS", "1000000", 1);
    setenv("DIALTONE_LIMITS_MAX_CONNECTIONS", "100000", 1);
    setenv("DIALTONE_LIMITS_DRAIN_TIMEOUT_S", "5", 1);
    int fd = open(B.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(B.o.binary, B.o.binary, "run", (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", B.o.binary, strerror(errno));
    _exit(127);
  }
  B.engine = pid;
  pin(pid, 0);
  pin(0, 1);
}

/* ------------------------------------------------------------------ helpers */

static size_t cdr_lines(void) {
  char *t = NULL;
  size_t len = 0, n = 0;
  if (dt_read_file(B.cdr_path, 1u << 30, &t, &len) != 0) return 0;
  for (size_t i = 0; i < len; i++) n += t[i] == '\n';
  free(t);
  return n;
}

/* The sum of the series of metric `name` whose line contains `labels` (NULL: all). */
static double engine_metric(const char *name, const char *labels) {
  char url[192], *body = NULL;
  snprintf(url, sizeof url, "%s/metrics", B.engine_url);
  if (http_get(url, &body) != 200) {
    free(body);
    return -1;
  }
  double v = 0;
  size_t nl = strlen(name);
  for (char *l = body; l && *l;) {
    char *e = strchr(l, '\n');
    if (e) *e = '\0';
    if (strncmp(l, name, nl) == 0 && (l[nl] == ' ' || l[nl] == '{') && (!labels || strstr(l, labels))) {
      char *sp = strrchr(l, ' ');
      if (sp) v += strtod(sp + 1, NULL);
    }
    l = e ? e + 1 : NULL;
  }
  free(body);
  return v;
}

static bool engine_idle(void) {
  char url[192], *body = NULL;
  snprintf(url, sizeof url, "%s/calls", B.engine_url);
  bool idle = http_get(url, &body) == 200 && strcmp(body, "[]") == 0;
  free(body);
  return idle;
}

/* Runs the loop until neither side has a call (bounded). */
static bool wait_idle(double timeout_s) {
  double end = now_s() + timeout_s;
  while (now_s() < end) {
    if (emu_stats().active == 0 && engine_idle()) return true;
    if (!engine_alive()) die("the engine exited (see %s)", B.log_path);
    tick();
  }
  return false;
}

static cJSON *jphase(const char *name) {
  cJSON *p = cJSON_AddObjectToObject(B.out, name);
  return p;
}

static void jlat(cJSON *o, const char *k, lat_t l) {
  cJSON *x = cJSON_AddObjectToObject(o, k);
  cJSON_AddNumberToObject(x, "samples", (double)l.n);
  cJSON_AddNumberToObject(x, "p50_ms", l.p50);
  cJSON_AddNumberToObject(x, "p90_ms", l.p90);
  cJSON_AddNumberToObject(x, "p99_ms", l.p99);
  cJSON_AddNumberToObject(x, "max_ms", l.max);
}

/* ------------------------------------------------------------------ phases */

/* Keeps `conc` calls in flight (closed loop) for `secs`, or places calls at `rate` per
   second (open loop, conc = 0). Returns measurements over the window. */
static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

typedef struct {
  double wall_s, cpu_s, sys_s, wait_s, load_cpu_s, calls_done, notifications, placed, failed_notifications;
  uint64_t t0_ns, t1_ns;
} window_t;

static window_t drive(int conc, double call_rate, double secs, void (*at_mid)(void)) {
  window_t w = {0};
  emu_stats_t s0 = emu_stats();
  size_t c0 = cdr_lines();
  proc_t p0 = engine_proc();
  double l0 = self_cpu();
  double t0 = now_s(), end = t0 + secs, budget = 0, last = t0;
  w.t0_ns = uv_hrtime();
  bool mid_done = at_mid == NULL;
  unsigned n = 0;
  double next_top_up = 0;
  while (now_s() < end) {
    double t = now_s();
    if (conc > 0) {
      /* the emulator's stats are JSON: read them every 2 ms, not every loop turn (its
         scheduler fires one simulated instant per turn; slow turns delay every call) */
      if (t >= next_top_up) {
        emu_stats_t s = emu_stats();
        for (int i = (int)s.active; i < conc; i++) w.placed += place_call(false, NULL);
        next_top_up = t + 0.002;
      }
    } else {
      budget += (t - last) * call_rate;
      last = t;
      for (; budget >= 1; budget -= 1) w.placed += place_call(false, NULL);
    }
    if (!mid_done && t >= t0 + secs / 2) {
      mid_done = true;
      at_mid();
    }
    if ((++n & 255) == 0 && !engine_alive()) die("the engine exited (see %s)", B.log_path);
    tick();
  }
  w.t1_ns = uv_hrtime();
  w.wall_s = now_s() - t0;
  proc_t p1 = engine_proc();
  emu_stats_t s1 = emu_stats();
  w.cpu_s = p1.cpu_s - p0.cpu_s;
  w.sys_s = p1.sys_s - p0.sys_s;
  w.wait_s = p1.wait_s - p0.wait_s;
  w.load_cpu_s = self_cpu() - l0;
  w.notifications = s1.notifications - s0.notifications;
  w.failed_notifications = s1.failed - s0.failed;
  w.calls_done = (double)(cdr_lines() - c0);
  return w;
}

static void wait_ready(void) {
  char url[192];
  snprintf(url, sizeof url, "%s/healthz", B.engine_url);
  double end = now_s() + 30;
  while (now_s() < end) {
    if (!engine_alive()) die("the engine exited at start (see %s)", B.log_path);
    if (http_get(url, NULL) == 200) return;
    double t = now_s() + 0.05;
    while (now_s() < t) tick();
  }
  die("the engine did not answer %s within 30 s (see %s)", url, B.log_path);
}

static void warm_up(void) {
  for (int i = 0; i < 20; i++) place_call(false, NULL);
  if (!wait_idle(60)) die("warm-up calls did not end within 60 s (see %s)", B.log_path);
  if (cdr_lines() < 20) die("warm-up: %zu CDRs for 20 calls (see %s)", cdr_lines(), B.log_path);
}

static int count_parked(void) {
  char url[192], *body = NULL;
  snprintf(url, sizeof url, "%s/calls", B.engine_url);
  if (http_get(url, &body) != 200) {
    free(body);
    return -1;
  }
  int n = 0;
  for (const char *p = body; (p = strstr(p, "\"waiting\":\"gather\"")); p++) n++;
  free(body);
  return n;
}

static void phase_park(void) {
  int N = B.o.park;
  proc_t before = engine_proc();
  char (*ids)[64] = dt_xcalloc((size_t)N, 64);
  double t0 = now_s();
  /* In batches, each parked before the next: placing all at once would measure N
     simultaneous connections (kept alive afterwards) rather than N parked calls. */
  int parked = 0;
  for (int placed = 0; placed < N;) {
    int batch = N - placed < PARK_BATCH ? N - placed : PARK_BATCH;
    for (int i = 0; i < batch; i++, placed++)
      if (!place_call(true, ids[placed])) die("cannot place parked call %d", placed);
    for (double end = now_s() + 60; now_s() < end;) {
      parked = count_parked();
      if (parked >= placed) break;
      double t = now_s() + 0.02;
      while (now_s() < t) tick();
    }
    if (parked < placed) break;
  }
  double took = now_s() - t0;
  /* let the loop settle (the last responses, curl's connection cache) before reading RSS */
  for (double t = now_s() + 0.5; now_s() < t;) tick();
  proc_t after = engine_proc();
  cJSON *p = jphase("parked");
  cJSON_AddNumberToObject(p, "calls", N);
  cJSON_AddNumberToObject(p, "parked", parked);
  cJSON_AddNumberToObject(p, "rss_before_bytes", (double)before.rss_bytes);
  cJSON_AddNumberToObject(p, "rss_after_bytes", (double)after.rss_bytes);
  double per = parked > 0 ? (double)(after.rss_bytes - before.rss_bytes) / parked : 0;
  cJSON_AddNumberToObject(p, "bytes_per_call", per);
  cJSON_AddNumberToObject(p, "setup_s", took);
  if (parked < N) {
    fprintf(stderr, "dt_bench: only %d of %d calls parked in the gather\n", parked, N);
    B.failed = true;
  }
  for (int i = 0; i < N; i++) {
    dt_emulator_hangup(B.emu, ids[i], NULL, 0);
    if ((i & 63) == 0) tick();
  }
  free(ids);
  if (!wait_idle(120)) die("parked calls did not end within 120 s");
}

static samples_t full_s, half_s, reload_s, full_emu_s;
static double max_notif_rate, notif_per_call;

static void phase_throughput(void) {
  B.rec = &full_s;
  B.rec_emu = &full_emu_s;
  window_t w = drive(B.o.calls, 0, B.o.seconds, NULL);
  B.rec = B.rec_emu = NULL;
  if (!wait_idle(120)) die("throughput calls did not end within 120 s");
  max_notif_rate = w.notifications / w.wall_s;
  notif_per_call = w.calls_done > 0 ? w.notifications / w.calls_done : 10;
  cJSON *p = jphase("throughput");
  cJSON_AddNumberToObject(p, "concurrent_calls", B.o.calls);
  cJSON_AddNumberToObject(p, "seconds", w.wall_s);
  cJSON_AddNumberToObject(p, "calls_completed", w.calls_done);
  cJSON_AddNumberToObject(p, "calls_per_s", w.calls_done / w.wall_s);
  cJSON_AddNumberToObject(p, "notifications", w.notifications);
  cJSON_AddNumberToObject(p, "notifications_per_s", max_notif_rate);
  cJSON_AddNumberToObject(p, "notifications_per_call", notif_per_call);
  cJSON_AddNumberToObject(p, "engine_cpu_s", w.cpu_s);
  cJSON_AddNumberToObject(p, "engine_cpu_utilisation", w.cpu_s / w.wall_s);
  cJSON_AddNumberToObject(p, "engine_cpu_system_share", w.cpu_s > 0 ? w.sys_s / w.cpu_s : 0);
  cJSON_AddNumberToObject(p, "engine_runqueue_wait_share", w.wait_s / w.wall_s);
  cJSON_AddNumberToObject(p, "load_generator_cpu_utilisation", w.load_cpu_s / w.wall_s);
  cJSON_AddNumberToObject(p, "load_generator_cpu_us_per_notification",
                          w.notifications > 0 ? w.load_cpu_s / w.notifications * 1e6 : 0);
  cJSON_AddNumberToObject(p, "engine_cpu_s_per_1000_calls", w.calls_done > 0 ? w.cpu_s / w.calls_done * 1000 : 0);
  cJSON_AddNumberToObject(p, "engine_cpu_us_per_notification", w.notifications > 0 ? w.cpu_s / w.notifications * 1e6 : 0);
  cJSON_AddNumberToObject(p, "engine_capacity_notifications_per_cpu_s", w.cpu_s > 0 ? w.notifications / w.cpu_s : 0);
  cJSON_AddNumberToObject(p, "failed_notifications", w.failed_notifications);
  jlat(p, "latency", lat_of(&full_s, w.t0_ns, w.t1_ns));
  jlat(p, "emulator_turnaround", lat_of(&full_emu_s, w.t0_ns, w.t1_ns));
  if (w.failed_notifications > 0) B.failed = true;
}

static double half_rate(void) { return B.o.rate > 0 ? B.o.rate : max_notif_rate / 2; }

static void phase_half(void) {
  double rate = half_rate();
  B.rec = &half_s;
  window_t w = drive(0, rate / notif_per_call, B.o.seconds, NULL);
  B.rec = NULL;
  if (!wait_idle(120)) die("half-load calls did not end within 120 s");
  cJSON *p = jphase("half_load");
  cJSON_AddNumberToObject(p, "target_notifications_per_s", rate);
  cJSON_AddNumberToObject(p, "seconds", w.wall_s);
  cJSON_AddNumberToObject(p, "notifications_per_s", w.notifications / w.wall_s);
  cJSON_AddNumberToObject(p, "engine_cpu_utilisation", w.cpu_s / w.wall_s);
  cJSON_AddNumberToObject(p, "failed_notifications", w.failed_notifications);
  jlat(p, "latency", lat_of(&half_s, w.t0_ns, w.t1_ns));
  if (w.failed_notifications > 0) B.failed = true;
}

static uint64_t hup_ns;
static bool hup_sent;
static int reload_no;

static void do_reload(void) {
  /* a changed file: the reload recompiles only what changed */
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(B.flow_copy, 16u << 20, &text, &len) != 0) return;
  dt_buf_t b = {0};
  dt_buf_append(&b, text, len);
  dt_buf_appendf(&b, "\n-- bench reload %d\n", ++reload_no);
  dt_write_file_atomic(B.flow_copy, b.data, b.len);
  dt_buf_free(&b);
  free(text);
  hup_ns = uv_hrtime();
  hup_sent = kill(B.engine, SIGHUP) == 0;
}

/* The engine's own account of the reload, if it logs one ("... in 12.3 ms"). */
static double logged_reload_ms(void) {
  char *t = NULL;
  size_t len = 0;
  double ms = -1;
  if (dt_read_file(B.log_path, 256u << 20, &t, &len) != 0) return -1;
  for (char *l = t; l && *l;) {
    char *e = strchr(l, '\n');
    if (e) *e = '\0';
    /* "flows: reload (SIGHUP): 1 flow loaded, 0 not compiling, 3.2 ms"; the directory
       watcher may reload once more after the signal: the slowest one counts */
    if (strstr(l, "reload")) {
      char *m = strstr(l, " ms");
      if (m) {
        char *s = m;
        while (s > l && (s[-1] == '.' || (s[-1] >= '0' && s[-1] <= '9'))) s--;
        if (s < m && strtod(s, NULL) > ms) ms = strtod(s, NULL);
      }
    }
    l = e ? e + 1 : NULL;
  }
  free(t);
  return ms;
}

static void phase_reload(void) {
  cJSON *p = jphase("reload");
  if (B.o.no_reload || !handles_sighup()) {
    cJSON_AddStringToObject(p, "skipped", B.o.no_reload ? "--no-reload" : "dialtone run does not handle SIGHUP");
    return;
  }
  /* every notification the emulator sent in the phase (and the calls' tails) must be
     answered 202 by the engine: nothing dropped, refused or failed during the reload */
  static const char ok202[] = "route=\"callback\",status=\"202\"";
  double accepted0 = engine_metric("dt_http_requests_total", ok202);
  uint64_t sent0 = B.notifies;
  double rate = half_rate();
  B.rec = &reload_s;
  window_t w = drive(0, rate / notif_per_call, B.o.seconds < 4 ? B.o.seconds : 4, do_reload);
  B.rec = NULL;
  if (!wait_idle(120)) die("reload-phase calls did not end within 120 s");
  double accepted1 = engine_metric("dt_http_requests_total", ok202);
  double sent = (double)(B.notifies - sent0);
  /* the stall: how much worse the worst latency got in the half second after the signal
     than in the half second before it (the tail of a loaded engine is not the reload's) */
  lat_t base = lat_of(&reload_s, hup_ns > 500000000ull ? hup_ns - 500000000ull : 0, hup_ns);
  lat_t around = lat_of(&reload_s, hup_ns, hup_ns + 500000000ull);
  cJSON_AddBoolToObject(p, "sighup_sent", hup_sent);
  cJSON_AddNumberToObject(p, "engine_logged_ms", logged_reload_ms());
  cJSON_AddNumberToObject(p, "stall_ms", around.max > base.max ? around.max - base.max : 0);
  cJSON_AddNumberToObject(p, "max_latency_before_reload_ms", base.max);
  cJSON_AddNumberToObject(p, "max_latency_after_reload_ms", around.max);
  cJSON_AddNumberToObject(p, "notifications_sent", w.notifications);
  cJSON_AddNumberToObject(p, "failed_notifications", w.failed_notifications);
  /* both count the tail after the window too (the calls ran to their end) */
  cJSON_AddNumberToObject(p, "notifications_sent_until_idle", sent);
  cJSON_AddNumberToObject(p, "notifications_accepted", accepted1 - accepted0);
  cJSON_AddNumberToObject(p, "notifications_dropped", sent - (accepted1 - accepted0));
  if (sent != accepted1 - accepted0) B.failed = true;
  cJSON_AddNumberToObject(p, "calls_placed", w.placed);
  cJSON_AddNumberToObject(p, "flow_version_changes", reload_no);
  if (w.failed_notifications > 0) B.failed = true;
}


/* ------------------------------------------------------------------ light phases (issue 17)

   The light fixed-script fake Graph (fake_graph.c) drives, in turn and with the same
   pinning, a fresh `dialtone run` and dt_floor_bot, for each mix: CPU per notification of
   each (notifications answered 202 in the window), their ratio, and the engine's latency at
   half of ITS maximum under the light tool. Nothing lost: every notification answered 202,
   every call played to its terminated notification. */

static samples_t *light_rec;
static samples_t light_half_s;

static void on_light_latency(uint64_t sent_ns, uint64_t lat_ns, void *ud) {
  samples_t *r = light_rec;
  if (!r) return;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 65536;
    r->v = dt_xrealloc(r->v, r->cap * sizeof *r->v);
  }
  r->v[r->n++] = (sample_t){sent_ns, lat_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)lat_ns};
}

typedef struct {
  double wall_s, cpu_s, wait_s, load_cpu_s, notifications, failed, placed;
  uint64_t t0_ns, t1_ns;
} lwindow_t;

/* Closed loop (conc calls in flight) or open loop (call_rate per second) for secs against
   whatever B.engine is now. */
static lwindow_t light_drive(fake_graph_t *g, int conc, double call_rate, double secs) {
  lwindow_t w = {0};
  fake_stats_t s0 = fake_graph_stats(g);
  proc_t p0 = engine_proc();
  double l0 = self_cpu(), t0 = now_s(), end = t0 + secs, last = t0, budget = 0;
  w.t0_ns = uv_hrtime();
  unsigned n = 0;
  while (now_s() < end) {
    if (conc > 0) {
      for (uint64_t a = fake_graph_stats(g).calls_active; a < (uint64_t)conc; a++) fake_graph_place_call(g);
    } else {
      double t = now_s();
      budget += (t - last) * call_rate;
      last = t;
      for (; budget >= 1; budget -= 1) fake_graph_place_call(g);
    }
    if ((++n & 1023) == 0 && !engine_alive()) die("the process under test exited (see %s)", B.log_path);
    tick();
  }
  w.t1_ns = uv_hrtime();
  w.wall_s = now_s() - t0;
  proc_t p1 = engine_proc();
  fake_stats_t s1 = fake_graph_stats(g);
  w.cpu_s = p1.cpu_s - p0.cpu_s;
  w.wait_s = p1.wait_s - p0.wait_s;
  w.load_cpu_s = self_cpu() - l0;
  w.notifications = (double)(s1.notifications_accepted - s0.notifications_accepted);
  w.failed = (double)(s1.notifications_failed - s0.notifications_failed);
  w.placed = (double)(s1.calls_placed - s0.calls_placed);
  return w;
}

static bool light_wait_idle(fake_graph_t *g, double timeout_s) {
  for (double end = now_s() + timeout_s; now_s() < end;) {
    if (fake_graph_stats(g).calls_active == 0) return true;
    if (!engine_alive()) die("the process under test exited (see %s)", B.log_path);
    tick();
  }
  return false;
}

static void stop_under_test(void) {
  kill(B.engine, SIGTERM);
  int st;
  pid_t got = 0;
  for (double end = now_s() + 30; now_s() < end && (got = waitpid(B.engine, &st, WNOHANG)) == 0;) tick();
  if (got == 0) {
    kill(B.engine, SIGKILL);
    waitpid(B.engine, &st, 0);
  }
  B.engine = 0;
}

/* Adds the window's figures to o; returns CPU microseconds per notification. */
static double light_figures(cJSON *o, const lwindow_t *w, fake_graph_t *g) {
  double per = w->notifications > 0 ? w->cpu_s / w->notifications * 1e6 : -1;
  fake_stats_t st = fake_graph_stats(g);
  cJSON_AddNumberToObject(o, "seconds", w->wall_s);
  cJSON_AddNumberToObject(o, "notifications", w->notifications);
  cJSON_AddNumberToObject(o, "notifications_per_s", w->notifications / w->wall_s);
  cJSON_AddNumberToObject(o, "cpu_s", w->cpu_s);
  cJSON_AddNumberToObject(o, "cpu_utilisation", w->cpu_s / w->wall_s);
  cJSON_AddNumberToObject(o, "cpu_us_per_notification", per);
  /* time it was runnable but another process had its core: the machine's other load */
  cJSON_AddNumberToObject(o, "runqueue_wait_share", w->wait_s / w->wall_s);
  cJSON_AddNumberToObject(o, "load_generator_cpu_utilisation", w->load_cpu_s / w->wall_s);
  cJSON_AddNumberToObject(o, "load_generator_cpu_us_per_notification",
                          w->notifications > 0 ? w->load_cpu_s / w->notifications * 1e6 : -1);
  /* the whole run against this bot (warm-up, windows and the tails): nothing lost */
  cJSON_AddNumberToObject(o, "calls_placed", (double)st.calls_placed);
  cJSON_AddNumberToObject(o, "calls_terminated", (double)st.calls_terminated);
  cJSON_AddNumberToObject(o, "calls_lost", (double)(st.calls_placed - st.calls_terminated));
  cJSON_AddNumberToObject(o, "notifications_sent", (double)st.notifications_sent);
  cJSON_AddNumberToObject(o, "notifications_accepted", (double)st.notifications_accepted);
  cJSON_AddNumberToObject(o, "notifications_failed", (double)st.notifications_failed);
  cJSON_AddNumberToObject(o, "requests", (double)st.requests);
  cJSON_AddNumberToObject(o, "unexpected_requests", (double)st.unexpected_requests);
  if (st.notifications_failed || st.calls_placed != st.calls_terminated ||
      st.notifications_sent != st.notifications_accepted) {
    fprintf(stderr, "dt_bench: light: %" PRIu64 " of %" PRIu64 " calls terminated, %" PRIu64 " of %" PRIu64
            " notifications answered 202\n", st.calls_terminated, st.calls_placed, st.notifications_accepted,
            st.notifications_sent);
    B.failed = true;
  }
  return per;
}

static void light_warm(fake_graph_t *g, const char *who) {
  for (int i = 0; i < 20; i++) fake_graph_place_call(g);
  if (!light_wait_idle(g, 60)) die("light warm-up (%s): calls did not end within 60 s (see %s)", who, B.log_path);
}

static void phase_light(const char *name, const char *scripts, const char *prompts) {
  char err[256];
  fake_graph_t *g = NULL;
  if (fake_graph_start(&B.loop, scripts, dt_emulator_app_id(B.emu), dt_emulator_tenant_id(B.emu), &g, err,
                       sizeof err) != 0)
    die("light fake Graph: %s", err);
  fake_graph_on_latency(g, on_light_latency, NULL);
  cJSON *p = jphase(name);
  cJSON_AddStringToObject(p, "scripts", scripts);
  cJSON_AddNumberToObject(p, "concurrent_calls", B.o.calls);

  /* the engine */
  snprintf(B.log_path, sizeof B.log_path, "%s/engine-%s.log", B.dir, name);
  snprintf(B.cdr_path, sizeof B.cdr_path, "%s/cdr-%s.jsonl", B.dir, name);
  spawn_engine(prompts, fake_graph_url(g));
  wait_ready();
  char bot[192];
  snprintf(bot, sizeof bot, "%s/api/calls", B.engine_url);
  if (fake_graph_set_bot(g, bot, false, 64) != 0) die("light fake Graph: bad bot URL %s", bot);
  light_warm(g, "engine");
  lwindow_t w = light_drive(g, B.o.calls, 0, B.o.light_seconds);
  if (!light_wait_idle(g, 120)) fprintf(stderr, "dt_bench: %s: engine calls did not end within 120 s\n", name);
  double npc = fake_graph_stats(g).calls_placed ? (double)fake_graph_stats(g).notifications_accepted /
                                                      (double)fake_graph_stats(g).calls_placed : 12;
  double max_rate = w.notifications / w.wall_s;
  double half = B.o.rate > 0 ? B.o.rate : max_rate / 2;
  light_rec = &light_half_s;
  light_half_s.n = 0;
  lwindow_t h = light_drive(g, 0, half / npc, B.o.light_seconds);
  light_rec = NULL;
  if (!light_wait_idle(g, 120)) fprintf(stderr, "dt_bench: %s: half-load calls did not end within 120 s\n", name);
  cJSON *e = cJSON_AddObjectToObject(p, "engine");
  double engine_us = light_figures(e, &w, g);
  cJSON *hl = cJSON_AddObjectToObject(p, "half_load");
  cJSON_AddNumberToObject(hl, "target_notifications_per_s", half);
  cJSON_AddNumberToObject(hl, "notifications_per_s", h.notifications / h.wall_s);
  cJSON_AddNumberToObject(hl, "engine_cpu_utilisation", h.cpu_s / h.wall_s);
  jlat(hl, "latency", lat_of(&light_half_s, h.t0_ns, h.t1_ns));
  stop_under_test();
  fake_graph_reset(g);

  /* the floor: same fake (every request counts as the bot's), same pinning, same load */
  snprintf(B.log_path, sizeof B.log_path, "%s/floor-%s.log", B.dir, name);
  int port = free_port();
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    int fd = open(B.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(B.o.floor, B.o.floor, "--listen", portstr, "--upstream", fake_graph_url(g), (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", B.o.floor, strerror(errno));
    _exit(127);
  }
  B.engine = pid;
  pin(pid, 0);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
  bool up = false;
  for (double end = now_s() + 10; !up && now_s() < end;) {
    if (!engine_alive()) die("dt_floor_bot exited at start (see %s)", B.log_path);
    up = http_get(url, NULL) == 202;
    for (double t = now_s() + 0.02; !up && now_s() < t;) tick();
  }
  if (!up) die("dt_floor_bot did not answer within 10 s (see %s)", B.log_path);
  snprintf(bot, sizeof bot, "http://127.0.0.1:%d/api/calls", port);
  if (fake_graph_set_bot(g, bot, true, 64) != 0) die("light fake Graph: bad bot URL %s", bot);
  light_warm(g, "floor");
  lwindow_t f = light_drive(g, B.o.calls, 0, B.o.light_seconds);
  if (!light_wait_idle(g, 120)) fprintf(stderr, "dt_bench: %s: floor calls did not end within 120 s\n", name);
  cJSON *fl = cJSON_AddObjectToObject(p, "floor");
  double floor_us = light_figures(fl, &f, g);
  stop_under_test();
  cJSON_AddNumberToObject(p, "engine_cpu_us_per_notification", engine_us);
  cJSON_AddNumberToObject(p, "floor_cpu_us_per_notification", floor_us);
  cJSON_AddNumberToObject(p, "ratio", engine_us > 0 && floor_us > 0 ? engine_us / floor_us : -1);
  fake_graph_close(g);
}

/* ------------------------------------------------------------------ report */

static double jget(const char *phase, const char *k1, const char *k2) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(B.out, phase);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, k1);
  if (k2) v = cJSON_GetObjectItemCaseSensitive(v, k2);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void row(const char *what, double v, const char *unit, const char *target) {
  if (v < 0) printf("  %-48s %12s %-8s %s\n", what, "n/a", "", target);
  else printf("  %-48s %12.*f %-8s %s\n", what, v >= 100 ? 0 : 3, v, unit, target);
}

static void print_table(void) {
  printf("\ndialtone benchmark (%s, %d concurrent calls, %.0f s phases, log level %s)\n", B.o.flow_path,
         B.o.calls, B.o.seconds, B.o.log_level);
  printf("  %-48s %12s %-8s %s\n", "figure", "value", "unit", "target");
  row("completed calls per second", jget("throughput", "calls_per_s", NULL), "calls/s", "");
  row("notifications per second (end to end)", jget("throughput", "notifications_per_s", NULL), "notif/s",
      ">= 20000");
  row("engine CPU utilisation during that", jget("throughput", "engine_cpu_utilisation", NULL), "cores", "");
  row("share of the engine's CPU spent in the kernel", jget("throughput", "engine_cpu_system_share", NULL), "", "");
  row("engine runnable but not running (other load, CPU wake-up)", jget("throughput", "engine_runqueue_wait_share", NULL), "", "");
  row("load generator (emulator) CPU utilisation", jget("throughput", "load_generator_cpu_utilisation", NULL), "cores", "");
  row("load generator (emulator) CPU per notification", jget("throughput", "load_generator_cpu_us_per_notification", NULL), "us", "");
  row("engine capacity (notifications per CPU second)",
      jget("throughput", "engine_capacity_notifications_per_cpu_s", NULL), "notif/s", ">= 20000");
  row("engine CPU seconds per 1,000 calls", jget("throughput", "engine_cpu_s_per_1000_calls", NULL), "s", "");
  row("latency at full load p50", jget("throughput", "latency", "p50_ms"), "ms", "");
  row("latency at full load p99", jget("throughput", "latency", "p99_ms"), "ms", "");
  row("(emulator: request in -> next notification out p50)", jget("throughput", "emulator_turnaround", "p50_ms"), "ms", "");
  row("(emulator: request in -> next notification out p99)", jget("throughput", "emulator_turnaround", "p99_ms"), "ms", "");
  row("half load: notifications per second", jget("half_load", "notifications_per_s", NULL), "notif/s", "");
  row("half load: latency p50", jget("half_load", "latency", "p50_ms"), "ms", "");
  row("half load: latency p90", jget("half_load", "latency", "p90_ms"), "ms", "");
  row("half load: latency p99", jget("half_load", "latency", "p99_ms"), "ms", "< 1");
  row("half load: latency max", jget("half_load", "latency", "max_ms"), "ms", "");
  row("RSS per call parked in a gather", jget("parked", "bytes_per_call", NULL), "bytes", "<= 16384");
  row("RSS with the calls parked", jget("parked", "rss_after_bytes", NULL) / 1048576.0, "MiB", "");
  row("flow reload: engine's own time", jget("reload", "engine_logged_ms", NULL), "ms", "< 50");
  row("flow reload: stall seen from outside", jget("reload", "stall_ms", NULL), "ms", "< 50");
  row("flow reload: notifications failed", jget("reload", "failed_notifications", NULL), "", "0");
  row("flow reload: notifications not answered 202", jget("reload", "notifications_dropped", NULL), "", "0");
  static const char *const mixes[][3] = {{"light_menu", "menu mix", "<= 2"}, {"light_demo", "default mix", "<= 3"}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(mixes); i++) {
    if (!cJSON_GetObjectItemCaseSensitive(B.out, mixes[i][0])) continue;
    char what[96];
    printf("  light fake Graph, %s (engine and floor in turn, same pinning):\n", mixes[i][1]);
    row("  engine CPU per notification", jget(mixes[i][0], "engine_cpu_us_per_notification", NULL), "us", "");
    row("  floor (dt_floor_bot) CPU per notification", jget(mixes[i][0], "floor_cpu_us_per_notification", NULL), "us", "");
    snprintf(what, sizeof what, "  engine / floor (%s)", mixes[i][1]);
    row(what, jget(mixes[i][0], "ratio", NULL), "x", mixes[i][2]);
    row("  engine notifications per second (light tool)", jget(mixes[i][0], "engine", "notifications_per_s"), "notif/s", "");
    row("  engine CPU utilisation during that", jget(mixes[i][0], "engine", "cpu_utilisation"), "cores", "");
    row("  engine runnable but not running (other load)", jget(mixes[i][0], "engine", "runqueue_wait_share"), "", "");
    row("  floor CPU utilisation", jget(mixes[i][0], "floor", "cpu_utilisation"), "cores", "");
    row("  floor runnable but not running (other load)", jget(mixes[i][0], "floor", "runqueue_wait_share"), "", "");
    row("  light tool CPU per notification (driving the engine)",
        jget(mixes[i][0], "engine", "load_generator_cpu_us_per_notification"), "us", "");
    row("  half of the engine's maximum: notifications/s", jget(mixes[i][0], "half_load", "notifications_per_s"), "notif/s", "");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(B.out, mixes[i][0]), "half_load"), "latency");
    const cJSON *p50 = cJSON_GetObjectItemCaseSensitive(lat, "p50_ms"), *p99 = cJSON_GetObjectItemCaseSensitive(lat, "p99_ms");
    row("  half load latency p50", cJSON_IsNumber(p50) ? p50->valuedouble : -1, "ms", "");
    row("  half load latency p99", cJSON_IsNumber(p99) ? p99->valuedouble : -1, "ms", "< 1");
  }
  const cJSON *skip = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(B.out, "reload"), "skipped");
  if (cJSON_IsString(skip)) printf("  (reload not measured: %s)\n", skip->valuestring);
  fflush(stdout);
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f) {
  fprintf(f, "usage: dt_bench --binary PATH [--calls N] [--seconds S] [--park N] [--rate R] [--flow FILE]\n"
             "                [--scripts FILE] [--json FILE] [--log-level L] [--no-reload] [--no-pin] [--keep]\n"
             "                [--floor PATH --light-menu FILE --light-demo FILE [--light-seconds S] [--light-only]]\n");
}

static void load_scripts(void) {
  if (!B.o.scripts_path) {
    B.scripts[B.nscripts++] = cJSON_Parse("[{\"on\":\"prompt\",\"hangup\":true}]");
    return;
  }
  char *t = NULL;
  size_t len = 0;
  if (dt_read_file(B.o.scripts_path, 1 << 20, &t, &len) != 0) die("cannot read %s", B.o.scripts_path);
  cJSON *j = cJSON_Parse(t);
  free(t);
  if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0) die("%s: expected a JSON array of caller scripts", B.o.scripts_path);
  const cJSON *s;
  cJSON_ArrayForEach(s, j) {
    if (B.nscripts == MAX_SCRIPTS) break;
    B.scripts[B.nscripts++] = cJSON_Duplicate(s, 1);
  }
  cJSON_Delete(j);
}

static void copy_flow(const char *src, const char *dst) {
  char *t = NULL;
  size_t len = 0;
  if (dt_read_file(src, 16u << 20, &t, &len) != 0) die("cannot read the flow %s", src);
  if (dt_write_file_atomic(dst, t, len) != 0) die("cannot write %s", dst);
  free(t);
}

static const char PARK_FLOW[] =
    "-- bench_park.lua: answers and waits in a gather (the RSS-per-parked-call figure)\n"
    "return function(call)\n"
    "  call:answer()\n"
    "  call:gather{prompt = 'main_menu', max = 4, timeout = 3600, inter_digit = 3600}\n"
    "end\n";

int main(int argc, char **argv) {
  opts_t *o = &B.o;
  *o = (opts_t){.calls = 1000, .seconds = 10, .park = 5000, .log_level = "info"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
    if (OPT("--calls")) o->calls = atoi(v);
    else if (OPT("--seconds")) o->seconds = atof(v);
    else if (OPT("--park")) o->park = atoi(v);
    else if (OPT("--rate")) o->rate = atof(v);
    else if (OPT("--json")) o->json_path = v;
    else if (OPT("--flow")) o->flow_path = v;
    else if (OPT("--scripts")) o->scripts_path = v;
    else if (OPT("--binary")) o->binary = v;
    else if (OPT("--log-level")) o->log_level = v;
    else if (OPT("--floor")) o->floor = v;
    else if (OPT("--light-menu")) o->light_menu = v;
    else if (OPT("--light-demo")) o->light_demo = v;
    else if (OPT("--light-seconds")) o->light_seconds = atof(v);
    else if (strcmp(a, "--light-only") == 0) o->light_only = true;
    else if (strcmp(a, "--no-reload") == 0) o->no_reload = true;
    else if (strcmp(a, "--no-pin") == 0) o->no_pin = true;
    else if (strcmp(a, "--keep") == 0) o->keep = true;
    else {
      usage(stderr);
      return 2;
    }
#undef OPT
  }
  if (o->light_seconds <= 0) o->light_seconds = o->seconds;
  if (!o->binary || o->calls < 1 || o->seconds <= 0 || o->park < 1 ||
      (o->light_only && !(o->floor && (o->light_menu || o->light_demo)))) {
    usage(stderr);
    return 2;
  }
  if (!o->flow_path) o->flow_path = "flows/main.lua";
  signal(SIGPIPE, SIG_IGN);
  dt_log_set_level(DT_LOG_WARN);
  load_scripts();
  B.out = cJSON_CreateObject();

  snprintf(B.dir, sizeof B.dir, "/tmp/dt_bench_XXXXXX");
  if (!mkdtemp(B.dir)) die("mkdtemp: %s", strerror(errno));
  snprintf(B.flows_dir, sizeof B.flows_dir, "%s/flows", B.dir);
  mkdir(B.flows_dir, 0755);
  snprintf(B.cdr_path, sizeof B.cdr_path, "%s/cdr.jsonl", B.dir);
  snprintf(B.log_path, sizeof B.log_path, "%s/engine.log", B.dir);
  snprintf(B.flow_copy, sizeof B.flow_copy, "%s/main.lua", B.flows_dir);
  copy_flow(o->flow_path, B.flow_copy);
  char park_path[200];
  snprintf(park_path, sizeof park_path, "%s/bench_park.lua", B.flows_dir);
  dt_write_file_atomic(park_path, PARK_FLOW, strlen(PARK_FLOW));
  char prompts[600];
  const char *slash = strrchr(o->flow_path, '/');
  if (slash) snprintf(prompts, sizeof prompts, "%.*s/prompts", (int)(slash - o->flow_path), o->flow_path);
  else snprintf(prompts, sizeof prompts, "prompts");
  char *rp = realpath(prompts, NULL);
  if (rp) {
    snprintf(prompts, sizeof prompts, "%s", rp);
    free(rp);
  }

  uv_loop_init(&B.loop);
  uv_timer_init(&B.loop, &B.tick);
  uv_timer_start(&B.tick, noop, 1, 1); /* the loop wakes at least every ms */
  dt_http_client_options_t ho = {0};
  if (dt_http_client_new(&B.loop, &ho, &B.http) != 0) die("http client");
  dt_emulator_options_t eo;
  dt_emulator_options_init(&eo);
  eo.time_scale = 0;
  eo.quiet = 1;
  eo.history = 64;
  char err[256];
  if (dt_emulator_start(&B.loop, &eo, &B.emu, err, sizeof err) != 0) die("emulator: %s", err);
  snprintf(B.emu_url, sizeof B.emu_url, "%s", dt_emulator_url(B.emu));
  dt_emulator_on_probe(B.emu, on_probe, NULL);
  double t_start = now_s();
  if (!o->light_only) {
    spawn_engine(prompts, B.emu_url);
    wait_ready();
    char bot[192], err[256] = "";
    snprintf(bot, sizeof bot, "%s/api/calls", B.engine_url);
    if (dt_emulator_set_bot_url(B.emu, bot, err, sizeof err) != 0) die("emulator bot URL: %s", err);

    warm_up();
    fprintf(stderr, "dt_bench: engine pid %d on %s, emulator %s; parking %d calls\n", (int)B.engine, B.engine_url,
            B.emu_url, o->park);
    phase_park();
    fprintf(stderr, "dt_bench: throughput, %d concurrent calls for %.0f s\n", o->calls, o->seconds);
    phase_throughput();
    fprintf(stderr, "dt_bench: latency at half load (%.0f notifications/s) for %.0f s\n", half_rate(), o->seconds);
    phase_half();
    fprintf(stderr, "dt_bench: flow reload under half load\n");
    phase_reload();

    /* the engine drains and exits; its rusage is the whole run's */
    kill(B.engine, SIGTERM);
    int status = 0;
    struct rusage ru = {0};
    pid_t got = 0;
    for (double end = now_s() + 30; now_s() < end && (got = wait4(B.engine, &status, WNOHANG, &ru)) == 0;) tick();
    if (got == 0) {
      kill(B.engine, SIGKILL);
      wait4(B.engine, &status, 0, &ru);
      B.failed = true;
    }
    B.engine = 0;
    cJSON *run = jphase("run");
    cJSON_AddNumberToObject(run, "engine_cpu_s_total", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                                          (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    cJSON_AddNumberToObject(run, "engine_max_rss_bytes", (double)ru.ru_maxrss * 1024);
    cJSON_AddNumberToObject(run, "engine_exit_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    cJSON_AddNumberToObject(run, "wall_s", now_s() - t_start);
    cJSON_AddNumberToObject(run, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    double la[3] = {0};
    if (getloadavg(la, 3) == 3) cJSON_AddNumberToObject(run, "load_average_1min_at_end", la[0]);
    cJSON_AddBoolToObject(run, "pinned", !o->no_pin && sysconf(_SC_NPROCESSORS_ONLN) >= 2);
    cJSON_AddStringToObject(run, "flow", o->flow_path);
    cJSON_AddStringToObject(run, "log_level", o->log_level);
    cJSON_AddNumberToObject(run, "notifications_total", (double)B.notifies);
    cJSON_AddNumberToObject(run, "requests_total", (double)B.requests);
    cJSON_AddNumberToObject(run, "unpaired_requests", (double)B.unpaired_requests);
  }
  if (o->floor && o->light_menu) {
    fprintf(stderr, "dt_bench: light fake Graph, menu mix: engine, then dt_floor_bot, %d concurrent calls for %.0f s\n",
            o->calls, o->light_seconds);
    phase_light("light_menu", o->light_menu, prompts);
  }
  if (o->floor && o->light_demo) {
    fprintf(stderr, "dt_bench: light fake Graph, default mix: engine, then dt_floor_bot\n");
    phase_light("light_demo", o->light_demo, prompts);
  }
  cJSON *run = cJSON_GetObjectItemCaseSensitive(B.out, "run");
  if (!run) run = jphase("run");
  cJSON_AddNumberToObject(run, "wall_s_with_light", now_s() - t_start);
  cJSON_AddBoolToObject(run, "ok", !B.failed);

  /* close what the loop holds; a bounded number of turns (the process exits next) */
  dt_emulator_close(B.emu, NULL, NULL);
  dt_http_client_close(B.http, NULL, NULL);
  uv_close((uv_handle_t *)&B.tick, NULL);
  for (int i = 0; i < 1000 && uv_run(&B.loop, UV_RUN_NOWAIT); i++) {
  }
  for (size_t i = 0; i < B.nscripts; i++) cJSON_Delete(B.scripts[i]);

  print_table();
  char *json = cJSON_Print(B.out);
  if (o->json_path) {
    if (dt_write_file_atomic(o->json_path, json, strlen(json)) != 0) {
      fprintf(stderr, "dt_bench: cannot write %s\n", o->json_path);
      B.failed = true;
    }
  } else {
    puts(json);
  }
  free(json);
  cJSON_Delete(B.out);
  if (!o->keep) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", B.dir);
    if (system(cmd) != 0) fprintf(stderr, "dt_bench: cannot remove %s\n", B.dir);
  } else {
    fprintf(stderr, "dt_bench: kept %s (engine log, CDRs)\n", B.dir);
  }
  return B.failed ? 1 : 0;
}
