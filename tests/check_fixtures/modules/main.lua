-- A flow that uses a module and prompt names built at run time, declared.
local greet = require "greet"
local BYE = dialtone.prompts{"bye_en", "bye_es", pattern = "^bye_%a%a$"}

return function(call)
  call:answer()
  greet.hello(call)
  call:play(BYE[1])
end
