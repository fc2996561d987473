return { listen = "127.0.0.1:8443", tls = { cert = "/etc/ssl/certs/ssl-cert-snakeoil.pem", key = "/nonexistent.key" } }
