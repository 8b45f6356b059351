#!/usr/bin/env bash
# Runs every test (the README's test command; CI's .ci/run calls it) in two passes: everything
# but the real-time tests on worker processes (pytest-xdist), then the real-time tests alone, on
# two workers, a test module each (loadfile: a module's scenario is built once, on one worker);
# then one closing line for both.
#   ./test.sh [PYTEST ARGS...]   the arguments go to both passes (e.g. -x, -k NAME)
#   COACH_TEST_WORKERS=N         the first pass's workers (default 3)
#   COACH_REALTIME_WORKERS=N     the second pass's (default 2; 1: one process, no xdist)
#
# Why two passes: the suite waits far more than it computes (in one process, session 5: 22 min
# 22 s of wall time for 570 s user + 124 s sys), so workers shorten it; but the real-time tests
# (marked `realtime`) measure coach's timing in captured audio, and beside other work on these 2
# cores they failed: beside three workers (session 5), and at nice -10 beside the rest at nice
# 10 with other work on the machine (session 6: 6 and 6 of 44 at a load of 7-10: the player
# underflowed, cues 0.05-4.7 s late). On a quiet machine, two real-time modules at a time
# passed (44 of 44, session 6, even with the rest beside them at nice 10; but then 2 of the
# rest's timed waits failed). So: the rest first, then the real-time tests by themselves.
set -uo pipefail
cd "$(dirname "$0")"

py=.venv/bin/python
workers=${COACH_TEST_WORKERS:-3}
rt_workers=${COACH_REALTIME_WORKERS:-2}
rt_dist=(-n "$rt_workers" --dist loadfile)
if [ "$rt_workers" = 1 ]; then rt_dist=(); fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/coach-tests.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

echo "=== every test but the real-time ones, on $workers workers ==="
"$py" -m pytest -m "not realtime" -n "$workers" -p no:cacheprovider \
  --junitxml="$logdir/rest.xml" "$@"
rest_rc=$?

echo
echo "=== the real-time tests by themselves, on $rt_workers worker(s) ==="
"$py" -m pytest -m realtime "${rt_dist[@]}" -p no:cacheprovider \
  --junitxml="$logdir/realtime.xml" "$@"
rt_rc=$?

# pytest exits 5 when a pass selected no test (-k matching only the other pass's): that is no
# failure, unless neither pass ran one.
failed=0
for rc in "$rest_rc" "$rt_rc"; do
  case "$rc" in 0|5) ;; *) failed=1 ;; esac
done
if [ "$rest_rc" = 5 ] && [ "$rt_rc" = 5 ]; then failed=1; fi

"$py" - "$logdir/rest.xml" "$logdir/realtime.xml" <<'EOF'
"""One closing line for both passes, from their JUnit XML reports."""
import sys
import xml.etree.ElementTree as ET

n = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    for suite in root.iter("testsuite"):
        for key in n:
            n[key] += int(suite.get(key, 0))
passed = n["tests"] - n["failures"] - n["errors"] - n["skipped"]
print(f"all: {passed} passed, {n['failures'] + n['errors']} failed, {n['skipped']} skipped")
EOF
exit "$failed"
