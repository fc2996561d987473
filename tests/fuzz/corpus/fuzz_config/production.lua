-- dialtone.conf.lua for a bot behind a TLS-terminating proxy
local tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
return {
  listen = "0.0.0.0:8443",
  public_url = "https://bot.contoso.com",
  callback_path = "/api/calls",
  flows = "/srv/dialtone/flows",
  prompts = { dir = "/srv/dialtone/prompts", base_url = "https://cdn.contoso.com/prompts" },
  recordings = "/var/lib/dialtone/recordings",
  cdr = "/var/log/dialtone/cdr.jsonl",
  routes = {
    { match = "+15550100", flow = "sales" },
    { match = "8a34a46b-3d17-4adc-8dce-dc4e7d572698", flow = "support" },
    default = "main",
  },
  graph = {
    dialect = "v1.0",
    tenant_id = tenant,
    client_id = "8a34a46b-3d17-4adc-8dce-dc4e7d572698",
    client_secret = getenv("DIALTONE_SECRET_FOR_FUZZ") or "s3cr3t",
    token_url = "https://login.microsoftonline.com/" .. tenant .. "/oauth2/v2.0/token",
  },
  inbound = {
    openid_config = "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration",
    issuers = { "https://api.botframework.com", "https://graph.microsoft.com" },
    audience = "8a34a46b-3d17-4adc-8dce-dc4e7d572698",
  },
  log = { level = "info", format = "json" },
  limits = {
    max_body_bytes = 1024 * 1024, max_header_bytes = 16 * 1024, max_connections = 10000,
    idle_timeout_ms = 60000, request_timeout_ms = 10000, instruction_budget = 10000000,
    lua_memory_bytes = 64 << 20, op_timeout_s = 30, drain_timeout_s = 30, max_calls = 100000,
  },
}
