#!/bin/sh
# Install the Debian 12 packages that build, test and benchmark warden.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    build-essential pkg-config ca-certificates \
    libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libmnl-dev \
    libnftnl-dev libsqlite3-dev libsodium-dev libjansson-dev libinih-dev \
    libcmocka-dev \
    sqlite3 iproute2 util-linux nftables procps python3 asciinema \
    bubblewrap crun hyperfine
