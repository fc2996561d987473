-- timing_test.lua — simulated time waits for the engine (issue 12 point 10): the clock of
-- `dialtone test` advances only when the engine has no Graph request in flight and no
-- notification is on its way, so what the engine does in answer to a key happens at the
-- key's simulated instant, as it does against the real-time emulator.
local test = require "dialtone.test"

test.options{flows = "timing", prompts = "../../flows/prompts", flow = "barge"}

test("a key during a multi-prompt play cancels it right after the key", function(t)
  local call = t:call{}
  local first = call:expect("prompt", {name = "welcome"}) -- the timeline entry: t_ms, duration_ms
  call:wait(0.5)
  local key_at = first.t_ms + 500
  call:press("5")
  -- the engine cancels the play: the request reaches the emulator at the key's instant,
  -- long before welcome's simulated end (the welcome lasts a few seconds)
  local cancel = call:expect("request", {action = "cancelMediaProcessing"})
  if cancel.t_ms ~= key_at then
    t:fail(("cancelMediaProcessing came at %d ms, the key at %d ms (welcome ends at %d ms)")
      :format(cancel.t_ms, key_at, first.t_ms + first.duration_ms))
  end
  call:expect_prompt("invalid") -- strict: main_menu and enter_digits were not played
  call:expect_hangup{by = "bot"}
end)

test("without a key the three prompts play back to back", function(t)
  local call = t:call{}
  local one = call:expect("prompt", {name = "welcome"})
  local two = call:expect("prompt", {name = "main_menu"})
  local three = call:expect("prompt", {name = "enter_digits"})
  if two.t_ms < one.t_ms + one.duration_ms or three.t_ms < two.t_ms + two.duration_ms then
    t:fail(("prompts at %d, %d, %d ms"):format(one.t_ms, two.t_ms, three.t_ms))
  end
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
end)
