-- A flow with no problems: every primitive used the documented way, every prompt exists.
local function greet(call)
  return call:play("welcome", {barge_in = true})
end

return function(call)
  call:answer{modalities = {"audio"}}
  greet(call)
  local choice = call:menu{
    prompt = "main_menu",
    options = {["1"] = "sales", ["2"] = "support"},
    retries = 2,
    invalid = "invalid",
    noinput = "noinput",
  }
  if choice == "sales" then
    call:transfer{target = {phone = "+15550100"}}
    return
  end
  local digits, reason = call:gather{prompt = {"main_menu", "welcome"}, max = 4,
                                     terminators = "#", timeout = 5}
  local rec = call:record{prompt = "goodbye", beep = true, max_duration = 30}
  call:play({"goodbye", "https://example.com/prompts/thanks.wav"})
  dialtone.dial{targets = {{user = "abc"}}, flow = "clean"}
  print(string.format("%s %s %s %d", digits, reason, rec and rec.file, os.time()))
  call:hangup()
end
