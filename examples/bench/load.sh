#!/usr/bin/env bash
# Load test: the fake provider and the proxy as separate processes on loopback; the same open-loop,
# constant-rate load first straight at the provider, then through Tollgate (metering, ledger and
# budgets on), at each rate, plain and streamed. Prints latency percentiles (microseconds, from each
# request's intended start), errors, and the proxy's CPU per request and RSS from /proc.
#   examples/bench/load.sh                 # rates 500 1000, 20 s each
#   RATES="500 1000 2000" SECONDS_EACH=30 examples/bench/load.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rates="${RATES:-500 1000}"
secs="${SECONDS_EACH:-20}"
source examples/lib/servers.sh

./tollgate --version >/dev/null
cp="$(test_classpath)"

java -Xmx512m -jar proxy/target/tollgate.jar mock-upstream --port 0 >"$work/mock.log" 2>&1 & pids+=($!)
provider="$(url_after "$work/mock.log" "listening on ")"
cat >"$work/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
upstream: { base_url: $provider }
storage: { path: $work/ledger.db }
agents:
  bench-agent: { max_cost_per_day_usd: 100000, max_requests_per_minute: 1000000, alert_at: 0.9 }
YAML
java -Xmx256m -jar proxy/target/tollgate.jar serve --config "$work/tollgate.yaml" >"$work/proxy.log" 2>&1 & proxy_pid=$!
pids+=($proxy_pid)
proxy="$(url_after "$work/proxy.log" "OPENAI_BASE_URL=")"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }
hz="$(getconf CLK_TCK)"
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1)"
for stream in false true; do
  for rate in $rates; do
    # Warm-up through both paths, then the measured runs.
    java -cp "$cp" examples/bench/LoadHarness.java "$proxy" "$rate" 5 "$stream" >/dev/null
    direct="$(java -cp "$cp" examples/bench/LoadHarness.java "$provider" "$rate" "$secs" "$stream")"
    before="$(cpu_ticks)"
    through="$(java -cp "$cp" examples/bench/LoadHarness.java "$proxy" "$rate" "$secs" "$stream")"
    after="$(cpu_ticks)"
    requests=$((rate * secs))
    cpu_us=$(( (after - before) * 1000000 / hz / requests ))
    rss="$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$proxy_pid/status")"
    echo "direct : $direct"
    echo "tollgate: $through  proxy_cpu_per_request=${cpu_us}us rss=$rss"
  done
done
