-- pharmacy.lua — a pharmacy's phone line, in English and Spanish.
--
--   "For English press 1, para español oprima 2"   → the call's language (prompts/es/…)
--   closed (business hours in the pharmacy's zone)  → "we are closed" + a message
--   1 prescription status: 6-digit number, read back and confirmed, looked up in the
--     pharmacy's backend, and the answer spoken ("your prescription for … is ready")
--   2 a pharmacist: transfer; when nobody takes it, offer a call back
--   3 a call back: 10-digit number, read back and confirmed, sent to the backend
--
-- The prompts are text (prompts/NAME.txt, prompts/es/NAME.txt): the English ones are
-- rendered ahead of time (`dialtone prompts build examples/pharmacy/prompts`), the Spanish
-- ones are spoken when first played. Settings (config `flow_settings`, or the flow test's):
--   pharmacy_backend  base URL of the backend (default http://127.0.0.1:8089; it must be
--                     allowed by http.allow, loopback is by default)
--   pharmacy_tz       the pharmacy's time zone (default America/New_York)
--   pharmacist_queue  who takes "speak with a pharmacist" (default pharmacy-pharmacists)
-- Tests: dialtone test examples/pharmacy. A backend to try it with: examples/pharmacy/backend.py.

local S = dialtone.settings
local BACKEND = S.pharmacy_backend or "http://127.0.0.1:8089"
local PHARMACISTS = {user = S.pharmacist_queue or "pharmacy-pharmacists", name = "Pharmacists"}

local hours = dialtone.hours{
  tz = S.pharmacy_tz or "America/New_York",
  mon_fri = "08:00-20:00",
  sat = "09:00-17:00",
  holidays = {"2026-12-25", "2027-01-01"},
}

local SAY = {
  ready = {en = "Your prescription for %s is ready for pickup.",
           es = "Su receta de %s está lista para recoger."},
  preparing = {en = "Your prescription for %s is being prepared. It will be ready on",
               es = "Su receta de %s se está preparando. Estará lista el"},
}

-- A backend request: the answer, or nil and why ("unknown" for 404, else "unavailable").
local function backend(call, req)
  local ok, r = pcall(dialtone.http, req)
  if not ok then
    if type(r) == "table" and r.code == "hangup" then error(r, 0) end
    dialtone.log("warn", "pharmacy backend:", tostring(r))
    return nil, "unavailable"
  end
  if r.status == 404 then return nil, "unknown" end
  if r.status >= 300 then
    dialtone.log("warn", "pharmacy backend answered", r.status, "to", req.url)
    return nil, "unavailable"
  end
  return r.json or {}
end

-- Digits matching pattern, read back and confirmed (two tries), or nil.
local function ask_number(call, prompt, pattern, max, invalid)
  for _ = 1, 2 do
    local digits = call:gather{prompt = prompt, max = max, timeout = 10, pattern = pattern,
                               invalid = invalid, noinput = invalid, retries = 2}
    if not digits then return nil end
    local yes = call:confirm{digits = digits, prompt = "you_entered", question = "confirm_question",
                             invalid = "invalid", noinput = "noinput"}
    if yes then return digits end
    if yes == nil then return nil end
  end
  return nil
end

local function prescription_status(call)
  local rx = ask_number(call, "enter_rx", "^%d%d%d%d%d%d$", 6, "rx_invalid")
  if not rx then return end
  call:tag{prescription = rx}
  local info, why = backend(call, {url = BACKEND .. "/rx/" .. rx, timeout = 3})
  if not info then return call:play(why == "unknown" and "rx_unknown" or "lookup_failed") end
  call:tag{rx_status = tostring(info.status)}
  local lang = call.language == "es" and "es" or "en"
  local drug = tostring(info.drug or "")
  if info.status == "ready" then return call:say(SAY.ready[lang]:format(drug)) end
  call:say(SAY.preparing[lang]:format(drug))
  local y, m, d = tostring(info.ready_on or ""):match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if y then call:say_date{year = tonumber(y), month = tonumber(m), day = tonumber(d)} end
end

local function call_back(call)
  local number = ask_number(call, "enter_callback", "^%d%d%d%d%d%d%d%d%d%d$", 10, "callback_invalid")
  if not number then return end
  call:tag{callback = number}
  local ok = backend(call, {method = "POST", url = BACKEND .. "/callbacks", timeout = 3,
                            json = {number = number, language = call.language or "en", caller = call.from}})
  call:play(ok and "callback_confirmed" or "lookup_failed")
end

-- true once the caller is with a pharmacist. A transfer nobody takes raises; a caller who
-- hung up meanwhile makes the next primitive raise "hangup" again, which ends the flow.
local function pharmacist(call)
  call:play("connecting")
  if pcall(call.transfer, call, {target = PHARMACISTS}) then return true end
  call:play("pharmacist_unavailable")
  call_back(call)
  return false
end

local function closed(call)
  local opens = hours:next_open()
  call:tag{closed_until = opens and os.date("!%Y-%m-%dT%H:%M:%SZ", opens) or "unknown"}
  call:play("closed")
  local msg = call:record{prompt = "leave_message", beep = true, max_duration = 120, initial_silence = 5,
                          max_silence = 3, stop_tones = "#"}
  if msg.file then call:play("message_taken") end
end

return function(call)
  call:answer()
  local lang = call:menu{prompt = "language", options = {["1"] = "en", ["2"] = "es"}, retries = 1, timeout = 4,
                         invalid = "invalid", noinput = "noinput"}
  call:set_language(lang or "en")
  call:tag{language = lang or "en"}
  if not hours:open() then
    closed(call)
  else
    local choice = call:menu{prompt = "main_menu", options = {["1"] = "status", ["2"] = "pharmacist", ["3"] = "callback"},
                             invalid = "invalid", noinput = "noinput"}
    if choice == "status" then
      prescription_status(call)
    elseif choice == "pharmacist" then
      if pharmacist(call) then return end
    elseif choice == "callback" then
      call_back(call)
    end
  end
  call:play("goodbye")
  call:hangup()
end
