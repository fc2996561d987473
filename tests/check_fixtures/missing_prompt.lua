-- Prompt names without a file in prompts/ (URLs are not checked).
return function(call)
  call:play("welcome")
  call:play("welcom")
  call:gather{prompt = "main_menuu", max = 1}
  call:play({"goodbye", "nope"}, {barge_in = true})
  call:play("https://example.com/prompts/none.wav")
end
