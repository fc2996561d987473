-- escalations.lua — calls waiting to be moved into a group call, keyed by the group call's
-- id. Flows share one Lua state, so the 1:1 call's flow parks its call handle here and the
-- group call's flow (started later, when Graph reports it established) takes it.
local M = {}
local waiting = {}

function M.park(group_id, call)
  waiting[group_id] = call
end

function M.take(group_id)
  local call = waiting[group_id]
  waiting[group_id] = nil
  return call
end

return M
