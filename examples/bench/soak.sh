#!/usr/bin/env bash
# Soak test (issue 10): SOAK_SECONDS (default 600) of open-loop load at SOAK_RATE (default 500/s)
# through Tollgate, half of the calls streamed, HANG_UP (default 5%) of them hung up on as soon as the
# response headers arrive. Tollgate runs with a 256 MB heap touched up front (-Xms256m -Xmx256m
# -XX:+AlwaysPreTouch, so RSS does not grow just because the heap fills) and Netty's leak detection at
# "paranoid". Prints RSS every 30 s and the live heap after a full GC at one minute and at the end,
# then checks: zero LEAK reports in the proxy's log, no generator errors, and, after a clean stop
# (SIGTERM flushes the ledger), one ledger row per call the generator sent.
#   examples/bench/soak.sh
#   SOAK_SECONDS=60 examples/bench/soak.sh      # a short run
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
seconds="${SOAK_SECONDS:-600}"
rate="${SOAK_RATE:-500}"
hang_up="${HANG_UP:-0.05}"
source examples/lib/servers.sh

./tollgate --version >/dev/null
command -v sqlite3 >/dev/null || { echo "soak: sqlite3 is needed to count the ledger rows" >&2; exit 1; }
source examples/bench/lib.sh

# Streams last a few hundred milliseconds (the provider waits 10 ms between events), so hang-ups land mid-stream.
start_provider --chunk-delay-ms 10
start_proxy -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=paranoid

echo "soak: $seconds s at $rate/s through $proxy, half streamed, $hang_up hung up; RSS every 30 s:"
generate mixed "$proxy" "$rate" "$seconds" "$hang_up" >"$work/generator.out" & generator=$!
started=$SECONDS
live_heap() { jcmd "$proxy_pid" GC.run >/dev/null; heap_used; }
heap_start=""
while kill -0 "$generator" 2>/dev/null; do
  if [ -z "$heap_start" ] && [ $(( SECONDS - started )) -ge 60 ]; then
    heap_start="$(live_heap)"
    echo "  live heap after a full GC at one minute: $heap_start"
  fi
  echo "  t=$(( SECONDS - started ))s rss=$(rss)"
  for _ in $(seq 1 30); do kill -0 "$generator" 2>/dev/null && sleep 1; done
done
wait "$generator"
result="$(cat "$work/generator.out")"
echo "generator: $result"
echo "live heap after a full GC at the end: $(live_heap) (at one minute: ${heap_start:-not taken, run shorter than a minute})"

kill -TERM "$proxy_pid"
wait "$proxy_pid" || true
sent="$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$result")"
errors="$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$result")"
rows="$(sqlite3 "$work/ledger.db" "SELECT count(*) FROM calls WHERE agent = 'bench-agent'")"
leaks="$(grep -c 'LEAK:' "$work/proxy.log" || true)"
echo "ledger rows: $rows for $sent calls sent ($errors generator errors); LEAK reports: $leaks"
warning_lines="$(grep -E ' (WARN|ERROR) ' "$work/proxy.log" || true)"
warnings="$(grep -c . <<<"$warning_lines" || true)"
echo "proxy warnings and errors: $warnings (at most one a second per kind is logged)"
[ "$warnings" = 0 ] || tail -5 <<<"$warning_lines" | sed 's/^/  /'
[ "$leaks" = 0 ] || { grep -A5 'LEAK:' "$work/proxy.log" | head -40; exit 1; }
[ "$errors" = 0 ] || { echo "soak: the generator saw errors; the proxy's warnings:" >&2; tail -20 <<<"$warning_lines" >&2; exit 1; }
[ "$rows" = "$sent" ] || { echo "soak: ledger rows and calls sent differ" >&2; exit 1; }
echo "soak: passed"
