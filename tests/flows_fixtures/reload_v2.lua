-- reload_v2.lua — version 2 of the hot reload test's flow (uses a library module).
local greet = require("greet")

return function(call)
  call:answer()
  local d = call:gather{max = 1, timeout = 30}
  dialtone.log("info", "VERSION 2 got", d, greet.hello())
end
