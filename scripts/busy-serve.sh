#!/usr/bin/env bash
# Calibration of scripts/bench-serve.sh: what a server that spends a given CPU time per request
# reaches, next to hello_axum, under the same load (wrk -t 2 -c 50, the varied Delacon requests,
# the load generator on the same cores). Prints, per case and round, req/s, the server's and
# wrk's CPU per request, and req/s as a ratio to hello_axum's in the same round.
#
# Usage: scripts/busy-serve.sh [ROUNDS] [SECONDS] [BUSY_US...]
#   ROUNDS (default 2), SECONDS per run (default 5), BUSY_US: handler busy times in µs
#   (default: 0 10 15 20 25). Each case answers 1,500 bytes, about a /transform answer.
# Needs wrk; builds examples/hello_axum and examples/busy_axum.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-common.sh
. scripts/serve-common.sh
ROUNDS=${1:-2} DUR=${2:-5}
shift $(($# < 2 ? $# : 2))
BUSY=("$@")
[ ${#BUSY[@]} -gt 0 ] || BUSY=(0 10 15 20 25)
cargo build --release --quiet --example hello_axum --example busy_axum
BIN=${CARGO_TARGET_DIR:-target}/release/examples
D=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$D"' EXIT
FIXTURE=(tests/fixtures/delacon-call-end-to-leadsquared-call-log/06-full-push-answered.json
  application/json 20000 PLA_Call_Id:7 PLA_Caller_Phone_Number:7 PLA_Answering_Point:3:200
  PLA_Number_Dialed:2:20)

# run PORT PID: "REQ/S SERVER-US WRK-US"
run() {
  local c0 c1 n wu ws
  c0=$(cpu_ns "$2")
  /usr/bin/time -f "%U %S" -o "$D/time" wrk -t 2 -c 50 -d "${DUR}s" \
    -s scripts/bench-serve-bodies.lua "http://127.0.0.1:$1/x" -- "${FIXTURE[@]}" > "$D/wrk"
  c1=$(cpu_ns "$2")
  n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$D/wrk")
  read -r wu ws < "$D/time"
  python3 -c "n=$n; print(f'{n / $DUR:.0f} {($c1 - $c0) / n / 1000:.1f} {($wu + $ws) * 1e6 / n:.1f}')"
}

"$BIN/hello_axum" 127.0.0.1:18931 2> /dev/null &
PIDS+=("$!")
HP=$!
healthy 127.0.0.1:18931 || { echo "hello_axum does not answer" >&2; exit 1; }
echo "wrk -t 2 -c 50, ${DUR} s per run, $(nproc) cores, $(date -u +%FT%TZ)"
printf '%-6s %-22s %9s %12s %10s %9s\n' round case req/s 'server us' 'wrk us' 'vs hello'
for r in $(seq "$ROUNDS"); do
  read -r hr hs hw < <(run 18931 "$HP")
  printf '%-6s %-22s %9s %12s %10s %9s\n' "$r" hello_axum "$hr" "$hs" "$hw" 1.00
  for b in "${BUSY[@]}"; do
    BUSY_NS=$((b * 1000)) BUSY_BYTES=1500 "$BIN/busy_axum" 127.0.0.1:18932 2> /dev/null &
    BP=$!
    PIDS+=("$BP")
    healthy 127.0.0.1:18932 || { echo "busy_axum does not answer" >&2; exit 1; }
    read -r br bs bw < <(run 18932 "$BP")
    kill "$BP" 2> /dev/null || true
    wait "$BP" 2> /dev/null || true
    printf '%-6s %-22s %9s %12s %10s %9s\n' "$r" "busy ${b} us" "$br" "$bs" "$bw" \
      "$(python3 -c "print(f'{$br / $hr:.2f}')")"
  done
done
