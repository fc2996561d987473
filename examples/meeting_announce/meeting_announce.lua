-- meeting_announce.lua — join a Teams meeting and play an announcement in it.
--
-- One flow, two kinds of call:
--   incoming: the operator calls the bot and presses 1; the bot joins the meeting
--             (dialtone.dial{meeting=, chat=, flow="meeting_announce"}) and says so.
--   outgoing: the bot's own leg in the meeting, run by this same flow once Graph reports it
--             established: play the announcement, then leave (the meeting goes on).
--
-- The meeting is named the way Graph's join URL names it: the organizer (and their tenant)
-- plus the meeting chat's thread id. Put your meeting's values here.
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/meeting_announce

local MEETING = {
  organizer = {user = "5810cede-f3cc-42eb-b2c1-e9bd5d53ec96", tenant = "aa67bd4c-8475-432d-bd41-39f255720e0a"},
  guest = "Announcements",          -- the name the bot shows in the roster
}
local CHAT = {thread = "19:meeting_NjY4ZDQzYmUtNWQ0Mi00ZDYxLWI1YjQtZjg5YTAzMjYxN2I4@thread.v2", message = "0"}

local function announce(meeting)
  meeting:play("announcement")
  -- returning hangs up the bot's leg: the bot leaves, the meeting carries on
end

return function(call)
  if call.direction == "outgoing" then return announce(call) end
  call:answer()
  local choice = call:menu{
    prompt = "operator_menu",
    options = {["1"] = "announce"},
    retries = 1,
    invalid = "sorry",
    noinput = "sorry",
  }
  if choice == "announce" then
    local leg = dialtone.dial{meeting = MEETING, chat = CHAT, flow = "meeting_announce",
                              subject = "All hands announcement"}
    dialtone.log("info", "joining the meeting as call", leg.id)
    call:play("announcing")
  end
  call:play("goodbye")
  call:hangup()
end
