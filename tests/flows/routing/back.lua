-- back.lua — the other flow of tests/flows/routing_test.lua: says goodbye and hangs up.
return function(call)
  if call.direction == "incoming" then call:answer() end
  call:play("goodbye")
  call:hangup()
end
