#!/usr/bin/env bash
# An agent with a dedup bug: it sends the same request until Tollgate stops it with a 429.
# Try it against the fake provider:
#   ./tollgate mock-upstream --port 8081 &
#   printf 'upstream:\n  base_url: http://127.0.0.1:8081/v1\nagents:\n  runaway: {max_requests_per_minute: 20}\nloop_detection:\n  max_identical_requests: 5\n  window_seconds: 600\n  action: alert\n' > tollgate.yaml
#   ./tollgate serve &
#   examples/runaway-agent.sh
set -euo pipefail
base="${1:-${OPENAI_BASE_URL:-http://127.0.0.1:8080/v1}}"
for i in $(seq 1 200); do
  status=$(curl -sS -o /tmp/runaway-last.json -w '%{http_code}' "$base/chat/completions" \
    -H 'Content-Type: application/json' -H 'X-Agent-Id: runaway' -H 'X-Intent-Id: runaway-night' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Is the digest already sent?"}]}')
  echo "call $i: HTTP $status"
  if [ "$status" = 429 ]; then
    cat /tmp/runaway-last.json; echo
    echo "stopped after $i calls"
    exit 0
  fi
done
echo "never stopped: is a budget configured for agent 'runaway'?" >&2
exit 1
