-- A module with real problems.
local M = {}

function M.menu(call)
  call:plya("welcome")
  call:gather{prompt = "welcome", mx = 2, pattern = "^%d("}
  dialtone.prompts{"bye_fr", pattern = "^adieu_"}
  return undefined_thing
end

return M
