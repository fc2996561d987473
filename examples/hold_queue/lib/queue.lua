-- queue.lua — the callers waiting for an agent, in order of arrival. Flows share one Lua
-- state, so every call of hold_queue sees the same list: a caller's position is its index.
local M = {}
local waiting = {}

function M.join(id)
  waiting[#waiting + 1] = id
end

function M.leave(id)
  for i = 1, #waiting do
    if waiting[i] == id then
      table.remove(waiting, i)
      return
    end
  end
end

-- 1 for the caller next in line.
function M.position(id)
  for i = 1, #waiting do
    if waiting[i] == id then return i end
  end
  return nil
end

return M
