-- A typo in a primitive's name; the call parameter is not called `call` here.
local function main(c)
  c:answer()
  c:plya("welcome")
end

return main
