-- no_function.lua — compiles, but returns a table instead of function(call).
return {answer = true}
