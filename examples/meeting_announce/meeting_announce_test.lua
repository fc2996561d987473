-- meeting_announce_test.lua — flow tests of examples/meeting_announce/meeting_announce.lua.
-- Run: dialtone test examples/meeting_announce/meeting_announce_test.lua
local test = require "dialtone.test"

test("the operator presses 1: the bot joins the meeting and announces", function(t)
  local operator = t:call{from = {user = "operator-1"}}
  operator:expect_prompt("operator_menu")
  operator:press("1")
  local meeting = t:expect_dial{meeting = true}
  operator:expect_prompt("announcing")
  operator:expect_prompt("goodbye")
  operator:expect_hangup{by = "bot"}

  meeting:expect("state", {state = "established"})
  meeting:expect_prompt("announcement")
  meeting:expect_hangup{by = "bot"}            -- the bot leaves once it has spoken
  meeting:expect_cdr{direction = "outgoing", outcome = "completed", flow = "meeting_announce"}
end)

test("joined directly (as a scheduler would): the announcement plays", function(t)
  local meeting = t:dial{
    flow = "meeting_announce",
    meeting = {organizer = {user = "5810cede-f3cc-42eb-b2c1-e9bd5d53ec96", tenant = "aa67bd4c-8475-432d-bd41-39f255720e0a"}},
    chat = {thread = "19:meeting_x@thread.v2", message = "0"},
  }
  meeting:expect_prompt("announcement")
  meeting:expect_hangup{by = "bot"}
end)

test("anything but 1: nobody joins the meeting", function(t)
  local operator = t:call{}
  operator:expect_prompt("operator_menu")
  operator:press("5")
  operator:expect_prompt("sorry")
  operator:expect_prompt("operator_menu")
  operator:press("7")
  operator:expect_prompt("sorry")
  operator:expect_prompt("goodbye")
  operator:expect_hangup{by = "bot"}
  t:expect_no_dial()
end)
