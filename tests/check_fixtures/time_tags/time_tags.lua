-- call:tag, dialtone.now, dialtone.settings and dialtone.hours are known; a misspelt
-- hours option is not.
local hours = dialtone.hours{tz = "America/New_York", mon_fri = "08:00-18:00", sat = "09:00-13:00",
                             holidays = {"2026-12-25"}}
local late = dialtone.hours{tz = "UTC", mon_fry = "18:00-22:00"}
return function(call)
  call:tag{prescription = "123456", queue = dialtone.settings.queue, at = dialtone.now()}
  if hours:open() or late:open(os.time()) then call:answer() end
end
