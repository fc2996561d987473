-- main.lua — Contoso Plumbing, the demo IVR that ships with dialtone.
--
--   welcome → main menu (3 tries, "invalid" / "noinput" in between):
--     1  opening hours and a voicemail (recorded, stored under recordings/)
--     2  transfer to the plumber on duty (a Teams user); "transfer_failed" if busy
--     3  enter an order number, which is read back digit by digit
--   → goodbye, hang up.
--
-- Every prompt name is a file in flows/prompts/ (welcome → prompts/welcome.wav), or a
-- transcript there that is spoken (order_thanks → prompts/order_thanks.txt).

local DISPATCH = {user = "contoso-dispatch", name = "Plumber on duty"}

-- "you entered 4 2 7": say_digits plays the prompt set digit_0..digit_9, star, pound (or
-- speaks the digits when a prompt of the set is missing).
local function read_back(call, digits)
  call:play("you_entered")
  call:say_digits(digits)
end

local function voicemail(call)
  local msg = call:record{
    prompt = "voicemail_intro",
    beep = true,
    max_duration = 60,
    initial_silence = 5,
    max_silence = 3,
    stop_tones = "#",
  }
  if msg.file then
    dialtone.log("info", "voicemail from", call.from, "saved to", msg.file,
                 ("(%.1f s)"):format(msg.duration))
    call:play("voicemail_saved")
  else
    dialtone.log("info", "no voicemail left:", msg.reason)
    call:play("noinput")
  end
end

-- true when the caller is now with a plumber (the flow is done).
local function transfer(call)
  call:play("transferring")
  local ok, err = pcall(call.transfer, call, {target = DISPATCH})
  if ok then return true end
  if type(err) == "table" and err.code == "hangup" then error(err, 0) end
  dialtone.log("warn", "transfer failed:", tostring(err))
  call:play("transfer_failed")
  return false
end

local function order_number(call)
  local digits = call:gather{prompt = "enter_digits", max = 12, timeout = 6, inter_digit = 4,
                             terminators = "#"}
  if digits == "" then
    call:play("noinput")
  else
    read_back(call, digits)
    call:play("order_thanks") -- no recording: prompts/order_thanks.txt is spoken
  end
end

return function(call)
  call:answer()
  call:play("welcome", {barge_in = true})
  local after_welcome = true
  while true do
    local choice = call:menu{
      prompt = "main_menu",
      options = {["1"] = "voicemail", ["2"] = "plumber", ["3"] = "order"},
      retries = 2,
      timeout = 5,
      invalid = "invalid",
      noinput = "noinput",
      -- a key that cut the welcome short is meant for this menu (type-ahead); when the
      -- menu comes back later, keys left from before (the read-back, a failed transfer)
      -- are dropped, as menus do by default
      flush = not after_welcome,
    }
    after_welcome = false
    if choice == nil then
      break
    elseif choice == "voicemail" then
      voicemail(call)
      break
    elseif choice == "plumber" then
      if transfer(call) then return end
    elseif choice == "order" then
      order_number(call)
    end
  end
  call:play("goodbye")
  call:hangup()
end
