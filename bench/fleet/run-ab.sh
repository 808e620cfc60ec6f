#!/usr/bin/env bash
# The fast-path benchmark on a baseline build's fleet and on this tree's, alternating B, H, B, H, ... in one session
# (bench/fleet/README.md, "Jobs per core against the issue's baseline, side by side"):
#   BASE_TREE=/path/to/a/worktree/of/the/baseline [PAIRS=3] [ORDER="B H"] ./bench/fleet/run-ab.sh [fastpath options]
#   ./bench/fleet/run-ab.sh --summary bench/fleet/target/ab-<time>      # the summary of a finished series again
# Builds this tree's bench and, in BASE_TREE, the baseline's launcher with its class path (compile only: nothing is
# installed), then runs each side with this tree's harness (FastPath: its broker, simulator, load and readers); the
# B runs start the dispatcher and workers on the baseline's classes through FLEET_CP. Both sides get
# `--successors omit` (each build's own default; the baseline's loader refuses a `successors` key). Each run's
# output and fastpath.md go to bench/fleet/target/ab-<time>/{B,H}<n>{.log,/}; the summary (one row per run, the
# medians, the per-pair ratios) to stdout and summary.md there.
set -euo pipefail
cd "$(dirname "$0")/../.."

# One row per run from its fastpath.md, then medians and per-pair ratios (pair n = B<n>, H<n>).
summary() {
  local dir=$1
  for md in "$dir"/[BH]*/fastpath.md; do
    local run
    run=$(basename "$(dirname "$md")")
    awk -v run="$run" -v started="$(cat "$dir/$run.start" 2>/dev/null || echo ?)" '
      /^Saturated with 50-token jobs:/ { match($0, /\*\*[0-9.]+ jobs\/s/); jobs = substr($0, RSTART + 2, RLENGTH - 9) }
      /^Saturated with 16-token jobs, instant:/ { match($0, /instant: [0-9.]+ jobs/); short = substr($0, RSTART + 9, RLENGTH - 14) }
      /^\*\*Key utilisation\*\*/ { match($0, /mean [0-9.]+%/); util = substr($0, RSTART + 5, RLENGTH - 6) }
      /^\| first chunk, idle/ { split($0, c, "|"); fc = c[5]; sub(/ \/.*/, "", fc); gsub(/ /, "", fc) }
      /^\| (broker|dispatcher|worker-[0-9]+|bench|fleet \(all but bench\)) \|/ {
        split($0, c, "|"); name = c[2]; gsub(/ /, "", name); ms = c[3] + 0; jit = c[5]; gsub(/[ %]/, "", jit)
        if (name ~ /^worker/) { wms += ms; wjit += ms * jit / 100 }
        else if (name == "broker") { bms = ms; bjit = jit }
        else if (name == "dispatcher") { dms = ms; djit = jit }
        else if (name ~ /^fleet/) { fms = ms }
        if (name !~ /^fleet|bench/) { fjit += ms * jit / 100 }
        if (name ~ /^worker/) { cores += c[4] } else if (name == "broker" || name == "dispatcher") { cores += c[4] }
      }
      /^Load average before:/ {
        match($0, /before: [0-9.]+ [0-9.]+ [0-9.]+/); lb = substr($0, RSTART + 8, RLENGTH - 8)
        match($0, /after: [0-9.]+ [0-9.]+ [0-9.]+/); la = substr($0, RSTART + 7, RLENGTH - 7)
      }
      END {
        printf "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\n", run, started, jobs,
          bms, dms, wms, fms, bjit, djit, wms ? 100 * wjit / wms : 0, fms ? 100 * fjit / fms : 0, short, util, fc, lb, la,
          fms - fjit, cores
      }' "$md"
  done > "$dir/runs.tsv"
  {
    echo "| run | start (UTC) | 50-token jobs/s | CPU ms per job: broker / dispatcher / workers = fleet | fleet's cores | JIT % of CPU: broker / dispatcher / workers / fleet | fleet without JIT, ms per job | 16-token jobs/s | key util. mean % | first chunk idle, × hop | load avg before → after |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    sort -k1.2n -k1.1 "$dir/runs.tsv" | awk -F'\t' '{printf "| %s | %s | %s | %s / %s / %s = **%s** | %.2f | %s / %s / %s / %s | %s | %s | %s | %s | %s → %s |\n",
      $1, $2, $3, $4, $5, $6, $7, $18, $8, $9, $10, $11, $17, $12, $13, $14, $15, $16}'
    echo
    awk -F'\t' '
      function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      { side = substr($1, 1, 1); n = substr($1, 2); jobs[side, n] = $3; cpu[side, n] = $7; nojit[side, n] = $17
        if (side == "B") { nb++; bj[nb] = $3; bc[nb] = $7 } else { nh++; hj[nh] = $3; hc[nh] = $7 } }
      END {
        printf "Medians: baseline %.1f jobs/s, %.2f ms fleet CPU per job (%d runs); HEAD %.1f jobs/s, %.2f ms (%d runs)\n",
          median(bj, nb), median(bc, nb), nb, median(hj, nh), median(hc, nh), nh
        printf "Ratio of the medians, HEAD / baseline: jobs/s %.2f×, jobs per core (1 / fleet CPU per job) %.2f×\n\n",
          median(hj, nh) / median(bj, nb), median(bc, nb) / median(hc, nh)
        print "| pair | jobs/s H / B | jobs per core H / B (fleet CPU per job B / H) | the same without the JIT threads |"
        print "|---|---|---|---|"
        for (i = 1; i <= (nb > nh ? nb : nh); i++) if ((("B", i) in jobs) && (("H", i) in jobs) && jobs["B", i] > 0 && cpu["H", i] > 0) {
          np++; rj[np] = jobs["H", i] / jobs["B", i]; rc[np] = cpu["B", i] / cpu["H", i]; rn[np] = nojit["B", i] / nojit["H", i]
          printf "| %d | %.2f× | %.2f× | %.2f× |\n", i, rj[np], rc[np], rn[np]
        }
        if (np) printf "| median of the pairs | %.2f× | %.2f× | %.2f× |\n", median(rj, np), median(rc, np), median(rn, np)
      }' <(sort -k1.2n -k1.1 "$dir/runs.tsv")
  } | tee "$dir/summary.md"
}

