-- Option names that the primitives do not take.
return function(call)
  local digits = call:gather{mx = 3}
  call:record({beep = true, max_duraton = 5})
  dialtone.dial{target = {user = "x"}, flow = "clean"}
  return digits
end
