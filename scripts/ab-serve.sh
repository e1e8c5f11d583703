#!/usr/bin/env bash
# A/B of two builds of the sidecar: /transform of each flow of scripts/bench-serve.sh, for build
# A and build B in turn, next to hello_axum, round after round. On a shared machine one run's
# req/s drift by a third from the next, so each run also measures the server's CPU time per
# request, to the nanosecond (the sum of its threads' /proc/PID/task/*/schedstat run times),
# which moves far less; and A and B are compared pairwise within each round.
#
# Usage: scripts/ab-serve.sh A_FIELDMAP B_FIELDMAP [ROUNDS] [SECONDS]
#   A_FIELDMAP, B_FIELDMAP  two fieldmap binaries (e.g. a worktree's target/release/fieldmap)
#   ROUNDS                  rounds (default 5); SECONDS per run (default 8)
# Needs wrk and target/release/examples/hello_axum (cargo build --release --example hello_axum).
# Prints per flow and round: req/s of hello_axum, A and B, and the CPU per request of A and B;
# then per flow the medians of B/A (req/s and CPU) and of each build's req/s ratio to hello_axum.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-common.sh
. scripts/serve-common.sh
ROOT=$(pwd)
A=$1 B=$2 ROUNDS=${3:-5} DUR=${4:-8}
HELLO=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/hello_axum
D=$(mktemp -d)
FLOWS=(
  "delacon-call-end-to-leadsquared-call-log|tests/fixtures/delacon-call-end-to-leadsquared-call-log/06-full-push-answered.json|application/json|PLA_Call_Id:7 PLA_Caller_Phone_Number:7 PLA_Answering_Point:3:200 PLA_Number_Dialed:2:20"
  "web-lead-to-calltools|tests/fixtures/web-lead-to-calltools/01-full-name.json|application/json|phone:4"
  "callerready-ring-request|tests/fixtures/callerready-ring-request/01-step1-all-fields-ca.txt|application/x-www-form-urlencoded|Phone:4"
)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; rm -rf "$D"' EXIT

# start NAME PORT CMD...: run CMD in the background and wait for its /healthz.
start() {
  local name=$1 port=$2
  shift 2
  "$@" > "$D/$name.log" 2>&1 &
  PIDS+=("$!")
  healthy "127.0.0.1:$port" 30 && return 0
  echo "$name does not answer on port $port:" >&2
  tail -20 "$D/$name.log" >&2
  exit 1
}
export LEADSQUARED_CALL_LOG_URL=http://127.0.0.1:9/calllog CALLTOOLS_API_KEY=dummy
FLOW_ARGS=()
for f in "${FLOWS[@]}"; do FLOW_ARGS+=(--flow "${f%%|*}"); done
start hello 18901 "$HELLO" 127.0.0.1:18901
HP=${PIDS[-1]}
start A 18902 "$A" serve --mappings mappings --listen 127.0.0.1:18902 --data-dir "$D/a" "${FLOW_ARGS[@]}"
AP=${PIDS[-1]}
start B 18903 "$B" serve --mappings mappings --listen 127.0.0.1:18903 --data-dir "$D/b" "${FLOW_ARGS[@]}"
BP=${PIDS[-1]}

# rate PORT PID PATH SPEC: "REQ/S CPU-US-PER-REQUEST" of one wrk run.
rate() {
  local port=$1 pid=$2 path=$3 spec=$4 name fixture ctype specs c0 c1 n
  IFS='|' read -r name fixture ctype specs <<< "$spec"
  c0=$(cpu_ns "$pid")
  # shellcheck disable=SC2086 # the specs are separate arguments
  n=$(wrk -t 2 -c 50 -d "${DUR}s" -s scripts/bench-serve-bodies.lua "http://127.0.0.1:$port$path" \
    -- "$fixture" "$ctype" 20000 $specs | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  c1=$(cpu_ns "$pid")
  echo "$((n / DUR)) $(((c1 - c0) / n / 10))e-2"
}

echo "A = $A"
echo "B = $B"
echo "$ROUNDS round(s), ${DUR} s per run, wrk -t 2 -c 50, $(nproc) cores, $(date -u +%FT%TZ)"
for f in "${FLOWS[@]}"; do
  name=${f%%|*}
  rate 18902 "$AP" "/transform/$name" "$f" > /dev/null # warm-up
  rate 18903 "$BP" "/transform/$name" "$f" > /dev/null
done
for r in $(seq "$ROUNDS"); do
  for f in "${FLOWS[@]}"; do
    name=${f%%|*}
    # The order within a round alternates, so that drift does not favour one build.
    if [ $((r % 2)) = 1 ]; then
      h=$(rate 18901 "$HP" /bench "${FLOWS[0]}")
      a=$(rate 18902 "$AP" "/transform/$name" "$f")
      b=$(rate 18903 "$BP" "/transform/$name" "$f")
    else
      b=$(rate 18903 "$BP" "/transform/$name" "$f")
      a=$(rate 18902 "$AP" "/transform/$name" "$f")
      h=$(rate 18901 "$HP" /bench "${FLOWS[0]}")
    fi
    echo "$r $name $h $a $b" | tee -a "$D/rates"
  done
done
echo "(round flow: hello req/s, hello CPU us/req, A req/s, A CPU us/req, B req/s, B CPU us/req)"
python3 - "$D/rates" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = statistics.median
for name in dict.fromkeys(r[1] for r in rows):
    rs = [tuple(map(float, r[2:8])) for r in rows if r[1] == name]
    rate = med(b / a for h, hc, a, ac, b, bc in rs)
    cpu = med(bc / ac for h, hc, a, ac, b, bc in rs)
    ah = med(a / h for h, hc, a, ac, b, bc in rs)
    bh = med(b / h for h, hc, a, ac, b, bc in rs)
    print(f"{name}: B/A req/s {rate:.3f}, B/A CPU per request {cpu:.3f} "
          f"(rounds {', '.join(f'{bc / ac:.2f}' for h, hc, a, ac, b, bc in rs)}); "
          f"req/s vs hello_axum: A {ah:.2f}, B {bh:.2f}")
EOF
