-- compliance_recorder_test.lua — flow tests of examples/compliance_recorder/compliance_recorder.lua.
-- Run: dialtone test examples/compliance_recorder/compliance_recorder_test.lua
local test = require "dialtone.test"

-- The route this example ships with: recording invites come to this flow.
test.options{routes = {{policy_recording = true, flow = "compliance_recorder"}}}

local OBSERVED = {user = {id = "4b1c9f4e-0d5a-4c8e-9d1e-6a3b2c1d0e9f", name = "Olga Observed"}}

test("a recording invite is routed here, answered, reported recording, recorded, then notRecording", function(t)
  local call = t:call{policy_recording = true, from = OBSERVED, subject = "Quarterly numbers", routed = true}
  assert(call.flow == "compliance_recorder", "the policy_recording route chose the flow, got " .. tostring(call.flow))
  call:expect("state", {state = "established"})
  call:expect("recording_status", {status = "recording"})
  call:expect_recording_started()
  call:speak(4)
  local rec = call:expect_recording{reason = "maxSilenceTimeout", min = 4}
  call:expect_recording{reason = "initialSilenceTimeout"} -- a quiet segment: the conversation is over
  call:expect("recording_status", {status = "notRecording"})
  call:expect_hangup{by = "bot"}
  call:expect_no_prompt()
  call:expect_cdr{flow = "compliance_recorder", outcome = "completed", recordings = {rec.file}}
end)

test("a failed recording is reported as failed", function(t)
  t:faults{recording_status = 404} -- the recording cannot be fetched from Graph
  local call = t:call{policy_recording = true, from = OBSERVED, routed = true}
  call:expect("recording_status", {status = "recording"})
  call:speak(2)
  call:expect_recording{reason = "maxSilenceTimeout", file = false}
  call:expect("recording_status", {status = "failed"})
  call:expect_hangup{by = "bot"}
  for _, e in ipairs(call:timeline()) do
    assert(not (e.kind == "recording_status" and e.status == "notRecording"), "a failed recording is not notRecording")
  end
end)

test("the observed call ends while recording: nothing more is sent", function(t)
  local call = t:call{policy_recording = true, from = OBSERVED, routed = true}
  call:expect("recording_status", {status = "recording"})
  call:expect_recording_started()
  call:speak(3)
  call:hangup()
  call:expect_cdr{outcome = "hangup"}
end)

test("a call that is not a recording invite is refused", function(t)
  local call = t:call{from = OBSERVED}
  call:expect("reject", {reason = "forbidden"})
  call:expect_cdr{outcome = "rejected"}
end)
