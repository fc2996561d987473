-- local development against the embedded emulator
local routes = {}
for i, name in ipairs({ "main", "voicemail", "agent" }) do
  routes[i] = { match = string.format("+1555010%d", i), flow = name }
end
return {
  listen = "[::1]:0",
  flows = "examples",
  routes = routes,
  graph = { dialect = "beta" },
  inbound = { jwks_url = "http://127.0.0.1:9000/keys", issuers = "https://graph.microsoft.com" },
  emulator = { listen = "127.0.0.1:9000", time_scale = 0 },
  log = { level = "debug" },
  limits = { op_timeout_s = 1.5, max_calls = 50 },
}
