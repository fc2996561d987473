-- Speech: call:say and the say helpers take their options; a prompt with only a transcript
-- (speech/prompts/spoken.txt) is spoken, so it is no problem.
return function(call)
  call:set_language("es")
  call:say("hola", {voice = "es", rate = 150, lang = "es", barge_in = true})
  call:say("hola", {speed = 2})
  call:say_digits("42", {lng = "es"})
  call:say_money(3, "USD", {barge = true})
  call:say_number(7, {lang = "es"})
  call:play("spoken")
end
