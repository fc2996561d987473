-- context.lua — reads what Graph said about its incoming call (call.subject, call.called,
-- call.chat, call.meeting, call.context) and checks it against what the test placed, which
-- the subject names. All as expected: plays "goodbye"; else raises (the CDR says what).
local function eq(what, got, want)
  if got ~= want then error(("%s: got %s, want %s"):format(what, tostring(got), tostring(want)), 0) end
end

return function(call)
  local s = call.subject
  if s == "meeting invite" then
    eq("chat.thread", call.chat.thread, "19:meeting_abc@thread.v2")
    eq("chat.message", call.chat.message, "0")
    eq("meeting.organizer.user", call.meeting.organizer.user, "org-1")
    eq("meeting.organizer.name", call.meeting.organizer.name, nil)
    eq("meeting.tenant", call.meeting.tenant ~= nil, true)
    eq("context.observed", call.context.observed_participant_id, nil)
  elseif s == "transferred" then
    eq("context.transferor.user", call.context.transferor.user, "alice")
    eq("context.on_behalf_of.phone", call.context.on_behalf_of.phone, "+15550199")
    eq("meeting", call.meeting, nil)
    eq("chat", call.chat, nil)
  elseif s == "policy recording" then
    eq("context.observed", type(call.context.observed_participant_id), "string")
    eq("observed is the source", call.context.observed_participant_id, call.context.source_participant_id)
    eq("called.application_instance", type(call.called.application_instance), "string")
  elseif s == nil then -- a plain call: only the called identity and the source participant
    eq("called.application", type(call.called.application), "string")
    eq("context.source", type(call.context.source_participant_id), "string")
    eq("context.observed", call.context.observed_participant_id, nil)
    eq("context.transferor", call.context.transferor, nil)
    eq("meeting", call.meeting, nil)
  else
    error("unexpected subject " .. tostring(s), 0)
  end
  -- the fields are the call's, read-only like the rest of the handle
  local ok = pcall(function() call.subject = "x" end)
  eq("read-only", ok, false)
  call:answer()
  call:play("goodbye")
end
