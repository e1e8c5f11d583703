#!/usr/bin/env bash
# HTTP benchmark of the sidecar, `fieldmap serve`, against a minimal axum server measured in the
# same run. A benchmark, not a test: it prints figures and ratios, and checks that every record
# the sidecar acknowledged reached the receiver.
#
# Usage: scripts/bench-serve.sh [--quick] [-d SECONDS] [-c CONNECTIONS] [-q RATE] [-r ROUNDS]
#   --quick    smoke test: 3 s per case, 1 round
#   -d SECONDS length of each timed case (default 10)
#   -c CONN    connections of the max-load cases (default 50)
#   -q RATE    requests per second of the fixed-rate cases (default 1000)
#   -r ROUNDS  rounds of the max-load cases (default 3); each round runs hello_axum then
#              /transform of each flow, so drift on the shared machine hits all alike; the table
#              shows the median round (by req/s) of each, and the summary each flow's ratio to
#              the hello_axum run of the same round, with their median
# Env: BENCH_DIR         logs, oha's JSON, the outbox (default /tmp/fieldmap-bench-serve)
#      CARGO_TARGET_DIR  where the release binaries are built (default ./target)
#      SIDECAR_LOG       RUST_LOG of the sidecar (default info, the sidecar's own default: two
#                        log lines per record, to a file)
#
# Processes, all on 127.0.0.1, ports picked by the kernel (port 0; each prints its address,
# then /healthz is polled until it answers):
#   hello      target/release/examples/hello_axum: answers every method and path 200 "OK"
#   receiver   a second hello_axum, the sidecar's destination (GET /count: requests received)
#   sidecar    fieldmap serve --flow F for the flows of MAX_FLOWS, a fresh outbox,
#              LEADSQUARED_CALL_LOG_URL=http://RECEIVER/calllog (CallTools gets a dummy key:
#              /transform delivers nothing)
# Load, every request a POST (hello_axum gets the same requests as the Delacon flow: the
# baseline reads the same bytes off the socket, and answers without looking at them):
#   max load   wrk (Debian's `wrk` package) with scripts/bench-serve-bodies.lua: per flow of
#              MAX_FLOWS (one per vendor that pushes to the sidecar), 20,000 distinct requests
#              made from one of its fixtures, varied as real traffic is (the `phone` rule
#              remembers recent numbers: one fixed body would only measure that memory):
#                Delacon call end (the heaviest flow: 3 numbers, 2 templates, 2 time zones,
#                schemas both ways): own call id and caller, one of 200 answering points and
#                20 numbers dialed; web lead to CallTools: own phone number; CallerReady ring
#                request (form body, agents joined from a CSV table): own caller number.
#              hello_axum gets the Delacon requests, the largest. Needs wrk;
#   fixed rate oha (installed with `cargo install oha --locked` when missing) with the fixture
#              itself: it keeps a rate and corrects latencies for coordinated omission.
#
# Cases:
#   hello max      hello_axum, -c CONN for SECONDS
#   transform max  POST /transform/F for each flow F of MAX_FLOWS (decode, map, encode; nothing
#                  stored)
#   hello @RATE    hello_axum at a fixed RATE: the latency floor of this machine and of oha
#   transform @RATE  /transform/FLOW (Delacon) at the same rate: /in less the outbox and the
#                  delivery
#   in @RATE       POST /in/FLOW at a fixed RATE: map, store durably in the outbox (group commit,
#                  fsync) before answering, deliver to the receiver
# Fixed-rate latencies are corrected for coordinated omission (oha --latency-correction: from
# when the request was due, not when it was sent). After `in`, the script waits for the outbox
# to drain, then compares what the receiver got with what the sidecar acknowledged.
# Targets: transform req/s >= 0.5 x hello's, for each flow; in: p99 < 10 ms at RATE, no errors, zero lost.
# Server CPU: user + system time of the server process during the case (/proc), per request.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-common.sh
. scripts/serve-common.sh
ROOT=$(pwd)

DUR=10 CONN=50 RATE=1000 ROUNDS=3
while [ $# -gt 0 ]; do
  case $1 in
    --quick) DUR=3 ROUNDS=1; shift ;;
    -d) DUR=$2; shift 2 ;;
    -c) CONN=$2; shift 2 ;;
    -q) RATE=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see $0 --help)" >&2; exit 2 ;;
  esac
