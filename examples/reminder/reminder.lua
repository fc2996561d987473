-- reminder.lua — an outbound appointment reminder.
--
-- One flow, two kinds of call:
--   incoming: the front desk calls the bot, types the patient's number (with the country
--             code) and #; the bot places the reminder call
--             (dialtone.dial{targets={{phone=}}, flow="reminder"}) and confirms.
--   outgoing: the patient's phone, once answered: the reminder; 1 confirms, 2 cancels.
--             What the patient chose is in the call's CDR (digits) and in the log.
--
-- Calls to phone numbers need the bot's application instance (a resource account with a
-- phone number): set graph.application_instance_id (docs/operator.md); Graph, and the
-- emulator, refuse them without it.
--
-- Prompts are in prompts/ beside this file. Test: dialtone test examples/reminder

local function remind(call)
  local answer = call:menu{
    prompt = "appointment",
    options = {["1"] = "confirmed", ["2"] = "cancelled"},
    retries = 1,
    invalid = "sorry",
    noinput = "sorry",
  }
  dialtone.log("info", "reminder for", call.to, "->", answer or "no answer")
  call:play(answer or "call_us")
  call:play("goodbye")
  call:hangup()
end

return function(call)
  if call.direction == "outgoing" then return remind(call) end
  call:answer()
  local number = call:gather{prompt = "enter_number", max = 15, timeout = 10, inter_digit = 5,
                             terminators = "#"}
  if #number < 8 then
    call:play("bad_number")
  else
    dialtone.dial{targets = {{phone = "+" .. number}}, flow = "reminder", subject = "Appointment reminder"}
    call:play("reminder_sent")
  end
  call:play("goodbye")
  call:hangup()
end
