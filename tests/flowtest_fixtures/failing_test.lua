-- failing_test.lua — a flow test that fails on purpose: tests/integration/test_flowtest.c
-- checks that `dialtone test` reports it readably (the expectation, this file's line, the
-- call's timeline) and exits 1. Not part of tests/flows.
local test = require "dialtone.test"

test.options{flows = "../../flows"}

test("passes", function(t)
  local call = t:call{from = {phone = "+15550100"}}
  call:expect_prompt("welcome")
  call:expect_prompt("main_menu")
  call:hangup()
end)

test("expects the wrong prompt", function(t)
  local call = t:call{from = {phone = "+15550100"}}
  call:expect_prompt("welcome")
  call:press("3")
  call:expect_prompt("goodbye") -- line 19: the flow plays enter_digits
end)

test("calls a method that does not exist", function(t)
  local call = t:call{}
  call:expect_promt("welcome") -- line 24: a typo
end)
