-- front.lua — the flow calls that no route sends elsewhere run (the file's default flow).
return function(call)
  call:answer()
  call:play("welcome")
end
