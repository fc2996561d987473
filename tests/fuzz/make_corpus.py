#!/usr/bin/env python3
"""Regenerates the document-derived seeds of tests/fuzz/corpus/ from the reference documents.

    python3 tests/fuzz/make_corpus.py REFERENCE_DIR   # the dir holding graph-*.md

What it writes (file names are stable, so re-running changes nothing unless the documents
change; hand-written seeds and saved crashes in the same directories are left alone):
  corpus/fuzz_notify/doc-*.json       every ```json block of graph-*.md and every JSON body of
                                      an ```http block (requests, responses, notifications)
  corpus/fuzz_http_request/doc-*.http every HTTP request of graph-*.md as it would arrive at
                                      dialtone: origin-form target, CRLF, Host, Content-Length;
                                      a notification's headers are joined with its JSON body
"""
import glob
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def blocks(text):
    """(lang, body) for each fenced block, in order."""
    for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.S | re.M):
        yield m.group(1).lower(), m.group(2)


def name_for(prefix, data, ext):
    return "%s-%s.%s" % (prefix, hashlib.sha1(data).hexdigest()[:12], ext)


def as_request(head, body):
    lines = [l.rstrip("\r") for l in head.strip("\n").split("\n")]
    first = lines[0].split()
    if len(first) < 2 or first[0] not in METHODS:
        return None
    url = first[1]
    host = "bot.contoso.com"
    m = re.match(r"https?://([^/]+)(/.*)?$", url)
    if m:
        host, url = m.group(1), m.group(2) or "/"
    out = ["%s %s HTTP/1.1" % (first[0], url), "Host: " + host]
    for l in lines[1:]:
        if ":" in l and not l.lower().startswith(("content-length:", "host:")):
            out.append(l)
    raw = body.encode()
    if raw:
        out.append("Content-Length: %d" % len(raw))
    return ("\r\n".join(out) + "\r\n\r\n").encode() + raw


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    docs = sorted(glob.glob(os.path.join(sys.argv[1], "graph-*.md")))
    if not docs:
        sys.exit("no graph-*.md in " + sys.argv[1])
    notify, http = {}, {}
    for path in docs:
        pending_head = None  # an http request block without a body, waiting for its json
        for lang, body in blocks(open(path, encoding="utf-8").read()):
            if lang == "json":
                data = body.encode()
                notify[name_for("doc", data, "json")] = data
                if pending_head is not None:
                    req = as_request(pending_head, body)
                    if req:
                        http[name_for("doc", req, "http")] = req
                pending_head = None
                continue
            pending_head = None
            if lang != "http":
                continue
            head, _, rest = body.partition("\n\n")
            if rest.strip().startswith(("{", "[")):
                data = rest.encode()
                notify[name_for("doc", data, "json")] = data
            first = head.split(None, 1)[0] if head.strip() else ""
            if first in METHODS:
                if rest.strip():
                    req = as_request(head, rest)
                    if req:
                        http[name_for("doc", req, "http")] = req
                else:
                    pending_head = head
                    req = as_request(head, "")
                    if req:
                        http[name_for("doc", req, "http")] = req
    for target, files in (("fuzz_notify", notify), ("fuzz_http_request", http)):
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%s: %d document seeds" % (target, len(files)))


if __name__ == "__main__":
    main()
