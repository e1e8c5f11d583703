#!/usr/bin/env bash
# Benchmark of `fieldmap run` on the SPEC mapping (../shared/bench/SPEC.md) against its peers.
# A benchmark, not a test: it prints figures, and checks that the output is still right.
#
# Usage: scripts/bench.sh [-n ROWS] [-r ROUNDS]
#   -n ROWS    rows in the generated input (default 1000000)
#   -r ROUNDS  timed rounds (default 3); every round runs every case once, interleaved, so
#              drift on a shared machine hits all cases alike; the table shows the median
# Env: BENCH_DIR  inputs, outputs and logs (default /tmp/fieldmap-bench)
#      SHARED     the shared benchmark kit: gen_leads.py, compare.py, peers/ (default ../shared/bench)
#
# Cases (each under /usr/bin/time -v, wall clock from bash's $EPOCHREALTIME):
#   fieldmap    target/release/fieldmap run mappings/bench/leads-to-chasedata.yaml,
#               writing accepted and rejects files
#   polars      peers/polars_peer.py IN ACC REJ (the same mapping in Polars, both cores)
#   xsv_select  xsv select 1- IN > /dev/null (parse and rewrite every CSV field: the floor for a
#               tool that reads and writes every row)
#   xsv_count   xsv count IN (parse only)
# Targets: fieldmap/polars median wall <= 0.67 (1.5x faster), fieldmap/xsv_select <= 2,
# fieldmap peak RSS < 64 MiB.
# Finally fieldmap's output is compared with polars' (py_csv's when polars is missing) with
# compare.py, which must print ALL SAME.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

N=1000000
ROUNDS=3
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see $0 --help)" >&2; exit 2 ;;
  esac
done

D=${BENCH_DIR:-/tmp/fieldmap-bench}
SHARED=$(cd "${SHARED:-$ROOT/../shared/bench}" && pwd)
MAPPING=$ROOT/mappings/bench/leads-to-chasedata.yaml
FM=$ROOT/target/release/fieldmap

if (( N % 1000000 == 0 )); then label=$((N / 1000000))m
elif (( N % 1000 == 0 )); then label=$((N / 1000))k
else label=$N; fi
IN=$D/leads_$label.csv
mkdir -p "$D/out" "$D/times"

# --- what is needed -------------------------------------------------------------------------
missing=0
need() {  # need WHAT TEST HINT: report a missing tool; returns 1 when missing
  if ! eval "$2" >/dev/null 2>&1; then
    echo "MISSING $1: install it with: $3" >&2
    return 1
  fi
}
need "GNU time (/usr/bin/time)" "[ -x /usr/bin/time ]" "apt-get install time" || missing=1
need python3 "command -v python3" "apt-get install python3" || missing=1
[ "$missing" = 0 ] || { echo "cannot run without the tools above" >&2; exit 1; }
have_polars=1 have_xsv=1
need "polars (peer skipped)" "python3 -c 'import polars'" "pip install polars" || have_polars=0
need "xsv (xsv cases skipped)" "command -v xsv" "cargo install xsv --locked" || have_xsv=0

echo "== cargo build --release"
cargo build --release --quiet

if [ ! -s "$IN" ]; then
  echo "== generating $N rows into $IN"
  python3 "$SHARED/gen_leads.py" "$N" -o "$IN"
fi

# --- cases ----------------------------------------------------------------------------------
# name|command; {acc} and {rej} are the case's output files. fieldmap exits 3 when it rejected
# rows, which is not a failure here.
CASES=("fieldmap|'$FM' run '$MAPPING' -i '$IN' -o {acc} -r {rej} -q || [ \$? -eq 3 ]")
[ "$have_polars" = 1 ] && CASES+=("polars|python3 '$SHARED/peers/polars_peer.py' '$IN' {acc} {rej}")
[ "$have_xsv" = 1 ] && CASES+=("xsv_select|xsv select 1- '$IN' > /dev/null" "xsv_count|xsv count '$IN' > /dev/null")

