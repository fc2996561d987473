-- incident_announcer_test.lua — flow tests of examples/incident_announcer/incident_announcer.lua.
-- Run: dialtone test examples/incident_announcer/incident_announcer_test.lua
local test = require "dialtone.test"

-- The pager calls; the bot joins the meeting its link names (and tells the pager).
-- The bot waits for responders on the engine's own (real-time) timer, so the people in these
-- tests join as soon as the bot's leg is in the meeting.
local function open_bridge(t)
  local pager = t:call{from = {user = "pagerduty-bridge"}}
  local meeting = t:expect_dial{meeting = true}
  meeting:expect("state", {state = "established"})
  return meeting, pager
end

test("two responders join: the bot announces, then leaves", function(t)
  local meeting, pager = open_bridge(t)
  meeting:join{user = "alice-oncall", name = "Alice"}
  meeting:join{guest = "Bob (vendor)"}             -- a guest: shown as a guest identity
  meeting:expect("participant_joined", {who = "user:alice-oncall"})
  meeting:expect("participant_joined", {identity = "guest"})
  meeting:expect_prompt("incident_announcement")  -- after the second responder
  pager:expect_prompt("paging")
  pager:expect_hangup{by = "bot"}
  meeting:expect_hangup{by = "bot"}
  meeting:expect_cdr{direction = "outgoing", outcome = "completed", flow = "incident_announcer"}
end)

test("one responder only: the bot leaves without announcing", function(t)
  local meeting = open_bridge(t)
  meeting:join{user = "alice-oncall", name = "Alice"}
  meeting:expect_no_prompt("incident_announcement")
  meeting:expect_cdr{direction = "outgoing", outcome = "completed"}
end)

test("a responder who left does not count", function(t)
  local meeting = open_bridge(t)
  local alice = meeting:join{user = "alice-oncall", name = "Alice"}
  meeting:leave(alice)
  meeting:expect("participant_left", {participant = alice})
  meeting:join{user = "carol-oncall", name = "Carol"}
  meeting:expect_no_prompt("incident_announcement")
end)
