# Sourced by the run-*.sh scripts: builds the bench classpath and starts/stops a broker in its own JVM.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$ROOT/bench/worker
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# build_classpath: compiles the bench and the modules it uses in one reactor, whose sibling modules resolve to their
# target/classes, so nothing is installed into the (possibly shared) local Maven repository.
build_classpath() {
  (cd "$ROOT" && mvn -B -o -q -pl bench/worker -am compile dependency:build-classpath \
    -Dmdep.outputFile=target/cp.txt)
  CP="$BENCH/target/classes:$(cat "$BENCH/target/cp.txt")"
}

# start_broker: sets BOOTSTRAP; the broker runs in its own JVM so its CPU is not counted as the worker's.
start_broker() {
  local log=$BENCH/target/broker.log
  java -Xmx512m -cp "$CP" io.promptfleet.kafka.embedded.EmbeddedKafkaMain --port "${KAFKA_PORT:-19092}" \
    --prop group.share.min.record.lock.duration.ms=1000 > "$BENCH/target/broker.out" 2> "$log" &
  PIDS+=($!)
  for _ in $(seq 1 120); do
    if grep -q "KAFKA READY" "$BENCH/target/broker.out" 2>/dev/null; then
      BOOTSTRAP=$(sed -n 's/^KAFKA READY //p' "$BENCH/target/broker.out")
      export BOOTSTRAP
      echo "broker ready at $BOOTSTRAP"
      return
    fi
    sleep 0.5
  done
  echo "broker did not start; see $log" >&2
  exit 1
}
