-- speak.lua — text to speech and the say helpers (issue 13 points 3 and 4): call:say, a say
-- helper with no prompt set (spoken), another language, a prompt from the call's language
-- folder, a prompt spoken from its transcript, and money in Spanish.
return function(call)
  call:answer()
  call:say("Your prescription is ready for pickup.")
  call:say_digits("427")
  call:say_number(1234, {lang = "es"})
  assert(call.language == "en", call.language)
  call:set_language("es")
  assert(call.language == "es", call.language)
  call:play("goodbye")  -- prompts/es/goodbye.wav before prompts/goodbye.wav
  call:play("greeting") -- no greeting.wav: prompts/es/greeting.txt, spoken
  call:say_money(12.5, "USD")
  call:set_language(nil)
  call:play("goodbye")  -- the default folder again
  call:hangup()
end
