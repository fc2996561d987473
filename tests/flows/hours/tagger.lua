-- tagger.lua — call:tag and dialtone.settings: good tags merge, bad ones raise and change
-- nothing (the flow records each error message as a tag), settings are read-only.
local function err_of(fn)
  local ok, e = pcall(fn)
  if ok then return "no error" end
  return (tostring(e):gsub("^.-:%d+: ", ""))
end

return function(call)
  call:answer()
  call:tag{prescription = "123456", callback = "+15551234567"}
  call:tag{prescription = "654321", attempts = 2} -- merged: prescription replaced
  local e1 = err_of(function() call:tag{["bad key"] = "x", fine = "y"} end)
  local e2 = err_of(function() call:tag{flag = true} end)
  local e3 = err_of(function() call:tag{long = string.rep("x", 257)} end)
  local e4 = err_of(function() call:tag("x") end)
  local many = {}
  for i = 1, 30 do many["k" .. i] = i end
  local e5 = err_of(function() call:tag(many) end) -- 3 + 30 > 32
  local e6 = err_of(function() dialtone.settings.queue = "other" end)
  call:tag{e1 = e1, e2 = e2, e3 = e3, e4 = e4, e5 = e5, e6 = e6,
           queue = dialtone.settings.queue, retries = dialtone.settings.retries,
           vip = tostring(dialtone.settings.vip)}
  call:play("welcome")
  call:hangup()
end
