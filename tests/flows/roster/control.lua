-- control.lua — a meeting leg that controls its participants (tests/flows/roster_test.lua):
-- waits for "Alice" by name, reads her participant resource, mutes her, puts her on hold
-- music and takes her off it, removes her, and waits until she has left.
local JOIN_URL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_cm9zdGVy%40thread.v2/0"
  .. "?context=%7b%22Tid%22%3a%22t-1%22%2c%22Oid%22%3a%22o-1%22%7d"

return function(call)
  if call.direction == "incoming" then
    call:answer()
    dialtone.dial{meeting = {join_url = JOIN_URL}, flow = "control"}
    call:sleep(0.05)
    return
  end
  local alice = assert(call:wait_participant{joined = "Alice", timeout = 600})
  local got = call:participant(alice)
  dialtone.log("info", "ROSTER got", got.id == alice.id, got.user)
  dialtone.log("info", "ROSTER mute", call:mute_participant(alice))
  local ok, err = pcall(call.start_hold_music, call, alice, {prompt = "https://prompts.example.com/hold.wav"})
  dialtone.log("info", "ROSTER hold", ok, ok and call:stop_hold_music(alice) or (err and err.message or tostring(err)))
  dialtone.log("info", "ROSTER remove", call:remove_participant(alice))
  dialtone.log("info", "ROSTER left", call:wait_participant{left = alice.id, timeout = 600})
  dialtone.log("info", "ROSTER people", #call:participants())
end
