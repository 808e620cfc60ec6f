#!/usr/bin/env bash
# CPU per completed 50-chunk stream: the promptfleet worker (SSE parsing + Kafka publishing + share-group acks)
# side by side with the Python asyncio/aiohttp baseline (parsing only), against the same node mock upstream.
# Env: MOCK_PORT (18080), PY_DURATION (10), STREAMS/ROUNDS/WARMUP/SLOTS/LANES (see WorkerCpuBench), COALESCE ("0 10").
source "$(dirname "$0")/common.sh"
MOCK_PORT=${MOCK_PORT:-18080}
BASELINES=${BASELINES:-/work/shared/baselines}
build_classpath
PORT=$MOCK_PORT node "$BASELINES/mock-upstream.js" & PIDS+=($!)
sleep 1
start_broker
URL=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
python_baseline() {
  echo "--- Python baseline (aiohttp, semaphore 100, parsing only)"
  N=200 SEM=100 DURATION=${PY_DURATION:-10} URL=$URL /usr/bin/python3 "$BASELINES/aiohttp_sse_bench.py"
}
python_baseline
for c in ${COALESCE:-0 10}; do
  echo "--- promptfleet worker, coalesce_ms=$c (-Xmx1g)"
  COALESCE_MS=$c UPSTREAM=http://127.0.0.1:$MOCK_PORT/v1 java -Xmx1g -cp "$CP" io.promptfleet.bench.worker.WorkerCpuBench
done
python_baseline
