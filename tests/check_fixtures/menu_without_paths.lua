-- Menus that say nothing when the caller presses a wrong key or no key.
return function(call)
  local choice = call:menu{prompt = "main_menu", options = {["1"] = "sales"}}
  local again = call:menu{prompt = "main_menu", options = {["1"] = "sales"}, invalid = "invalid"}
  return choice, again
end
