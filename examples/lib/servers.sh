# Shared by the example and benchmark scripts (source it, do not run it): a scratch directory, the
# background servers to stop on exit, and waiting for a server to print its base URL.
work="$(mktemp -d)"
pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop_servers EXIT

# url_after LOG MARKER: waits until LOG has MARKER followed by http://HOST:PORT/v1, and prints that URL.
url_after() {
  local log="$1" marker="$2" url=""
  for _ in $(seq 1 100); do
    url="$(grep -o "$marker"'http://[0-9.]*:[0-9]*/v1' "$log" | head -1 | sed "s|^$marker||" || true)"
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "a server did not start; its output:" >&2
  cat "$log" >&2
  return 1
}

# test_classpath: the proxy module's test classpath (openai-java, HdrHistogram, ...), resolving the
# sibling modules in the reactor so that nothing needs to be installed first.
test_classpath() {
  mvn -B -q -pl proxy -am -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$work/cp.txt" >/dev/null
  cat "$work/cp.txt"
}
