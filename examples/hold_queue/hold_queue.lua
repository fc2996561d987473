-- hold_queue.lua — a hold queue: the caller hears looping hold music until an agent takes
-- the call, hears their place in the queue every round, and can leave the queue with 0.
--
--   "thank you for calling; our agents are busy" → each round:
--       "you are caller number N" (N = 1, 2, 3, or "more than three callers ahead")
--       hold music, looping, for ROUND seconds (call:play{..., loop = true, timeout = ROUND})
--         0 pressed  → "goodbye", hang up (the caller leaves the queue)
--         other keys → ignored, the music goes on
--         timeout    → try the agents (call:transfer): taken → done; busy → next round
--   after ROUNDS rounds → "sorry, please call again later", hang up
--
-- The queue itself is lib/queue.lua (one list shared by every call of this flow).
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/hold_queue

local queue = require "queue"

local AGENTS = {user = "fabrikam-support-agents", name = "Fabrikam support"}
local ROUND = 30    -- seconds of music between announcements (and tries of the agents)
local ROUNDS = 10   -- then give up

local function announce_position(call)
  local n = queue.position(call.id) or 1
  call:play(n <= 3 and ("queue_position_" .. n) or "queue_position_many")
end

-- true once an agent has the call.
local function try_agents(call)
  local ok, err = pcall(call.transfer, call, {target = AGENTS})
  if ok then return true end
  if type(err) == "table" and err.code == "hangup" then error(err, 0) end -- the caller left
  dialtone.log("info", "agents busy:", tostring(err))
  return false
end

-- The music for one round; "left" if the caller pressed 0, else "timeout".
local function hold_music(call)
  while true do
    local r = call:play("hold_music", {loop = true, barge_in = true, timeout = ROUND})
    if r == "timeout" then return "timeout" end
    local key = call:gather{max = 1, timeout = 1}   -- the key that stopped the music
    if key == "0" then return "left" end
  end
end

local function wait_for_agent(call)
  call:play("welcome_queue")
  for _ = 1, ROUNDS do
    announce_position(call)
    if hold_music(call) == "left" then
      call:play("goodbye")
      return call:hangup()
    end
    if try_agents(call) then return end
  end
  call:play("try_later")
  call:hangup()
end

return function(call)
  call:answer()
  queue.join(call.id)
  local ok, err = pcall(wait_for_agent, call)
  queue.leave(call.id)
  if not ok then error(err, 0) end
end
