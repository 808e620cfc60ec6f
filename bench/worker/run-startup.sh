#!/usr/bin/env bash
# Start-up of `./promptfleet dev` per JDK and PROMPTFLEET_CDS setting, alternating in one session: each run is
# `./promptfleet dev --exit-after-jobs JOBS` on free ports (broker, dispatcher, two workers and the simulator in one
# JVM), timed from exec to its READY line, with the process's CPU by then (/proc/<pid>/stat), and to its exit.
# Before the measured runs, each setting with PROMPTFLEET_CDS=on runs once unmeasured, which records its archive
# (JDK 13-24: class data sharing) or ahead-of-time cache (JDK 25+) if the launcher has none for this build and JDK;
# that run's wall time is printed as the training's.
# Env: STARTUPS (space-separated name=java-home:cds, default: the java of PATH off and on), REPEAT (3), JOBS (20).
# Example: STARTUPS="17=/usr/lib/jvm/java-17-openjdk-amd64:off 17-cds=/usr/lib/jvm/java-17-openjdk-amd64:on
#   25=/usr/lib/jvm/temurin-25-jdk-amd64:off 25-aot=/usr/lib/jvm/temurin-25-jdk-amd64:on" bench/worker/run-startup.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/bench/worker/target/startup
mkdir -p "$OUT"
home=$(cd "$(dirname "$(readlink -f "$(command -v java)")")/.." && pwd)
STARTUPS=${STARTUPS:-"default=$home:off cds=$home:on"}
JOBS=${JOBS:-20}
hz=$(getconf CLK_TCK)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

# dev_run HOME CDS LOG: one `dev`; sets ready (wall s to READY), cpu (its CPU s by then), wall (s to exit), code
dev_run() {
  local t0 now
  ready=""; cpu=""; code=0
  t0=$(date +%s.%N)
  PATH="$1/bin:$PATH" PROMPTFLEET_CDS=$2 "$ROOT/promptfleet" dev --exit-after-jobs "$JOBS" --kafka-port 0 \
    --http-port 0 --sim-port 0 > "$3" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$ready" ] && grep -q "is READY" "$3" 2>/dev/null; then
      cpu=$(awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null || echo "?")
      ready=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
    fi
    sleep 0.1
  done
  wait "$pid" || code=$?
  pid=
  now=$(date +%s.%N)
  wall=$(printf '%.1f' "$(echo "$now - $t0" | bc)")
  ready=${ready:-none}; cpu=${cpu:-?}
}

for s in $STARTUPS; do
  name=${s%%=*}; rest=${s#*=}; jhome=${rest%:*}; cds=${rest##*:}
  if [ "$cds" = on ]; then
    echo "--- $name: preparing ($("$jhome/bin/java" -version 2>&1 | head -1); load average" \
      "$(cut -d' ' -f1-3 /proc/loadavg)): records the launcher's archive or cache unless it has one"
    dev_run "$jhome" on "$OUT/$name-prepare.log"
    echo "$name prepare: $wall s in all (training included if it ran), exit $code"
    ls -la "$ROOT"/launcher/target/promptfleet-jdk-* 2>/dev/null || true
  fi
done
echo "name round load_average wall_to_READY_s cpu_to_READY_s wall_to_exit_s exit"
for i in $(seq 1 "${REPEAT:-3}"); do
  for s in $STARTUPS; do
    name=${s%%=*}; rest=${s#*=}; jhome=${rest%:*}; cds=${rest##*:}
    load=$(cut -d' ' -f1 /proc/loadavg)
    dev_run "$jhome" "$cds" "$OUT/$name-$i.log"
    echo "$name $i $load $ready $cpu $wall $code"
  done
done
