#!/usr/bin/env python3
"""A registry server that misbehaves on demand, for tests/lab/test_faults.sh.

  registry_server.py DIR PORTFILE CERT_A KEY_A CERT_B KEY_B

Serves DIR/list.txt over HTTPS on 127.0.0.1 (the port goes to PORTFILE).
Before every request it reads DIR/mode, one of:
  ok        the list
  500       an internal server error
  stall     the headers and half the list, then nothing for 60 s
  reset     the headers and half the list, then a TCP reset
  truncated the headers (full Content-Length) and half the list, then close
  huge      ten times the list's size of list lines
  garbage   random bytes
  cert-b    the list, but over a certificate the client does not trust
"""
import http.server
import os
import random
import socket
import ssl
import struct
import sys
import time

DIR, PORTFILE, CERT_A, KEY_A, CERT_B, KEY_B = sys.argv[1:7]


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


CTX = {"a": context(CERT_A, KEY_A), "b": context(CERT_B, KEY_B)}


def mode():
    try:
        return open(os.path.join(DIR, "mode")).read().strip()
    except OSError:
        return "ok"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        ctx = CTX["b" if mode() == "cert-b" else "a"]
        try:
            return ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = open(os.path.join(DIR, "list.txt"), "rb").read()
        m = mode()
        if m == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if m == "huge":
            body = body * 10
        if m == "garbage":
            r = random.Random(7)
            body = bytes(r.randrange(256) for _ in range(len(body)))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if m in ("stall", "reset", "truncated"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if m == "stall":
                time.sleep(60)
            elif m == "reset":
                raw = self.connection.unwrap() if hasattr(self.connection, "unwrap") else self.connection
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
            self.close_connection = True
            return
        self.wfile.write(body)


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE, "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
