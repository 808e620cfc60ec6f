#!/usr/bin/env bash
# Rerunnable dispatcher benchmark:
#   ./bench/dispatcher/run.sh [throughput|models|latency|backlog|isolation|all|a,b,...] [-Druns=3 ...]
# (a comma-separated list interleaves the scenarios' runs; see README.md)
# Builds what it needs, then runs the scenarios; numbers go to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario="${1:-all}"; shift || true
# One reactor (-am): the sibling modules resolve to their target/classes, nothing is installed into ~/.m2.
mvn -B -q -pl bench/dispatcher -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec java -Xmx1g "$@" -cp "bench/dispatcher/target/classes:$(cat bench/dispatcher/target/classpath.txt)" \
  io.promptfleet.bench.dispatcher.DispatcherBench "$scenario"
