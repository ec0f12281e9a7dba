#!/usr/bin/env bash
# Autobahn|Testsuite, every case (1.* to 13.*, permessage-deflate included),
# against framer's compiled and pure echo servers at once.
#
#   .ci/autobahn-full.sh [OUTDIR]     default OUTDIR: ./autobahn-full
#
# A full run takes about 16 minutes per implementation on a 2-core machine
# (12.* and 13.* are most of it), so the two run in parallel: two echo
# servers on two ports (tests/autobahn/echo_server.py through .ci/autobahn.sh,
# one with FRAMER_NO_EXTENSIONS=1) and two wstest runs, reports in
# OUTDIR/compiled and OUTDIR/pure.  Exits 0 only when both report all
# EXPECTED cases passed (517), 1 when either does not, 2 on a setup error.
# AUTOBAHN_CASES / AUTOBAHN_EXCLUDE narrow the run; the count is then checked
# only if AUTOBAHN_EXPECTED gives it (otherwise: no case may fail).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-$REPO/autobahn-full}"
NARROWED="${AUTOBAHN_CASES:-}${AUTOBAHN_EXCLUDE:-}"
EXPECTED="${AUTOBAHN_EXPECTED:-${NARROWED:+any}}"
EXPECTED="${EXPECTED:-517}"
mkdir -p "$OUTDIR/compiled" "$OUTDIR/pure"

# The compiled twin must really be the one under test in its half.
"${PYTHON:-python3}" -c 'import framer, sys; sys.exit(framer.implementation != "compiled")' || {
  echo "autobahn-full.sh: framer's compiled twin is not built" >&2; exit 2; }

# The harness builds its Python 2.7 virtualenv on first use: once, before the
# two runs share it.
SHARED="${FRAMER_SHARED:-$(dirname "$REPO")/shared}"
[ -x "$SHARED/autobahn/run.sh" ] || { echo "autobahn-full.sh: $SHARED/autobahn/run.sh not found" >&2; exit 2; }
AUTOBAHN_CASES='1.1.1' AUTOBAHN_EXCLUDE='' "$REPO/.ci/autobahn.sh" "$OUTDIR/warmup" >/dev/null 2>&1 || {
  echo "autobahn-full.sh: warm-up run failed, see $OUTDIR/warmup" >&2; exit 2; }

export AUTOBAHN_EXCLUDE="${AUTOBAHN_EXCLUDE:-}"  # .ci/autobahn.sh's default excludes 12.*/13.*
AUTOBAHN_AGENT=framer-compiled "$REPO/.ci/autobahn.sh" "$OUTDIR/compiled" \
  >"$OUTDIR/compiled.out" 2>&1 &
compiled=$!
FRAMER_NO_EXTENSIONS=1 AUTOBAHN_AGENT=framer-pure "$REPO/.ci/autobahn.sh" "$OUTDIR/pure" \
  >"$OUTDIR/pure.out" 2>&1 &
pure=$!
wait "$compiled"; rc_compiled=$?
wait "$pure"; rc_pure=$?

status=0
for mode in compiled pure; do
  rc_var="rc_$mode"
  summary="$(grep '^autobahn: ' "$OUTDIR/$mode.out" | tail -1)"
  echo "autobahn-full.sh: $mode: ${summary:-no summary} (exit ${!rc_var})"
  passed="$(sed -n 's/^autobahn: \([0-9]*\) passed.*/\1/p' <<<"$summary")"
  if [ "${!rc_var}" -ne 0 ] || [ -z "$passed" ]; then
    [ "${!rc_var}" -eq 2 ] && status=2 || { [ "$status" -eq 0 ] && status=1; }
    tail -20 "$OUTDIR/$mode.out" >&2
  elif [ "$EXPECTED" != any ] && [ "$passed" -ne "$EXPECTED" ]; then
    echo "autobahn-full.sh: $mode passed $passed cases, expected $EXPECTED" >&2
    [ "$status" -eq 0 ] && status=1
  fi
done
exit "$status"
