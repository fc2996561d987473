-- Reads and writes globals the flow sandbox does not provide.
return function(call)
  counter = 1
  call:play(greeting)
  io.write("bye")
  os.execute("true")
end
