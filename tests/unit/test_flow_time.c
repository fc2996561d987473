/*
 * test_flow_time.c — lua/flow_time.c: dialtone.now, os.time and os.date on the runtime's
 * clock (a fake one here), dialtone.hours' options refused with clear errors, open and
 * next_open with and without t, and the zone cache (one zone loaded once).
 */
#include "flow_time.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

static double fake_now = 1798153140.25; /* 2026-12-24T17:59:00.25 in New York */
static double fake_clock(void *ud) {
  (void)ud;
  return fake_now;
}

static void open_fixture(rt_fixture_t *f) {
  dt_runtime_options_t o = {.clock = fake_clock};
  if (rtf_open(f, &o) != 0) abort();
  lua_State *L = f->rt->L;
  lua_newtable(L);
  dt__flow_time_dialtone_funcs(L);
  lua_setglobal(L, "d");
  lua_newtable(L);
  dt__flow_time_os_funcs(L);
  lua_setglobal(L, "o");
}

#define OK(f, code)                                                                                                    \
  do {                                                                                                                 \
    const char *e_ = rtf_eval(f, code);                                                                                \
    DT_ASSERT_MSG(e_ == NULL, "%s", e_);                                                                               \
  } while (0)

DT_TEST(the_clock_drives_now_os_time_and_os_date) {
  rt_fixture_t f;
  open_fixture(&f);
  OK(&f, "assert(d.now() == 1798153140.25)");
  OK(&f, "assert(o.os_time() == 1798153140 and math.type(o.os_time()) == 'integer')");
  OK(&f, "assert(o.os_date('!%Y-%m-%dT%H:%M:%S') == '2026-12-24T22:59:00')");
  OK(&f, "assert(o.os_date('!%H', 0) == '00')");
  OK(&f, "assert(type(o.os_date('*t')) == 'table')");
  OK(&f, "assert(o.os_time{year = 2026, month = 1, day = 1, hour = 12} > 0)");
  fake_now = 86400.5;
  OK(&f, "assert(o.os_date('!%Y-%m-%d') == '1970-01-02')");
  fake_now = 1798153140.25;
  rtf_close(&f);
}

DT_TEST(hours_options_are_checked) {
  rt_fixture_t f;
  open_fixture(&f);
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', mon_fri = '08:00-18:00', saturday = '09:00-13:00'}"),
                     "dialtone.hours: unknown option 'saturday' (options: tz, mon_fri");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{mon_fri = '08:00-18:00'}"), "dialtone.hours: tz is required");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'Mars/Base', mon_fri = '08:00-18:00'}"),
                     "dialtone.hours: tz: unknown time zone 'Mars/Base'");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = '../etc/passwd', mon_fri = '08:00-18:00'}"),
                     "is not a time zone name");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', mon_fri = '8-18'}"), "dialtone.hours: mon_fri: '8-18' is not");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', fri = '22:00-02:00'}"), "cannot cross midnight");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', fri = 8}"), "dialtone.hours: fri must be");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC'}"), "no opening hours given");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', sat = '09:00-10:00', holidays = {'2026-13-01'}}"),
                     "holidays[1]: '2026-13-01' is not a date");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', sat = '09:00-10:00', holidays = {x = '2026-12-01'}}"),
                     "not a map");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', sat = '09:00-10:00', holidays = '2026-12-01'}"),
                     "holidays must be a list");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "local h = {} for i = 1, 367 do h[i] = '2026-01-01' end "
                                  "d.hours{tz = 'UTC', sat = '09:00-10:00', holidays = h}"),
                     "at most 366 holidays");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', sat = '09:00-10:00'}:open('now')"),
                     "hours:open: t must be a Unix time");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.hours{tz = 'UTC', sat = '09:00-10:00'}:next_open(1e300)"), "out of range");
  rtf_close(&f);
}

DT_TEST(open_and_next_open) {
  rt_fixture_t f;
  open_fixture(&f);
  OK(&f, "H = d.hours{tz = 'America/New_York', mon_fri = '08:00-18:00', sat = '09:00-13:00', "
         "sun = false, holidays = {'2026-12-25'}}");
  OK(&f, "assert(H:open() == true)");                         /* 17:59 on the clock */
  OK(&f, "assert(H:next_open() == 1798153140.25)");           /* open: now */
  OK(&f, "assert(H:open(1798153200) == false)");              /* 18:00 */
  OK(&f, "assert(H:next_open(1798153200) == 1798293600)");    /* Saturday 09:00 EST */
  OK(&f, "assert(H:next_open(1798153140.5) == 1798153140.5)"); /* t as given when open */
  OK(&f, "assert(tostring(H) == 'hours (America/New_York)')");
  /* a day's own key wins over its group; 'closed' closes it */
  OK(&f, "local h = d.hours{tz = 'UTC', daily = '00:00-24:00', mon_fri = '09:00-17:00'} "
         "assert(h:open(1798070400 + 3600) == false) "  /* Thursday 01:00: mon_fri wins over daily */
         "assert(h:open(1798243200 + 3600) == true)");  /* Saturday 01:00: daily */
  OK(&f, "local h = d.hours{tz = 'UTC', daily = '00:00-24:00', wed = 'closed'} "
         "assert(h:open(1797897600) == true) "          /* Tuesday 2026-12-22 00:00 */
         "assert(h:open(1797984000) == false) "         /* Wednesday 2026-12-23 */
         "assert(h:next_open(1797984000) == 1798070400)");
  /* never open within the horizon */
  OK(&f, "local h = d.hours{tz = 'UTC', mon = 'closed'} assert(h:next_open() == nil)");
  /* the metatable is protected */
  OK(&f, "assert(getmetatable(H) == false)");
  rtf_close(&f);
}

DT_TEST_MAIN()