done

D=${BENCH_DIR:-/tmp/fieldmap-bench-serve}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FM=$TARGET/release/fieldmap
HELLO=$TARGET/release/examples/hello_axum
FLOW=delacon-call-end-to-leadsquared-call-log
BODY=$ROOT/tests/fixtures/$FLOW/06-full-push-answered.json
# The flows of the max-load /transform cases, one per vendor that pushes to the sidecar:
# NAME|FIXTURE|CONTENT-TYPE|SPECS of scripts/bench-serve-bodies.lua (what varies per request).
MAX_FLOWS=(
  "$FLOW|$BODY|application/json|PLA_Call_Id:7 PLA_Caller_Phone_Number:7 PLA_Answering_Point:3:200 PLA_Number_Dialed:2:20"
  "web-lead-to-calltools|$ROOT/tests/fixtures/web-lead-to-calltools/01-full-name.json|application/json|phone:4"
  "callerready-ring-request|$ROOT/tests/fixtures/callerready-ring-request/01-step1-all-fields-ca.txt|application/x-www-form-urlencoded|Phone:4"
)
CT='content-type: application/json'

# --- what is needed -------------------------------------------------------------------------
for t in curl python3 cargo wrk; do
  command -v "$t" > /dev/null || { echo "MISSING $t (wrk: apt-get install wrk)" >&2; exit 1; }
done
OHA=$(command -v oha || true)
[ -n "$OHA" ] || { [ -x "$HOME/.cargo/bin/oha" ] && OHA=$HOME/.cargo/bin/oha; } || true
if [ -z "$OHA" ]; then
  echo "== oha is missing: cargo install oha --locked (into ~/.cargo/bin; takes a few minutes)"
  cargo install oha --locked --quiet
  OHA=$HOME/.cargo/bin/oha
fi

echo "== cargo build --release (fieldmap, examples/hello_axum)"
cargo build --release --quiet --bin fieldmap --example hello_axum

rm -rf "$D"
mkdir -p "$D/runs" "$D/logs"

