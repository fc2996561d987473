-- pharmacy.lua — business hours on the flows' clock (hours_test.lua moves it with
-- t:set_time): open -> "welcome", closed -> "goodbye"; what the flow saw goes into tags.
local hours = dialtone.hours{tz = "America/New_York", mon_fri = "08:00-18:00", sat = "09:00-13:00",
                             holidays = {"2026-12-25"}}

return function(call)
  call:answer()
  local now = dialtone.now()
  call:tag{now = now, os_time = os.time(), utc = os.date("!%Y-%m-%dT%H:%M:%S")}
  if hours:open() then
    call:tag{open = "yes"}
    call:play("welcome")
  else
    call:tag{open = "no", next_open = hours:next_open(), next_utc = os.date("!%Y-%m-%dT%H:%M", hours:next_open())}
    call:play("goodbye")
  end
  -- after the prompt (4.3 s of simulated time in flow tests)
  call:tag{later = hours:open(dialtone.now()) and "open" or "closed"}
  call:hangup()
end
