#!/usr/bin/env bash
# Issue #7: mTLS client -> east-west gateway (SNI passthrough) -> mTLS server, against direct,
# on loopback. Not part of `mvn verify`.
#   benchmarks/run-gateway-bench.sh                              # the full run
#   benchmarks/run-gateway-bench.sh --duration 10s --warmup 5s   # a smoke run
# Any flag is passed to GatewayBenchmark; --help lists them with their defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  mvn -B -q ${MAVEN_OFFLINE:--o} -pl benchmarks -am package -DskipTests
fi

exec "${JAVA:-java}" -Xms256m -Xmx512m -XX:+UseParallelGC \
  -cp benchmarks/target/benchmarks.jar dev.fedmesh.benchmarks.load.GatewayBenchmark "$@"
