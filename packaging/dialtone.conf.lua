-- /etc/dialtone/dialtone.conf.lua — the configuration the packaged service starts with.
-- Every key and its default: `dialtone run --print-config`; going live: docs/production.md.
--
-- As shipped there are no Graph credentials, so calls go to the embedded Graph emulator on
-- loopback: the service starts, the demo flow answers, and nothing reaches Microsoft.
-- For real calls set graph.tenant_id and graph.client_id here, the secret as
-- DIALTONE_CLIENT_SECRET in /etc/dialtone/environment (mode 0600), tls (or a reverse proxy)
-- and public_url, then `systemctl restart dialtone` (a reload re-reads the flows and the TLS
-- certificate, not this file).
return {
  listen = "127.0.0.1:8080",
  -- public_url = "https://ivr.example.com",      -- what Graph calls back (https, public)
  -- tls = {cert = "/etc/dialtone/tls/fullchain.pem", key = "/etc/dialtone/tls/privkey.pem"},
  -- graph = {tenant_id = "…", client_id = "…"},
  flows = "/etc/dialtone/flows",                  -- watched: edits reload while calls run
  recordings = "/var/lib/dialtone/recordings",
  cdr = "/var/lib/dialtone/cdr.jsonl",
  admin = {listen = "127.0.0.1:9090"},            -- /metrics and /calls, off the public listener
}