# --- processes ------------------------------------------------------------------------------
PIDS=()
LOAD_PID=
cleanup() {
  local p
  [ -z "$LOAD_PID" ] || kill -TERM "$LOAD_PID" 2> /dev/null || true
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: run CMD with its stderr in $D/logs/NAME.log, wait for its "listening on
# http://ADDR" line and for GET /healthz; sets ADDR and PID.
start() {
  local name=$1 log=$D/logs/$1.log
  shift
  "$@" 2> "$log" &
  PID=$!
  PIDS+=("$PID")
  ADDR=
  for _ in $(seq 300); do
    ADDR=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$log" | head -1)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2> /dev/null || { echo "$name exited:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$ADDR" ] || { echo "$name printed no address in 30 s:" >&2; tail -20 "$log" >&2; exit 1; }
  healthy "$ADDR" && return 0
  echo "$name at $ADDR does not answer /healthz" >&2
  exit 1
}

cpu_ticks() {  # user + system clock ticks of a process (comm has no spaces here)
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# load NAME PID URL OHA-ARGS...: one oha run into $D/runs/NAME.json, with the CPU ticks the
# server process PID used during it in $D/runs/NAME.cpu.
load() {
  local name=$1 pid=$2 url=$3
  shift 3
  local t0
  t0=$(cpu_ticks "$pid")
  # In the background, so that a signal ends the run at once (the trap stops oha too).
  "$OHA" --no-tui --output-format json -w -m POST -H "$CT" -D "$BODY" "$@" "$url" \
    > "$D/runs/$name.json" 2> "$D/runs/$name.err" &
  LOAD_PID=$!
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  if [ "$rc" != 0 ]; then
    echo "oha failed for $name (exit $rc):" >&2
    cat "$D/runs/$name.err" >&2
    exit 1
  fi
  echo "$(($(cpu_ticks "$pid") - t0))" > "$D/runs/$name.cpu"
}

# wrkload NAME PID URL SPEC WRK-ARGS...: one wrk run of 20,000 bodies made from the fixture of
# SPEC (an entry of MAX_FLOWS) into $D/runs/NAME.wrk, with the server's CPU ticks in
# $D/runs/NAME.cpu.
wrkload() {
  local name=$1 pid=$2 url=$3 fixture ctype specs
  IFS='|' read -r _ fixture ctype specs <<< "$4"
  shift 4
  local t0
  t0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086 # the specs are words
  wrk "$@" -s "$ROOT/scripts/bench-serve-bodies.lua" "$url" -- "$fixture" "$ctype" 20000 $specs \
    > "$D/runs/$name.wrk" 2> "$D/runs/$name.err" &
  LOAD_PID=$!
  local rc=0
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  if [ "$rc" != 0 ] || ! grep -q '^WRKJSON ' "$D/runs/$name.wrk"; then
    echo "wrk failed for $name (exit $rc):" >&2
    cat "$D/runs/$name.wrk" "$D/runs/$name.err" >&2
    exit 1
  fi
  echo "$(($(cpu_ticks "$pid") - t0))" > "$D/runs/$name.cpu"
}

echo "== starting hello_axum, the receiver and the sidecar"
start hello "$HELLO" 127.0.0.1:0
HELLO_ADDR=$ADDR HELLO_PID=$PID
start receiver "$HELLO" 127.0.0.1:0
RECV_ADDR=$ADDR
start sidecar env RUST_LOG="${SIDECAR_LOG:-info}" \
  LEADSQUARED_CALL_LOG_URL="http://$RECV_ADDR/calllog" \
  CALLTOOLS_API_KEY=bench-not-a-key \
  "$FM" serve --mappings "$ROOT/mappings" --listen 127.0.0.1:0 \
  $(for f in "${MAX_FLOWS[@]}"; do printf -- '--flow %s ' "${f%%|*}"; done) \
  --data-dir "$D/data" --watch 0s
SIDE_ADDR=$ADDR SIDE_PID=$PID
echo "   hello http://$HELLO_ADDR, receiver http://$RECV_ADDR, sidecar http://$SIDE_ADDR (outbox $D/data)"

# --- the requests are right -----------------------------------------------------------------
out=$(curl -sS -H "$CT" --data-binary "@$BODY" "http://$SIDE_ADDR/transform/$FLOW")
case $out in
  *'"status":"ok"'*) ;;
  *) echo "/transform does not map the fixture: $out" >&2; exit 1 ;;
esac
out=$(curl -sS -H "$CT" --data-binary "@$BODY" "http://$SIDE_ADDR/in/$FLOW")
case $out in
  *'"success":"true"'*) ;;
  *) echo "/in does not accept the fixture: $out" >&2; exit 1 ;;
esac

# --- max load -------------------------------------------------------------------------------
echo "== warm-up: 1 s each (not counted)"
MAX=(-t 2 -c "$CONN")
wrkload warm-hello "$HELLO_PID" "http://$HELLO_ADDR/bench" "${MAX_FLOWS[0]}" "${MAX[@]}" -d 1s
for f in "${MAX_FLOWS[@]}"; do
  wrkload "warm-${f%%|*}" "$SIDE_PID" "http://$SIDE_ADDR/transform/${f%%|*}" "$f" "${MAX[@]}" -d 1s
done

echo "== max load: $ROUNDS round(s) of ${DUR}s, wrk -t 2 -c $CONN, $(nproc) cores, $(date -u +%FT%TZ)"
for ((r = 1; r <= ROUNDS; r++)); do
  wrkload "hello_max.r$r" "$HELLO_PID" "http://$HELLO_ADDR/bench" "${MAX_FLOWS[0]}" "${MAX[@]}" -d "${DUR}s"
  for f in "${MAX_FLOWS[@]}"; do
    wrkload "transform_max.${f%%|*}.r$r" "$SIDE_PID" "http://$SIDE_ADDR/transform/${f%%|*}" "$f" "${MAX[@]}" -d "${DUR}s"
  done
  python3 - "$D/runs" "$r" $(for f in "${MAX_FLOWS[@]}"; do printf 'transform_max.%s ' "${f%%|*}"; done) <<'EOF'
