-- main_test.lua — flow tests of flows/main.lua (Contoso Plumbing), every branch:
-- the menu's retries (invalid keys, silence), voicemail (saved, stopped by silence, no
-- message), the transfer (answered, busy, no answer), the order number read back (and no
-- input), type-ahead during the welcome, and a caller hanging up.
-- Run: dialtone test tests/flows/main_test.lua
local test = require "dialtone.test"

test.options{flows = "../../flows"}

local CALLER = {phone = "+15550100"}
local PLUMBER = {user = "contoso-dispatch"}

-- The caller hears the welcome and the menu.
local function answered(t)
  local call = t:call{from = CALLER}
  call:expect_prompt("welcome")
  call:expect_prompt("main_menu")
  return call
end

test("silence three times: noinput after each menu, then goodbye", function(t)
  local call = answered(t)
  call:expect_prompt("noinput")      -- 5 s (real time: the engine's gather timeout)
  call:expect_prompt("main_menu")
  call:expect_prompt("noinput")
  call:expect_prompt("main_menu")
  call:expect_prompt("noinput")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed", digits = {}}
end)

test("an invalid key, then a valid one: the menu is played again", function(t)
  local call = answered(t)
  call:press("9")
  call:expect_prompt("invalid")
  call:expect_prompt("main_menu")
  call:press("3")
  call:expect_prompt("enter_digits")
  call:hangup()
  call:expect_cdr{outcome = "hangup", digits = {"9", "3"}}
end)

test("three invalid keys: goodbye", function(t)
  local call = answered(t)
  call:press("7")
  call:expect_prompt("invalid")
  call:expect_prompt("main_menu")
  call:press("*")
  call:expect_prompt("invalid")
  call:expect_prompt("main_menu")
  call:press("0")
  call:expect_prompt("invalid")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_no_prompt()
end)

test("voicemail: spoken for 3 s, ended with #, saved", function(t)
  local call = answered(t)
  call:press("1")
  local intro = call:expect_prompt("voicemail_intro")
  assert(intro.record, "the intro is the recording's own prompt")
  call:expect_recording_started()
  call:speak(3)
  call:press("#")
  local rec = call:expect_recording{reason = "stopToneDetected", duration = 3}
  assert(rec.file and rec.file:match("%.wav$"), "the engine stored the WAV")
  assert(math.abs(rec.stored_duration - 3) < 0.1, "the stored WAV lasts 3 s, not " .. tostring(rec.stored_duration))
  call:expect_prompt("voicemail_saved")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  local cdr = call:expect_cdr{outcome = "completed", digits = {"1"}}
  assert(#cdr.recordings == 1 and cdr.recordings[1] == rec.file, "the CDR lists the recording")
end)

test("voicemail: 2 s of speech, then 3 s of silence end the recording", function(t)
  local call = answered(t)
  call:press("1")
  call:expect_recording_started()
  call:speak(2)
  local rec = call:expect_recording{reason = "maxSilenceTimeout", duration = 5}
  assert(math.abs(rec.spoken - 2) < 0.01, "2 s were spoken")
  call:expect_prompt("voicemail_saved")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)

test("voicemail: silence, no message: noinput and goodbye", function(t)
  local call = answered(t)
  call:press("1")
  call:expect_recording_started()
  call:expect_recording{reason = "initialSilenceTimeout"}
  call:expect_prompt("noinput")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed", recordings = {}}
end)

test("the plumber answers: the call is transferred", function(t)
  t:party(PLUMBER, {behaviour = "answer"})
  local call = answered(t)
  call:press("2")
  call:expect_prompt("transferring")
  call:expect_transfer{to = PLUMBER, outcome = "completed"}
  call:expect_hangup{by = "transfer"}
  call:expect_cdr{outcome = "transferred",
                  transfers = {{target = "user:contoso-dispatch", result = "transferred"}}}
end)

test("the plumber is busy: transfer_failed, and back to the menu", function(t)
  t:party(PLUMBER, {behaviour = "busy"})
  local call = answered(t)
  call:press("2")
  call:expect_prompt("transferring")
  local tr = call:expect_transfer{to = PLUMBER, outcome = "failed"}
  assert(tr.reason == "is busy", "busy, not " .. tostring(tr.reason))
  call:expect_prompt("transfer_failed")
  call:expect_prompt("main_menu")
  call:hangup()
  call:expect_hangup{by = "remote"}
  call:expect_cdr{outcome = "hangup"}
end)

test("the plumber does not answer: transfer_failed after the ring timeout", function(t)
  t:party(PLUMBER, {behaviour = "noanswer"})
  local call = answered(t)
  call:press("2")
  call:expect_prompt("transferring")
  call:expect_transfer{to = PLUMBER, outcome = "failed"}
  call:expect_prompt("transfer_failed")
  call:expect_prompt("main_menu")
end)

test("an order number is read back digit by digit", function(t)
  local call = answered(t)
  call:press("3")
  call:expect_prompt("enter_digits")
  call:press("4027#")
  call:expect_prompts{"you_entered", "digit_4", "digit_0", "digit_2", "digit_7"}
  call:expect_speech("Thank you. We will text you when your plumber is on the way.") -- order_thanks.txt
  call:expect_prompt("main_menu")
  call:hangup()
  call:expect_cdr{outcome = "hangup", digits = {"3", "4027"}}
end)

test("no order number: noinput, then the menu again", function(t)
  local call = answered(t)
  call:press("3")
  call:expect_prompt("enter_digits")
  call:expect_prompt("noinput")      -- 6 s (real time)
  call:expect_prompt("main_menu")
end)

test("type-ahead: 1 pressed during the welcome skips the menu prompt", function(t)
  local call = t:call{from = CALLER}
  call:expect_prompt("welcome")
  call:press("1")                    -- while the welcome still plays
  call:expect("request", {action = "cancelMediaProcessing"}) -- the engine cuts the welcome short
  call:expect_prompt("voicemail_intro")                       -- and the menu takes the 1 typed ahead
  call:hangup()
  call:expect_cdr{outcome = "hangup", digits = {"1"}}
end)

test("the caller hangs up during the menu", function(t)
  local call = answered(t)
  call:hangup()
  call:expect_hangup{by = "remote"}
  call:expect_no_prompt()
  call:expect_cdr{outcome = "hangup"}
end)
