#!/usr/bin/env bash
# Provider batching at scale on the simulator: N lines (default 100,000) through `promptfleet batch
# --provider-batch` against `promptfleet dev` with a batch route (bench-batch.yaml). Prints the wall time and peak
# memory of the batch command, the dev process's memory, the batches the simulator made, and the cost at the batch
# price against the live price. Needs the ports 19092, 18180, 18181 and 18380 free.
# Usage: run.sh [N] [chat|anthropic|embeddings]: OpenAI chat lines (default), the same chat lines on a model whose
# route speaks Anthropic's protocol (Message Batches), or OpenAI embeddings lines.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n="${1:-100000}"
mode="${2:-chat}"
case "$mode" in chat|anthropic|embeddings) ;; *) echo "unknown mode $mode (chat, anthropic, embeddings)" >&2; exit 2 ;; esac
work="$(mktemp -d)"
trap 'kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; rm -rf "$work"' EXIT

export PROMPTFLEET_SIM_KEY="sk-bench-batch"
"$root/promptfleet" dev --config "$here/bench-batch.yaml" --workers 1 --kafka-port 19092 --http-port 18180 \
  --sim-port 18380 >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 240); do
  grep -q "is READY" "$work/dev.log" && break
  kill -0 "$dev" 2>/dev/null || { cat "$work/dev.log"; exit 1; }
  sleep 0.5
done
grep -q "is READY" "$work/dev.log" || { echo "dev mode did not start"; tail -50 "$work/dev.log"; exit 1; }
sleep 5

python3 - "$n" "$work/in.jsonl" "$mode" <<'PY'
import json, sys
n, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w") as f:
    for i in range(n):
        if mode == "embeddings":
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/embeddings",
                    "body": {"model": "sim", "input": f"record {i}: a line to embed"}}
        else:
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "sim-claude" if mode == "anthropic" else "sim", "max_tokens": 16,
                             "messages": [{"role": "user", "content": f"Summarise record {i} in one line."}]}}
        f.write(json.dumps(line) + "\n")
PY

start=$(date +%s.%N)
/usr/bin/time -v "$root/promptfleet" batch -b 127.0.0.1:19092 "$work/in.jsonl" -o "$work/out.jsonl" --provider-batch --ttl 2h \
  --window "$n" --timeout 30m 2>"$work/batch.err" >/dev/null || { grep -v "^\s" "$work/batch.err" | tail -20; tail -30 "$work/dev.log"; exit 1; }
end=$(date +%s.%N)

python3 - "$work/out.jsonl" "$start" "$end" <<'PY'
import json, sys
path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ok = err = prompt = completion = 0
for line in open(path):
    o = json.loads(line)
    if o.get("error"):
        err += 1
        continue
    ok += 1
    u = o["response"]["body"]["usage"]
    prompt += u.get("prompt_tokens", u.get("input_tokens", 0))
    completion += u.get("completion_tokens", u.get("output_tokens", 0))
live = (prompt * 0.42 + completion * 0.42) / 1e6
print(f"lines answered: {ok}, errors: {err}; wall time {end - start:.1f} s ({ok / (end - start):.0f} lines/s)")
print(f"tokens: {prompt} prompt + {completion} completion; cost at the batch price ${live / 2:.4f}, "
      f"at the live price ${live:.4f} (saved ${live / 2:.4f})")
PY
grep -E "Maximum resident set size" "$work/batch.err" | sed 's/^\s*/batch command: /'
echo "dev process (broker, dispatcher, worker, simulator) RSS: $(( $(ps -o rss= -p "$(pgrep -P "$dev" java || echo "$dev")" | head -1) / 1024 )) MB"
curl -s http://127.0.0.1:18180/metrics | grep -E "^promptfleet_dispatcher_(batch_savings_usd_total|batches_submitted_total|batch_answers_total|batch_jobs_total)" || true
grep -E "Batcher - batch .* (submitted|completed|expired|cancelled)" "$work/dev.log" | sed 's/^.*Batcher - //' | head -20
# Batches that went wrong say so in the dispatcher's log (a batch whose members ran live, a failed call).
grep -E " (WARN|ERROR) " "$work/dev.log" | grep -i "batch" | tail -20 || true
