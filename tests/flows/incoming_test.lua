-- incoming_test.lua — what Graph says about an incoming call (issue 12 point 4): the flow
-- reads it as call.subject, call.called, call.chat, call.meeting, call.context, and routes
-- match on it (policy_recording, transferred, meeting, subject) before the default flow.
local test = require "dialtone.test"

test.options{flows = "incoming", prompts = "../../flows/prompts", flow = "front", routes = {
  {meeting = true, subject = "meeting*", flow = "context"},
  {transferred = true, flow = "context"},
  {policy_recording = true, flow = "context"},
  {subject = "plain?call", match = "*", flow = "context"},
}}

local function passes(call)
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{flow = "context", outcome = "completed"}
end

test("a meeting invite: chat and meeting info, routed on meeting + subject", function(t)
  local call = t:call{routed = true, subject = "meeting invite",
                      meeting = {organizer = {user = "org-1"}, thread = "19:meeting_abc@thread.v2", message = "0"}}
  assert(call.flow == "context", tostring(call.flow))
  passes(call)
end)

test("a transferred call: the transferor and on-behalf-of identities", function(t)
  local call = t:call{routed = true, subject = "transferred", transferor = {user = "alice"},
                      on_behalf_of = {phone = "+15550199"}}
  passes(call)
end)

test("a policy-recording invite: the observed participant, the recorder's application instance", function(t)
  passes(t:call{routed = true, subject = "policy recording", policy_recording = true})
end)

test("a plain call: no route matches, the default flow answers", function(t)
  local call = t:call{routed = true}
  assert(call.flow == "front", tostring(call.flow))
  call:expect_prompt("welcome")
  call:expect_cdr{flow = "front"}
end)

test("a plain call run by the context flow sees only the called identity and its source", function(t)
  passes(t:call{flow = "context"})
end)

test("a subject route: glob on the subject, case-insensitive", function(t)
  local call = t:call{routed = true, subject = "PLAIN call", transferor = nil}
  assert(call.flow == "context", tostring(call.flow))
  call:expect_cdr{flow = "context", outcome = "error"} -- the flow does not know that subject
end)

test("the emulator refuses a bad context", function(t)
  local ok, err = pcall(function() t:call{meeting = {organiser = "x"}} end)
  assert(not ok and tostring(err):find("meeting.organiser", 1, true), tostring(err))
  ok, err = pcall(function() t:call{transferor = 42} end)
  assert(not ok and tostring(err):find("transferor", 1, true), tostring(err))
end)
