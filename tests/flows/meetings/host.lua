-- host.lua — dialtone.meetings in a flow (tests/flows/meetings_test.lua and its beta twin):
-- the incoming call creates an online meeting, finds it again by its join URL, checks what a
-- flow gets back and the errors it raises, then sends two legs into the meeting by that URL
-- (the dial's subject carries the meeting id so the test can see which meeting they joined).
-- Each leg waits for a person, greets them and leaves.
local UNKNOWN = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_bm9uZQ%40thread.v2/0"
  .. "?context=%7b%22Tid%22%3a%22t-1%22%2c%22Oid%22%3a%22organizer-1%22%7d"

local function prompt(name) return "https://prompts.example.com/" .. name .. ".wav" end

local function host(call)
  call:answer()
  local m = dialtone.meetings.create{organizer = "organizer-1", subject = "Incident 42",
    start_time = "2026-12-03T18:00:00Z", end_time = "2026-12-03T19:00:00Z", attendees = {"alice-id"}}
  local found = assert(dialtone.meetings.get{join_url = m.join_url})
  local none, why = dialtone.meetings.get{join_url = UNKNOWN}
  local checks = {
    found.id == m.id, found.join_url == m.join_url, found.subject == "Incident 42",
    m.start_time == "2026-12-03T18:00:00Z", m.end_time == "2026-12-03T19:00:00Z",
    m.chat_info.thread_id:match("^19:meeting_.+@thread%.v2$") ~= nil, m.chat_info.message_id == "0",
    m.organizer.id == "organizer-1", m.meeting_info.organizer_id == "organizer-1",
    #m.attendees == 1 and m.attendees[1].id == "alice-id",
    none == nil and why == "not found",
  }
  local bad_ok, bad = pcall(dialtone.meetings.create, {subject = "no organizer"})
  checks[#checks + 1] = not bad_ok and tostring(bad):find("organizer is required", 1, true) ~= nil
  bad_ok, bad = pcall(dialtone.meetings.create, {organizer = "o", start_time = "tomorrow"})
  checks[#checks + 1] = not bad_ok and tostring(bad):find("start must be an ISO 8601 time", 1, true) ~= nil
  bad_ok, bad = pcall(dialtone.meetings.get, {join_url = "https://example.com/not-a-teams-link"})
  checks[#checks + 1] = not bad_ok and tostring(bad):find("cannot read join_url", 1, true) ~= nil
  local failed = {}
  for i, ok in ipairs(checks) do
    if not ok then failed[#failed + 1] = i end
  end
  if #failed > 0 then dialtone.log("error", "MEETINGS checks failed:", table.concat(failed, ",")) end
  call:play(prompt(#failed == 0 and "meeting_ready" or "meeting_wrong"))
  for _ = 1, 2 do dialtone.dial{meeting = {join_url = found.join_url}, flow = "host", subject = m.id} end
  call:hangup()
end

return function(call)
  if call.direction == "incoming" then return host(call) end
  call:wait_participant{count = 1, timeout = 600}
  call:play(prompt("welcome"))
end
