#!/usr/bin/env bash
# Compares two Tollgate builds (or two sets of JVM options) side by side: both run behind one fake
# provider and are measured in alternating rounds at one rate, so that the shared host's drift, which
# moves sequential runs by 10-30%, falls on both alike. Prints, per round and side, Tollgate's CPU per
# request by thread kind and the latency percentiles (to the first byte and to the last).
#   A_JAR=/tmp/old.jar examples/bench/ab.sh                   # an older build (A) against this one (B)
#   A_OPTS=-XX:+UseParallelGC examples/bench/ab.sh            # the same build with other JVM options
#   B_HTTP2=true examples/bench/ab.sh                         # HTTP/1.1 (A) against HTTP/2 (B) to the provider
#   B_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java ...     # the same build on another JVM (B)
#   RATE=1000 STREAM=true ROUNDS=5 SECS=15 WARM=30 ...        # the defaults, streamed instead of plain
#   STREAM=true PACE_MS=10 ...                                # paced streams: one token every 10 ms, as in load.sh
#   A_RELAY=true examples/bench/ab.sh                         # the bare Netty relay (A, NettyRelay.java) against Tollgate
#   INTENTS=100 PROMPT_BYTES=8192 ...                         # calls charged to 100 intents in turn, with 8 KB prompts
# Build an older jar from a commit with, for example:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && mvn -B -q -DskipTests package) \
#     && cp /tmp/old/proxy/target/tollgate.jar /tmp/old.jar && git worktree remove --force /tmp/old
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source examples/lib/servers.sh
./tollgate --version >/dev/null
source examples/bench/lib.sh

rate="${RATE:-1000}" secs="${SECS:-15}" stream="${STREAM:-false}" rounds="${ROUNDS:-5}"
pace=(${PACE_MS:+256 "$PACE_MS"})  # the generator's connection count (256, as load.sh) and the delay between events
start_provider
declare -A url pid
base="$work"
for side in A B; do
  jar="${side}_JAR" opts="${side}_OPTS" http2="${side}_HTTP2" java="${side}_JAVA" relay_side="${side}_RELAY"
  mkdir -p "$base/$side"
  work="$base/$side"
  if [ "${!relay_side:-false}" = true ]; then
    # shellcheck disable=SC2086
    PROXY_JAVA="${!java:-java}" start_relay -Xmx256m ${!opts:-}
    url[$side]="$relay" pid[$side]="$relay_pid"
    continue
  fi
  # shellcheck disable=SC2086
  PROXY_JAR="${!jar:-proxy/target/tollgate.jar}" UPSTREAM_HTTP2="${!http2:-false}" PROXY_JAVA="${!java:-java}" start_proxy -Xmx256m ${!opts:-}
  url[$side]="$proxy" pid[$side]="$proxy_pid"
done
work="$base"
describe() {  # describe SIDE: what runs on that side
  local jar="${1}_JAR" opts="${1}_OPTS" http2="${1}_HTTP2" java="${1}_JAVA" relay_side="${1}_RELAY"
  if [ "${!relay_side:-false}" = true ]; then echo "the bare Netty relay ${!java:-java} ${!opts:-}"; return; fi
  echo "${!jar:-proxy/target/tollgate.jar} ${!java:-java} ${!opts:-} http2=${!http2:-false}"
}
echo "A: $(describe A)  B: $(describe B)  rate=$rate/s stream=$stream pace=${PACE_MS:-none} intents=${INTENTS:-0} prompt_bytes=${PROMPT_BYTES:-0}"
for side in A B; do generate rate "${url[$side]}" 2000 "${WARM:-30}" "$stream" "${pace[@]}" >/dev/null; done
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    proxy_pid="${pid[$side]}"
    before="$(cpu_ticks)"
    out="$(generate rate "${url[$side]}" "$rate" "$secs" "$stream" "${pace[@]}")"
    after="$(cpu_ticks)"
    latency="$(grep -o "ttfb_p50=[0-9]* ttfb_p90=[0-9]* ttfb_p99=[0-9]*" <<<"$out" || true) $(grep -o "total_p50=[0-9]* total_p90=[0-9]* total_p99=[0-9]*" <<<"$out" || true) $(grep -o " errors=[0-9]*" <<<"$out" || true)"
    echo "$side round $round: $(cpu_split "$before" "$after" $(( rate * (secs + 3) ))) $latency"
  done
done
