#!/bin/bash
# Sandbox start time and idle memory of warden against bubblewrap and crun,
# all measured in one run on the same machine.
#
# Usage (as root, from a clean clone after scripts/install-deps.sh and
# make):
#
#     bench/sandbox.sh [all|start|idle|net]
#
#   start  median and spread of `warden run -- /bin/true` (CLI included,
#          run as a registered operator), `bwrap ... /bin/true` and
#          `crun run` of a minimal bundle, measured with hyperfine
#   idle   IDLE (default 500) concurrent `warden run -- /bin/sleep 600`:
#          time until all run, PSS per sandbox (daemon and the tenant's
#          cgroup; the CLI clients apart), against IDLE `bwrap ... sleep`
#   net    start time of a sandbox in network mode internal against none,
#          and the time of `warden tenant allow` with TENANTS (default
#          100) tenants in mode internal
#
# RUNS (default 50) sets the hyperfine runs per command.  Each hyperfine
# call is stopped after 600 s, so a hung sandbox ends the run with an error.  Everything runs
# in private network and mount namespaces with a temporary daemon state,
# the way tests/integration/lib.sh sets up the integration tests, and is
# removed at the end.
#
# Peers and their differences from warden: bwrap runs as root without a
# cgroup; crun runs with --cgroup-manager=disabled because crun 1.8 rejects
# a hybrid cgroup tree, and in a mount namespace where the unified
# hierarchy is unmounted.  warden creates a tenant and a sandbox cgroup,
# writes an audit event for each start and exit, and relays the streams.
set -u

mode=${1:-all}
case $mode in
all | start | idle | net) ;;
*)
    echo "usage: bench/sandbox.sh [all|start|idle|net]" >&2
    exit 2
    ;;
esac

if [ "$(id -u)" = 0 ] && [ -z "${WARDEN_TEST_IN_NS:-}" ]; then
    missing=
    for tool in bwrap crun hyperfine python3 setpriv; do
        command -v "$tool" >/dev/null || missing=1
    done
    if [ -n "$missing" ]; then
        apt-get install -y bubblewrap crun hyperfine python3 util-linux >&2 ||
            exit 1
    fi
fi

# Re-executes this script in new network and mount namespaces and
# provides the daemon helpers (write_config, start_daemon, add_operator).
. "$(dirname "$0")/../tests/integration/lib.sh"

RUNS=${RUNS:-50}
IDLE=${IDLE:-500}
TENANTS=${TENANTS:-100}
CGROUP_NAME=warden-bench-$$
OUT="$T/out"
mkdir -p "$OUT"
chmod 777 "$OUT"
BG_PIDS=()

BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr
    --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
    --proc /proc --dev /dev)

# End every background process this script started, by pid.
kill_background() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    BG_PIDS=()
}

# The daemon keeps its cgroup directories when it stops, so remove the
# empty ones this run created, deepest first.
remove_cgroups() {
    local dir
    find /sys/fs/cgroup -maxdepth 6 -type d -name "$CGROUP_NAME" 2>/dev/null |
        while read -r dir; do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
        done
}

bench_cleanup() {
    kill_background
    cleanup
    remove_cgroups
}
trap bench_cleanup EXIT

# Helpers over /proc and hyperfine output, in one python3 program.
cat > "$T/stats.py" <<'PY'
import json, os, statistics, sys

