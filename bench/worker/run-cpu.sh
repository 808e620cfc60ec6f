#!/usr/bin/env bash
# CPU per completed 50-chunk stream: the promptfleet worker (SSE parsing + Kafka publishing + share-group acks)
# side by side with the Python asyncio/aiohttp baseline (parsing only), against the same node mock upstream, and
# the worker's warm-up: CPU and JIT per window of streams from its JVM's start, streams to steady state, the first
# minute's CPU, the time to its first stream.
# Worker runs go through, in this order and nested: REPEAT times, each JVM option set of JVMS, each Vert.x setup of
# VARIANTS (worker: its own, native transport, one event loop per core; plain: Vertx.vertx()), each protocol of
# PROTOCOLS (openai against the OpenAI mock, anthropic against mock-anthropic.js: the same 49 text deltas as
# Anthropic Messages events). Each run's assignments are written by a JVM of their own before the worker starts.
# Env: MOCK_PORT (18080), ANTHROPIC_MOCK_PORT (18081), PROTOCOLS ("openai anthropic"), PY_DURATION (10), REPEAT (2),
#      VARIANTS ("worker plain"), JVMS ("default:" — name:options pairs separated by ";", e.g.
#      "default:;c1:-XX:TieredStopAtLevel=1"; the name "cds" first records a class-data-sharing archive of the bench
#      in a short run of its own, then runs with it; the name "aot" likewise records an ahead-of-time cache, with
#      -XX:AOTCacheOutput, JDK 25 or newer; a name may end in @<java command> to run that set's worker JVM with
#      another JDK, e.g. "default:;default@/usr/lib/jvm/temurin-25-jdk-amd64/bin/java:;aot@<same>:"; the broker
#      and the assignments' producer always run on the java of PATH), COALESCE_MS (0), CHUNKS_IN_FLIGHT ("1", the worker's default:
#      a list, each value a run of its own, e.g. "0 1" for every delta its own record beside adaptive coalescing),
#      BUILDS ("now": a list of name=classpath-file, each a run of its own with that file's classpath in place of
#      this tree's, e.g. "before=/tmp/old/cp.txt now" to alternate a snapshot of an earlier build's classes with this one),
#      STREAMS/ROUNDS/WARMUP/WARMUP_MAX/WINDOW/SLOTS/LANES (see WorkerCpuBench), JAVA_OPTS (extra JVM flags for all),
#      TRAIN (2000: the streams of the "cds" and "aot" sets' training run before its last 500; with "aot" the cache
#      keeps that run's method profiles, so a longer one hands the JIT a warmer start; a set named e.g. "aot30000"
#      trains for 30,000 instead, so two lengths alternate in one run: JVMS="aot@<java>:;aot30000@<java>:").
source "$(dirname "$0")/common.sh"
TRAIN=${TRAIN:-2000}
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
  echo "--- Python baseline (aiohttp, semaphore 100, parsing only; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  N=200 SEM=100 DURATION=${PY_DURATION:-10} URL=$URL /usr/bin/python3 "$BASELINES/aiohttp_sse_bench.py"
}
# worker_run OPTS [CLASSPATH]: one bench JVM (the java command $run_java) on assignments of its own
run_java=java
worker_run() {
  local prefix
  prefix=$(java -cp "$CP" 'io.promptfleet.bench.worker.WorkerCpuBench$Produce' 2>"$BENCH/target/produce.log" \
    | sed -n 's/^PREFIX //p')
  PREFIX=$prefix "$run_java" -Xmx1g $1 ${JAVA_OPTS:-} -cp "${2:-$CP}" io.promptfleet.bench.worker.WorkerCpuBench
}
# jarred_classpath: $CP with each directory packed into a jar (a class-data-sharing archive takes jars only)
jarred_classpath() {
  local parts out=() i=0
  IFS=: read -r -a parts <<< "$CP"
  mkdir -p "$BENCH/target/cds-jars"
  for p in "${parts[@]}"; do
    if [ -d "$p" ]; then
      i=$((i + 1))
      jar cf "$BENCH/target/cds-jars/$i.jar" -C "$p" .
      out+=("$BENCH/target/cds-jars/$i.jar")
    else
      out+=("$p")
    fi
  done
  (IFS=:; echo "${out[*]}")
}
python_baseline
IFS=';' read -r -a jvms <<< "${JVMS:-default:}"
for _ in $(seq 1 "${REPEAT:-2}"); do
  for jvm in "${jvms[@]}"; do
    name=${jvm%%:*}
    opts=${jvm#*:}
    run_java=java
    if [ "$name" != "${name#*@}" ]; then
      run_java=${name#*@}
    fi
    cp_run=$CP
    set_name=${name%%@*}
    train=$TRAIN
    case $set_name in
      cds[0-9]*|aot[0-9]*) train=${set_name:3}; set_name=${set_name:0:3} ;; # e.g. aot30000: its own training length
    esac
    if [ "$set_name" = cds ]; then
      archive=$BENCH/target/bench-cds.jsa
      cp_run=$(jarred_classpath)
      rm -f "$archive"
      echo "--- recording the bench's class-data-sharing archive ($archive)"
      VERTX=worker PROTOCOL=openai UPSTREAM=http://127.0.0.1:$MOCK_PORT/v1 WARMUP=$train WARMUP_MAX=$train ROUNDS=1 \
        STREAMS=500 worker_run "-XX:ArchiveClassesAtExit=$archive $opts" "$cp_run" \
        > "$BENCH/target/cds-training.log" 2>&1
      opts="-XX:SharedArchiveFile=$archive -Xlog:cds=off -Xlog:cds+dynamic=off $opts"
    elif [ "$set_name" = aot ]; then
      # An ahead-of-time cache (JDK 25+): classes loaded and linked, and method profiles, of the same kind of short
      # run; its log shows whether it was written. Used with -XX:AOTCache, whose warnings are left on here: a cache
      # the JVM cannot use says so in this output instead of silently measuring a run without it.
      archive=$BENCH/target/bench.aot
      cp_run=$(jarred_classpath)
      rm -f "$archive"
      echo "--- recording the bench's ahead-of-time cache ($archive, $run_java)"
      VERTX=worker PROTOCOL=openai UPSTREAM=http://127.0.0.1:$MOCK_PORT/v1 WARMUP=$train WARMUP_MAX=$train ROUNDS=1 \
        STREAMS=500 worker_run "-XX:AOTCacheOutput=$archive $opts" "$cp_run" > "$BENCH/target/aot-training.log" 2>&1
      grep -h "AOTCache creation is complete" "$BENCH/target/aot-training.log" || echo "(no cache written; see" \
        "$BENCH/target/aot-training.log)"
      opts="-XX:AOTCache=$archive $opts"
    fi
    for v in ${VARIANTS:-worker plain}; do
      for protocol in ${PROTOCOLS:-openai anthropic}; do
        for inflight in ${CHUNKS_IN_FLIGHT:-1}; do
          for build in ${BUILDS:-now}; do
            cp_build=$cp_run
            [ "$build" != "${build#*=}" ] && cp_build=$(cat "${build#*=}")
            port=$MOCK_PORT
            [ "$protocol" = anthropic ] && port=$ANTHROPIC_MOCK_PORT
            echo "--- promptfleet worker, build=${build%%=*} JVM=$name ($("$run_java" -version 2>&1 | head -1);" \
              "$opts) VERTX=$v protocol=$protocol" \
              "coalesce_ms=${COALESCE_MS:-0} chunks_in_flight=$inflight (-Xmx1g ${JAVA_OPTS:-};" \
              "load average $(cut -d' ' -f1-3 /proc/loadavg))"
            VERTX=$v PROTOCOL=$protocol COALESCE_MS=${COALESCE_MS:-0} CHUNKS_IN_FLIGHT=$inflight \
              UPSTREAM=http://127.0.0.1:$port/v1 worker_run "$opts" "$cp_build"
          done
        done
      done
    done
  done
done
python_baseline
