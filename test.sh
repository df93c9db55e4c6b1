#!/bin/sh
# Install the Debian packages warden needs, then build and run the whole
# test suite twice: plain, and under AddressSanitizer and
# UndefinedBehaviorSanitizer.  Run as root: sudo ./test.sh
set -eu
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
    echo "test.sh: run as root (sudo ./test.sh): the tests start wardend and sandboxes" >&2
    exit 1
fi
sh scripts/install-deps.sh
make -j"$(nproc)" check-all
