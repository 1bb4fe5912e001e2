"""A CouchDB stand-in for instance_scripts.rs: TLS on a loopback port, CouchDB's answers to the
calls the CouchDB set-up makes (/_up, PUT /<db> -> 201 or 412, POST /_replicator), every
request recorded as a JSON line. Passwords are recorded as their SHA-256 only.

usage: fake_couchdb.py PORT_FILE LOG CERT KEY [METHOD:PATH:STATUS,...]
"""

import base64
import hashlib
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log, cert, key = sys.argv[1:5]
faults = {}
for fault in (sys.argv[5] if len(sys.argv) > 5 else "").split(","):
    if fault:
        method, path, status = fault.split(":")
        faults[(method, path)] = int(status)
databases = set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        user, password = None, None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        record = {
            "method": method,
            "path": self.path,
            "user": user,
            "password_sha256": hashlib.sha256(password.encode()).hexdigest() if password is not None else None,
            "body": body.replace(password, "<password>") if password else body,
        }
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
        status = faults.get((method, self.path))
        if status is None:
            if method == "GET" and self.path == "/_up":
                status = 200
            elif method == "PUT" and user == "admin":
                status = 412 if self.path in databases else 201
                databases.add(self.path)
            elif method == "POST" and self.path == "/_replicator" and user == "admin":
                status = 201
            elif user is None and method != "GET":
                status = 401
            else:
                status = 404
        out = b'{"ok":true}' if status < 300 else b'{"error":"test"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        self.answer("GET")

    def do_PUT(self):
        self.answer("PUT")

    def do_POST(self):
        self.answer("POST")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
