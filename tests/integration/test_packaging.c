/*
 * test_packaging.c — installing dialtone (issue 14 point 6): `cmake --install` into a
 * temporary root, the .deb CPack builds, and the installed service's life with the service
 * manager's protocol.
 *
 *  - `cmake --install --prefix /usr` puts the binary, the config in /etc/dialtone, the demo
 *    flows and the systemd unit (Type=notify, ExecReload SIGHUP, KillSignal SIGTERM) in
 *    place; another prefix moves all of them, the unit's paths too;
 *  - the installed binary with the shipped config (its paths moved into the temporary root)
 *    starts, sends READY=1 to $NOTIFY_SOCKET once it listens (/healthz answers), RELOADING=1
 *    then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, and exits 0;
 *  - `cpack -G DEB` builds a package with its library dependencies, the /etc files as
 *    conffiles, the maintainer scripts that create the user and start the unit, and a
 *    binary that runs once extracted.
 * What is not tested here: `dpkg -i` on the machine and systemd starting the unit (the test
 * machine runs no systemd; docs/production.md "Install").
 */
#include <sys/socket.h>
#include <sys/un.h>
#include "harness/dt_test.h"
#include "harness/proc_harness.h"

static const char *build_dir(void) {
  const char *b = getenv("DT_BUILD_DIR");
  return b ? b : ".";
}

/* Runs a shell command; its exit status (output into log, shown on failure). */
static int sh(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(const char *log, const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[2300];
  snprintf(full, sizeof full, "(%s) >'%s' 2>&1", cmd, log);
  int st = system(full);
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (rc != 0) {
    char *out = p_slurp(log);
    fprintf(stderr, "  command failed (%d): %s\n%s\n", rc, cmd, out ? out : "");
    free(out);
  }
  return rc;
}

static bool exists(const char *root, const char *path, mode_t want) {
  char p[512];
  snprintf(p, sizeof p, "%s%s", root, path);
  struct stat st;
  if (stat(p, &st) != 0) {
    fprintf(stderr, "  missing: %s\n", p);
    return false;
  }
  return (st.st_mode & want) == want;
}

static char *slurp_in(const char *root, const char *path) {
  char p[512];
  snprintf(p, sizeof p, "%s%s", root, path);
  return p_slurp(p);
}

/* DESTDIR=root cmake --install BUILD --prefix prefix */
static int install_into(p_env_t *env, const char *root, const char *prefix) {
  char log[300];
  snprintf(log, sizeof log, "%s/install.log", env->dir);
  return sh(log, "DESTDIR='%s' cmake --install '%s' --prefix '%s'", root, build_dir(), prefix);
}

DT_TEST(install_puts_binary_config_flows_and_unit_in_place) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char root[200];
  snprintf(root, sizeof root, "%s/root", env.dir);
  DT_ASSERT_EQ_INT(install_into(&env, root, "/usr"), 0);
  DT_ASSERT(exists(root, "/usr/bin/dialtone", S_IXUSR));
  DT_ASSERT(exists(root, "/etc/dialtone/dialtone.conf.lua", S_IRUSR));
  DT_ASSERT(exists(root, "/etc/dialtone/flows/main.lua", S_IRUSR));
  DT_ASSERT(exists(root, "/etc/dialtone/flows/prompts/main_menu.wav", S_IRUSR));
  DT_ASSERT(exists(root, "/usr/share/doc/dialtone/README.md", S_IRUSR));
  char *unit = slurp_in(root, "/usr/lib/systemd/system/dialtone.service");
  DT_ASSERT(unit != NULL);
  DT_ASSERT_CONTAINS(unit, "\nType=notify\n");
  DT_ASSERT_CONTAINS(unit, "\nExecStart=/usr/bin/dialtone --config /etc/dialtone/dialtone.conf.lua run\n");
  DT_ASSERT_CONTAINS(unit, "\nExecReload=/bin/kill -HUP $MAINPID\n");
  DT_ASSERT_CONTAINS(unit, "\nKillSignal=SIGTERM\n");
  DT_ASSERT_CONTAINS(unit, "\nUser=dialtone\n");
  DT_ASSERT_CONTAINS(unit, "\nWantedBy=multi-user.target\n");
  free(unit);
  /* another prefix moves everything, the unit's paths with it */
  snprintf(root, sizeof root, "%s/root2", env.dir);
  DT_ASSERT_EQ_INT(install_into(&env, root, "/opt/dialtone"), 0);
  DT_ASSERT(exists(root, "/opt/dialtone/bin/dialtone", S_IXUSR));
  DT_ASSERT(exists(root, "/opt/dialtone/etc/dialtone/dialtone.conf.lua", S_IRUSR));
  unit = slurp_in(root, "/opt/dialtone/lib/systemd/system/dialtone.service");
  DT_ASSERT(unit != NULL);
  DT_ASSERT_CONTAINS(unit, "ExecStart=/opt/dialtone/bin/dialtone --config /opt/dialtone/etc/dialtone/dialtone.conf.lua run");
  free(unit);
  p_env_free(&env);
}

