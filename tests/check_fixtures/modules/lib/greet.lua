-- A module with no problems: it returns a table, not a function.
local M = {}

function M.hello(call)
  call:play("welcome", {barge_in = true})
  local rx = call:gather{prompt = "welcome", pattern = "^%d%d%d$", invalid = "welcome", retries = 1}
  return rx
end

return M
