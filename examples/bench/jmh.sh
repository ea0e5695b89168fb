#!/usr/bin/env bash
# Runs the JMH benchmarks: the metering hot paths (module pricing) and the ledger (module storage).
#   examples/bench/jmh.sh                          # the metering benchmarks
#   examples/bench/jmh.sh usageFromChat            # those whose name matches a regex
#   examples/bench/jmh.sh LedgerBenchmark          # the ledger writer and the million-row report
#   examples/bench/jmh.sh AdmissionBenchmark       # budget admission and the loop fingerprint (module proxy)
# Extra JMH options after the pattern, e.g. -wi 5 -i 10 -f 2. Results: target/jmh-<module>.txt
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
pattern="${1:-MeteringBenchmark}"
shift || true
module=pricing
case "$pattern" in Ledger*) module=storage ;; Admission*) module=proxy ;; esac

mvn -B -q install -DskipTests -pl "$module" -am
mvn -B -q -pl "$module" test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/jmh.classpath
cp="$module/target/test-classes:$module/target/classes:$(cat $module/target/jmh.classpath)"
mkdir -p target
java -cp "$cp" org.openjdk.jmh.Main "$pattern" "$@" 2>&1 | tee "target/jmh-$module.txt"
