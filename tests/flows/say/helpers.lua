-- helpers.lua — the say helpers in English: date, time (a table as os.date("*t") gives it),
-- number, money.
return function(call)
  call:answer()
  call:say_date({year = 2026, month = 12, day = 3, wday = 5})
  call:say_time({hour = 15, min = 45})
  call:say_number(21000)
  call:say_money(1.01, "EUR")
  call:say_date({year = 2026, month = 12, day = 3}, {lang = "es"})
  call:say_time({hour = 13, min = 0}, {lang = "es"})
  call:hangup()
end
