# Functions shared by the sidecar benchmark scripts (bench-serve.sh, ab-serve.sh,
# busy-serve.sh), which source this file.

# healthy ADDR [SECONDS]: wait until GET http://ADDR/healthz answers 2xx (10 s by default);
# false when it does not in time.
healthy() {
  local tries=$((${2:-10} * 10))
  for _ in $(seq "$tries"); do
    curl -fsS -o /dev/null "http://$1/healthz" 2> /dev/null && return 0
    sleep 0.1
  done
  return 1
}

# cpu_ns PID: the CPU time the process's threads have run so far, in ns (the sum of their
# /proc/PID/task/*/schedstat run times).
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2> /dev/null | awk '{s += $1} END {printf "%.0f", s}'
}
