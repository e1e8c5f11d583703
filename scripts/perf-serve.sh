#!/usr/bin/env bash
# Where the sidecar's CPU time goes under load, in time rather than instructions: `perf record`
# with the cpu-clock software event (no hardware counters needed, so it works in a VM) samples
# `fieldmap serve` and the kernel work it does while wrk sends /transform requests of one flow,
# the same load as scripts/bench-serve.sh. Prints the share of the samples by part (kernel,
# fieldmap, hyper/axum, regex, allocator, ...) and the hottest functions.
#
# Callgrind (docs/performance.md) counts instructions exactly but sees neither the kernel nor
# the cost of cache lines that both cores write; this sees both, with sampling noise.
#
# Usage: scripts/perf-serve.sh [FLOW] [FIELDMAP] [SECONDS]
#   FLOW      delacon (default), web or callerready: a flow of scripts/bench-serve.sh
#   FIELDMAP  the binary (default: target/release/fieldmap, built when missing)
#   SECONDS   of sampling (default 4), in the middle of a wrk run twice as long
# Needs wrk and perf (Debian: apt-get install wrk linux-perf), and the right to profile a
# process (root, or kernel.perf_event_paranoid <= 1). Output: $BENCH_DIR/perf.data
# (default /tmp/fieldmap-perf-serve) for `perf report -i`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-common.sh
. scripts/serve-common.sh
FLOW=${1:-delacon} FM=${2:-${CARGO_TARGET_DIR:-target}/release/fieldmap} SECS=${3:-4}
case $FLOW in
  delacon) SPEC="delacon-call-end-to-leadsquared-call-log|tests/fixtures/delacon-call-end-to-leadsquared-call-log/06-full-push-answered.json|application/json|PLA_Call_Id:7 PLA_Caller_Phone_Number:7 PLA_Answering_Point:3:200 PLA_Number_Dialed:2:20" ;;
  web) SPEC="web-lead-to-calltools|tests/fixtures/web-lead-to-calltools/01-full-name.json|application/json|phone:4" ;;
  callerready) SPEC="callerready-ring-request|tests/fixtures/callerready-ring-request/01-step1-all-fields-ca.txt|application/x-www-form-urlencoded|Phone:4" ;;
  *) echo "unknown flow $FLOW: delacon, web or callerready" >&2; exit 2 ;;
esac
for t in wrk perf curl python3; do
  command -v "$t" > /dev/null || { echo "MISSING $t (apt-get install wrk linux-perf)" >&2; exit 1; }
done
[ -x "$FM" ] || cargo build --release --quiet --bin fieldmap
IFS='|' read -r NAME FIXTURE CTYPE SPECS <<< "$SPEC"
D=${BENCH_DIR:-/tmp/fieldmap-perf-serve}
rm -rf "$D"
mkdir -p "$D"
PORT=18931
export LEADSQUARED_CALL_LOG_URL=http://127.0.0.1:9/calllog CALLTOOLS_API_KEY=dummy
"$FM" serve --mappings mappings --listen 127.0.0.1:$PORT --data-dir "$D/data" --flow "$NAME" \
  > "$D/sidecar.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2> /dev/null || true' EXIT
healthy 127.0.0.1:$PORT 30 || { echo "the sidecar did not start:" >&2; tail "$D/sidecar.log" >&2; exit 1; }

# shellcheck disable=SC2086 # the specs are separate arguments
wrk -t 2 -c 50 -d "$((2 * SECS))s" -s scripts/bench-serve-bodies.lua \
  "http://127.0.0.1:$PORT/transform/$NAME" -- "$FIXTURE" "$CTYPE" 20000 $SPECS > "$D/wrk.txt" &
WRK=$!
sleep "$((SECS / 2))"
perf record -q -e cpu-clock -F 4000 -g -p "$PID" -o "$D/perf.data" -- sleep "$SECS" 2> /dev/null
wait "$WRK"
N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$D/wrk.txt")
echo "== $NAME: $N requests in $((2 * SECS)) s (perf slows the sidecar down); $SECS s sampled"

perf report -i "$D/perf.data" --no-children --sort sym -g none 2> /dev/null | python3 -c '
import re, sys, collections
# First match wins: kernel frames are marked [k].
parts = [("kernel", r"\[k\]"), ("regex", r"regex"), ("allocator", r"\bmi_|_mi_|mimalloc"),
         ("mem* (libc)", r"__mem|memcpy|memmove|memcmp|memset"), ("tokio", r"tokio::|mio::"),
         ("hyper/axum/http", r"hyper|axum|http::|tower|httparse|bytes::"),
         ("jsonschema", r"jsonschema"), ("templates", r"template"), ("phone", r"phone"),
         ("dates (jiff)", r"jiff"), ("fieldmap, other", r"fieldmap")]
share, top = collections.Counter(), []
for line in sys.stdin:
    m = re.match(r"^\s*([\d.]+)%\s+(\[.\])\s+(.*)$", line)
    if not m:
        continue
    p, sym = float(m.group(1)), m.group(2) + " " + m.group(3)
    share[next((n for n, r in parts if re.search(r, sym)), "other (std, serde_json, ...)")] += p
    top.append((p, sym))
print("share of the samples by part:")
for n, p in share.most_common():
    print(f"  {n:30s} {p:6.2f}%")
print("hottest functions (own time):")
for p, sym in top[:25]:
    print(f"  {p:6.2f}%  {sym[:150]}")
'
echo "(perf report -i $D/perf.data for the call graphs)"