import json, sys
d, r, *names = sys.argv[1:]
for n in ["hello_max", *names]:
    line = [l for l in open(f"{d}/{n}.r{r}.wrk") if l.startswith("WRKJSON ")][-1]
    s = json.loads(line[len("WRKJSON "):])
    print(f"  round {r} {n:<48} {s['requests'] / s['duration_us'] * 1e6:>9,.0f} req/s"
          f"  p99 {s['p99_us'] / 1e3:6.2f} ms  non-2xx+errors {s['non2xx'] + s['errors']}")
EOF
done

# --- fixed rate -----------------------------------------------------------------------------
# Enough connections that a slow answer never holds up the next due request.
echo "== fixed rate: $RATE req/s for ${DUR}s"
FIXED=(-c 50 -q "$RATE" --latency-correction -z "${DUR}s")
load hello_rate "$HELLO_PID" "http://$HELLO_ADDR/bench" "${FIXED[@]}"
load transform_rate "$SIDE_PID" "http://$SIDE_ADDR/transform/$FLOW" "${FIXED[@]}"
# With perf (and tracepoints allowed), count the sidecar's fdatasync calls during /in: how many
# records share a commit.
PERF_PID=
if command -v perf > /dev/null \
  && perf stat -x, -e syscalls:sys_enter_fdatasync -- true > /dev/null 2>&1; then
  perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,context-switches \
    -p "$SIDE_PID" -o "$D/runs/in_rate.perfstat" -- sleep "$DUR" &
  PERF_PID=$!
  PIDS+=("$PERF_PID")
fi
load in_rate "$SIDE_PID" "http://$SIDE_ADDR/in/$FLOW" "${FIXED[@]}"
[ -z "$PERF_PID" ] || wait "$PERF_PID" || true

echo "== waiting for the outbox to drain"
pending=
for _ in $(seq 600); do
  ready=$(curl -fsS "http://$SIDE_ADDR/readyz")
  pending=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pending"])' "$ready")
  [ "$pending" = 0 ] && break
  sleep 0.1
done
curl -fsS "http://$SIDE_ADDR/readyz" > "$D/runs/readyz.json"
curl -fsS "http://$SIDE_ADDR/metrics" > "$D/runs/metrics.txt"
curl -fsS "http://$RECV_ADDR/count" > "$D/runs/receiver_count.txt"

# --- table ----------------------------------------------------------------------------------
MAX_NAMES=$(for f in "${MAX_FLOWS[@]}"; do printf '%s,' "${f%%|*}"; done)
python3 - "$D" "$ROUNDS" "$RATE" "$CONN" "$DUR" "$(getconf CLK_TCK)" "$FLOW" "${MAX_NAMES%,}" \
  "$(git rev-parse --short HEAD 2> /dev/null || echo '?')$(git diff --quiet HEAD -- src 2> /dev/null || echo '+changes')" \
  "$("$OHA" --version | awk '{print $2}')" "$(nproc)" <<'EOF' | tee "$D/results.md"
import datetime, json, os, re, statistics, sys
D, ROUNDS, RATE, CONN, DUR, TCK, FLOW, MAX_NAMES, REV, OHA, NPROC = sys.argv[1:]
MAX_NAMES = MAX_NAMES.split(",")
ROUNDS, RATE, TCK = int(ROUNDS), int(RATE), int(TCK)
R = f"{D}/runs"

def run(name):
    cpu = int(open(f"{R}/{name}.cpu").read()) / TCK
    if os.path.exists(f"{R}/{name}.wrk"):
        line = [l for l in open(f"{R}/{name}.wrk") if l.startswith("WRKJSON ")][-1]
        w = json.loads(line[len("WRKJSON "):])
        n, bad = w["requests"], w["non2xx"] + w["errors"]
        return {
            "rps": n / w["duration_us"] * 1e6,
            "p50": w["p50_us"] / 1e3, "p99": w["p99_us"] / 1e3, "p999": w["p999_us"] / 1e3,
            "ok": n - w["non2xx"], "bad": bad, "codes": {}, "errs": {},
            "cpu_us": cpu / n * 1e6 if n else float("nan"), "n": n,
        }
    s = json.load(open(f"{R}/{name}.json"))
    codes = {str(k): v for k, v in s.get("statusCodeDistribution", {}).items()}
    errors = sum(s.get("errorDistribution", {}).values())
    n = sum(codes.values()) + errors
    lat = s["latencyPercentiles"]
    return {
        "rps": s["summary"]["requestsPerSec"],
        "p50": lat["p50"] * 1e3, "p99": lat["p99"] * 1e3, "p999": lat["p99.9"] * 1e3,
        "ok": sum(v for k, v in codes.items() if k.startswith("2")),
        "bad": sum(v for k, v in codes.items() if not k.startswith("2")) + errors,
        "codes": codes, "errs": s.get("errorDistribution", {}),
        "cpu_us": cpu / n * 1e6 if n else float("nan"), "n": n,
    }

