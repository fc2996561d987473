-- broken_syntax.lua — does not compile (line 4).
return function(call)
  call:answer()
  local x = = 1
end
