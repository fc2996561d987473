local s=("a"):rep(5000)
local r = s:find(".-.-.-b")
return { listen = "127.0.0.1:1" }
