-- voicemail_test.lua — flow tests of examples/voicemail/voicemail.lua.
-- Run: dialtone test examples/voicemail/voicemail_test.lua
local test = require "dialtone.test"

test("a message is recorded, played back and kept", function(t)
  local call = t:call{from = {phone = "+15550100"}}
  call:expect_prompt("greeting")
  call:expect_recording_started()
  call:speak(4)
  call:press("#")
  local rec = call:expect_recording{reason = "stopToneDetected", duration = 4}
  call:expect_prompt("you_said")
  local played = call:expect_prompt(rec.url)         -- the message itself
  assert(math.abs(played.duration - 4) < 0.1, "the playback lasts as long as the message")
  call:expect_prompt("keep_or_retry")
  call:press("1")
  call:expect_prompt("saved")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed", recordings = {rec.file}, digits = {"1"}}
end)

test("2 records the message again; the second one is kept", function(t)
  local call = t:call{}
  call:expect_prompt("greeting")
  call:expect_recording_started()
  call:speak(1.5)
  call:press("#")
  local first = call:expect_recording{duration = 1.5}
  call:expect_prompts{"you_said", first.url, "keep_or_retry"}
  call:press("2")
  call:expect_prompt("record_again")
  call:expect_recording_started()
  call:speak(2.5)
  call:press("#")
  local second = call:expect_recording{duration = 2.5}
  assert(second.file ~= first.file, "a new file for the new message")
  call:expect_prompts{"you_said", second.url, "keep_or_retry"}
  call:press("1")
  call:expect_prompt("saved")
end)

test("talking during the greeting starts the recording at once", function(t)
  local call = t:call{}
  call:expect_prompt("greeting")
  call:speak(2)                    -- barge_in: the greeting stops, the recording hears this
  local rec = call:expect_recording{reason = "maxSilenceTimeout"}
  assert(rec.spoken >= 1.9, "the speech that barged in is in the message")
  call:expect_prompt("you_said")
end)

test("silence: nothing is recorded", function(t)
  local call = t:call{}
  call:expect_prompt("greeting")
  call:expect_recording{reason = "initialSilenceTimeout"}
  call:expect_prompt("nothing_recorded")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{recordings = {}}
end)
