#!/usr/bin/env python3
"""fake_registry.py PORT_FILE CERT KEY -- an HTTPS server with basic
authentication that answers like a Confluent-compatible registry, each path
scripted to one behaviour the client must handle (test_registry.c):

  GET  /schemas/ids/1        200 {"schema": ...}
  GET  /schemas/ids/404      404 {"error_code": 40403, ...}
  GET  /schemas/ids/500      500, every time
  GET  /schemas/ids/503      503 twice, then 200
  GET  /schemas/ids/7        200 {"schema": ..., "schemaType": "PROTOBUF"}
  GET  /schemas/ids/999      answers after 3 s (the client times out first)
  POST /subjects/s-value/versions  200 {"id": 42} (the body must hold "schema")
  GET  /hits                 requests served so far, as text (not counted)
Every other request, and any without the Authorization of user "u" and
password "p w:d", gets 401. The port is written to PORT_FILE once it listens
(127.0.0.1, a free port). Standard library only.
"""
import base64
import http.server
import json
import ssl
import sys
import threading
import time

port_file, cert, key = sys.argv[1:4]
AUTH = "Basic " + base64.b64encode(b"u:p w:d").decode()
SCHEMA = '{"type":"record","name":"A","fields":[{"name":"id","type":"string"}]}'
state = {"hits": 0, "503": 0}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, obj):
        body = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/hits":
            return self.answer(200, str(state["hits"]))
        with lock:
            state["hits"] += 1
        if self.headers.get("Authorization") != AUTH:
            return self.answer(401, {"error_code": 401, "message": "Unauthorized"})
        p = self.path
        if p == "/schemas/ids/1":
            return self.answer(200, {"schema": SCHEMA})
        if p == "/schemas/ids/7":
            return self.answer(200, {"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"})
        if p == "/schemas/ids/500":
            return self.answer(500, {"error_code": 50001, "message": "store error"})
        if p == "/schemas/ids/503":
            with lock:
                state["503"] += 1
                n = state["503"]
            if n <= 2:
                return self.answer(503, {"error_code": 50003, "message": "unavailable"})
            return self.answer(200, {"schema": SCHEMA})
        if p == "/schemas/ids/999":
            time.sleep(3)
            return self.answer(200, {"schema": SCHEMA})
        return self.answer(404, {"error_code": 40403, "message": "Schema not found"})

    def do_POST(self):
        with lock:
            state["hits"] += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Authorization") != AUTH:
            return self.answer(401, {"error_code": 401, "message": "Unauthorized"})
        if self.path != "/subjects/s-value/versions":
            return self.answer(404, {"error_code": 40401, "message": "Subject not found"})
        try:
            ok = "schema" in json.loads(body)
        except ValueError:
            ok = False
        return self.answer(200 if ok else 422, {"id": 42} if ok else {"error_code": 42201, "message": "bad"})


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
