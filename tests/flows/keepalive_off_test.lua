-- keepalive_off_test.lua — without keepAlive (keepalive = false) the emulator ends a held call
-- 45 simulated minutes after its start, as Graph does; the engine records it as a call Graph
-- ended. keepalive_test.lua shows the other side.
local test = require "dialtone.test"

test.options{flows = "keepalive", flow = "hold", keepalive = false}

test("without keepAlive Graph ends the call after 45 simulated minutes", function(t)
  local call = t:call{}
  call:wait(2 * 3600)
  assert(call:ended(), "the call was still up after two simulated hours")
  local ended = call:expect_hangup{}
  if ended.message ~= "Call ended after 45 minutes without keepAlive." then
    t:fail("ended with " .. tostring(ended.message))
  end
  local e
  for _, x in ipairs(call:timeline()) do if x.kind == "ended" then e = x end end
  if e.t_ms < 45 * 60 * 1000 or e.t_ms > 46 * 60 * 1000 then
    t:fail(("ended at %d ms, not after 45 simulated minutes"):format(e.t_ms))
  end
  call:expect_cdr{outcome = "hangup"} -- as for any call Graph ended
end)
