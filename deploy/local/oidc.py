#!/usr/bin/env python3
"""oidc.py -- a throwaway OpenID Connect token endpoint for the local secured
cluster (deploy/local/kafka.sh, KAFKA_SECURITY=sasl_ssl), so that SASL/
OAUTHBEARER is tested end to end: librdkafka's sasl.oauthbearer.method=oidc
asks it for a token (OAuth 2.0 client credentials grant), the brokers verify
the token's RS256 signature against the key set this script writes (a file,
sasl.oauthbearer.jwks.endpoint.url=file://...), its issuer, audience and
expiry, and take its subject as the principal (User:dhatu-consumer), whose
ACLs then apply as for SCRAM.

  oidc.py init DIR           an RSA key (DIR/key.pem) and its key set (DIR/jwks.json)
  oidc.py serve DIR PORT     POST /token on 127.0.0.1:PORT until killed

Clients and their secrets: DIR/clients, "id secret" lines (kafka.sh writes
it from the principals' passwords). A wrong secret gets 401 invalid_client.
Tokens live DHATU_OIDC_TTL seconds (default 3600). Signing uses the openssl
command (Python's standard library has no RSA). Test use only: no TLS on the
endpoint, one key, no rotation.
"""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISSUER = "dhatu-local-idp"
AUDIENCE = "dhatu-stream"
KID = "dhatu-local-1"
TTL = int(os.environ.get("DHATU_OIDC_TTL", "3600"))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def init(d):
    os.makedirs(d, mode=0o700, exist_ok=True)
    key = os.path.join(d, "key.pem")
    if not os.path.exists(key):
        subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
        os.chmod(key, 0o600)
    mod = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True, capture_output=True,
                         text=True).stdout.strip().split("=", 1)[1]
    jwk = {"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "n": b64url(bytes.fromhex(mod)),
           "e": b64url((65537).to_bytes(3, "big"))}
    with open(os.path.join(d, "jwks.json"), "w") as f:
        json.dump({"keys": [jwk]}, f)


def token(d, sub, scope):
    now = int(time.time())
    head = {"alg": "RS256", "typ": "JWT", "kid": KID}
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now,
            "exp": now + TTL, "scope": scope or "kafka"}
    signing = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(body).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(d, "key.pem")], input=signing,
                         check=True, capture_output=True).stdout
    return signing.decode() + "." + b64url(sig)


def clients(d):
    out = {}
    for line in open(os.path.join(d, "clients")):
        f = line.split()
        if len(f) == 2:
            out[f[0]] = f[1]
    return out


def serve(d, port):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path.split("?")[0] != "/token":
                return self.reply(404, {"error": "not_found"})
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode())
            cid, secret = (form.get("client_id") or [""])[0], (form.get("client_secret") or [""])[0]
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            if (form.get("grant_type") or [""])[0] != "client_credentials":
                return self.reply(400, {"error": "unsupported_grant_type"})
            known = clients(d)
            if cid not in known or known[cid] != secret:
                return self.reply(401, {"error": "invalid_client"})
            self.reply(200, {"access_token": token(d, cid, (form.get("scope") or [""])[0]), "token_type": "bearer",
                             "expires_in": TTL})

        def log_message(self, fmt, *args):
            sys.stderr.write("oidc.py: %s\n" % (fmt % args))

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "init":
        init(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
