-- front.lua — the default flow of tests/flows/routing_test.lua: says welcome and hangs up.
return function(call)
  if call.direction == "incoming" then call:answer() end
  call:play("welcome")
  call:hangup()
end
