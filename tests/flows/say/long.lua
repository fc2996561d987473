-- long.lua — a long text: the caller hangs up while it is synthesised.
return function(call)
  call:answer()
  -- the call id makes the text new: it is synthesised, never found in the cache
  call:say(("This sentence is read out while the caller is already gone. "):rep(30) .. call.id)
  call:play("goodbye") -- never: the call ended
end
