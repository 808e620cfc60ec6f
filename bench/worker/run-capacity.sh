#!/usr/bin/env bash
# Concurrent streams held by one worker JVM (-Xmx1g) and the latency it adds to each chunk (upstream write ->
# readable on the reply topic). Three JVMs: broker, load side (paced upstream + reply reader), worker.
# Env: PHASES (default "10000:1:120:30:60 2000:20:1200:20:40" = streams:tokens_per_s:tokens:warmup_s:measure_s),
#      LANES (16), SLOTS (the phase's streams), COALESCE_MS (0), LOAD_PORT (18090).
source "$(dirname "$0")/common.sh"
build_classpath
start_broker
LOAD_PORT=${LOAD_PORT:-18090}
for phase in ${PHASES:-10000:1:120:30:60 2000:20:1200:20:40}; do
  IFS=: read -r streams tps tokens warmup measure <<< "$phase"
  export PREFIX=bench-cap-$streams-$(date +%s) PORT=$LOAD_PORT
  echo "=== $streams concurrent streams at $tps tokens/s ($tokens tokens each)"
  out=$BENCH/target/load-$streams.out
  TOKENS=$tokens TPS=$tps WARMUP_S=$warmup DURATION_S=$measure java -Xmx768m -cp "$CP" \
    io.promptfleet.bench.worker.CapacityLoad > "$out" 2> "$BENCH/target/load-$streams.err" &
  load=$!
  PIDS+=($load)
  for _ in $(seq 1 120); do grep -q "LOAD READY" "$out" 2>/dev/null && break; sleep 0.5; done
  STREAMS=$streams DURATION_S=$((warmup + measure + 15)) java -Xmx1g -cp "$CP" \
    io.promptfleet.bench.worker.CapacityWorker 2> "$BENCH/target/worker-$streams.err"
  wait "$load" || true
  grep -v "LOAD READY" "$out"
done
