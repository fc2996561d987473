-- incident_announcer.lua — the incident-bot pattern: join the incident's Teams meeting by its
-- join link, wait until responders are there, then speak.
--
-- One flow, two kinds of call:
--   incoming: the paging system (or an operator) calls the bot; the bot opens the bridge:
--             dialtone.dial{meeting = {join_url = JOIN_URL}, flow = "incident_announcer"}.
--   outgoing: the bot's own leg in the meeting. It waits (call:wait_participant) until
--             RESPONDERS people are in the meeting, at most WAIT seconds; then it plays the
--             announcement and leaves. Nobody enough by then: it leaves without a word (and
--             logs a warning), rather than talk to an empty bridge.
--
-- The join link is the one Teams shows ("Join the meeting now"); dialtone reads the thread,
-- organizer and tenant from it. Put your bridge's link here.
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/incident_announcer

local JOIN_URL = "https://teams.microsoft.com/l/meetup-join/"
  .. "19%3ameeting_OTk5ZjA0NzUtYjQ2MC00ZDc3LWE0ZjctMjM3ZTdkZTk1N2Uy%40thread.v2/0"
  .. "?context=%7b%22Tid%22%3a%22aa67bd4c-8475-432d-bd41-39f255720e0a%22%2c"
  .. "%22Oid%22%3a%225810cede-f3cc-42eb-b2c1-e9bd5d53ec96%22%7d"
local RESPONDERS = 2    -- people (not bots) to wait for
local WAIT = 600        -- seconds

local function bridge(call)
  local people = call:wait_participant{count = RESPONDERS, timeout = WAIT}
  if not people then
    dialtone.log("warn", "incident bridge: fewer than", RESPONDERS, "responders joined; leaving")
    return
  end
  dialtone.log("info", "incident bridge:", #call:participants(), "participants; announcing")
  call:play("incident_announcement")
  -- returning hangs up the bot's leg: the responders carry on
end

return function(call)
  if call.direction == "outgoing" then return bridge(call) end
  call:answer()
  local leg = dialtone.dial{meeting = {join_url = JOIN_URL}, flow = "incident_announcer",
                            subject = "Incident bridge"}
  dialtone.log("info", "joining the incident bridge as call", leg.id)
  call:play("paging")
  call:hangup()
end
