#!/usr/bin/env bash
# framer conform --fuzz N against framer serve --demo, the compiled and the
# pure twin at the same time (one core each): 0 failures wanted (issue 16).
#
#   .ci/conform-fuzz.sh [N]        default N: 2000 examples per property
#
# Each twin's output goes to conform-fuzz-{compiled,pure}.log, its JUnit file
# to conform-fuzz-{compiled,pure}.xml; the hypothesis database is kept under
# .framer-conform/ so a failure found once is tried first next time.
set -uo pipefail
N="${1:-2000}"

run_one() {
  local mode="$1" log port server status
  if [ "$mode" = pure ]; then export FRAMER_NO_EXTENSIONS=1; else unset FRAMER_NO_EXTENSIONS; fi
  log="$(mktemp)"
  framer serve --demo --port 0 --log-level info 2>"$log" &
  server=$!
  port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's#.*serving on ws://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$log" | head -n1)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "framer serve --demo did not start ($mode)"; cat "$log"; kill "$server"; return 1
  fi
  status=0
  framer conform "ws://127.0.0.1:$port/dev" --api-gateway --fuzz "$N" \
    --db ".framer-conform/$mode" --junit "conform-fuzz-$mode.xml" > "conform-fuzz-$mode.log" 2>&1 || status=$?
  kill "$server"; wait "$server" 2>/dev/null
  echo "--- $mode twin: exit $status"
  grep -v '^fuzz: ' "conform-fuzz-$mode.log" | tail -25
  return "$status"
}

run_one compiled & compiled=$!
run_one pure & pure=$!
rc=0
wait "$compiled" || rc=1
wait "$pure" || rc=1
exit "$rc"
