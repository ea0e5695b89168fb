#!/usr/bin/env bash
# The smallest agent: one call with the agent and intent headers. Usage: examples/curl.sh [BASE_URL]
set -euo pipefail
base="${1:-${OPENAI_BASE_URL:-http://127.0.0.1:8080/v1}}"
curl -sS "$base/chat/completions" \
  -H "Authorization: Bearer ${OPENAI_API_KEY:-sk-not-needed-with-mock-upstream}" \
  -H 'Content-Type: application/json' \
  -H 'X-Agent-Id: curl-agent' -H 'X-Intent-Id: curl-demo-1' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi in five words."}]}'
echo
