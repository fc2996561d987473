-- lookup.lua — dialtone.http in a flow (tests/flows/http_test.lua): the caller keys in a
-- prescription number, the flow looks it up at the pharmacy's backend and says whether it is
-- ready; a backend that fails is an error the flow handles (it apologises and hangs up).
return function(call)
  call:answer()
  local rx = call:gather{prompt = "enter_digits", max = 6, timeout = 5}
  local ok, r = pcall(dialtone.http, {
    url = "https://pharmacy.example/api/rx/" .. rx,
    query = {lang = "en"},
    headers = {Authorization = "Bearer test-token"},
    timeout = 3,
    raise_for_status = true,
  })
  if not ok then
    dialtone.log("warn", "lookup failed:", tostring(r))
    call:play("error")
  elseif r.json and r.json.ready then
    dialtone.http{method = "POST", url = "https://pharmacy.example/api/pickups", json = {rx = rx, from = call.from}}
    call:play("goodbye")
  else
    call:play("invalid")
  end
  call:hangup()
end
