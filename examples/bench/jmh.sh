#!/usr/bin/env bash
# Runs the JMH micro-benchmarks of the metering hot paths (pricing module).
#   examples/bench/jmh.sh                  # all of them
#   examples/bench/jmh.sh usageFromChat    # those whose name matches a regex
# Extra JMH options after the pattern, e.g. -wi 5 -i 10 -f 2. Results: target/jmh-metering.txt
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
pattern="${1:-MeteringBenchmark}"
shift || true

mvn -B -q install -DskipTests -pl pricing -am
mvn -B -q -pl pricing test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/jmh.classpath
cp="pricing/target/test-classes:pricing/target/classes:$(cat pricing/target/jmh.classpath)"
mkdir -p target
java -cp "$cp" org.openjdk.jmh.Main "$pattern" "$@" 2>&1 | tee target/jmh-metering.txt
