#!/usr/bin/env bash
# Load test (issue 9): the fake provider, Tollgate and, when installed, nginx `proxy_pass` run as
# separate processes on loopback; examples/bench/LoadGenerator.java (one Netty thread) drives them.
#   1. Open loop at each of RATES, plain then streamed: the same constant-rate load straight at the
#      provider, through nginx, and through Tollgate (metering, ledger and a budget on). Prints the
#      added latency (p50/p90/p99/p99.9 over direct, microseconds from each request's intended start),
#      errors, Tollgate's CPU per request (from /proc), its RSS and its GC pauses in the run.
#   2. Paced streams at each of PACED_RATES (default 200 and 1000/s): the fake provider sends each
#      stream's tokens PACE_MS apart (default 10 ms: 100 tokens/s) as a model produces them, instead of
#      in one burst, so every event is a read and a write of its own; the same comparison as in 1,
#      streamed only. The provider sends token i at a fixed time (i x PACE_MS after the first), so the
#      spread added (each stream's time from its headers to its last byte, through the proxy minus
#      direct) is the delay the proxy adds between events beyond the first byte.
#   3. Maximum throughput: closed loop on MAX_CONNECTIONS connections, direct, nginx and Tollgate.
#   4. HOLD_STREAMS concurrent streams (slow ones: the provider waits 1 s between events) against
#      Tollgate with its -Xmx256m heap: how many completed, the peak RSS and the heap after a full GC.
#   examples/bench/load.sh                                   # 500 1000 2000 5000/s, 20 s each
#   RATES="1000" SECONDS_EACH=10 HOLD_STREAMS=0 examples/bench/load.sh
#   PROXY_OPTS="-XX:StartFlightRecording=filename=/tmp/tollgate.jfr" ...   # profile the proxy with JFR
#   PHASES=hold HOLD_STREAMS=10000 UPSTREAM_HTTP2=true examples/bench/load.sh   # only phase 4, HTTP/2 to the provider
#   PHASES=paced PACED_RATES="500 1000" PACE_MS=20 examples/bench/load.sh        # only phase 2
#   RELAY=true PHASES="rates paced" RATES=1000 examples/bench/load.sh             # with the bare Netty relay
#   INTENTS=100 PROMPT_BYTES=8192 examples/bench/load.sh      # calls as a working agent's: 100 intents, 8 KB prompts
# RELAY=true also runs examples/bench/NettyRelay.java, a bare Netty relay set up as Tollgate's connections
# are (no metering, ledger or limits), in phases 1-3 beside nginx: what Netty and the JVM cost on the host,
# so that Tollgate's own share of its CPU per call (Tollgate minus the relay) shows on its own.
# PHASES picks phases by name (default "rates paced max hold"); UPSTREAM_HTTP2=true sets upstream.http2 in
# Tollgate's config, so calls share a few HTTP/2 connections to the provider instead of one socket each.
# The generator shares the machine's cores with the servers; the numbers say so by including it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rates="${RATES:-500 1000 2000 5000}"
secs="${SECONDS_EACH:-20}"
max_connections="${MAX_CONNECTIONS:-64}"
hold_streams="${HOLD_STREAMS:-9900}"
phases=" ${PHASES:-rates paced max hold} "
paced_rates="${PACED_RATES:-200 1000}"
pace_ms="${PACE_MS:-10}"
proxy_heap="${PROXY_HEAP:--Xmx256m}"
source examples/lib/servers.sh

./tollgate --version >/dev/null
source examples/bench/lib.sh
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

start_provider
# shellcheck disable=SC2086  # $proxy_heap and PROXY_OPTS are lists of JVM options
start_proxy $proxy_heap ${PROXY_OPTS:-} -Xlog:gc:file="$work/gc.log"

