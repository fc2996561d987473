-- agent_transfer_test.lua — flow tests of examples/agent_transfer/agent_transfer.lua: the
-- agents answer, are busy, or do not answer; the caller leaves a message or does not.
-- Run: dialtone test examples/agent_transfer/agent_transfer_test.lua
local test = require "dialtone.test"

local AGENTS = {user = "fabrikam-support-agents"}

test("an agent answers: the caller is transferred", function(t)
  t:party(AGENTS, {behaviour = "answer", answer_delay = 4})
  local call = t:call{from = {phone = "+15550123"}}
  call:expect_prompt("connecting")
  call:expect_transfer{to = AGENTS, outcome = "completed"}
  call:expect_hangup{by = "transfer"}
  call:expect_no_prompt()
  call:expect_cdr{outcome = "transferred"}
end)

test("the agents are busy: the caller leaves a message", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local call = t:call{from = {phone = "+15550123"}}
  call:expect_prompt("connecting")
  local tr = call:expect_transfer{to = AGENTS, outcome = "failed"}
  assert(tr.reason == "is busy", tr.reason)
  call:expect_prompt("agent_unavailable")
  call:expect_recording_started()
  call:speak(6)
  call:press("#")
  local rec = call:expect_recording{reason = "stopToneDetected", duration = 6}
  call:expect_prompt("message_taken")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed", recordings = {rec.file}}
end)

test("no agent answers: after the ring timeout, the message box", function(t)
  t:party(AGENTS, {behaviour = "noanswer"})
  local call = t:call{}
  call:expect_prompt("connecting")
  call:expect_transfer{to = AGENTS, outcome = "failed"}
  call:expect_prompt("agent_unavailable")
  call:expect_recording_started()
  call:speak(2)                    -- then silence: the recording stops after 3 s
  call:expect_recording{reason = "maxSilenceTimeout", duration = 5}
  call:expect_prompt("message_taken")
end)

test("busy, and the caller says nothing: no message", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local call = t:call{}
  call:expect_transfer{outcome = "failed"}
  call:expect_recording{reason = "initialSilenceTimeout"}
  call:expect_prompt("no_message")
  call:expect_hangup{by = "bot"}
end)

test("the caller hangs up while the agents' phones ring", function(t)
  t:party(AGENTS, {behaviour = "noanswer"})
  local call = t:call{}
  call:expect("transfer")
  call:wait(10)                    -- ten seconds of ringing, then the caller gives up
  call:hangup()
  call:expect_hangup{by = "remote"}
  call:expect_no_prompt()          -- no fallback: nobody is there to hear it
end)
