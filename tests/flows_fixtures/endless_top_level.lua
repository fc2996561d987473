-- endless_top_level.lua — its top level never finishes; loading must stop it.
while true do end
return function(call) end
