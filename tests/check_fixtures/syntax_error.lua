-- A missing closing parenthesis.
return function(call)
  call:play("welcome"
  call:hangup()
end
