-- hold_queue_test.lua — flow tests of examples/hold_queue/hold_queue.lua: the caller waits
-- with looping hold music, hears their place in the queue each round, is put through once an
-- agent is free, or leaves the queue with 0.
-- Run: dialtone test examples/hold_queue/hold_queue_test.lua
--
-- In `dialtone test` the flow's own timers fire at once, the music's ROUND timeout too (at the
-- simulated instant the music starts), so each round here is: position, music, a try of the
-- agents. The music looping round after round (until a key, a timeout, a
-- hang-up) is covered by tests/integration/test_hold_media.c (real time, both dialects).
local test = require "dialtone.test"

local AGENTS = {user = "fabrikam-support-agents"}

test("the agents are busy twice, then one takes the call", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local call = t:call{from = {phone = "+15550123"}}
  call:expect_prompt("welcome_queue")
  call:expect_prompt("queue_position_1")
  call:expect_prompt("hold_music")
  call:expect_transfer{to = AGENTS, outcome = "failed"}
  call:expect_prompt("queue_position_1")
  call:expect_prompt("hold_music")
  call:expect_transfer{to = AGENTS, outcome = "failed"}
  t:party(AGENTS, {behaviour = "answer", answer_delay = 3})
  call:expect_prompt("queue_position_1")
  call:expect_prompt("hold_music")
  call:expect_transfer{to = AGENTS, outcome = "completed"}
  call:expect_hangup{by = "transfer"}
  call:expect_cdr{outcome = "transferred"}
end)

test("0 leaves the queue; other keys do not", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local call = t:call{}
  call:expect_prompts{"welcome_queue", "queue_position_1"}
  call:press("5")                       -- kept; it ends the music as it starts, and is ignored
  call:expect_prompt("hold_music")      -- the music goes on
  call:expect_transfer{outcome = "failed"}
  call:expect_prompt("queue_position_1")
  call:press("0")
  call:expect_prompt("goodbye")         -- the music stopped before it began
  call:expect_hangup{by = "bot"}
  call:expect_cdr{outcome = "completed"}
end)

test("a second caller is number two in the queue", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local first = t:call{from = {phone = "+15550001"}}
  first:expect_prompts{"welcome_queue", "queue_position_1"}
  first:expect_prompt("hold_music")
  local second = t:call{from = {phone = "+15550002"}}
  second:expect_prompt("welcome_queue")
  second:expect_prompt("queue_position_2")
  first:hangup()                        -- the first caller gives up
  first:expect_hangup{by = "remote"}
  second:expect_transfer{outcome = "failed"}
  second:expect_prompt("queue_position_1") -- moved up
  second:hangup()
end)

test("the caller hangs up on hold: nothing more is played", function(t)
  t:party(AGENTS, {behaviour = "busy"})
  local call = t:call{}
  call:expect_prompts{"welcome_queue", "queue_position_1", "hold_music"}
  call:hangup()
  call:expect_hangup{by = "remote"}
  call:expect_no_prompt()
  call:expect_cdr{outcome = "hangup"}
end)

