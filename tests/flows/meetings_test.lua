-- meetings_test.lua — dialtone.meetings (issue 12 point 3): a flow creates an online meeting,
-- gets it by its join URL, and dials into it by that URL twice; the emulator shows both legs in
-- the meeting it created (each sees the other bot join) and a person who joins is greeted by
-- both. flows/meetings/host.lua; meetings_beta_test.lua runs these in the beta dialect.
local test = require "dialtone.test"

test.options{flows = "meetings", flow = "host"}

test("create, get by join URL, dial in by join URL", function(t)
  local caller = t:call{}
  caller:expect_prompt("meeting_ready")
  local legs = {t:expect_dial{meeting = true}, t:expect_dial{meeting = true}}
  local ids = {}
  for i, leg in ipairs(legs) do
    local out = leg:expect("outgoing", {meeting = true})
    assert(out.online_meeting, "leg " .. i .. " joined no meeting the emulator created")
    assert(out.online_meeting == out.subject, "leg " .. i .. " joined another meeting than the flow created")
    ids[i] = out.online_meeting
    leg:expect("state", {state = "established"})
  end
  assert(ids[1] == ids[2], "the legs joined different meetings")
  -- the emulator puts both bot legs in one meeting: the first sees the second join
  legs[1]:expect("participant_joined", {identity = "application"})
  legs[1]:join{user = "alice-id", name = "Alice"}
  for _, leg in ipairs(legs) do leg:expect_prompt("welcome") end
  caller:expect_hangup{by = "bot"}
end)
