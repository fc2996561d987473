-- rx.lua — a prescription number: six digits, checked by gather's pattern, read back and
-- confirmed (digits_test.lua).
-- prompt names built at run time, declared for `dialtone check`
local DIGIT = dialtone.prompts{pattern = "^digit_%d$"}
local BYE = dialtone.prompts{"goodbye"}

return function(call)
  call:answer()
  local rx, why = call:gather{prompt = "enter_digits", pattern = "^%d%d%d%d%d%d$", invalid = "invalid",
                              retries = 2, max = 6, timeout = 3}
  if not rx then
    dialtone.log("info", "RX gave up:", why)
    call:play(BYE[1])
    return
  end
  local ok, reason = call:confirm{digits = rx, prompt = "you_entered", question = "main_menu",
                                  invalid = "invalid", noinput = "noinput", retries = 1}
  dialtone.log("info", "RX", rx, tostring(ok), tostring(reason))
  if ok then
    call:play("welcome")
  elseif ok == false then
    call:play("voicemail_intro")
  end
  call:play(BYE[1])
  assert(DIGIT.pattern == "^digit_%d$")
end
