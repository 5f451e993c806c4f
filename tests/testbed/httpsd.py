#!/usr/bin/env python3
"""httpsd.py: the test bed's HTTPS server for MTA-STS policies.

    httpsd.py ADDR PORT DIR

Serves https://HOST/.well-known/mta-sts.txt for each DIR/sites/HOST/:
  body      the response body (bytes, as is)
  status    HTTP status (default 200)
  type      Content-Type (default text/plain)
  location  a Location header (for redirects)
  delay     seconds to wait before answering
The certificate is chosen by SNI: DIR/certs/NAME.pem (certificate and
key) for server name NAME, else DIR/certs/default.pem. Any other path, or
a host without a site, gets 404. Requests are logged to stderr. For tests
only: it trusts its directory.
"""
import http.server
import os
import ssl
import sys
import time


def read(site, name, default=None):
    path = os.path.join(site, name)
    if not os.path.exists(path):
        return default
    with open(path, "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        site = os.path.join(ROOT, "sites", host)
        if self.path != "/.well-known/mta-sts.txt" or not os.path.isdir(site):
            self.answer(404, b"text/plain", b"not found\n", None)
            return
        delay = read(site, "delay")
        if delay:
            time.sleep(float(delay))
        self.answer(int(read(site, "status", b"200")),
                    read(site, "type", b"text/plain").strip(),
                    read(site, "body", b""), read(site, "location"))

    def answer(self, status, ctype, body, location):
        self.send_response(status)
        self.send_header("Content-Type", ctype.decode())
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location.decode().strip())
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a body too large for it)


def main():
    global ROOT
    addr, port, ROOT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    certs = os.path.join(ROOT, "certs")
    contexts = {}
    for name in os.listdir(certs):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, name))
        contexts[name[:-4]] = ctx
    default = contexts["default"]

    def pick(sock, name, _ctx):
        if name in contexts:
            sock.context = contexts[name]

    default.sni_callback = pick
    server = http.server.ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    server.socket = default.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
