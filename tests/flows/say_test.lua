-- say_test.lua — text to speech and the say helpers (issue 13 points 3 and 4): call:say's
-- speech is a WAV under /prompts/_tts/ that the emulator fetched (its duration is the file's),
-- the helpers' words, a language folder, a prompt spoken from its transcript, bad input, and a
-- hangup while the speech is synthesised.
local test = require "dialtone.test"

test.options{flows = "say", prompts = "say/prompts", flow = "speak"}

test("call:say and the helpers speak; language folders and transcripts", function(t)
  local call = t:call{}
  local p = call:expect_speech("Your prescription is ready for pickup.")
  assert(p.url:match("/prompts/_tts/tts%-%x+%.wav$"), p.url)
  -- the emulator fetched the WAV and played it for its length (not its default guess)
  assert(p.duration > 1.0 and p.duration < 8.0, p.duration)
  call:expect_speech("four two seven")                                   -- no digit_N prompts here
  call:expect_speech("mil doscientos treinta y cuatro", {voice = "es"})  -- lang = "es"
  local es = call:expect_prompt("goodbye")
  assert(es.url:match("/prompts/es/goodbye%.wav$"), es.url)
  call:expect_speech("Bienvenido a la farmacia.", {voice = "es"})        -- es/greeting.txt
  call:expect_speech("doce dólares con cincuenta centavos", {voice = "es"})
  local en = call:expect_prompt("goodbye")
  assert(en.url:match("/prompts/goodbye%.wav$"), en.url)
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed"}
end)

test("the helpers in English and Spanish: dates, times, numbers, money", function(t)
  local call = t:call{flow = "helpers"}
  call:expect_speech("Thursday December third two thousand twenty-six")
  call:expect_speech("three forty-five p.m.")
  call:expect_speech("twenty-one thousand")
  call:expect_speech("one euro and one cent")
  call:expect_speech("tres de diciembre de dos mil veintiséis", {voice = "es"})
  call:expect_speech("la una de la tarde", {voice = "es"})
  call:expect_cdr{outcome = "completed"}
end)

test("bad input is a Lua error that says why", function(t)
  local call = t:call{flow = "errors"}
  call:expect_prompt("goodbye")
  call:expect_cdr{outcome = "completed"}
end)

test("a hangup while the speech is synthesised ends the flow", function(t)
  local call = t:call{flow = "long"}
  call:expect("state", {state = "established"})
  call:hangup()
  call:expect_no_prompt()
  call:expect_cdr{outcome = "hangup"}
end)
