#!/bin/bash
# The README's demo, run as a test: it exits non-zero when any step of the
# scenario does not behave as described.
set -u
if [ "$(id -u)" != 0 ]; then
    echo "skip: the demo needs root" >&2
    exit 77
fi
TOP=$(cd "$(dirname "$0")/../.." && pwd)
out=$(BUILD=${BUILD:-build} timeout 600 "$TOP/demo.sh" --no-install 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
    echo "ok - demo: the whole scenario behaves as described"
else
    echo "not ok - demo: the whole scenario behaves as described"
    echo "$out" | tail -n 60 | sed 's/^/    /'
    exit 1
fi
