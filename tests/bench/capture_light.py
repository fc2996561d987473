#!/usr/bin/env python3
"""capture_light.py — regenerates tests/bench/light_demo.json and light_menu.json, the fixed
scripts of dt_bench's light fake Graph (docs/performance.md, "Floor and ratio").

    python3 tests/bench/capture_light.py [BUILD_DIR]      (default: build)

Runs `dialtone emulator --time-scale 0` and `dialtone run` (flows/main.lua) with a logging
HTTP proxy on both sides (Graph requests, notifications), places one call per caller script
of tests/bench/demo_scripts.json, one at a time, and writes each call's requests and
notifications in the order they LEFT their sender (so a request always follows the
notification that caused it), with the call id, the emulator's URL and the callback URL
replaced by {{call}}, {{base}} and {{callback}}. Re-run it when flows/main.lua changes the
requests it makes. Exit 0 when both files were written, 1 otherwise.
"""
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build'))
APP = '11111111-1111-1111-1111-111111111111'
TENANT = '22222222-2222-2222-2222-222222222222'
NAMES = ['order number read back, then hang up at the menu', 'voicemail', 'transfer to the plumber on duty',
         'three invalid choices, then goodbye']


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


log, lock = [], threading.Lock()


def proxy(name, port, upstream_port):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *a):
            pass

        def do(self):
            t0 = time.time()
            n = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(n) if n else b''
            c = http.client.HTTPConnection('127.0.0.1', upstream_port, timeout=30)
            c.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k.lower() != 'host'})
            r = c.getresponse()
            rb = r.read()
            ctype = r.getheader('Content-Type') or ''
            with lock:
                log.append({'t': t0, 'side': name, 'method': self.command, 'path': self.path,
                            'req': body.decode('utf-8', 'replace'), 'status': r.status,
                            'resp': '' if 'json' not in ctype else rb.decode('utf-8', 'replace')})
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ('transfer-encoding', 'connection', 'content-length', 'date', 'server'):
                    self.send_header(k, v)
            self.send_header('Content-Length', str(len(rb)))
            self.end_headers()
            self.wfile.write(rb)

        do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = do

    s = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()


def main():
    emu_port, graph_port, bot_port, engine_port = (free_port() for _ in range(4))
    emu = 'http://127.0.0.1:%d' % emu_port
    callback = 'http://127.0.0.1:%d/api/calls' % bot_port
    work = tempfile.mkdtemp(prefix='dt_capture_')
    os.makedirs(work + '/flows')
    with open(SRC + '/flows/main.lua') as f, open(work + '/flows/main.lua', 'w') as g:
        g.write(f.read())
    procs = [subprocess.Popen([BUILD + '/dialtone', 'emulator', '--time-scale', '0', '--listen',
                               '127.0.0.1:%d' % emu_port, '--bot', callback], stdout=subprocess.DEVNULL,
                              stderr=open(work + '/emulator.log', 'w'))]
    proxy('graph', graph_port, emu_port)
    proxy('bot', bot_port, engine_port)
    env = dict(os.environ, DIALTONE_GRAPH_URL='http://127.0.0.1:%d/v1.0' % graph_port,
               DIALTONE_TOKEN_URL='%s/%s/oauth2/v2.0/token' % (emu, TENANT), DIALTONE_TENANT_ID=TENANT,
               DIALTONE_CLIENT_ID=APP, DIALTONE_CLIENT_SECRET='capture',
               DIALTONE_INBOUND_OPENID_CONFIG=emu + '/.well-known/openid-configuration',
               DIALTONE_LISTEN='127.0.0.1:%d' % engine_port, DIALTONE_PUBLIC_URL='http://127.0.0.1:%d' % bot_port,
               DIALTONE_FLOWS=work + '/flows', DIALTONE_PROMPTS_DIR=SRC + '/flows/prompts',
               DIALTONE_CDR=work + '/cdr.jsonl', DIALTONE_RECORDINGS=work + '/recordings')
    procs.append(subprocess.Popen([BUILD + '/dialtone', 'run'], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(work + '/engine.log', 'w')))
    try:
        for url in (emu + '/.well-known/openid-configuration', 'http://127.0.0.1:%d/healthz' % engine_port):
            for _ in range(300):  # the emulator generates its signing key first
                try:
                    urllib.request.urlopen(url, timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
        ids = []
        for script in json.load(open(SRC + '/tests/bench/demo_scripts.json')):
            req = urllib.request.Request(emu + '/emulator/calls', data=json.dumps({'script': script}).encode(),
                                         headers={'Content-Type': 'application/json'}, method='POST')
            ids.append(json.load(urllib.request.urlopen(req))['id'])
            time.sleep(3)  # the call ends well before: one call at a time
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    calls = []
    for cid, name in zip(ids, NAMES):
        def tmpl(s):
            return s.replace(callback, '{{callback}}').replace(emu, '{{base}}').replace(cid, '{{call}}')
        steps = []
        for e in sorted(log, key=lambda e: e['t']):
            if cid not in e['path'] and cid not in e['req']:
                continue
            if e['side'] == 'bot' and e['method'] == 'POST':
                steps.append({'notify': json.loads(tmpl(e['req']))})
            elif e['side'] == 'graph':
                seg = e['path'].rstrip('/').split('/')[-1]
                step = {'request': e['method'] + ' ' + ('call' if seg == cid else seg), 'status': e['status']}
                if e['resp']:
                    step['body'] = json.loads(tmpl(e['resp']))
                steps.append(step)
        last = steps[-1].get('notify', {}).get('value', [{}])[0].get('resourceData', {}) if steps else {}
        if last.get('state') != 'terminated':
            print('capture_light: the %s call did not end with a terminated notification (see %s)' % (name, work),
                  file=sys.stderr)
            return 1
        calls.append({'comment': name + ' (flows/main.lua, captured from the full emulator)', 'steps': steps})

    def dump(path, cs):
        with open(path, 'w') as f:
            f.write('[\n' + ',\n'.join('  {"comment": %s,\n   "steps": [\n%s]}' % (
                json.dumps(c['comment']), ',\n'.join('    ' + json.dumps(s, separators=(',', ':')) for s in c['steps']))
                for c in cs) + '\n]\n')
    dump(SRC + '/tests/bench/light_demo.json', calls)
    dump(SRC + '/tests/bench/light_menu.json', [calls[0], calls[2], calls[3]])  # the demo without voicemail
    for c in calls:
        print('%-80s %2d steps' % (c['comment'], len(c['steps'])))
    shutil.rmtree(work, ignore_errors=True)  # kept on failure: the engine's and emulator's logs
    return 0


if __name__ == '__main__':
    sys.exit(main())