def procs():
    """Map pid -> (ppid, comm) for every live process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        out[int(name)] = (ppid, comm)
    return out

def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def cgroup_pids(cgname, tenant):
    """Processes below <cgname>/<tenant> in any mounted hierarchy."""
    pids = set()
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(top) == cgname and tenant in dirs:
            for sub, _, files in os.walk(os.path.join(top, tenant)):
                if "cgroup.procs" in files:
                    with open(os.path.join(sub, "cgroup.procs")) as f:
                        pids.update(int(p) for p in f.read().split())
            dirs[:] = []
        elif top.count("/") > 8:
            dirs[:] = []
    return pids

def descendants(roots):
    table = procs()
    found = set(roots) & set(table)
    grew = True
    while grew:
        more = {p for p, (pp, _) in table.items() if pp in found} - found
        grew = bool(more)
        found |= more
    return found, table

cmd = sys.argv[1]
if cmd == "count-cgroup":      # CGNAME TENANT COMM
    table = procs()
    pids = cgroup_pids(sys.argv[2], sys.argv[3])
    print(sum(1 for p in pids if p in table and table[p][1] == sys.argv[4]))
elif cmd == "count-tree":      # COMM PID...
    found, table = descendants(int(p) for p in sys.argv[3:])
    print(sum(1 for p in found if table[p][1] == sys.argv[2]))
elif cmd == "pss-cgroup":      # CGNAME TENANT -> "processes kib"
    pids = cgroup_pids(sys.argv[2], sys.argv[3])
    print(len(pids), sum(pss_kib(p) for p in pids))
elif cmd == "pss-tree":        # PID... -> "processes kib"
    found, _ = descendants(int(p) for p in sys.argv[2:])
    print(len(found), sum(pss_kib(p) for p in found))
elif cmd == "pss":             # PID... -> "live processes kib"
    kib = [pss_kib(int(p)) for p in sys.argv[2:]]
    print(sum(1 for k in kib if k > 0), sum(kib))
elif cmd == "hyperfine":       # PEER LABEL=FILE... (ratios against PEER)
    peer, rows = sys.argv[2], []
    for arg in sys.argv[3:]:
        label, path = arg.split("=", 1)
        for i, res in enumerate(json.load(open(path))["results"]):
            name = label.split(",")[i]
            rows.append((name, res))
    base = dict(rows)[peer]["median"]
    print(f"{'command':<22} {'median':>8} {'stddev':>8} {'min':>8} "
          f"{'max':>8} {'runs':>5}  median / {peer}")
    for name, r in rows:
        print(f"{name:<22} {r['median']*1e3:7.2f}ms {r['stddev']*1e3:7.2f}ms "
              f"{r['min']*1e3:7.2f}ms {r['max']*1e3:7.2f}ms "
              f"{len(r['times']):>5}  {r['median'] / base:.2f}")
elif cmd == "times":           # LABEL=FILE... of nanosecond durations
    print(f"{'request':<22} {'median':>8} {'min':>8} {'max':>8} {'runs':>5}")
    for arg in sys.argv[2:]:
        label, path = arg.split("=", 1)
        ms = [int(x) / 1e6 for x in open(path).read().split()]
        print(f"{label:<22} {statistics.median(ms):7.2f}ms "
              f"{min(ms):7.2f}ms {max(ms):7.2f}ms {len(ms):>5}")
PY
stats() { python3 "$T/stats.py" "$@"; }

now_ns() { date +%s%N; }

# Wait until COUNT_CMD... prints at least WANT, for at most LIMIT seconds,
# and give up early when the count has not grown for 15 seconds.  Print
# the count reached and the milliseconds since START_NS.  Fail short of WANT.
wait_for_count() {
    local want=$1 limit=$2 start=$3 n=0 best=-1 best_at deadline now
    shift 3
    deadline=$(($(now_ns) + limit * 1000000000))
    best_at=$(now_ns)
    while now=$(now_ns) && [ "$now" -lt "$deadline" ]; do
        n=$("$@")
        if [ "$n" -gt "$best" ]; then
            best=$n
            best_at=$now
        fi
        if [ "$n" -ge "$want" ]; then
            echo "$n $(((now - start) / 1000000))"
            return 0
        fi
        [ $((now - best_at)) -gt 15000000000 ] && break
        sleep 0.1
    done
    echo "$best $(((best_at - start) / 1000000))"
    echo "  only $best of $want running; gave up after $(((now - start) / 1000000)) ms" >&2
    return 1
}

write_config "[daemon]" "log_level = info" "max_connections_per_uid = 1000" \
    "[sandbox]" "cgroup_name = $CGROUP_NAME"
start_daemon
create_tenant bench
activate_tenant bench
add_operator olga 2101 bench
"$WARDEN" tenant limits bench --pids 100000 --memory 64G >/dev/null
OP=(setpriv --reuid=2101 --regid=2101 --clear-groups)

echo "# $(uname -r), $(nproc) CPUs, $(. /etc/os-release && echo "$PRETTY_NAME")," \
    "$(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(bwrap --version), $(crun --version | head -1), $(hyperfine --version)"

bench_start() {
    local bundle="$T/crun"
    mkdir -p "$bundle/rootfs/usr" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
    ln -s usr/bin "$bundle/rootfs/bin"
    ln -s usr/lib "$bundle/rootfs/lib"
    ln -s usr/lib64 "$bundle/rootfs/lib64"
    (cd "$bundle" && crun spec) || return 1
    python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["mounts"].append({"destination": "/usr", "type": "bind",
                       "source": "/usr", "options": ["rbind", "ro"]})
json.dump(spec, open(path, "w"))
PY

    echo
    echo "## start and finish /bin/true ($RUNS runs each, 10 warm-up)"
    "${OP[@]}" timeout 600 hyperfine -N --style none --warmup 10 --runs "$RUNS" \
        --export-json "$OUT/warden.json" "$WARDEN run -- /bin/true" ||
        return 1
    # crun 1.8 fails to start on a hybrid cgroup tree, so it runs where
    # the unified hierarchy is unmounted, in a mount namespace of its own.
    unshare --mount --propagation private sh -c '
        umount /sys/fs/cgroup/unified 2>/dev/null
        exec timeout 600 hyperfine -N --style none --warmup 10 --runs "$1" \
            --export-json "$2" "$3" "$4" "$5"' sh "$RUNS" "$OUT/peers.json" \
        "${BWRAP[*]} /bin/true" \
        "crun --cgroup-manager=disabled --root $T/crun-state run --bundle $bundle bench-$$" \
        "/bin/true" || return 1
    stats hyperfine bwrap "warden run=$OUT/warden.json" \
        "bwrap,crun,/bin/true=$OUT/peers.json"
}

# Start IDLE sandboxes with "$@" (each ends with /bin/sleep 600), leave
# their pids in BG_PIDS and the number running in RUNNING.
start_idle() {
    local counter=$1 i start ms launched status=0
    shift
    start=$(now_ns)
    for ((i = 0; i < IDLE; i++)); do
        "$@" </dev/null >/dev/null 2>&1 &
        BG_PIDS+=($!)
    done
    launched=$((($(now_ns) - start) / 1000000))
    if [ "$counter" = cgroup ]; then
        read -r RUNNING ms < <(wait_for_count "$IDLE" 300 "$start" \
            stats count-cgroup "$CGROUP_NAME" bench sleep)
    else
        read -r RUNNING ms < <(wait_for_count "$IDLE" 300 "$start" \
            stats count-tree sleep "${BG_PIDS[@]}")
    fi
    [ "$RUNNING" -gt 0 ] || return 1
    [ "$RUNNING" -ge "$IDLE" ] || status=1
    echo "  launched $IDLE clients in ${launched} ms; $RUNNING running after ${ms} ms" \
        "($(awk -v ms="$ms" -v n="$RUNNING" 'BEGIN { printf "%.2f", ms / n }') ms per sandbox)"
    return $status
}

bench_idle() {
    local procs kib daemon_kib clients client_kib fds status=0

    echo
    echo "## $IDLE idle sandboxes (/bin/sleep 600)"
    echo "bwrap:"
    start_idle tree "${BWRAP[@]}" /bin/sleep 600 || status=1
    sleep 1
    read -r procs kib < <(stats pss-tree "${BG_PIDS[@]}")
    local bwrap_per=$((kib / RUNNING))
    echo "  PSS of $procs processes: $((kib / 1024)) MiB, $bwrap_per KiB per sandbox"
    kill_background

    echo "warden run:"
    start_idle cgroup "${OP[@]}" "$WARDEN" run -- /bin/sleep 600 || status=1
    if [ "$status" != 0 ]; then
        echo "  first refusals in the daemon log:"
        grep -m3 -E 'refused|failed' "$T/wardend.log" | sed 's/^/    /'
    fi
    sleep 1
    read -r _ daemon_kib < <(stats pss "$DAEMON_PID")
    read -r procs kib < <(stats pss-cgroup "$CGROUP_NAME" bench)
    read -r clients client_kib < <(stats pss "${BG_PIDS[@]}")
    fds=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 | wc -l)
    local warden_per=$(((kib + daemon_kib) / RUNNING))
    echo "  PSS of wardend: $((daemon_kib / 1024)) MiB ($fds open descriptors)"
    echo "  PSS of $procs processes in the tenant's cgroup: $((kib / 1024)) MiB"
    echo "  PSS per sandbox, daemon included: $warden_per KiB" \
        "($(awk -v w="$warden_per" -v b="$bwrap_per" \
            'BEGIN { printf "%.2f", w / b }') x bwrap)"
    echo "  PSS of the $clients live CLI clients: $((client_kib / 1024)) MiB," \
        "$((client_kib / (clients > 0 ? clients : 1))) KiB per client"
    kill_background
    # The daemon kills a sandbox whose client went away; wait for that.
    wait_for_count_zero || status=1
    return $status
}

wait_for_count_zero() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(stats count-cgroup "$CGROUP_NAME" bench sleep)" = 0 ] && return 0
        sleep 0.1
    done
    echo "sandboxes of tenant bench still run 30 s after their clients ended" >&2
    return 1
}

# Time N runs of "$@" into FILE, one nanosecond duration a line.
time_runs() {
    local file=$1 n=$2 i start
    shift 2
    : > "$file"
    for ((i = 1; i <= n; i++)); do
        start=$(now_ns)
        "$@" >/dev/null || return 1
        echo $(($(now_ns) - start)) >> "$file"
    done
}

bench_net() {
    local i name

    echo
    echo "## network mode internal against none ($RUNS runs each)"
    create_tenant netbench
    activate_tenant netbench
    add_operator nora 2102 netbench
    "$WARDEN" tenant net netbench --mode internal >/dev/null || return 1
    "$WARDEN" tenant allow netbench 10.88.0.1 tcp 443 >/dev/null || return 1
    timeout 600 hyperfine -N --style none --warmup 10 --runs "$RUNS" \
        --export-json "$OUT/net.json" \
        "setpriv --reuid=2101 --regid=2101 --clear-groups $WARDEN run -- /bin/true" \
        "setpriv --reuid=2102 --regid=2102 --clear-groups $WARDEN run -- /bin/true" ||
        return 1
    stats hyperfine none "none,internal=$OUT/net.json"

    echo
    echo "## allowlist change with $TENANTS tenants in mode internal"
    local start
    start=$(now_ns)
    for ((i = 1; i <= TENANTS; i++)); do
        name=$(printf 'allow%03d' "$i")
        create_tenant "$name" &&
            "$WARDEN" tenant net "$name" --mode internal >/dev/null || return 1
    done
    echo "  created $TENANTS tenants in mode internal in" \
        "$((($(now_ns) - start) / 1000000)) ms"
    # One sandbox of the measured tenant runs, so the change reaches a
    # live network namespace and not only the database.
    activate_tenant allow001
    add_operator alma 2103 allow001
    setpriv --reuid=2103 --regid=2103 --clear-groups \
        "$WARDEN" run -- /bin/sleep 600 </dev/null >/dev/null 2>&1 &
    BG_PIDS+=($!)
    wait_for_count 1 30 "$(now_ns)" \
        stats count-cgroup "$CGROUP_NAME" allow001 sleep >/dev/null || return 1

    local runs=$((RUNS < 200 ? RUNS : 200))
    : > "$OUT/allow"
    : > "$OUT/deny"
    for ((i = 1; i <= runs; i++)); do
        start=$(now_ns)
        timeout 30 "$WARDEN" tenant allow allow001 "10.89.$((i / 250)).$((i % 250 + 1))" \
            tcp 443 >/dev/null || return 1
        echo $(($(now_ns) - start)) >> "$OUT/allow"
    done
    for ((i = 1; i <= runs; i++)); do
        start=$(now_ns)
        timeout 30 "$WARDEN" tenant deny allow001 "10.89.$((i / 250)).$((i % 250 + 1))" \
            tcp 443 >/dev/null || return 1
        echo $(($(now_ns) - start)) >> "$OUT/deny"
    done
    time_runs "$OUT/show" "$runs" timeout 30 "$WARDEN" tenant net show allow001 || return 1
    stats times "tenant allow=$OUT/allow" "tenant deny=$OUT/deny" \
        "tenant net show=$OUT/show"
    kill_background
}

status=0
if [ "$mode" = all ] || [ "$mode" = start ]; then
    bench_start || status=1
fi
if [ "$mode" = all ] || [ "$mode" = idle ]; then
    bench_idle || status=1
fi
if [ "$mode" = all ] || [ "$mode" = net ]; then
    bench_net || status=1
fi
if [ $status -ne 0 ]; then
    echo "--- wardend log (last 20 lines) ---"
    tail -n 20 "$T/wardend.log"
fi
exit $status
