-- http_unanswered_test.lua — a flow's request that no t:http_stub answers fails the test with
-- a message that names the request (tests/integration/test_flowtest.c runs it; it must fail).
local test = require "dialtone.test"

test.options{flows = "../flows/http", flow = "lookup", prompts = "../../flows/prompts"}

test("the lookup is not stubbed", function(t)
  t:http_stub("https://other.example/*", {status = 200})
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("123456")
  call:expect_prompt("goodbye")
end)
