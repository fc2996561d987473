/*
 * test_call_timer.c — core/calls/call_timer.c: a sleep ends at its time, a gather with no
 * key ends at its first-digit timeout with no digits, and a wait whose request never
 * finishes fails at its deadline with DT_ETIMEDOUT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(a_sleep_ends_at_its_time) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-s", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-s");
  uv_update_time(&f.loop); /* timers start from the loop's time */
  uint64_t t0 = dt_now_ms();
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 50), 0);
  FX_UNTIL(&f, 2000, f.results == 1);
  DT_ASSERT(dt_now_ms() - t0 >= 45);
  DT_ASSERT_EQ_STR(f.last_reason, "completed");
  free(fx_close(&f));
}

DT_TEST(a_gather_with_no_key_times_out_empty) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-g", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-g");
  dt_gather_params_t p = {.max = 4, .min = 1, .timeout_ms = 30, .terminators = "#"};
  DT_ASSERT_EQ_INT(dt_call_gather(c, &p), 0);
  FX_UNTIL(&f, 2000, f.results == 1);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_STR(f.last_reason, "timeout");
  DT_ASSERT_EQ_STR(f.last_digits, "");
  free(fx_close(&f));
}

DT_TEST(a_deadline_fails_the_wait_with_timeout) {
  /* a listening socket nobody accepts on: the answer request is sent and never answered */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  DT_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0);
  getsockname(fd, (struct sockaddr *)&a, &len);
  snprintf(fx_graph_url, sizeof fx_graph_url, "http://127.0.0.1:%d/v1.0", ntohs(a.sin_port));
  call_fx_t f;
  fx_open(&f, &(dt_calls_options_t){.op_timeout_ms = 50}, false);
  fx_incoming(&f, "call-d", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-d");
  uv_update_time(&f.loop);
  uint64_t t0 = dt_now_ms();
  DT_ASSERT_EQ_INT(dt_call_answer(c, NULL, 0, NULL, 0), 0);
  FX_UNTIL(&f, 3000, f.results == 1);
  DT_ASSERT(dt_now_ms() - t0 >= 45);
  DT_ASSERT_EQ_INT(f.last.err, DT_ETIMEDOUT);
  DT_ASSERT(strstr(f.last_message, "answer did not finish within its deadline") != NULL);
  free(fx_close(&f));
  close(fd);
  snprintf(fx_graph_url, sizeof fx_graph_url, "http://127.0.0.1:9/v1.0");
}

DT_TEST_MAIN()
