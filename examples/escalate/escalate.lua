-- escalate.lua — escalate a 1:1 call to a group call: the caller asks for a supervisor; the
-- bot calls the supervisor and the account manager in a new group call and moves the
-- caller into it, replacing the 1:1 call (participants/invite with replacesCallId).
--
-- One flow, two kinds of call:
--   incoming (the 1:1 call): the menu; 0 → dialtone.dial{targets = {supervisor, manager}}
--             and hold prompts until the caller has been moved (which ends this call).
--   outgoing (the group call): invite the caller with replaces_call = the 1:1 call, tell
--             everyone they are connected, and leave them to talk.
-- The 1:1 call's handle reaches the group call's flow through lib/escalations.lua.
--
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/escalate

local escalations = require "escalations"

local SUPERVISOR = {user = "supervisor-on-duty", name = "Supervisor"}
local ACCOUNT_MANAGER = {user = "account-manager", name = "Account manager"}
local HOLD_PROMPTS = 20             -- "please hold" this many times at most, then give up

-- The caller's identity as call.from writes it: "+1…" for a phone, "user:ID" for a Teams user.
local function identity(from)
  local kind, id = from:match("^(%a+):(.+)$")
  if kind then return {[kind] = id} end
  return {phone = from}
end

local function group_call(call)
  local caller = escalations.take(call.id)
  if not caller or caller.ended then return end -- the caller gave up meanwhile
  call:invite{participants = {identity(caller.from)}, replaces_call = caller}
  call:play("escalated")
  -- returning hangs up the bot's leg: the bot leaves, the group call carries on
end

return function(call)
  if call.direction == "outgoing" then return group_call(call) end
  call:answer()
  local choice = call:menu{
    prompt = "support_menu",
    options = {["0"] = "supervisor", ["9"] = "bye"},
    invalid = "sorry",
    noinput = "sorry",
  }
  if choice == "supervisor" then
    call:play("escalating")
    local group = dialtone.dial{targets = {SUPERVISOR, ACCOUNT_MANAGER}, flow = "escalate",
                                subject = "Escalation: " .. call.from}
    escalations.park(group.id, call)
    -- The invitation ends this call ("replaced"): the hang-up unwinds the flow from here.
    for _ = 1, HOLD_PROMPTS do call:play("hold") end
    escalations.take(group.id)
    call:play("escalation_failed")
  end
  call:play("goodbye")
  call:hangup()
end
