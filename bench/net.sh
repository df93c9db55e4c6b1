#!/bin/sh
# Run the netpolicy benchmark in a private network and mount namespace, so
# that its links and nftables rules never reach the host's own namespace.
# Usage: bench/net.sh [BUILD_DIR]   (default build; needs root)
set -eu
build=${1:-build}
bin="$build/bench/bench_net"
if [ ! -x "$bin" ]; then
    echo "net.sh: $bin is missing; run 'make $bin' first" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "net.sh: needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)" >&2
    exit 1
fi
echo "# $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
exec unshare --net --mount --propagation private "$bin"
