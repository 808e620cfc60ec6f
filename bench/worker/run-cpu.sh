#!/usr/bin/env bash
# CPU per completed 50-chunk stream: the promptfleet worker (SSE parsing + Kafka publishing + share-group acks)
# side by side with the Python asyncio/aiohttp baseline (parsing only), against the same node mock upstream.
# Worker runs alternate between its own Vert.x setup (native transport, one event loop per core) and Vertx.vertx().
# Env: MOCK_PORT (18080), PY_DURATION (10), REPEAT (2), VARIANTS ("worker plain"), COALESCE_MS (0),
#      STREAMS/ROUNDS/WARMUP/SLOTS/LANES (see WorkerCpuBench), JAVA_OPTS (extra JVM flags for the worker).
source "$(dirname "$0")/common.sh"
MOCK_PORT=${MOCK_PORT:-18080}
BASELINES=${BASELINES:-/work/shared/baselines}
build_classpath
PORT=$MOCK_PORT node "$BASELINES/mock-upstream.js" & PIDS+=($!)
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
    echo "--- promptfleet worker, VERTX=$v coalesce_ms=${COALESCE_MS:-0} (-Xmx1g ${JAVA_OPTS:-})"
    VERTX=$v COALESCE_MS=${COALESCE_MS:-0} UPSTREAM=http://127.0.0.1:$MOCK_PORT/v1 \
      java -Xmx1g ${JAVA_OPTS:-} -cp "$CP" io.promptfleet.bench.worker.WorkerCpuBench
  done
done
python_baseline
