-- hold.lua — answers and holds the call until the caller hangs up (a key is waited for, again
-- and again). The flow of tests/flows/keepalive_test.lua and keepalive_off_test.lua.
return function(call)
  call:answer()
  while true do
    call:gather{max = 1, timeout = 600}
  end
end
