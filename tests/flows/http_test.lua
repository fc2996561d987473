-- http_test.lua — dialtone.http answered by t:http_stub (tests/flows/http/lookup.lua): a
-- table answer with JSON, a function answer that sees the request, a failure the flow
-- handles, what the flow sent (t:http_requests), and the latest stub winning.
local test = require "dialtone.test"

test.options{flows = "http", flow = "lookup", prompts = "../../flows/prompts"}

test("a ready prescription is looked up and a pickup is posted", function(t)
  t:http_stub("https://pharmacy.example/api/rx/*", {json = {name = "amoxicillin", ready = true}})
  t:http_stub("POST https://pharmacy.example/api/pickups", {status = 201})
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("123456")
  call:expect_prompt("goodbye")
  call:expect_hangup{by = "bot"}
  local reqs = t:http_requests()
  assert(#reqs == 2, "expected 2 requests, got " .. #reqs)
  assert(reqs[1].method == "GET" and reqs[1].url == "https://pharmacy.example/api/rx/123456?lang=en", reqs[1].url)
  assert(reqs[1].headers.Authorization == "Bearer test-token")
  assert(reqs[2].method == "POST" and reqs[2].json.rx == "123456", reqs[2].body)
  assert(reqs[2].headers["Content-Type"] == "application/json")
end)

test("a function answers from the request; the latest matching stub wins", function(t)
  t:http_stub("https://pharmacy.example/api/rx/*", {json = {ready = true}})
  t:http_stub("GET https://pharmacy.example/api/rx/*", function(req)
    return {json = {ready = req.url:find("/rx/999999", 1, true) ~= nil}}
  end)
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("123456")
  call:expect_prompt("invalid")
  call:expect_hangup{by = "bot"}
end)

test("a failing backend is an error the flow handles", function(t)
  t:http_stub("https://pharmacy.example/api/rx/123456", {error = "timeout"})
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("123456")
  call:expect_prompt("error")
  call:expect_hangup{by = "bot"}
end)

test("a bad status raises when the flow asks (raise_for_status)", function(t)
  t:http_stub("https://pharmacy.example/api/rx/*", {status = 503, body = "down"})
  local call = t:call{}
  call:expect_prompt("enter_digits")
  call:press("123456")
  call:expect_prompt("error")
  call:expect_hangup{by = "bot"}
end)