/* A datagram socket standing in for systemd's notification socket. */
static int notify_socket(const char *path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -1;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return -1;
  struct timeval tv = {60, 0}; /* bounded: valgrind starts slowly */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* The next notification (NUL-terminated into buf), or "" when none came in time. */
static const char *next_notification(int fd, char *buf, size_t len) {
  ssize_t n = recv(fd, buf, len - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

/* Replaces every from with to in s (s is freed). */
static char *replace(char *s, const char *from, const char *to) {
  dt_buf_t b = {0};
  const char *p = s, *q;
  while ((q = strstr(p, from)) != NULL) {
    dt_buf_append(&b, p, (size_t)(q - p));
    dt_buf_append(&b, to, strlen(to));
    p = q + strlen(from);
  }
  dt_buf_append(&b, p, strlen(p));
  free(s);
  return b.data;
}

DT_TEST(installed_service_notifies_ready_reloading_and_stopping) {
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char root[200], path[300], var[300];
  snprintf(root, sizeof root, "%s/root", env.dir);
  DT_ASSERT_EQ_INT(install_into(&env, root, "/usr"), 0);
  /* the shipped config, its paths moved into the temporary root (ports: any free one) */
  char *conf = slurp_in(root, "/etc/dialtone/dialtone.conf.lua");
  DT_ASSERT(conf != NULL);
  snprintf(path, sizeof path, "%s/etc/dialtone/flows", root);
  snprintf(var, sizeof var, "%s/var/lib/dialtone", root);
  conf = replace(conf, "/etc/dialtone/flows", path);
  conf = replace(conf, "/var/lib/dialtone", var);
  conf = replace(conf, "127.0.0.1:8080", "127.0.0.1:0");
  conf = replace(conf, "127.0.0.1:9090", "127.0.0.1:0");
  DT_ASSERT(strstr(conf, "\"/") == NULL || strstr(conf, root) != NULL);
  char mk[400];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", var); /* systemd's StateDirectory= makes it */
  DT_ASSERT_EQ_INT(system(mk), 0);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(env.config, conf, strlen(conf)), 0);
  free(conf);

  char sock[200];
  snprintf(sock, sizeof sock, "%s/notify", env.dir);
  int fd = notify_socket(sock);
  DT_ASSERT(fd >= 0);
  char binary[300];
  snprintf(binary, sizeof binary, "%s/usr/bin/dialtone", root);
  char *saved = getenv("DT_BINARY") ? dt_xstrdup(getenv("DT_BINARY")) : NULL;
  setenv("DT_BINARY", binary, 1);
  setenv("NOTIFY_SOCKET", sock, 1);
  p_proc_t eng;
  const char *args[] = {"--config", env.config, "run", NULL};
  DT_ASSERT_EQ_INT(p_spawn(&env, &eng, "service", args), 0);
  unsetenv("NOTIFY_SOCKET");
  if (saved) setenv("DT_BINARY", saved, 1);
  free(saved);

  char msg[1024];
  next_notification(fd, msg, sizeof msg);
  DT_ASSERT_MSG(strncmp(msg, "READY=1\n", 8) == 0, "first notification: '%s'", msg);
  /* ready means listening: the status names the callback URL, and /healthz answers there */
  const char *at = strstr(msg, "(notifications to ");
  DT_ASSERT(at != NULL);
  at += strlen("(notifications to ");
  char url[300];
  snprintf(url, sizeof url, "%.*s/healthz", (int)(strstr(at, "/api/calls") - at), at);
  DT_ASSERT_EQ_INT(p_http("GET", url, NULL, NULL), 200);

  p_kill(&eng, SIGHUP);
  next_notification(fd, msg, sizeof msg);
  DT_ASSERT_MSG(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0, "on SIGHUP: '%s'", msg);
  next_notification(fd, msg, sizeof msg);
  DT_ASSERT_MSG(strncmp(msg, "READY=1\n", 8) == 0, "after the reload: '%s'", msg);

  p_kill(&eng, SIGTERM);
  next_notification(fd, msg, sizeof msg);
  DT_ASSERT_MSG(strncmp(msg, "STOPPING=1\n", 11) == 0, "on SIGTERM: '%s'", msg);
  DT_ASSERT_EQ_INT(p_wait_exit(&eng, 60000), 0);
  close(fd);
  p_env_free(&env);
}

DT_TEST(deb_package_holds_the_service) {
  if (system("command -v cpack >/dev/null && command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps "
             ">/dev/null") != 0) {
    DT_ASSERT_MSG(getenv("CI") == NULL, "CI needs cpack, dpkg-deb and dpkg-shlibdeps (scripts/deps.sh)");
    printf("  (cpack or dpkg tools missing: skipped)\n");
    return;
  }
  p_env_t env;
  DT_ASSERT(p_env_init(&env) == 0);
  char log[300], out[200];
  snprintf(log, sizeof log, "%s/cpack.log", env.dir);
  snprintf(out, sizeof out, "%s/pkg", env.dir);
  DT_ASSERT_EQ_INT(sh(log, "cd '%s' && cpack -G DEB -B '%s'", build_dir(), out), 0);
  char deb[300];
  snprintf(deb, sizeof deb, "%s/pkg/dialtone_0.1.0_amd64.deb", env.dir);
  if (access(deb, R_OK) != 0) { /* another architecture: take whatever .deb was made */
    DT_ASSERT_EQ_INT(sh(log, "ls '%s'/dialtone_*.deb | head -1 | tr -d '\\n' > '%s/debname'", out, env.dir), 0);
    char name[300];
    snprintf(name, sizeof name, "%s/debname", env.dir);
    char *n = p_slurp(name);
    DT_ASSERT(n != NULL);
    snprintf(deb, sizeof deb, "%s", n);
    free(n);
  }
  char info[300];
  snprintf(info, sizeof info, "%s/info", env.dir);
  DT_ASSERT_EQ_INT(sh(info, "dpkg-deb -f '%s' Package Version Depends", deb), 0);
  char *fields = p_slurp(info);
  DT_ASSERT(fields != NULL);
  DT_ASSERT_CONTAINS(fields, "Package: dialtone");
  DT_ASSERT_CONTAINS(fields, "libuv1");
  DT_ASSERT_CONTAINS(fields, "liblua5.4-0");
  DT_ASSERT_CONTAINS(fields, "libmbedtls");
  DT_ASSERT_CONTAINS(fields, "adduser");
  free(fields);
  DT_ASSERT_EQ_INT(sh(info, "dpkg-deb -I '%s' conffiles", deb), 0);
  char *conffiles = p_slurp(info);
  DT_ASSERT(conffiles != NULL);
  DT_ASSERT_CONTAINS(conffiles, "/etc/dialtone/dialtone.conf.lua\n");
  DT_ASSERT_CONTAINS(conffiles, "/etc/dialtone/flows/main.lua\n");
  free(conffiles);
  DT_ASSERT_EQ_INT(sh(info, "dpkg-deb -I '%s' postinst", deb), 0);
  char *postinst = p_slurp(info);
  DT_ASSERT(postinst != NULL);
  DT_ASSERT_CONTAINS(postinst, "adduser --system");
  DT_ASSERT_CONTAINS(postinst, "systemctl enable dialtone.service");
  free(postinst);
  DT_ASSERT_EQ_INT(sh(info, "dpkg-deb -c '%s'", deb), 0);
  char *contents = p_slurp(info);
  DT_ASSERT(contents != NULL);
  DT_ASSERT_CONTAINS(contents, "./usr/bin/dialtone\n");
  DT_ASSERT_CONTAINS(contents, "./usr/lib/systemd/system/dialtone.service\n");
  DT_ASSERT_CONTAINS(contents, "./etc/dialtone/dialtone.conf.lua\n");
  free(contents);
  /* what it holds runs */
  char x[200];
  snprintf(x, sizeof x, "%s/x", env.dir);
  DT_ASSERT_EQ_INT(sh(info, "dpkg-deb -x '%s' '%s' && '%s/usr/bin/dialtone' version", deb, x, x), 0);
  DT_ASSERT(p_file_has(info, "dialtone 0.1.0"));
  p_env_free(&env);
}

DT_TEST_MAIN()
