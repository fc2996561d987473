-- Forgot to return the flow function itself.
local function main(call)
  call:hangup()
end

return {main = main}
