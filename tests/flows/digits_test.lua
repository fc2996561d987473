-- digits_test.lua — gather{pattern =, invalid =, retries =} and call:confirm (issue 13,
-- point 6), through `dialtone test`.
local test = require "dialtone.test"

test.options{flows = "digits", prompts = "../../flows/prompts", flow = "rx"}

local function read_back(call, digits)
  call:expect_prompt("you_entered")
  for d in digits:gmatch(".") do call:expect_prompt("digit_" .. d) end
  call:expect_prompt("main_menu")
end

test("a wrong entry plays invalid and asks again; the right one is read back and confirmed", function(t)
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("12#")
  call:expect_prompt("invalid")
  call:expect_prompt("enter_digits")
  call:press("427193")
  read_back(call, "427193")
  call:press("1")
  call:expect_prompt("welcome")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)

test("after retries wrong entries the gather gives up with nil, 'invalid'", function(t)
  local call = t:call{}
  for i = 1, 3 do
    call:expect_prompt("enter_digits")
    call:press(("%d#"):format(i))
    if i < 3 then call:expect_prompt("invalid") end
  end
  call:expect_prompt("goodbye") -- no invalid after the last try
  call:expect_hangup{by = "bot"}
end)

test("the caller says no: confirm returns false", function(t)
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("000042")
  read_back(call, "000042")
  call:press("2")
  call:expect_prompt("voicemail_intro")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)

test("a wrong key at the question asks the question again; silence gives nil", function(t)
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("111111")
  read_back(call, "111111")
  call:press("7")
  call:expect_prompt("invalid")
  -- the read-back is say_digits (played once), so only the question comes again
  call:expect_prompt("main_menu")
  -- no key: confirm's last try times out, nothing more is asked
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)

test("a key pressed during invalid answers the next try (flush is for before the first only)", function(t)
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("222222")
  read_back(call, "222222")
  call:press("9")
  call:expect_prompt("invalid")
  call:press("1") -- during invalid: kept for the next try, which plays no read-back
  call:expect_prompt("welcome")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)
