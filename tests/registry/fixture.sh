#!/usr/bin/env bash
# fixture.sh start|stop -- the tests' own schema registry (ctest fixture
# "registry"): Apicurio on its own port and state directory under the build
# tree (deploy/local/registry.sh); stop also deletes the state. start also
# resolves the Java client's classpath (Maven), so its first download is
# not charged to a scenario's time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export REGISTRY_PORT=${DHATU_TEST_REGISTRY_PORT:?set by ctest}
export REGISTRY_STATE_DIR=${DHATU_TEST_REGISTRY_DIR:?set by ctest}
case "$1" in
  start)
    "$here/../../deploy/local/registry.sh" start
    cp_file=${DHATU_TEST_BUILD:?set by ctest}/tests/registry-client.classpath
    if [ ! -s "$cp_file" ]; then
      (cd "$here" && mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cp_file")
    fi ;;
  stop) "$here/../../deploy/local/registry.sh" wipe ;;
esac
