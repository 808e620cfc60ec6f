#!/usr/bin/env bash
# Concurrent streams held by one worker JVM (-Xmx1g) and the latency it adds to each chunk (upstream write ->
# readable on the reply topic). Three JVMs: broker, load side (paced upstream + reply reader), worker. Each phase runs
# once per variant (how the worker connects to the upstream), side by side, then a table of all runs.
# Env: PHASES (default "10000:1:120:30:60 2000:20:1200:20:40" = streams:tokens_per_s:tokens:warmup_s:measure_s),
#      VARIANTS (default "http1 http1-tls h2-tls"; also h2c and auto), LANES (16), SLOTS (the phase's streams),
#      COALESCE_MS (0), CHUNKS_IN_FLIGHT (the worker's default, 1; 0 as in the runs before it was), LOAD_PORT
#      (18090; variant i listens on LOAD_PORT + i), MAX_STREAMS_PER_CONNECTION and H2_MAX_STREAMS (100, worker and
#      upstream), MAX_PENDING_CONNECTS (the worker's default, 32), MAX_CONNECTIONS.
source "$(dirname "$0")/common.sh"

# variant -> "TLS HTTP": whether the upstream serves HTTPS, and the worker's providers.up.connections.http_version
variant_env() {
  case "$1" in
    http1) echo "0 http1" ;;
    http1-tls) echo "1 http1" ;;
    h2-tls) echo "1 auto" ;; # ALPN offers h2 and http/1.1; the upstream picks h2
    h2c) echo "0 h2c" ;;
    auto) echo "0 auto" ;;   # plain: HTTP/1.1
    *) echo "unknown variant $1 (http1, http1-tls, h2-tls, h2c, auto)" >&2; exit 2 ;;
  esac
}

build_classpath
start_broker
LOAD_PORT=${LOAD_PORT:-18090}
VARIANTS=${VARIANTS:-http1 http1-tls h2-tls}
export H2_MAX_STREAMS=${H2_MAX_STREAMS:-100}
export MAX_STREAMS_PER_CONNECTION=${MAX_STREAMS_PER_CONNECTION:-$H2_MAX_STREAMS}
table=$BENCH/target/capacity-table.md
echo "| phase | variant | load avg (1 min) before | streams held: with a chunk in every 5 s window (load side) / on a connection at the window end (worker) | retried jobs | connect failures | connections opened (worker) | peak open connections (upstream) | worker CPU (cores) | CPU ms per held stream per second | added latency p50 / p99 |" > "$table"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |" >> "$table"
field() { sed -n "s/^RESULT $1 .*\\b$2=\\([^ ]*\\).*/\\1/p" "$3"; }
for phase in ${PHASES:-10000:1:120:30:60 2000:20:1200:20:40}; do
  IFS=: read -r streams tps tokens warmup measure <<< "$phase"
  i=0
  for variant in $VARIANTS; do
    read -r tls http <<< "$(variant_env "$variant")"
    port=$((LOAD_PORT + i)) # a port per variant: the last variant's connections in TIME_WAIT are no concern
    i=$((i + 1))
    export PREFIX=bench-cap-$streams-$variant-$(date +%s) PORT=$port TLS=$tls
    load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "=== $streams concurrent streams at $tps tokens/s ($tokens tokens each), variant $variant" \
      "(TLS=$tls, http_version=$http), load average $load_avg"
    out=$BENCH/target/load-$streams-$variant.out
    wout=$BENCH/target/worker-$streams-$variant.out
    # the upstream serves on (LINGER_S) after its report until the worker has finished: stopped below
    TOKENS=$tokens TPS=$tps WARMUP_S=$warmup DURATION_S=$measure LINGER_S=600 java -Xmx768m -cp "$CP" \
      io.promptfleet.bench.worker.CapacityLoad > "$out" 2> "$BENCH/target/load-$streams-$variant.err" &
    load=$!
    PIDS+=($load)
    for _ in $(seq 1 120); do grep -q "LOAD READY" "$out" 2>/dev/null && break; sleep 0.5; done
    if ! grep -q "LOAD READY" "$out"; then
      echo "the load side did not start; see $BENCH/target/load-$streams-$variant.err" >&2
      exit 1
    fi
    ca=$(sed -n 's/^LOAD CA //p' "$out")
    # the worker runs until the load side has reported (its window counts from its first chunk), then stops
    stop=$BENCH/target/stop-$streams-$variant
    rm -f "$stop" "$wout"
    CA_FILE=$ca HTTP=$http STREAMS=$streams WARMUP_S=$warmup MEASURE_S=$measure STOP_FILE=$stop \
      DURATION_S=$((warmup + measure + 180)) java -Xmx1g -cp "$CP" \
      io.promptfleet.bench.worker.CapacityWorker 2> "$BENCH/target/worker-$streams-$variant.err" > "$wout" &
    worker=$!
    PIDS+=($worker)
    tail -n +1 -F "$wout" --pid "$worker" 2>/dev/null &
    while kill -0 "$worker" 2>/dev/null && ! grep -q "^RESULT load" "$out"; do sleep 1; done
    touch "$stop"
    wait "$worker" || true
    kill "$load" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    grep -v "LOAD READY\|LOAD CA" "$out"
    printf '| %s × %s token/s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s / %s ms |\n' \
      "$streams" "$tps" "$variant" "${load_avg%% *}" "$(field load held "$out")" "$(field worker held "$wout")" \
      "$(field worker retried "$wout")" "$(field worker connect_failures "$wout")" \
      "$(field worker conns_opened "$wout")" "$(field load peak_conns "$out")" "$(field worker cpu_cores "$wout")" \
      "$(field worker cpu_ms_per_stream_s "$wout")" "$(field load p50 "$out")" "$(field load p99 "$out")" >> "$table"
  done
done
echo
echo "=== all runs (also in $table)"
cat "$table"
