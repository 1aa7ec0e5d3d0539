#!/usr/bin/env bash
# broker.sh start|stop -- the tests' own Kafka broker (ctest fixture): a
# separate port and state directory under the build tree, so a broker a
# user runs on 9092 is neither used nor disturbed. stop also deletes the data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export KAFKA_PORT=${DHATU_TEST_KAFKA_PORT:-19092}
export KAFKA_STATE_DIR=${DHATU_TEST_KAFKA_DIR:?set by ctest}
case "$1" in
  start) "$here/../../deploy/local/kafka.sh" start ;;
  stop)  "$here/../../deploy/local/kafka.sh" wipe ;;
esac
