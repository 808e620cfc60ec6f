#!/usr/bin/env bash
# The fleet as separate processes on a replicated cluster, under faults or scaled out (see README.md):
#   ./bench/fleet/run.sh faults [--faults a,b] [--repeats 2] [--rate 15] [--duration 30] [--workers 3]
#   ./bench/fleet/run.sh faults-smoke
#   ./bench/fleet/run.sh scale [--workers 1,2,4,8] [--slots 16] [--window 30] [--join-leave true]
#   ./bench/fleet/run.sh fastpath [--key-concurrency 128] [--workers 2] [--probes 100] [--worker key=value,...]
# Builds what it needs (offline if the dependencies are there), then runs; the table goes to stdout and to
# the run directory (bench/fleet/target/run-*), with every process's log. Exit code 1 if a job was lost or
# duplicated or a key went over its limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
command="${1:-faults-smoke}"; shift || true
# The reactor's classes (built with -am, nothing installed into ~/.m2) come before the dependency class path.
mvn -B -q -pl bench/fleet -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec java -Xmx768m ${BENCH_JAVA_OPTS:-} -cp "bench/fleet/target/classes:$(cat bench/fleet/target/classpath.txt)" \
  io.promptfleet.bench.fleet.FleetBench "$command" "$@"
