-- routing_test.lua — `dialtone test` runs every flow under its own name (issue 11): a call
-- to another flow than the file's default one runs that flow (its CDR names it), and t:dial
-- makes the engine dial directly, with no helper call of its own.
local test = require "dialtone.test"

test.options{flows = "routing", prompts = "../../flows/prompts", flow = "front",
             application_instance = "routing-instance"} -- t:dial calls a phone number

test("t:call runs the file's default flow", function(t)
  local call = t:call{}
  call:expect_prompt("welcome")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{direction = "incoming", flow = "front"}
end)

test("t:call{flow=} runs that flow under its own name", function(t)
  local call = t:call{flow = "back"}
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{direction = "incoming", flow = "back"}
  -- the default flow still answers the next call
  local again = t:call{}
  again:expect_prompt("welcome")
  again:expect_cdr{flow = "front"}
end)

test("t:dial runs the named flow and places no other call", function(t)
  local before = #t:cdrs() -- the earlier tests' calls (one engine per file)
  local call = t:dial{flow = "back", to = {phone = "+15550177"}}
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  call:expect_cdr{direction = "outgoing", flow = "back", to = "+15550177"}
  local cdrs = t:cdrs()
  if #cdrs ~= before + 1 then t:fail(("expected one new CDR (the dialed call), got %d"):format(#cdrs - before)) end
end)

test("a flow that does not exist fails the test with its name", function(t)
  local ok, err = pcall(t.call, t, {flow = "nope"})
  if ok then t:fail("t:call{flow = 'nope'} placed a call") end
  local msg = type(err) == "table" and err.message or tostring(err)
  if not msg:find("no flow named 'nope'", 1, true) then t:fail("unexpected error: " .. msg) end
  ok, err = pcall(t.dial, t, {flow = "nope", to = {phone = "+15550177"}})
  if ok then t:fail("t:dial{flow = 'nope'} dialed") end
  msg = type(err) == "table" and err.message or tostring(err)
  if not msg:find("no flow named 'nope'", 1, true) then t:fail("unexpected error: " .. msg) end
end)
