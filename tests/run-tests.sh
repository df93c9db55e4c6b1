#!/bin/bash
# Run every unit test binary and integration script and print one closing
# line "N passed, N failed, N skipped".  Usage: tests/run-tests.sh BUILD_DIR
# [PATTERN]; PATTERN limits the run to tests whose name contains it.
set -u
BUILD=${1:-build}
PATTERN=${2:-}
export BUILD
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
LOGDIR="$BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
failed_names=()

count_cmocka() {
    local log=$1 name=$2 rc=$3 p f s
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    s=$(grep -c '^\[  SKIPPED \]' "$log")
    p=${p:-0}
    f=${f:-0}
    # A binary that crashed or exited non-zero without reporting counts
    # as one failure, so a sanitizer abort is never lost.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p - s))
    failed=$((failed + f))
    skipped=$((skipped + s))
    [ "$f" -gt 0 ] && failed_names+=("$name")
}

for bin in "$BUILD"/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    [[ -n "$PATTERN" && "$name" != *"$PATTERN"* ]] && continue
    log="$LOGDIR/$name.log"
    echo "== $name"
    timeout --kill-after=10 600 "$bin" > "$log" 2>&1
    rc=$?
    [ $rc -eq 124 ] && echo "   timed out after 600 s"
    grep -E '^\[  (FAILED|SKIPPED) \]|^\[  ERROR   \]' "$log" | head -20
    count_cmocka "$log" "$name" "$rc"
done

for script in tests/integration/*.sh; do
    name=$(basename "$script" .sh)
    [ "$name" = lib ] && continue
    [[ -n "$PATTERN" && "$name" != *"$PATTERN"* ]] && continue
    log="$LOGDIR/integration-$name.log"
    echo "== integration/$name"
    # A hung test must not hang the whole run: it fails after 15 minutes.
    timeout --kill-after=10 900 bash "$script" > "$log" 2>&1
    rc=$?
    [ $rc -eq 124 ] && echo "   timed out after 900 s"
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^not ok - ' "$log")
    if [ "$rc" -eq 77 ]; then
        echo "   skipped: $(tail -1 "$log")"
        skipped=$((skipped + 1))
        continue
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "   exited $rc without reporting a failure; log tail:"
        tail -20 "$log" | sed 's/^/   /'
    fi
    grep -A3 '^not ok - ' "$log" | head -40
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -gt 0 ] && failed_names+=("integration/$name")
done

if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing: ${failed_names[*]} (logs in $LOGDIR)"
fi
# Nothing run at all is a failure, never a silent success.
if [ $((passed + failed)) -eq 0 ]; then
    echo "no test ran"
    failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