echo "== warming the page cache"
cat "$IN" > /dev/null
echo "== timing: $ROUNDS round(s), $N rows, $(nproc) cores, $(date -u +%FT%TZ)"
rm -f "$D/times/"*".$label.run"*
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${CASES[@]}"; do
    name=${c%%|*} cmd=${c#*|}
    mkdir -p "$D/out/$name"
    cmd=${cmd//\{acc\}/$D/out/$name/accepted.jsonl}
    cmd=${cmd//\{rej\}/$D/out/$name/rejects.jsonl}
    log=$D/times/$name.$label.run$r
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$log.txt" bash -c "$cmd" 2> "$log.stderr" \
      || echo "  FAILED: $name round $r (see $log.stderr)"
    t1=$EPOCHREALTIME
    python3 -c "print(f'{$t1 - $t0:.4f}')" > "$log.wall"
    printf '  round %d %-11s %8ss  maxrss %s KB\n' "$r" "$name" "$(cat "$log.wall")" \
      "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log.txt")"
  done
done

# --- table ----------------------------------------------------------------------------------
names=()
for c in "${CASES[@]}"; do names+=("${c%%|*}"); done
python3 - "$D" "$label" "$N" "$IN" "$ROUNDS" "${names[@]}" <<'EOF' | tee "$D/results_$label.md"
import os, statistics, sys
D, label, N, IN, ROUNDS = sys.argv[1:6]
N, ROUNDS, names = int(N), int(ROUNDS), sys.argv[6:]
mb = os.path.getsize(IN) / 1e6

def parse(prefix):
    d = {}
    for line in open(prefix + ".txt"):
        k, _, v = line.strip().rpartition(": ")
        d[k] = v
    wall = float(open(prefix + ".wall").read())
    cpu = float(d["User time (seconds)"]) + float(d["System time (seconds)"])
    return wall, cpu, int(d["Maximum resident set size (kbytes)"]) / 1024

med = {}
print(f"{N:,} rows, input {mb:.0f} MB, median of {ROUNDS} round(s)\n")
print("| case | median wall s | min-max wall s | median CPU s | peak RSS MiB | rows/s | MB/s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in names:
    runs = [parse(f"{D}/times/{name}.{label}.run{r}") for r in range(1, ROUNDS + 1)
            if os.path.exists(f"{D}/times/{name}.{label}.run{r}.txt")]
    if not runs:
        continue
    walls = [x[0] for x in runs]
    wall = statistics.median(walls)
    med[name] = wall
    cpu = statistics.median(x[1] for x in runs)
    rss = max(x[2] for x in runs)
    print(f"| {name} | {wall:.3f} | {min(walls):.3f}-{max(walls):.3f} | {cpu:.2f} | {rss:.0f} "
          f"| {N / wall:,.0f} | {mb / wall:,.1f} |")
    if name == "fieldmap":
        fm_rss = rss
print()
if "fieldmap" in med:
    fm = med["fieldmap"]
    for peer, target, what in (("polars", 0.67, "<= 0.67, i.e. 1.5x faster"),
                               ("xsv_select", 2.0, "<= 2")):
        if peer in med:
            ratio = fm / med[peer]
            verdict = "met" if ratio <= target else "NOT met"
            print(f"- fieldmap/{peer} median wall: {ratio:.2f} (target {what}: {verdict})")
    verdict = "met" if fm_rss < 64 else "NOT met"
    print(f"- fieldmap peak RSS (max over rounds): {fm_rss:.0f} MiB (target < 64 MiB: {verdict})")
EOF

# --- equivalence ----------------------------------------------------------------------------
echo
ref=polars
if [ "$have_polars" = 0 ]; then
  ref=py_csv
  echo "== running the py_csv reference (polars is missing)"
  mkdir -p "$D/out/py_csv"
  python3 "$SHARED/peers/py_csv.py" "$IN" "$D/out/py_csv/accepted.jsonl" "$D/out/py_csv/rejects.jsonl"
fi
echo "== equivalence: fieldmap against $ref (last round's outputs)"
python3 "$SHARED/compare.py" "$D/out/$ref" "$D/out/fieldmap"