nginx_url=""
if command -v nginx >/dev/null 2>&1; then
  # A port below the kernel's ephemeral range: one inside it may be the local port of a live outgoing
  # connection at the moment nginx binds ("Address already in use"). Skipped if something listens there.
  ephemeral_low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  for _ in $(seq 1 20); do
    nginx_port=$(( 10000 + RANDOM % (ephemeral_low > 11000 ? ephemeral_low - 10000 : 1000) ))
    (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null || break
  done
  provider_port="${provider##*:}"; provider_port="${provider_port%%/*}"
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  upstream provider { server 127.0.0.1:$provider_port; keepalive 512; }
  server {
    listen 127.0.0.1:$nginx_port;
    keepalive_requests 1000000;
    location /v1/ { proxy_pass http://provider; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
NGINX
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & nginx_pid=$!
  pids+=($nginx_pid)
  nginx_url="http://127.0.0.1:$nginx_port/v1"
  for _ in $(seq 1 50); do curl -s -o /dev/null "$nginx_url/models" && break; sleep 0.1; done
fi

relay=""
# shellcheck disable=SC2086  # $proxy_heap is a list of JVM options
[ "${RELAY:-false}" = true ] && start_relay $proxy_heap

nginx_ticks() { for p in $(pgrep -P "$nginx_pid") "$nginx_pid"; do ticks_of "/proc/$p/stat"; done | awk '{t += $1} END {print t}'; }
per_request() { echo "$(( ($2 - $1) * 1000000 / hz / $3 ))us"; }  # per_request TICKS_BEFORE TICKS_AFTER REQUESTS
# gc_since LINE: the GC pauses logged after line LINE of the GC log: count, total and longest, in ms.
gc_since() {
  tail -n +"$(( $1 + 1 ))" "$work/gc.log" | awk '/Pause/ { ms = $NF; sub(/ms/, "", ms); n++; t += ms; if (ms > m) m = ms }
    END { printf "%d pauses, %.1f ms total, %.1f ms max", n, t, m }'
}
added() {  # added NAME THROUGH DIRECT: the added latency at each percentile
  local out="" p
  for p in p50 p90 p99 p999; do
    out="$out $p=$(( $(field "$1_$p" "$2") - $(field "$1_$p" "$3") ))"
  done
  echo "$out"
}

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(java -version 2>&1 | head -1)"
echo "provider $provider  tollgate $proxy  nginx ${nginx_url:-not installed}  relay ${relay:-off}"
[[ "$phases" == *" rates "* || "$phases" == *" max "* ]] && echo "== warm-up (JIT) through every path"
for stream in false true; do
  [[ "$phases" == *" rates "* || "$phases" == *" max "* ]] || break
  generate rate "$proxy" 2000 20 "$stream" >/dev/null
  [ -n "$nginx_url" ] && generate rate "$nginx_url" 2000 5 "$stream" >/dev/null
  [ -n "$relay" ] && generate rate "$relay" 2000 20 "$stream" >/dev/null
  generate rate "$provider" 2000 5 "$stream" >/dev/null
done

# compare RATE STREAM [EVENT_DELAY_MS]: one open-loop run straight at the provider, through nginx, the relay and
# through Tollgate, back to back; prints each and what the proxies added, with their CPU per request.
compare() {
  local rate="$1" stream="$2" pace=(${3:+256 "$3"}) metric=total direct through before after gc_line
  local requests=$(( rate * (secs + 3) ))
  [ "$stream" = true ] && metric=ttfb
  direct="$(generate rate "$provider" "$rate" "$secs" "$stream" "${pace[@]}")"
  echo "direct   : $direct"
  if [ -n "$nginx_url" ]; then
    before="$(nginx_ticks)"
    through="$(generate rate "$nginx_url" "$rate" "$secs" "$stream" "${pace[@]}")"
    after="$(nginx_ticks)"
    report nginx "$through" "cpu_per_request=$(per_request "$before" "$after" "$requests")"
  fi
  if [ -n "$relay" ]; then
    before="$(cpu_ticks "$relay_pid")"
    through="$(generate rate "$relay" "$rate" "$secs" "$stream" "${pace[@]}")"
    after="$(cpu_ticks "$relay_pid")"
    report relay "$through" "$(cpu_split "$before" "$after" "$requests")"
  fi
  gc_line="$(wc -l < "$work/gc.log")"
  before="$(cpu_ticks)"
  through="$(generate rate "$proxy" "$rate" "$secs" "$stream" "${pace[@]}")"
  after="$(cpu_ticks)"
  report tollgate "$through" "$(cpu_split "$before" "$after" "$requests") rss=$(rss) gc: $(gc_since "$gc_line")"
}

# report NAME THROUGH CPU (inside compare, whose $stream, $metric and $direct it reads): a proxy's line of
# results, then what it added over direct (to the whole answer and, for streams, between events) and its CPU.
report() {
  printf '%-9s: %s\n' "$1" "$2"
  [ "$stream" = true ] && echo "  $1 added total:$(added total "$2" "$direct")  spread:$(added spread "$2" "$direct")"
  echo "  $1 added $metric:$(added "$metric" "$2" "$direct")  $3"
}

for stream in false true; do
  [[ "$phases" == *" rates "* ]] || break
  for rate in $rates; do
    echo "== rate $rate/s, stream=$stream, $secs s"
    compare "$rate" "$stream"
  done
done

if [[ "$phases" == *" paced "* ]]; then
  # Each paced stream lasts about 20 events x PACE_MS; a short warm-up teaches the JIT the per-event path.
  generate rate "$proxy" 500 10 true 256 "$pace_ms" >/dev/null
  [ -n "$relay" ] && generate rate "$relay" 500 10 true 256 "$pace_ms" >/dev/null
  for rate in $paced_rates; do
    echo "== paced streams at $rate/s, one event every $pace_ms ms, $secs s"
    compare "$rate" true "$pace_ms"
  done
fi

[[ "$phases" == *" max "* ]] && echo "== maximum throughput, closed loop on $max_connections connections, $secs s each"
for stream in false true; do
  [[ "$phases" == *" max "* ]] || break
  direct="$(generate max "$provider" "$max_connections" "$secs" "$stream")"
  echo "direct   stream=$stream: $direct"
  if [ -n "$nginx_url" ]; then
    through_nginx="$(generate max "$nginx_url" "$max_connections" "$secs" "$stream")"
    echo "nginx    stream=$stream: $through_nginx"
  fi
  if [ -n "$relay" ]; then
    echo "relay    stream=$stream: $(generate max "$relay" "$max_connections" "$secs" "$stream")"
  fi
  through="$(generate max "$proxy" "$max_connections" "$secs" "$stream")"
  echo "tollgate stream=$stream: $through  rss=$(rss)"
  if [ -n "$nginx_url" ]; then
    echo "  tollgate/nginx throughput: $(awk -v t="$(field throughput_per_s "$through")" -v n="$(field throughput_per_s "$through_nginx")" 'BEGIN { printf "%.0f%%", 100 * t / n }')"
  fi
done

if [ "$hold_streams" -gt 0 ] && [[ "$phases" == *" hold "* ]]; then
  sockets_per_stream=2; [ "${UPSTREAM_HTTP2:-false}" = true ] && sockets_per_stream=1
  echo "== $hold_streams concurrent streams through Tollgate ($proxy_heap, upstream.http2: ${UPSTREAM_HTTP2:-false}), one event per second"
  kill "$provider_pid" "$proxy_pid"
  start_provider --chunk-delay-ms 1000
  # shellcheck disable=SC2086
  start_proxy $proxy_heap ${PROXY_OPTS:-} -Xlog:gc:file="$work/gc.log"
  peak=0
  generate hold "$proxy" "$hold_streams" true >"$work/hold.out" & gen=$!
  while kill -0 "$gen" 2>/dev/null; do
    now="$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$proxy_pid/status")"
    [ "$now" -gt "$peak" ] && peak="$now"
    # Each stream holds the agent's socket, and over HTTP/1.1 one to the provider as well.
    if [ -z "${heap_mid:-}" ] && [ "$(ls /proc/$proxy_pid/fd | wc -l)" -gt $(( hold_streams * sockets_per_stream - 100 )) ]; then
      jcmd "$proxy_pid" GC.run >/dev/null
      heap_mid="$(heap_used)"
      fds="$(ls /proc/$proxy_pid/fd | wc -l)"
    fi
    sleep 0.2
  done
  echo "tollgate : $(cat "$work/hold.out")  peak_rss=${peak} MB proxy_fds_at_peak=${fds:-?} heap_used_after_full_gc_at_peak=${heap_mid:-?}"
fi
