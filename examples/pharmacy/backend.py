#!/usr/bin/env python3
"""A pharmacy backend to try examples/pharmacy with (Python 3 standard library only).

    python3 examples/pharmacy/backend.py [PORT]        # default 8089, loopback only
    dialtone console pharmacy --flows examples/pharmacy --time-scale 0.2

GET  /rx/NNNNNN   -> 200 {"status": "ready"|"preparing", "drug": ..., "ready_on": "YYYY-MM-DD"}
                     (404 for a number it does not know)
POST /callbacks   -> 201, the request printed (a real backend would queue the call back)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PRESCRIPTIONS = {
    "123456": {"status": "ready", "drug": "amoxicillin"},
    "654321": {"status": "preparing", "drug": "insulin", "ready_on": "2026-12-28"},
    "111111": {"status": "ready", "drug": "ibuprofen"},
}


class Backend(BaseHTTPRequestHandler):
    def _answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/rx/"):
            rx = PRESCRIPTIONS.get(self.path[4:])
            return self._answer(200, rx) if rx else self._answer(404, {"error": "unknown prescription"})
        self._answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/callbacks":
            return self._answer(404, {"error": "not found"})
        length = min(int(self.headers.get("Content-Length", "0")), 65536)
        request = json.loads(self.rfile.read(length) or b"{}")
        print("call back requested:", request, flush=True)
        self._answer(201, {"queued": True})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8089
    print(f"pharmacy backend on http://127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Backend).serve_forever()
