#!/usr/bin/env bash
# broker.sh start|stop -- the tests' own Kafka broker (ctest fixture): a
# separate port and state directory under the build tree, so a broker a
# user runs on 9092 is neither used nor disturbed. stop also deletes the data.
# DHATU_TEST_NBROKERS and DHATU_TEST_SECURITY make it a cluster (kafka.sh's
# KAFKA_BROKERS and KAFKA_SECURITY), as the secured fixture does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export KAFKA_PORT=${DHATU_TEST_KAFKA_PORT:-19092}
export KAFKA_BROKERS=${DHATU_TEST_NBROKERS:-1} KAFKA_SECURITY=${DHATU_TEST_SECURITY:-plaintext}
export KAFKA_STATE_DIR=${DHATU_TEST_KAFKA_DIR:?set by ctest}
case "$1" in
  start) "$here/../../deploy/local/kafka.sh" start ;;
  stop)  "$here/../../deploy/local/kafka.sh" wipe ;;
esac
