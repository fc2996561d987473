-- escalate_test.lua — flow tests of examples/escalate/escalate.lua.
-- Run: dialtone test examples/escalate/escalate_test.lua
local test = require "dialtone.test"

local CALLER = {phone = "+15550100"}
local SUPERVISOR = {user = "supervisor-on-duty"}

test("0: the caller is moved into a group call with the supervisor", function(t)
  local call = t:call{from = CALLER}
  call:expect_prompt("support_menu")
  call:press("0")
  call:expect_prompt("escalating")
  local group = t:expect_dial{to = SUPERVISOR}
  -- the flow invites the caller and speaks as soon as the group call is established; the
  -- callees answer meanwhile (they take answer_delay, 2 s by default)
  local inv = group:expect_invite{participant = CALLER, outcome = "joined"}
  assert(inv.replaces == call.id, "the invitation replaces the 1:1 call")
  call:expect_hangup{by = "replaced"}          -- the 1:1 call is over: the caller moved
  group:expect_prompt("escalated")
  group:expect("participant_joined", {target = "user:supervisor-on-duty"})
  group:expect("participant_joined", {target = "user:account-manager"})
  group:expect_hangup{by = "bot"}
  call:expect_cdr{digits = {"0"}}
end)

test("9: goodbye, no group call", function(t)
  local call = t:call{from = CALLER}
  call:expect_prompt("support_menu")
  call:press("9")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  t:expect_no_dial()
end)

test("the caller hangs up while on hold: the group call leaves them out", function(t)
  t:party(SUPERVISOR, {behaviour = "answer", answer_delay = 30})
  local call = t:call{from = CALLER}
  call:expect_prompt("support_menu")
  call:press("0")
  call:expect_prompt("escalating")
  call:expect_prompt("hold")
  call:hangup()
  local group = t:expect_dial{to = SUPERVISOR}
  group:expect_hangup{by = "bot"}
  group:expect_no_prompt()
end)
