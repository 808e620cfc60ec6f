#!/usr/bin/env bash
# Rerunnable dispatcher benchmark:
#   ./bench/dispatcher/run.sh [throughput|models|latency|backlog|isolation|all|a,b,...] [-Druns=3 ...]
# (a comma-separated list interleaves the scenarios' runs; see README.md)
# Builds what it needs (offline if the dependencies are there), then runs the scenarios; numbers go to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario="${1:-all}"; shift || true
mvn -B -q -o -pl bench/dispatcher -am install -DskipTests
cp_file=bench/dispatcher/target/classpath.txt
mvn -B -q -o -pl bench/dispatcher dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file"
exec java -Xmx1g "$@" -cp "bench/dispatcher/target/classes:$(cat "$cp_file")" \
  io.promptfleet.bench.dispatcher.DispatcherBench "$scenario"
