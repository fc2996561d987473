-- keepalive_test.lua — Graph ends a call that has had no keepAlive for 45 minutes (issue 12
-- point 1). The engine sends one every 30 simulated minutes (the default), so a call held for
-- two simulated hours survives. keepalive_off_test.lua shows the other side.
local test = require "dialtone.test"

test.options{flows = "keepalive", flow = "hold"}

test("with keepAlive a call held two simulated hours survives", function(t)
  local call = t:call{}
  call:wait(2 * 3600)
  assert(not call:ended(), "the call ended within two simulated hours")
  local n, first = 0, nil
  for _, e in ipairs(call:timeline()) do
    if e.kind == "request" and e.action == "keepAlive" then
      n = n + 1
      first = first or e
    end
  end
  -- at 30, 60 and 90 simulated minutes after the call was established (the fourth is due
  -- just after the two hours)
  if n ~= 3 then t:fail(("%d keepAlive requests in two simulated hours, not 3"):format(n)) end
  if first.t_ms < 29 * 60 * 1000 or first.t_ms > 31 * 60 * 1000 then
    t:fail(("the first keepAlive came at %d ms, not after 30 simulated minutes"):format(first.t_ms))
  end
  call:hangup()
  call:expect_cdr{outcome = "hangup"}
end)
