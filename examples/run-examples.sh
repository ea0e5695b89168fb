#!/usr/bin/env bash
# Runs the examples against the fake provider and a proxy on free loopback ports, and checks the ledger
# rows they leave. Needs the built jar (./tollgate builds it) and Maven; Node and sqlite3 when installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source examples/lib/servers.sh

echo "== the annotated config is valid"
OPENAI_API_KEY=sk-x RESEARCH_AGENT_KEY=tg-research TOLLGATE_ADMIN_TOKEN=0123456789abcdef0123 \
  ./tollgate check-config examples/tollgate.yaml

./tollgate mock-upstream --port 0 >"$work/mock.log" 2>&1 & pids+=($!)
provider="$(url_after "$work/mock.log" "listening on ")"
cat >"$work/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
upstream: { base_url: $provider }
storage: { path: $work/ledger.db }
agents:
  runaway: { max_requests_per_minute: 8 }
YAML
./tollgate serve --config "$work/tollgate.yaml" >"$work/proxy.log" 2>&1 & pids+=($!)
proxy="$(url_after "$work/proxy.log" "OPENAI_BASE_URL=")"
export OPENAI_BASE_URL="$proxy"

echo "== curl"
examples/curl.sh "$proxy"
echo "== runaway agent"
examples/runaway-agent.sh "$proxy" | tail -2
echo "== Java (com.openai:openai-java)"
java -cp "$(test_classpath)" examples/java/Agent.java
expected="curl-agent java-agent runaway"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  echo "== Node (openai from the npm registry)"
  (cd examples/node && npm install --no-audit --no-fund --silent)
  node examples/node/agent.mjs
  expected="$expected node-agent"
else
  echo "== Node: not installed, skipped"
fi

echo "== the ledger has their rows"
sleep 0.5
report="$(./tollgate report --db "$work/ledger.db" --since 1h --format json)"
for agent in $expected; do
  echo "$report" | grep -q "\"key\":\"$agent\"" || { echo "no ledger rows for $agent" >&2; echo "$report" >&2; exit 1; }
done
./tollgate report --db "$work/ledger.db" --since 1h
if command -v sqlite3 >/dev/null 2>&1; then
  for q in examples/sql/*.sql; do echo "== $q"; sqlite3 "$work/ledger.db" < "$q"; done
fi
echo "examples: all ran"
