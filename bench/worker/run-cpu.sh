#!/usr/bin/env bash
# CPU per completed 50-chunk stream: the promptfleet worker (SSE parsing + Kafka publishing + share-group acks)
# side by side with the Python asyncio/aiohttp baseline (parsing only), against the same node mock upstream.
# Worker runs alternate between its own Vert.x setup (native transport, one event loop per core) and Vertx.vertx(),
# and, within each, between the provider protocols: openai against the OpenAI mock, anthropic against
# mock-anthropic.js (the same 49 text deltas as Anthropic Messages events).
# Env: MOCK_PORT (18080), ANTHROPIC_MOCK_PORT (18081), PROTOCOLS ("openai anthropic"), PY_DURATION (10), REPEAT (2),
#      VARIANTS ("worker plain"), COALESCE_MS (0),
#      STREAMS/ROUNDS/WARMUP/SLOTS/LANES (see WorkerCpuBench), JAVA_OPTS (extra JVM flags for the worker).
source "$(dirname "$0")/common.sh"
MOCK_PORT=${MOCK_PORT:-18080}
BASELINES=${BASELINES:-/work/shared/baselines}
build_classpath
ANTHROPIC_MOCK_PORT=${ANTHROPIC_MOCK_PORT:-18081}
PORT=$MOCK_PORT node "$BASELINES/mock-upstream.js" & PIDS+=($!)
PORT=$ANTHROPIC_MOCK_PORT node "$BENCH/mock-anthropic.js" & PIDS+=($!)
sleep 1
start_broker
URL=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
python_baseline() {
  if ! /usr/bin/python3 -c 'import aiohttp' 2>/dev/null; then
    echo "the Python baseline needs aiohttp for Debian's python3: apt-get install -y python3-aiohttp" >&2
    exit 2
  fi
  echo "--- Python baseline (aiohttp, semaphore 100, parsing only)"
  N=200 SEM=100 DURATION=${PY_DURATION:-10} URL=$URL /usr/bin/python3 "$BASELINES/aiohttp_sse_bench.py"
}
python_baseline
for _ in $(seq 1 "${REPEAT:-2}"); do
  for v in ${VARIANTS:-worker plain}; do
    for protocol in ${PROTOCOLS:-openai anthropic}; do
      port=$MOCK_PORT
      [ "$protocol" = anthropic ] && port=$ANTHROPIC_MOCK_PORT
      echo "--- promptfleet worker, VERTX=$v protocol=$protocol coalesce_ms=${COALESCE_MS:-0} (-Xmx1g ${JAVA_OPTS:-})"
      VERTX=$v PROTOCOL=$protocol COALESCE_MS=${COALESCE_MS:-0} UPSTREAM=http://127.0.0.1:$port/v1 \
        java -Xmx1g ${JAVA_OPTS:-} -cp "$CP" io.promptfleet.bench.worker.WorkerCpuBench
    done
  done
done
python_baseline