def median_round(case):
    rounds = sorted((run(f"{case}.r{r}") for r in range(1, ROUNDS + 1)), key=lambda x: x["rps"])
    return rounds[(len(rounds) - 1) // 2], [x["rps"] for x in rounds]

hello, hello_all = median_round("hello_max")
trs = {n: median_round(f"transform_max.{n}") for n in MAX_NAMES}
hrate, trate, inr = run("hello_rate"), run("transform_rate"), run("in_rate")

# What the sidecar counted, what the receiver got, what is left in the outbox.
metrics = {}
for line in open(f"{R}/metrics.txt"):
    m = re.match(r'^(fieldmap_[a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$', line.strip())
    if m:
        key = m.group(1) + (m.group(2) or "")
        metrics[key] = float(m.group(3))
def metric(name, **labels):
    total = 0.0
    for k, v in metrics.items():
        if k == name or k.startswith(name + "{"):
            if all(f'{lk}="{lv}"' in k for lk, lv in labels.items()):
                total += v
    return total
received = metric("fieldmap_received_total", flow=FLOW)
rejected = metric("fieldmap_rejected_total", flow=FLOW)
accepted = received - rejected
delivered = int(open(f"{R}/receiver_count.txt").read().split()[0])
ready = json.load(open(f"{R}/readyz.json"))
pending, dead = ready["pending"], ready["dead"]
lost = max(0, int(accepted) - delivered)
dupes = max(0, delivered - int(accepted))

def ms(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"
def verdict(ok):
    return "met" if ok else "NOT met"

in_ok = inr["p99"] < 10 and inr["bad"] == 0 and lost == 0 and rejected == 0
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"\nfieldmap {REV}, {now}, {NPROC} cores, oha {OHA}, sidecar log level "
      f"{os.environ.get('SIDECAR_LOG', 'info')}")
print(f"max load: wrk -t 2 -c {CONN} with 20,000 varied requests per flow, {DUR} s, median of {ROUNDS} round(s) by req/s; "
      f"fixed rate: {RATE} req/s for {DUR} s, latency corrected for coordinated omission\n")
print("| case | load | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx+errors | server CPU us/req "
      "| vs hello | target |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
rows = [
    ("hello_axum", f"-c {CONN}", hello, "1.00x req/s", "baseline"),
    *((f"POST /transform/{n}", f"-c {CONN}", x, f"{x['rps'] / hello['rps']:.2f}x req/s",
       f">= 0.50x req/s: {verdict(x['rps'] / hello['rps'] >= 0.5)}")
      for n, (x, _) in trs.items()),
    ("hello_axum", f"{RATE}/s", hrate, "1.00x p99", "baseline"),
    ("POST /transform", f"{RATE}/s", trate, f"{trate['p99'] / hrate['p99']:.1f}x p99", ""),
    (f"POST /in (durable)", f"{RATE}/s", inr, f"{inr['p99'] / hrate['p99']:.1f}x p99",
     f"p99 < 10 ms, 0 errors, 0 lost: {verdict(in_ok)}"),
]
for name, load, x, vs, target in rows:
    print(f"| {name} | {load} | {x['rps']:,.0f} | {ms(x['p50'])} | {ms(x['p99'])} | "
          f"{ms(x['p999'])} | {x['bad']} | {x['cpu_us']:.0f} | {vs} | {target} |")
print()
if ROUNDS > 1:
    print(f"- req/s per round: hello_axum {', '.join(f'{v:,.0f}' for v in hello_all)}"
          + "".join(f"; {n} {', '.join(f'{v:,.0f}' for v in a)}" for n, (_, a) in trs.items()))
    # Each flow against the hello_axum run of its own round (minutes apart at most): drift of
    # the shared machine between rounds cancels out of these.
    for n in trs:
        paired = [run(f"transform_max.{n}.r{r}")["rps"] / run(f"hello_max.r{r}")["rps"]
                  for r in range(1, ROUNDS + 1)]
        print(f"- {n} / hello_axum of the same round: {', '.join(f'{v:.2f}' for v in paired)}; "
              f"median {sorted(paired)[(len(paired) - 1) // 2]:.2f}")
for n, (x, _) in trs.items():
    print(f"- /transform/{n}: {x['rps']:,.0f} req/s = {x['rps'] / hello['rps']:.2f} of hello_axum's "
          f"{hello['rps']:,.0f} (target >= 0.50: {verdict(x['rps'] / hello['rps'] >= 0.5)}); "
          f"server CPU {x['cpu_us']:.0f} us per request")
print(f"- /in at {RATE}/s: p99 {ms(inr['p99'])} ms (target < 10 ms: {verdict(inr['p99'] < 10)}), "
      f"p99.9 {ms(inr['p999'])} ms, {inr['ok']:,} answered 2xx, {inr['bad']} non-2xx or errors"
      + (f" {inr['codes']} {inr['errs']}" if inr["bad"] else ""))
print(f"- server CPU per request at {RATE}/s: /in {inr['cpu_us']:.0f} us, /transform "
      f"{trate['cpu_us']:.0f} us, hello_axum {hrate['cpu_us']:.0f} us: the outbox and the delivery "
      f"cost {inr['cpu_us'] - trate['cpu_us']:.0f} us of CPU per record")
print(f"- records: the sidecar accepted {int(accepted):,} (received {int(received):,}, rejected "
      f"{int(rejected)}; incl. 1 check request), the receiver got {delivered:,}; outbox pending "
      f"{pending}, dead {dead}; lost {lost}, delivered twice {dupes} "
      f"(target 0 lost: {verdict(lost == 0 and inr['ok'] <= accepted)})")
# The sidecar's own view of /in: its handler time (fieldmap_request_seconds; a histogram, or a
# summary over the last minute).
def dist(name):
    qs = sorted((float(m.group(1)), v) for k, v in metrics.items()
                if k.startswith(name + "{") and f'flow="{FLOW}"' in k
                for m in [re.search(r'quantile="([^"]+)"', k)] if m)
    if qs:
        return ", ".join(f"p{q * 100:g} {v * 1e3:.2f} ms" for q, v in qs if q >= 0.5)
    count = metric(name + "_count", flow=FLOW)
    bs = sorted((float(m.group(1)), v) for k, v in metrics.items()
                if k.startswith(name + "_bucket{") and f'flow="{FLOW}"' in k
                for m in [re.search(r'le="([0-9.eE+-]+)"', k)] if m)
    if bs and count:
        return ", ".join(f"<= {le * 1e3:g} ms {v / count:.1%}" for le, v in bs if le <= 0.025)
    return None
d = dist("fieldmap_request_seconds")
if d:
    print(f"- /in handler time inside the sidecar (its fieldmap_request_seconds): {d}")
perfstat = f"{R}/in_rate.perfstat"
if os.path.exists(perfstat):
    ev = {}
    for line in open(perfstat):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].isdigit():
            ev[f[2]] = int(f[0])
    syncs = ev.get("syscalls:sys_enter_fdatasync", 0) + ev.get("syscalls:sys_enter_fsync", 0)
    recs = RATE * int(DUR)
    if syncs:
        print(f"- outbox commits during /in (perf): {syncs:,} fdatasync/fsync calls for ~{recs:,} "
              f"records = {syncs / recs:.2f} per record (a record is committed when accepted and "
              f"again when delivered: {2 * recs / syncs:.2f} operations per commit); "
              f"{ev.get('context-switches', 0) / recs:.1f} context switches per record")
dsum = metric("fieldmap_delivery_seconds_sum")
dcount = metric("fieldmap_delivery_seconds_count")
if dcount:
    print(f"- deliveries: {int(dcount):,} attempts, mean {dsum / dcount * 1e3:.2f} ms each")
EOF
