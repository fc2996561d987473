-- barge.lua — three prompts (the demo flow's recordings) the caller may interrupt with a key, then what the key chose.
-- The flow of tests/flows/timing_test.lua (simulated time must not run ahead of the engine).
return function(call)
  call:answer()
  local how = call:play({"welcome", "main_menu", "enter_digits"}, {barge_in = true})
  if how == "barged" then
    call:play("invalid")
  else
    call:play("goodbye")
  end
  call:hangup()
end
