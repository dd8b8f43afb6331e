#!/usr/bin/env bash
# gotest.sh runs `go test -v` with the given arguments, keeps the full output in a log file, and
# ends with one summary of top-level tests: the failed ones by name, then the plain closing line
# "N passed, N failed, N skipped". Its exit status is go test's.
#
# Environment: GO (default go), K2D_TEST_LOG (default bin/go-test.log).
set -uo pipefail

GO=${GO:-go}
LOG=${K2D_TEST_LOG:-bin/go-test.log}
mkdir -p "$(dirname "$LOG")"

"$GO" test -v "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

# Top-level results only (subtests are indented), so the counts are tests, not assertions.
passed=$(grep -c '^--- PASS: ' "$LOG")
failed=$(grep -c '^--- FAIL: ' "$LOG")
skipped=$(grep -c '^--- SKIP: ' "$LOG")
echo
echo "==== go test summary (full log: $LOG) ===="
grep -E '^(ok|FAIL)[[:space:]]|^--- FAIL: ' "$LOG" || true
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "go test exited $rc without a failed test: a package did not build, or a test binary crashed or timed out"
	failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
