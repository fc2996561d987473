-- roster_test.lua — the roster in flows (issue 12 point 2): a meeting leg joined by its Teams
-- link waits for a person by name, then gets, mutes, holds (v1.0; the beta dialect refuses
-- hold music) and removes them through the participant resource. flows/roster/control.lua.
local test = require "dialtone.test"

test.options{flows = "roster", flow = "control"}

test("participant get, mute, hold music, remove", function(t)
  local caller = t:call{}
  local meeting = t:expect_dial{meeting = true}
  meeting:expect("state", {state = "established"})
  local pid = meeting:join{user = "alice-id", name = "Alice"}
  meeting:expect("request", {action = "participant", status = 200})
  meeting:expect("request", {action = "mute", status = 200})
  if test.dialect ~= "beta" then
    meeting:expect("hold_music_started", {participant = pid})
    meeting:expect("hold_music_stopped", {participant = pid})
  end
  meeting:expect("participant_removed", {participant = pid})
  meeting:expect_hangup{by = "bot"}
  caller:expect_hangup{}
end)
