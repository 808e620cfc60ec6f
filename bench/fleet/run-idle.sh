#!/usr/bin/env bash
# What an idle `promptfleet dev` costs: the whole dev fleet (embedded broker, dispatcher, two workers, simulator)
# in one JVM on free ports, left alone; after it is ready and SETTLE seconds more (the JIT and the groups settle),
# the process's CPU over WINDOW seconds from /proc/PID/stat, and each thread's CPU from two `jcmd Thread.print`
# snapshots (full thread names, the JVM's compiler and GC threads included), summed by part of the fleet:
# broker, dispatcher, workers (lanes and their share consumers' network threads, watchers, producers, event loops:
# dev names its workers worker-N), JVM (the JIT compiler threads apart: they stop once the JIT has settled). Prints % of one core per part and the busiest threads.
#   ./bench/fleet/run-idle.sh [extra dev options, e.g. --config my.yaml]
# Env: SETTLE (30), WINDOW (60), CP (a class path to run instead of this tree's: a snapshot of an earlier build),
#      JAVA_OPTS (extra JVM flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
settle=${SETTLE:-30}
window=${WINDOW:-60}
if [ -z "${CP:-}" ]; then
  cp_file=bench/fleet/target/classpath.txt
  # One reactor run: the class path of bench/fleet (written last) names the modules' target/classes, which a run
  # without -am cannot resolve (nothing is installed).
  mvn -B -q -o -pl bench/fleet -am compile dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file"
  CP="$(ls -d "$PWD"/*/target/classes | tr '\n' ':')$(cat "$cp_file")"
fi
out=bench/fleet/target/idle-$(date -u +%H%M%S)
mkdir -p "$out"
java -Xmx1g ${JAVA_OPTS:-} -cp "$CP" io.promptfleet.launcher.Main dev --kafka-port 0 --http-port 0 --sim-port 0 \
  "$@" > "$out/dev.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  grep -q READY "$out/dev.log" && break
  kill -0 $pid 2>/dev/null || { echo "dev exited; see $out/dev.log" >&2; exit 1; }
  sleep 0.5
done
grep -q READY "$out/dev.log" || { echo "dev not ready within 120 s; see $out/dev.log" >&2; exit 1; }
echo "dev ready (pid $pid); settling ${settle} s, then measuring ${window} s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
sleep "$settle"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
jcmd $pid Thread.print > "$out/threads0.txt"
t0=$(ticks); s0=$(date +%s.%N)
sleep "$window"
t1=$(ticks); s1=$(date +%s.%N)
jcmd $pid Thread.print > "$out/threads1.txt"
echo "process: $(awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$hz" \
  'BEGIN {printf "%.1f", 100 * (b - a) / hz / (e - s)}') % of a core over ${window} s" \
  "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
# "name" ... cpu=12.34ms ... (JDK 17's Thread.print; the JVM's own threads have no '#N' id but a cpu= too)
extract() { sed -n 's/^"\(.*\)" .*cpu=\([0-9.]*\)ms.*/\1\t\2/p' "$1" | sed 's/[0-9a-f]\{10\}//g'; }
join -t $'\t' -a 2 -e 0 -o 0,1.2,2.2 <(extract "$out/threads0.txt" | awk -F'\t' '{c[$1]+=$2} END {for (n in c) print n "\t" c[n]}' | sort) \
  <(extract "$out/threads1.txt" | awk -F'\t' '{c[$1]+=$2} END {for (n in c) print n "\t" c[n]}' | sort) \
  | awk -F'\t' -v w="$window" '{d = $3 - $2; if (d > 0) printf "%.2f\t%s\n", d / 10 / w, $1}' | sort -rn > "$out/by-thread.tsv"
awk -F'\t' '
  function part(n) {
    if (n ~ /dispatcher|batcher|standby/) return "dispatcher"
    if (n ~ /^pf-worker|consumer_background|vert\.x-eventloop|\| pf-worker/) return "workers"
    if (n ~ /CompilerThread/) return "jit"
    if (n ~ /GC Thread|G1|VM Thread|VM Periodic|Service Thread|Sweeper|Monitor Deflation|Common-Cleaner|Signal|Finalizer|Reference Handler/) return "jvm"
    if (n ~ /kafka|data-plane|controller|broker|quorum|raft|ExpirationReaper|group-coordinator|share|executor-|LogDirFailure|transaction|metrics-meter|scheduler|kafka-log/) return "broker"
    return "other"
  }
  { p[part($2)] += $1 }
  END { for (k in p) printf "  %-10s %5.1f %% of a core\n", k, p[k] }' "$out/by-thread.tsv" | sort -k2 -rn
echo "busiest threads (% of a core):"
head -25 "$out/by-thread.tsv" | sed 's/^/  /'
echo "(all: $out/by-thread.tsv)"
