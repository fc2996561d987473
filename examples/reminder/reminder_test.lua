-- reminder_test.lua — flow tests of examples/reminder/reminder.lua.
-- Run: dialtone test examples/reminder/reminder_test.lua
local test = require "dialtone.test"

-- Graph places calls to phone numbers only from an application instance (a resource account
-- with a number): in production that is graph.application_instance_id in the config; here the
-- test stands it in. Without it the emulator refuses the reminder call, as Graph would.
test.options{application_instance = "5a1e2c3d-0000-4000-8000-00000000f00d"}

local PATIENT = {phone = "+15550142"}

test("the patient confirms", function(t)
  local call = t:dial{flow = "reminder", to = PATIENT}
  call:expect("answered")
  call:expect_prompt("appointment")
  call:press("1")
  call:expect_prompt("confirmed")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{direction = "outgoing", outcome = "completed", digits = {"1"}, to = "+15550142"}
end)

test("the patient cancels", function(t)
  local call = t:dial{flow = "reminder", to = PATIENT}
  call:expect_prompt("appointment")
  call:press("2")
  call:expect_prompt("cancelled")
  call:expect_hangup{by = "bot"}
end)

test("the patient's phone is busy: the call is not answered", function(t)
  t:party(PATIENT, {behaviour = "busy"})
  local call = t:dial{flow = "reminder", to = PATIENT}
  call:expect_hangup{by = "busy"}
  call:expect_no_prompt()
  call:expect_cdr{direction = "outgoing", outcome = "unanswered"}
end)

test("the front desk types the number: the patient is called", function(t)
  local desk = t:call{from = {phone = "+15550100"}}
  desk:expect_prompt("enter_number")
  desk:press("15550142#")
  local patient = t:expect_dial{to = PATIENT}
  desk:expect_prompt("reminder_sent")
  desk:expect_prompt("goodbye")
  patient:expect_prompt("appointment")
  patient:press("1")
  patient:expect_prompt("confirmed")
  desk:expect_cdr{digits = {"15550142"}}
end)

test("a number that is too short: nobody is called", function(t)
  local desk = t:call{}
  desk:expect_prompt("enter_number")
  desk:press("123#")
  desk:expect_prompt("bad_number")
  desk:expect_prompt("goodbye")
  desk:expect_hangup{by = "bot"}
  t:expect_no_dial()
end)
