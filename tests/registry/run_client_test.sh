#!/usr/bin/env bash
# run_client_test.sh TEST_BINARY -- test_registry against fake_registry.py: a
# throwaway CA and a server certificate for 127.0.0.1 (openssl), the server on
# a free port, the Check suite with DHATU_TEST_REGISTRY_URL and _CA, cleanup.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=test CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile srv.ext -out srv.pem 2>/dev/null
python3 "$here/fake_registry.py" port srv.pem srv.key &
pid=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || { echo "fake_registry.py did not start"; exit 1; }
DHATU_TEST_REGISTRY_URL=https://127.0.0.1:$(cat port) DHATU_TEST_REGISTRY_CA=$work/ca.pem "$1"
