-- lib_greet.lua — installed as flows/lib/greet.lua: a module flows load with require.
local M = {}
function M.hello() return "hello-from-lib" end
return M
