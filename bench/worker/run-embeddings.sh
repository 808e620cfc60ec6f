#!/usr/bin/env bash
# Embeddings jobs through one worker JVM against the simulated provider (its own JVM): jobs/s and MB/s of results
# readable on the reply topic. Three JVMs: broker, simulator, worker (+ the result reader).
# Env: INPUTS (16), DIMS (1536), ENCODING (float), JOBS per round (1000), ROUNDS (5), WARMUP (4000), SLOTS (64),
#      LANES (4), SIM_PORT (18081); VARIANTS (default "float base64": encodings run one after the other).
source "$(dirname "$0")/common.sh"
# Built in the reactor (no install into the shared local repository).
(cd "$ROOT" && mvn -B -o -q -pl bench/worker -am compile dependency:build-classpath \
  -Dmdep.outputFile="$BENCH/target/cp.txt")
CP="$BENCH/target/classes:$(cat "$BENCH/target/cp.txt")"
for m in common worker simulator embedded-kafka; do CP="$ROOT/$m/target/classes:$CP"; done
start_broker
SIM_PORT=${SIM_PORT:-18081}
java -Xmx512m -cp "$CP" io.promptfleet.simulator.SimulatorMain --port "$SIM_PORT" --ttft-ms 0 \
  > "$BENCH/target/sim.out" 2> "$BENCH/target/sim.err" &
PIDS+=($!)
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$SIM_PORT/health" > /dev/null && break; sleep 0.5; done
for enc in ${VARIANTS:-float base64}; do
  echo "=== encoding_format $enc"
  ENCODING=$enc UPSTREAM="http://127.0.0.1:$SIM_PORT/v1" java -Xmx1g -cp "$CP" \
    io.promptfleet.bench.worker.EmbeddingsBench 2> "$BENCH/target/embeddings-$enc.err"
done
