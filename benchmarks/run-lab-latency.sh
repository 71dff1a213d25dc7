#!/usr/bin/env bash
# Issue #16: call latency in the local lab, same-cluster (two sidecars) vs cross-cluster (through an
# east-west gateway), open loop. Starts a lab of its own, measures, and always stops it again.
# Not part of `mvn verify`.
#   benchmarks/run-lab-latency.sh                              # 50 rps, 30 s per scenario
#   benchmarks/run-lab-latency.sh --duration 10s --warmup 5s   # a smoke run
# Any flag is passed to 'fedmesh lab latency'; --help lists them with their defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  # Unquoted on purpose: MAVEN_OFFLINE= (empty) lets Maven go online and must not become "".
  # shellcheck disable=SC2086
  mvn -B -q ${MAVEN_OFFLINE:--o} -pl cli,lab-cluster -am package -DskipTests
fi

# The CLI jar itself, not ./fedmesh: the wrapper would rebuild on its own terms, and SKIP_BUILD=1
# means the last build is used as it is.
fedmesh=("${JAVA:-java}" -Xms64m -Xmx256m
  "-Dfedmesh.labCluster.classpath=$root/lab-cluster/target/lab-cluster.jar:$root/lab-cluster/target/lib/*"
  -jar "$root/cli/target/fedmesh-cli.jar")

for arg in "$@"; do
  if [[ "$arg" == --help || "$arg" == -h ]]; then
    exec "${fedmesh[@]}" lab latency --help
  fi
done

# The lab's pods and gateways have fixed loopback addresses: a lab already running (./fedmesh lab
# up) holds them, and a second one would fail half-way through its start.
if (exec 3<>/dev/tcp/127.1.0.1/15443) 2>/dev/null; then
  echo "a lab is already running (127.1.0.1:15443 answers): stop it with './fedmesh lab down'" >&2
  exit 1
fi

lab_dir="$(mktemp -d "${TMPDIR:-/tmp}/fedmesh-lab-latency.XXXXXX")"
child=""

# Runs a command in the background and waits for it: bash runs a trap only once the foreground
# command ends, so a TERM that reached this script alone would wait for a whole 'lab up'.
in_background() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

# Stops the lab whatever happened; keeps its directory (logs) only when the run failed.
stop_lab() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$child" ]]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if "${fedmesh[@]}" lab down --dir "$lab_dir" >"$lab_dir/down.log" 2>&1; then
    echo "lab stopped: $(grep -c '^stopped' "$lab_dir/down.log" || true) processes"
  else
    echo "lab down failed; see $lab_dir/down.log" >&2
    status=1
  fi
  if [[ $status -eq 0 ]]; then
    rm -rf "$lab_dir"
  else
    echo "the lab's files and logs are kept in $lab_dir" >&2
  fi
  exit "$status"
}
trap stop_lab EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "command: benchmarks/run-lab-latency.sh $*"
echo "starting a lab in $lab_dir (should this script be killed -9: ./fedmesh lab down --dir $lab_dir)"
# 'lab up' returns once the mesh has converged: every sidecar reaches every announced service.
if ! in_background "${fedmesh[@]}" lab up --dir "$lab_dir" >"$lab_dir/up.log" 2>&1; then
  cat "$lab_dir/up.log" >&2
  exit 1
fi
grep '^\[' "$lab_dir/up.log" || true

in_background "${fedmesh[@]}" lab latency --dir "$lab_dir" "$@"
