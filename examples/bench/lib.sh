# Shared by load.sh and soak.sh (source it after examples/lib/servers.sh, from the project root): the
# fake provider, Tollgate in front of it with a budget checked on every call, and the load generator.

bench_classpath="$(test_classpath)"

# generate MODE ARGS...: runs examples/bench/LoadGenerator.java and prints its one line of results. With
# INTENTS=N its calls name one of N intents in turn (X-Intent-Id), with PROMPT_BYTES=N their prompt is
# about N bytes long (by default no intent and a 48-byte question).
generate() {
  java -Dlogback.configurationFile=examples/bench/logback-quiet.xml -Dbench.intents="${INTENTS:-0}" \
    -Dbench.promptBytes="${PROMPT_BYTES:-0}" -cp "$bench_classpath" examples/bench/LoadGenerator.java "$@"
}

# start_provider [MOCK OPTIONS]: starts the fake provider on a free port; sets $provider and $provider_pid.
start_provider() {
  java -Xmx1g -jar proxy/target/tollgate.jar mock-upstream --port 0 "$@" >"$work/mock.log" 2>&1 & pids+=($!)
  provider_pid=$!
  provider="$(url_after "$work/mock.log" "listening on ")"
}

# start_proxy [JVM OPTIONS]: starts Tollgate ($PROXY_JAR, by default the one built here) in front of $provider, with metering, the ledger and a budget
# for bench-agent on, over HTTP/2 to the provider when UPSTREAM_HTTP2=true, on the JVM $PROXY_JAVA (by
# default the java on the PATH); sets $proxy and $proxy_pid.
start_proxy() {
  cat >"$work/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
upstream: { base_url: $provider, http2: ${UPSTREAM_HTTP2:-false} }
storage: { path: $work/ledger.db }
agents:
  bench-agent: { max_cost_per_day_usd: 100000, max_requests_per_minute: 10000000, alert_at: 0.9 }
YAML
  # -XX:-UsePerfData as ./tollgate runs it (its comment says why).
  "${PROXY_JAVA:-java}" -XX:-UsePerfData "$@" -jar "${PROXY_JAR:-proxy/target/tollgate.jar}" serve --config "$work/tollgate.yaml" >"$work/proxy.log" 2>&1 & proxy_pid=$!
  pids+=($proxy_pid)
  proxy="$(url_after "$work/proxy.log" "OPENAI_BASE_URL=")"
}

# start_relay [JVM OPTIONS]: starts examples/bench/NettyRelay.java (a bare Netty relay: Netty's share of a
# proxy's cost) in front of $provider, with Tollgate's launcher option and the JVM options given (by default
# Tollgate's -Xmx256m), on the JVM $PROXY_JAVA as start_proxy; sets $relay and $relay_pid. The proxy module's
# classes come first on its classpath: the relay takes its transport and allocator from Tollgate's Transport.
start_relay() {
  [ $# -gt 0 ] || set -- -Xmx256m
  "${PROXY_JAVA:-java}" -XX:-UsePerfData "$@" -cp "proxy/target/classes:$bench_classpath" examples/bench/NettyRelay.java "$provider" >"$work/relay.log" 2>&1 &
  relay_pid=$!
  pids+=($relay_pid)
  relay="$(url_after "$work/relay.log" "relay listening on ")"
}

# ticks_of /proc/PID[/task/TID]/stat: the CPU ticks (utime + stime) so far. A thread's name may hold
# spaces ("C2 CompilerThre"), so the fields are counted after the name's closing parenthesis.
ticks_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null; }

# heap_used: the heap in use, summed over the collector's generations (G1, Parallel or Serial; "?" for others).
heap_used() {
  jcmd "$proxy_pid" GC.heap_info | awk '/garbage-first heap|PSYoungGen|ParOldGen|def new generation|tenured generation/ {
    for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); s += v } }
    END { print (s == "" ? "?" : s "K") }'
}
# rss: Tollgate's resident memory.
rss() { awk '/VmRSS/ {printf "%d MB", $2 / 1024}' "/proc/$proxy_pid/status"; }

# cpu_ticks [PID]: the CPU ticks so far (utime + stime) of Tollgate (or of the JVM PID) by thread kind,
# then the whole process's (which keeps the time of threads that ended): "loops ledger jit gc process".
cpu_ticks() {
  local pid="${1:-$proxy_pid}"
  for t in /proc/"$pid"/task/*; do
    echo "$(ticks_of "$t/stat") $(cat "$t/comm" 2>/dev/null)"
  done | awk '
    NF > 1 { n = $1; $1 = ""; k = "other"
      if ($0 ~ /multiThreadIo/) k = "loops"; else if ($0 ~ /ledger/) k = "ledger"
      else if ($0 ~ /Compiler/) k = "jit"; else if ($0 ~ /GC|G1/) k = "gc"
      t[k] += n }
    END { printf "%d %d %d %d ", t["loops"], t["ledger"], t["jit"], t["gc"] }'
  ticks_of "/proc/$pid/stat"
}
# cpu_split BEFORE AFTER REQUESTS: a JVM's CPU per request (from two cpu_ticks), in all and by thread kind. "steady" leaves
# out the JIT compiler threads, whose work ends once the code is compiled (it still shows after a warm-up
# because each change of load shape makes the JIT recompile a few methods).
cpu_split() {
  local -a b=($1) a=($2)
  local us=() i total=$(( a[4] - b[4] )) named=0
  for i in 0 1 2 3; do
    us[i]=$(( (a[i] - b[i]) * 1000000 / hz / $3 ))
    named=$(( named + a[i] - b[i] ))
  done
  echo "cpu_per_request=$(( total * 1000000 / hz / $3 ))us steady=$(( (total - a[2] + b[2]) * 1000000 / hz / $3 ))us (loops ${us[0]}, ledger ${us[1]}, jit ${us[2]}, gc ${us[3]}, other $(( (total - named) * 1000000 / hz / $3 )))"
}
hz="$(getconf CLK_TCK)"
