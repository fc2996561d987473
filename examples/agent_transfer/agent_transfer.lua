-- agent_transfer.lua — put the caller through to an agent; when no agent takes the call
-- (busy, declined, no answer), take a message instead.
--
--   "connecting you to an agent" → transfer to the agents' queue
--     answered  → the caller is with the agent; this flow is done
--     not taken → "all our agents are busy, leave a message" + beep → record → thanks → hang up
--
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/agent_transfer

local AGENTS = {user = "fabrikam-support-agents", name = "Fabrikam support"}

-- true once the caller is with an agent.
local function put_through(call)
  local ok, err = pcall(call.transfer, call, {target = AGENTS})
  if ok then return true end
  -- The caller hung up while we were transferring: let the hang-up end the flow.
  if type(err) == "table" and err.code == "hangup" then error(err, 0) end
  dialtone.log("info", "no agent took the call:", tostring(err))
  return false
end

return function(call)
  call:answer()
  call:play("connecting")
  if put_through(call) then return end
  -- the beep and 5 s of initial silence are record's defaults
  local msg = call:record{prompt = "agent_unavailable", max_duration = 120, max_silence = 3, stop_tones = "#"}
  if msg.file then
    dialtone.log("info", ("message from %s for the agents: %s"):format(call.from, msg.file))
    call:play("message_taken")
  else
    call:play("no_message")
  end
  call:hangup()
end
