-- pharmacy_test.lua — flow tests of examples/pharmacy/pharmacy.lua: the backend is answered by
-- t:http_stub, the clock is set with t:set_time (the pharmacy's zone is New York).
-- Run: dialtone test examples/pharmacy
local test = require "dialtone.test"

local BACKEND = "https://rx.pharmacy.example"
local PHARMACISTS = {user = "pharmacy-pharmacists"}
test.options{settings = {pharmacy_backend = BACKEND, pharmacy_tz = "America/New_York"}}

local TUESDAY_10AM = "2026-12-01T10:00:00"

-- True when every field of want is in got with the same value.
local function has(got, want)
  for k, v in pairs(want) do
    if got[k] ~= v then return false end
  end
  return true
end

-- A call at local time `when` in New York, past the language question.
local function call_at(t, when, lang_key)
  t:set_time(when, "America/New_York")
  local call = t:call{}
  call:expect_prompt("language")
  call:press(lang_key)
  return call
end

-- The caller enters digits at prompt, hears them read back (spoken as words) and confirms.
local function enter_confirmed(call, prompt, digits, words)
  call:expect_prompt(prompt)
  call:press(digits)
  call:expect_prompt("you_entered")
  call:expect_speech(words)
  call:expect_prompt("confirm_question")
  call:press("1")
end

-- Language, then the main menu's choice.
local function open_line(t, lang_key, choice)
  local call = call_at(t, TUESDAY_10AM, lang_key)
  if lang_key == "2" then
    call:expect_speech("Para consultar una receta, oprima 1. Para hablar con un farmacéutico, oprima 2. " ..
                       "Para pedir que le llamemos, oprima 3.", {voice = "es"})
  else
    call:expect_prompt("main_menu")
  end
  call:press(choice)
  return call
end

test("a prescription that is ready: entered, read back, confirmed, looked up and spoken", function(t)
  t:http_stub(BACKEND .. "/rx/*", function(req)
    if req.url == BACKEND .. "/rx/123456" then return {json = {status = "ready", drug = "amoxicillin"}} end
    return {status = 404}
  end)
  local call = open_line(t, "1", "1")
  enter_confirmed(call, "enter_rx", "123456", "one two three four five six")
  call:expect_speech("Your prescription for amoxicillin is ready for pickup.")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  assert(has(call:tags(), {language = "en", prescription = "123456", rx_status = "ready"}), "the call is tagged")
  local reqs = t:http_requests()
  assert(#reqs == 1 and reqs[1].method == "GET" and reqs[1].url == BACKEND .. "/rx/123456", "one lookup")
end)

test("in Spanish: the prompts are spoken from their Spanish text, the answer too, with the ready date", function(t)
  t:http_stub(BACKEND .. "/rx/654321", {json = {status = "preparing", drug = "insulina", ready_on = "2026-12-03"}})
  local call = open_line(t, "2", "1")
  call:expect_speech("Marque su número de receta de seis dígitos.", {voice = "es"})
  call:press("654321")
  call:expect_speech("Usted marcó", {voice = "es"})
  call:expect_speech("seis cinco cuatro tres dos uno", {voice = "es"})
  call:expect_speech("Si es correcto, oprima 1. Si no, oprima 2.", {voice = "es"})
  call:press("1")
  call:expect_speech("Su receta de insulina se está preparando. Estará lista el", {voice = "es"})
  call:expect_speech("tres de diciembre de dos mil veintiséis", {voice = "es"})
  call:expect_speech("Gracias por llamar. Adiós.", {voice = "es"})
  assert(has(call:tags(), {language = "es", prescription = "654321", rx_status = "preparing"}))
end)

test("a wrong number is asked again; a 'no' at the read-back starts the entry over", function(t)
  t:http_stub(BACKEND .. "/rx/*", {status = 404})
  local call = open_line(t, "1", "1")
  call:expect_prompt("enter_rx")
  call:press("12#")
  call:expect_prompt("rx_invalid")
  call:expect_prompt("enter_rx")
  call:press("111111")
  call:expect_prompt("you_entered")
  call:expect_speech("one one one one one one")
  call:expect_prompt("confirm_question")
  call:press("2")
  call:expect_prompt("enter_rx")
  call:press("222222")
  call:expect_prompt("you_entered")
  call:expect_speech("two two two two two two")
  call:expect_prompt("confirm_question")
  call:press("1")
  call:expect_prompt("rx_unknown")
  call:expect_prompt("goodbye")
end)

test("the backend failing is heard as 'try later', never as an error", function(t)
  t:http_stub(BACKEND .. "/rx/*", {error = "timeout"})
  local call = open_line(t, "1", "1")
  enter_confirmed(call, "enter_rx", "123456", "one two three four five six")
  call:expect_prompt("lookup_failed")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed"}
end)

test("a pharmacist takes the call", function(t)
  t:party(PHARMACISTS, {behaviour = "answer", answer_delay = 3})
  local call = open_line(t, "1", "2")
  call:expect_prompt("connecting")
  call:expect_transfer{to = PHARMACISTS, outcome = "completed"}
end)

test("no pharmacist free: the caller asks for a call back, which goes to the backend", function(t)
  t:party(PHARMACISTS, {behaviour = "busy"})
  t:http_stub("POST " .. BACKEND .. "/callbacks", {status = 201})
  local call = open_line(t, "1", "2")
  call:expect_prompt("connecting")
  call:expect_transfer{to = PHARMACISTS, outcome = "failed"}
  call:expect_prompt("pharmacist_unavailable")
  enter_confirmed(call, "enter_callback", "2125550123", "two one two five five five zero one two three")
  call:expect_prompt("callback_confirmed")
  call:expect_prompt("goodbye")
  local post = t:http_requests()[1]
  assert(post.method == "POST" and post.json.number == "2125550123" and post.json.language == "en", "the request")
  assert(has(call:tags(), {callback = "2125550123"}))
end)

test("closed on Christmas Day: a message is taken, the call is tagged with the next opening", function(t)
  local call = call_at(t, "2026-12-25T11:00:00", "1")
  call:expect_prompt("closed")
  call:expect_prompt("leave_message")
  call:expect_recording_started()
  call:speak(3)
  call:press("#")
  call:expect_recording{reason = "stopToneDetected"}
  call:expect_prompt("message_taken")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  -- it opens again on Saturday the 26th at 09:00 New York time
  assert(call:tags().closed_until == "2026-12-26T14:00:00Z", "closed until " .. tostring(call:tags().closed_until))
end)

test("just before closing it is open, at closing time it is closed", function(t)
  local call = call_at(t, "2026-12-01T19:59:00", "1")
  call:expect_prompt("main_menu")
  call:hangup()
  call_at(t, "2026-12-01T20:00:00", "1"):expect_prompt("closed")
end)
