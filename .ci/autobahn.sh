#!/usr/bin/env bash
# Autobahn|Testsuite against framer's echo server (tests/autobahn/echo_server.py).
#
#   .ci/autobahn.sh [OUTDIR]        default OUTDIR: ./autobahn-report
#
# Runs cases 1-7, 9 and 10 (AUTOBAHN_EXCLUDE='12.*,13.*': framer negotiates no
# permessage-deflate) with ../shared/autobahn/run.sh and exits with its status
# (0 all passed, 1 some case failed, 2 setup error).  The implementation under
# test follows the environment: FRAMER_NO_EXTENSIONS=1 runs the pure twin.
# FRAMER_SHARED overrides where shared/ is (default: next to the repository).
# AUTOBAHN_PORT picks the port (default: a free one chosen by the OS).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${FRAMER_SHARED:-$(dirname "$REPO")/shared}"
OUTDIR="${1:-$REPO/autobahn-report}"
PYTHON="${PYTHON:-python3}"
[ -x "$SHARED/autobahn/run.sh" ] || { echo "autobahn.sh: $SHARED/autobahn/run.sh not found" >&2; exit 2; }

# Test the installed framer if there is one, else the source tree.
if ! (cd / && "$PYTHON" -c 'import framer' 2>/dev/null); then
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PYTHON" -c 'import framer' || { echo "autobahn.sh: cannot import framer" >&2; exit 2; }

mkdir -p "$OUTDIR"
log="$OUTDIR/echo_server.log"
( cd "$REPO" && exec "$PYTHON" -u tests/autobahn/echo_server.py "${AUTOBAHN_PORT:-0}" ) >"$log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop EXIT

url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$log" | head -1)"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "autobahn.sh: echo server exited" >&2; exit 2; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "autobahn.sh: echo server did not start" >&2; exit 2; }
echo "autobahn.sh: $(head -1 "$log")" >&2

set +e
AUTOBAHN_EXCLUDE="${AUTOBAHN_EXCLUDE-12.*,13.*}" AUTOBAHN_AGENT="${AUTOBAHN_AGENT:-framer}" \
  "$SHARED/autobahn/run.sh" "$url" "$OUTDIR"
rc=$?
set -e
exit "$rc"
