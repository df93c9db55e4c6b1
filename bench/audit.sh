#!/bin/sh
# Build and run the audit log benchmark.  DIR (default /var/tmp) must be on
# the file system the daemon's database will use; tmpfs hides fsync costs.
set -eu
cd "$(dirname "$0")/.."
make -s build/bench/bench_audit
dir=${1:-/var/tmp}
echo "file system of $dir: $(df -T "$dir" | awk 'NR == 2 { print $2 }')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "sqlite $(pkg-config --modversion sqlite3), libsodium $(pkg-config --modversion libsodium)"
build/bench/bench_audit "$dir"
