#!/usr/bin/env bash
# Tollgate in one minute, with no network and no API key: starts the built-in fake provider and the
# proxy on free loopback ports, sends calls through the proxy the way an agent does, and stops both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/examples/lib/servers.sh"

# Build once up front (no-op when the jar is fresh), so the two servers start fast.
"$root/tollgate" --version >/dev/null

"$root/tollgate" mock-upstream --port 0 --chunk-delay-ms 30 >"$work/mock.log" 2>&1 &
pids+=($!)
provider="$(url_after "$work/mock.log" "listening on ")"

cat >"$work/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
upstream:
  base_url: $provider
storage:
  path: $work/tollgate.db
agents:
  capped-agent:
    max_requests_per_minute: 2
YAML
TOLLGATE_CALL_LOG=INFO "$root/tollgate" serve --config "$work/tollgate.yaml" >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy="$(url_after "$work/proxy.log" "OPENAI_BASE_URL=")"

echo "fake provider : $provider"
echo "Tollgate      : $proxy   (agents use OPENAI_BASE_URL=$proxy)"
echo
echo "--- a chat completion from agent 'research-agent', task 'ticket-4711':"
curl -sS -i "$proxy/chat/completions" \
  -H 'Content-Type: application/json' \
  -H 'X-Agent-Id: research-agent' -H 'X-Intent-Id: ticket-4711' \
  -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Summarise ticket 4711."}]}' \
  | grep -iE '^(HTTP/|x-tollgate-agent)|"usage"' | sed -E 's/.*("usage":\{[^}]*).*/\1 ...}/'
echo
echo "--- the same, streamed (each event is relayed as the provider sends it):"
curl -sS -N "$proxy/chat/completions" \
  -H 'Content-Type: application/json' -H 'X-Agent-Id: research-agent' \
  -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hi."}]}' \
  | grep -o '"content":"[^"]*"' | sed -E 's/"content":"(.*)"/\1/' | tr -d '\n'
echo
echo
echo "--- what Tollgate metered for those two calls (tokens, exact cost, where the usage came from):"
sleep 0.3
grep -o '/v1/chat/completions agent=.*' "$work/proxy.log" || true
echo
echo "--- 'capped-agent' may make 2 calls a minute; the third gets a 429 the SDKs will not retry:"
for i in 1 2 3; do
  curl -sS -o "$work/capped.json" -w "call $i: HTTP %{http_code}\n" "$proxy/chat/completions" \
    -H 'Content-Type: application/json' -H 'X-Agent-Id: capped-agent' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
done
cat "$work/capped.json"; echo
echo
echo "--- the cost report, from the SQLite ledger:"
"$root/tollgate" report --db "$work/tollgate.db" --since 1h
echo
echo "--- a model without a price is refused before it costs anything:"
curl -sS "$proxy/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"my-finetune","messages":[{"role":"user","content":"hi"}]}'
echo
echo
echo "--- a body over limits.max_request_bytes is refused before it reaches the provider:"
head -c 40000000 /dev/zero | tr '\0' 'a' >"$work/huge.json"
curl -sS "$proxy/chat/completions" -H 'Content-Type: application/json' --data-binary @"$work/huge.json" || true
echo
echo
echo "Done. To run it yourself:"
echo "  ./tollgate mock-upstream --port 8081 &"
echo "  printf 'upstream:\\n  base_url: http://127.0.0.1:8081/v1\\n' > tollgate.yaml && ./tollgate serve"
echo "  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_CUSTOM_HEADERS='X-Agent-Id: my-agent' your-agent"
