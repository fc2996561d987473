-- reload_v1.lua — version 1 of a flow for the hot reload test: waits for one key, then
-- says which version it runs.
return function(call)
  call:answer()
  local d = call:gather{max = 1, timeout = 30}
  dialtone.log("info", "VERSION 1 got", d)
end
