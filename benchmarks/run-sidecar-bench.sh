#!/usr/bin/env bash
# Issue #5: fedmesh sidecar pair vs haproxy pair vs direct, on loopback. Not part of `mvn verify`.
#   benchmarks/run-sidecar-bench.sh                      # 60 s per topology, the real run
#   benchmarks/run-sidecar-bench.sh --duration 10s --warmup 5s   # a smoke run
# Any flag is passed to SidecarBenchmark; --help lists them with their defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v haproxy >/dev/null; then
  echo "haproxy is missing: installing Debian's package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
# The package enables a system haproxy service; the benchmark runs its own instances only.
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  mvn -B -q ${MAVEN_OFFLINE:--o} -pl benchmarks -am package -DskipTests
fi

exec "${JAVA:-java}" -Xms256m -Xmx512m -XX:+UseParallelGC \
  -cp benchmarks/target/benchmarks.jar dev.fedmesh.benchmarks.load.SidecarBenchmark "$@"
