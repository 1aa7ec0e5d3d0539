#!/usr/bin/env bash
# registry.sh -- a schema registry on this machine: Apicurio Registry 2.6.13
# (in-memory storage), which serves the Confluent-compatible REST API at
# /apis/ccompat/v6, for the tests and anyone trying the registry formats.
#
#   registry.sh start     fetch it (Maven Central, once), start it on 127.0.0.1,
#                         wait until it answers; the last line printed is the
#                         Confluent-compatible URL. Reuses a running one.
#   registry.sh stop      stop it (SIGTERM, then SIGKILL after 20 s)
#   registry.sh status    exit 0 and print the URL if it answers
#   registry.sh wipe      stop, then delete the state directory
#
# Environment: REGISTRY_PORT (8081), REGISTRY_STATE_DIR (deploy/local/.registry;
# tests use their own), REGISTRY_HEAP (384m). Storage is in memory: a restart
# forgets every schema (the tests rely on that to start clean).
# Needs: java 17+ (Apicurio 3.x would need 21), mvn (first start only), curl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${REGISTRY_PORT:-8081}
state=${REGISTRY_STATE_DIR:-$here/.registry}
version=2.6.13.Final
dist=$here/target/apicurio-registry-$version
url=http://127.0.0.1:$port/apis/ccompat/v6

die() { echo "registry.sh: $*" >&2; exit 1; }

fetch() {
  [ -f "$dist/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (scripts/deps.sh installs it)"
  mkdir -p "$here/target"
  exec 8>"$here/target/.registry-fetch.lock"
  flock 8
  [ -f "$dist/.complete" ] && return 0
  echo "registry.sh: fetching Apicurio Registry $version from Maven Central (once, 140 MB)" >&2
  local tmp; tmp=$(mktemp -d)
  mvn -q -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$version:tar.gz:all" \
    -DoutputDirectory="$tmp" >&2 || { rm -rf "$tmp"; die "mvn dependency:copy failed"; }
  rm -rf "$dist" && mkdir -p "$dist"
  tar -xzf "$tmp"/apicurio-registry-app-$version-all.tar.gz -C "$dist" || die "unpacking failed"
  rm -rf "$tmp"
  touch "$dist/.complete"
}

answers() { curl -sf --max-time 2 "$url/subjects" >/dev/null 2>&1; }
pid() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null && cat "$state/pid"; }

start() {
  if pid >/dev/null && answers; then echo "$url"; return 0; fi
  command -v java >/dev/null || die "java not found (scripts/deps.sh installs it)"
  local jv; jv=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ "${jv:-0}" -ge 17 ] || die "Apicurio Registry 2.6 needs Java 17 or newer (found ${jv:-none})"
  if ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$port\$"; then
    die "port $port is taken (set REGISTRY_PORT)"
  fi
  fetch
  mkdir -p "$state"
  # 127.0.0.1 only; no authentication (local use). Quarkus reads these.
  QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=$port QUARKUS_LOG_FILE_ENABLE=false \
    setsid java -Xmx"${REGISTRY_HEAP:-384m}" -XX:+UseSerialGC -Djava.io.tmpdir="$state" \
    -jar "$dist"/apicurio-registry-app-$version-runner.jar >"$state/registry.log" 2>&1 &
  echo $! >"$state/pid"
  local _
  for _ in $(seq 1 120); do
    answers && { echo "$url"; return 0; }
    kill -0 "$(cat "$state/pid")" 2>/dev/null || { tail -20 "$state/registry.log" >&2; die "it exited"; }
    sleep 0.5
  done
  tail -20 "$state/registry.log" >&2
  die "no answer at $url within 60 s"
}

stop() {
  local p; p=$(pid) || return 0
  kill -TERM "$p" 2>/dev/null || true
  local _
  for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$p" 2>/dev/null || true
  rm -f "$state/pid"
}

case "${1:-}" in
  start)  start ;;
  stop)   stop ;;
  status) if pid >/dev/null && answers; then echo "$url"; else echo "registry.sh: not running" >&2; exit 1; fi ;;
  wipe)   stop; rm -rf "$state" ;;
  *)      echo "usage: registry.sh start|stop|status|wipe" >&2; exit 2 ;;
esac
