-- hours_test.lua — issue 13 points 2, 5 and 7 through `dialtone test`: t:set_time drives
-- dialtone.now, os.time, os.date and dialtone.hours (just before closing -> open, at closing
-- -> closed with the next opening after a holiday, weekends and a DST change, time moving
-- on with the simulated clock); call:tag's tags in call:tags() and the CDR, bad tags
-- refused with nothing changed; test.options{settings=} as dialtone.settings.
local test = require "dialtone.test"

test.options{flows = "hours", prompts = "../../flows/prompts", flow = "pharmacy",
             settings = {queue = "pharmacy-east", retries = 3, vip = false}}

-- the CDR's tags hold at least these
local function has(tags, want)
  for k, v in pairs(want) do
    if tags[k] ~= v then
      error(("tag %s is %s, expected %s (tags %s)"):format(k, tostring(tags[k]), tostring(v), test.json_encode(tags)), 2)
    end
  end
end

test("two seconds before closing it is open; after the prompt (simulated time) closed", function(t)
  local at = t:set_time("2026-12-24T17:59:58", "America/New_York")
  assert(at == 1798153198, at)
  local c = t:call{}
  c:expect_prompt("welcome")
  c:expect_hangup()
  local r = c:expect_cdr{}
  has(r.tags, {open = "yes", later = "closed", utc = "2026-12-24T22:59:58", os_time = at})
  assert(r.tags.now >= at and r.tags.now < at + 1, r.tags.now) -- the call came 0.2 s later
end)

test("at closing time on Christmas Eve: closed until Saturday 09:00", function(t)
  t:set_time("2026-12-24T18:00:00", "America/New_York")
  local c = t:call{}
  c:expect_prompt("goodbye")
  local tags = c:tags() -- the engine's view while the call is up
  assert(tags.open == "no" and tags.next_utc == "2026-12-26T14:00", test.json_encode(tags))
  c:expect_hangup()
  has(c:expect_cdr{}.tags, {open = "no", next_open = 1798293600, later = "closed"})
end)

-- a call at `when` (New York) finds it closed until next_utc
local function closed_until(t, when, next_utc)
  t:set_time(when, "America/New_York")
  local c = t:call{}
  c:expect_prompt("goodbye")
  c:expect_hangup()
  has(c:expect_cdr{}.tags, {open = "no", next_utc = next_utc})
end

test("Saturday after 13:00: next open Monday 08:00", function(t)
  closed_until(t, "2026-12-26T13:00:00", "2026-12-28T13:00")
end)

test("over the spring DST weekend: Monday 08:00 EDT", function(t)
  closed_until(t, "2026-03-07T14:00:00", "2026-03-09T12:00")
end)

test("set_time in UTC and t:now", function(t)
  local at = t:set_time("2026-07-01T12:00:00Z")
  assert(at == 1782907200, at)
  assert(math.abs(t:now() - at) < 1)
  local c = t:call{}
  c:expect_prompt("welcome") -- 08:00 EDT on a Wednesday
  c:expect_hangup()
  has(c:expect_cdr{}.tags, {open = "yes", utc = "2026-07-01T12:00:00", later = "open", os_time = at})
  local ok, e = pcall(t.set_time, t, "2026-07-01 25:00", "UTC")
  assert(not ok and tostring(e):find("is not a date and time"), tostring(e))
  ok, e = pcall(t.set_time, t, "2026-07-01T10:00:00", "Mars/Base")
  assert(not ok and tostring(e):find("unknown time zone"), tostring(e))
end)

test("call:tag merges, refuses bad input whole, and settings are read-only", function(t)
  local c = t:call{flow = "tagger"}
  c:expect_prompt("welcome")
  c:expect_hangup()
  local r = c:expect_cdr{}
  local g = r.tags
  assert(g.prescription == "654321" and g.callback == "+15551234567" and g.attempts == 2, test.json_encode(g))
  assert(g.fine == nil and g.flag == nil and g.long == nil and g.k1 == nil, test.json_encode(g))
  assert(g.e1:find("'bad key' is not a tag name"), g.e1)
  assert(g.e2:find("tag 'flag' must be a string or a number, got boolean"), g.e2)
  assert(g.e3:find("tag 'long' is longer than 256 bytes"), g.e3)
  assert(g.e4:find("call:tag expects a table"), g.e4)
  assert(g.e5:find("at most 32 tags"), g.e5)
  assert(g.e6:find("dialtone.settings is read%-only"), g.e6)
  assert(g.queue == "pharmacy-east" and g.retries == 3 and g.vip == "false", test.json_encode(g))
  local same = c:tags() -- after the call: the CDR's
  assert(same.prescription == "654321")
end)
