-- voicemail.lua — a voicemail box with playback: the caller records a message, hears it
-- back, and keeps it (1) or records it again (2).
--
--   greeting + beep → record (# or 3 s of silence ends it; 2 minutes at most)
--   → "here is your message" + the message → 1 keep / 2 record again (3 tries at most;
--   silence keeps it) → saved → goodbye.
--
-- Prompts are in prompts/ beside this file (scripts/make_prompts.sh examples/voicemail/prompts).
-- Test: dialtone test examples/voicemail/voicemail_test.lua

local MAX_TRIES = 3

-- The recording as something call:play can play. Graph fetches every prompt by URL and
-- dialtone serves its prompts directory at /prompts/, so with the recordings directory
-- inside it (recordings = "flows/prompts/recordings" in dialtone.conf.lua) the stored file
-- is the prompt "recordings/NAME". Otherwise play the copy Graph keeps (msg.location):
-- the emulator plays it; against Graph, serve msg.file at a URL of your own instead.
local function playback(msg)
  local name = "recordings/" .. msg.file:match("([^/]+)%.wav$")
  if dialtone.prompt_exists(name) then return name end
  return msg.location
end

return function(call)
  call:answer()
  for try = 1, MAX_TRIES do
    local msg = call:record{
      prompt = try == 1 and "greeting" or "record_again",
      barge_in = true,        -- talking or a key during the greeting starts the recording
      beep = true,
      max_duration = 120,
      initial_silence = 5,
      max_silence = 3,
      stop_tones = "#",
    }
    if not msg.file then
      call:play("nothing_recorded")
      break
    end
    dialtone.log("info", ("message of %.1f s from %s: %s"):format(msg.duration, call.from, msg.file))
    call:play{"you_said", playback(msg)}
    local choice = try < MAX_TRIES and call:menu{
      prompt = "keep_or_retry",
      options = {["1"] = "keep", ["2"] = "retry"},
      retries = 1,
      invalid = "sorry",
      noinput = "sorry",
    }
    if choice ~= "retry" then -- 1, silence, or the last try: the message stays
      call:play("saved")
      break
    end
  end
  call:play("goodbye")
  call:hangup()
end