if [ "${1:-}" = "--summary" ]; then
  summary "$2"
  exit 0
fi

: "${BASE_TREE:?set BASE_TREE to a worktree of the baseline commit (git worktree add DIR COMMIT)}"
pairs="${PAIRS:-3}"
out="$PWD/bench/fleet/target/ab-$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$out"
mvn -B -q -o -pl bench/fleet -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
(cd "$BASE_TREE" && mvn -B -q -o -pl launcher -am compile dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt)
base_cp="$(cd "$BASE_TREE" && pwd)/launcher/target/classes:$(cat "$BASE_TREE/launcher/target/classpath.txt")"
head_cp="$PWD/bench/fleet/target/classes:$(cat bench/fleet/target/classpath.txt)"
{
  echo "baseline: $(git -C "$BASE_TREE" log -1 --format='%h %ci %s' | cut -c1-100)"
  echo "head:     $(git log -1 --format='%h %ci %s' | cut -c1-100)$(git diff --quiet HEAD -- . || echo ' (+ changes)')"
  echo "options:  --successors omit $*"
} | tee "$out/series.txt"
for i in $(seq 1 "$pairs"); do
  for side in ${ORDER:-B H}; do
    run="$out/$side$i"
    date -u +%H:%M:%S > "$run.start"
    echo "$(cat "$run.start") $side$i (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    cp=""
    [ "$side" = B ] && cp="$base_cp"
    FLEET_CP="$cp" java -Xmx768m ${BENCH_JAVA_OPTS:-} -cp "$head_cp" io.promptfleet.bench.fleet.FleetBench fastpath \
      --successors omit --run-dir "$run" "$@" > "$run.log" 2>&1 || echo "$side$i exited with $?; see $run.log"
  done
done
echo "$(date -u +%H:%M:%S) done (load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out/series.txt"
summary "$out"
