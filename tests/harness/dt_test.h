/*
 * dt_test.h — the tiny test harness every C test uses (after libuv's task.h).
 *
 *   DT_TEST(parses_tone) { DT_ASSERT_EQ_INT(ev.type, DT_EVENT_TONE); }
 *   DT_TEST_MAIN()
 *
 * Each DT_TEST registers itself; DT_TEST_MAIN runs them in order (or only those whose
 * names are given as arguments), prints one line per test and a closing
 * "N passed, N failed" line, and exits non-zero if any failed. A failed assertion
 * prints file:line and the values, then returns from the test function.
 */
#ifndef DT_TEST_H
#define DT_TEST_H
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*dt_test_fn)(void);
typedef struct { const char *name; dt_test_fn fn; } dt_test_case_t;

#define DT_TEST_MAX 512
extern dt_test_case_t dt_test_cases[DT_TEST_MAX];
extern int dt_test_count;
extern int dt_test_failed_flag;

#define DT_TEST(name)                                                                       \
  static void dt_test_##name(void);                                                         \
  __attribute__((constructor)) static void dt_test_register_##name(void) {                  \
    if (dt_test_count < DT_TEST_MAX)                                                        \
      dt_test_cases[dt_test_count++] = (dt_test_case_t){#name, dt_test_##name};             \
  }                                                                                         \
  static void dt_test_##name(void)

#define DT_FAIL(...)                                                                        \
  do {                                                                                      \
    fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                       \
    fprintf(stderr, __VA_ARGS__);                                                           \
    fprintf(stderr, "\n");                                                                  \
    dt_test_failed_flag = 1;                                                                \
    return;                                                                                 \
  } while (0)

#define DT_ASSERT(cond)                                                                     \
  do { if (!(cond)) DT_FAIL("assertion failed: %s", #cond); } while (0)
#define DT_ASSERT_MSG(cond, ...)                                                            \
  do { if (!(cond)) DT_FAIL(__VA_ARGS__); } while (0)
#define DT_ASSERT_EQ_INT(a, b)                                                              \
  do {                                                                                      \
    long long dt__a = (long long)(a), dt__b = (long long)(b);                               \
    if (dt__a != dt__b) DT_FAIL("%s == %s: %lld != %lld", #a, #b, dt__a, dt__b);           \
  } while (0)
#define DT_ASSERT_EQ_STR(a, b)                                                              \
  do {                                                                                      \
    const char *dt__a = (a), *dt__b = (b);                                                  \
    if (dt__a == NULL || dt__b == NULL || strcmp(dt__a, dt__b) != 0)                        \
      DT_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, dt__a ? dt__a : "(null)",               \
              dt__b ? dt__b : "(null)");                                                    \
  } while (0)
#define DT_ASSERT_CONTAINS(hay, needle)                                                     \
  do {                                                                                      \
    const char *dt__h = (hay), *dt__n = (needle);                                           \
    if (dt__h == NULL || strstr(dt__h, dt__n) == NULL)                                      \
      DT_FAIL("%s does not contain \"%s\": \"%s\"", #hay, dt__n, dt__h ? dt__h : "(null)"); \
  } while (0)

#define DT_TEST_MAIN()                                                                      \
  dt_test_case_t dt_test_cases[DT_TEST_MAX];                                                \
  int dt_test_count;                                                                        \
  int dt_test_failed_flag;                                                                  \
  int main(int argc, char **argv) {                                                         \
    int passed = 0, failed = 0;                                                             \
    for (int i = 0; i < dt_test_count; i++) {                                               \
      if (argc > 1) {                                                                       \
        int wanted = 0;                                                                     \
        for (int a = 1; a < argc; a++)                                                      \
          if (strcmp(argv[a], dt_test_cases[i].name) == 0) wanted = 1;                      \
        if (!wanted) continue;                                                              \
      }                                                                                     \
      dt_test_failed_flag = 0;                                                              \
      dt_test_cases[i].fn();                                                                \
      printf("%s %s\n", dt_test_failed_flag ? "FAIL" : "ok  ", dt_test_cases[i].name);      \
      fflush(stdout);                                                                       \
      if (dt_test_failed_flag) failed++; else passed++;                                     \
    }                                                                                       \
    printf("%d passed, %d failed\n", passed, failed);                                       \
    return failed ? 1 : (passed ? 0 : 1);                                                   \
  }

#endif
