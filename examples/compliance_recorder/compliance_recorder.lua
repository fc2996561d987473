-- compliance_recorder.lua — a policy-based (compliance) recording bot.
--
-- Teams invites the recording bot of a recording policy into the calls of the users the
-- policy covers. The invite says so: call.context.observed_participant_id names the
-- participant under observation. Route those invites here (dialtone.conf.lua):
--
--     routes = { { policy_recording = true, flow = "compliance_recorder" } }
--
-- Graph requires a compliance-recording bot to report whether it records
-- (updateRecordingStatus): this flow answers, reports "recording", records the call in
-- segments (Graph records at most 2 minutes at a time) and, once a whole segment hears
-- nothing (the conversation is over), reports "notRecording" and leaves. A recording that
-- cannot be made or stored is reported as "failed" before the bot leaves. A call that is
-- not a recording invite is refused.
-- No prompts: a recorder never speaks (no beep either). Test: dialtone test examples/compliance_recorder

local SEGMENT = {beep = false, max_duration = 120, max_silence = 30, initial_silence = 30}
local MAX_SEGMENTS = 30 -- an hour; the policy's own limit

local function record_until_quiet(call)
  local files = {}
  for _ = 1, MAX_SEGMENTS do
    local seg = call:record(SEGMENT)
    if not seg.file then break end -- a segment that heard nothing: the conversation is over
    files[#files + 1] = seg.file
  end
  return files
end

return function(call)
  local observed = call.context and call.context.observed_participant_id
  if not observed then
    call:reject{reason = "forbidden"} -- only recording invites come here
    return
  end
  call:answer()
  call:recording_status("recording")
  dialtone.log("info", "recording participant", observed, "in", call.subject or "a call")
  local ok, err = pcall(record_until_quiet, call)
  if not ok then
    if type(err) == "table" and err.code == "hangup" then return end -- the call is over: nothing to report
    dialtone.log("error", "recording failed:", tostring(err))
    call:recording_status("failed")
    return
  end
  call:recording_status("notRecording")
end
