# Shared by load.sh and soak.sh (source it after examples/lib/servers.sh, from the project root): the
# fake provider, Tollgate in front of it with a budget checked on every call, and the load generator.

bench_classpath="$(test_classpath)"

# generate MODE ARGS...: runs examples/bench/LoadGenerator.java and prints its one line of results.
generate() {
  java -Dlogback.configurationFile=examples/bench/logback-quiet.xml -cp "$bench_classpath" \
    examples/bench/LoadGenerator.java "$@"
}

# start_provider [MOCK OPTIONS]: starts the fake provider on a free port; sets $provider and $provider_pid.
start_provider() {
  java -Xmx1g -jar proxy/target/tollgate.jar mock-upstream --port 0 "$@" >"$work/mock.log" 2>&1 & pids+=($!)
  provider_pid=$!
  provider="$(url_after "$work/mock.log" "listening on ")"
}

# start_proxy [JVM OPTIONS]: starts Tollgate in front of $provider, with metering, the ledger and a budget
# for bench-agent on; sets $proxy and $proxy_pid.
start_proxy() {
  cat >"$work/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
upstream: { base_url: $provider }
storage: { path: $work/ledger.db }
agents:
  bench-agent: { max_cost_per_day_usd: 100000, max_requests_per_minute: 10000000, alert_at: 0.9 }
YAML
  java "$@" -jar proxy/target/tollgate.jar serve --config "$work/tollgate.yaml" >"$work/proxy.log" 2>&1 & proxy_pid=$!
  pids+=($proxy_pid)
  proxy="$(url_after "$work/proxy.log" "OPENAI_BASE_URL=")"
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
