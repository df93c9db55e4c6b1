# Shared helpers for the integration tests.  Each test script sources this
# file, which re-executes the script inside new network and mount
# namespaces, so that wardend and everything it creates (links, nftables
# rules, mounts) stay away from the machine's own network and mount table.
#
# Results are printed one per line as "ok - NAME" or "not ok - NAME";
# tests/run-tests.sh counts them.  A script that cannot run at all exits 77
# after printing why.

set -u

if [ "$(id -u)" != 0 ]; then
    echo "skip: integration tests need root (they start wardend)" >&2
    exit 77
fi

if [ -z "${WARDEN_TEST_IN_NS:-}" ]; then
    export WARDEN_TEST_IN_NS=1
    exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WARDEN="$TOP/$BUILD/warden"
WARDEND="$TOP/$BUILD/wardend"
TEST_NAME=$(basename "$0" .sh)
FAILURES=0

ip link set lo up

T=$(mktemp -d "/tmp/warden-test-$TEST_NAME.XXXXXX")
chmod 755 "$T"
export WARDEN_SOCKET="$T/run/warden.sock"
DAEMON_PID=

cleanup() {
    stop_daemon
    rm -rf "$T"
}
trap cleanup EXIT

# Write the test configuration; extra lines may follow as arguments.
write_config() {
    cat > "$T/warden.conf" <<CONF
[daemon]
state_dir = $T/state
run_dir = $T/run
socket = $T/run/warden.sock
log_level = debug
clock_file = $T/clock
expiry_check_seconds = 1

[audit]
checkpoint_events = 50
checkpoint_seconds = 1

[sandbox]
cgroup_name = warden-test-$$
uid_base = 3000000
CONF
    for line in "$@"; do
        echo "$line" >> "$T/warden.conf"
    done
}

start_daemon() {
    [ -f "$T/warden.conf" ] || write_config
    "$WARDEND" --config "$T/warden.conf" >> "$T/wardend.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1 200); do
        [ -S "$T/run/warden.sock" ] && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "wardend did not start; its log follows:" >&2
    cat "$T/wardend.log" >&2
    exit 1
}

stop_daemon() {
    if [ -n "$DAEMON_PID" ]; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
    fi
}

# Kill the daemon without giving it a chance to clean up.
crash_daemon() {
    kill -KILL "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
}

pass() { echo "ok - $TEST_NAME: $1"; }
fail() {
    echo "not ok - $TEST_NAME: $1"
    shift
    for line in "$@"; do echo "    $line"; done
    FAILURES=$((FAILURES + 1))
}

# expect_ok NAME CMD...: CMD must exit 0.
expect_ok() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then pass "$name"; else fail "$name" "exit $rc" "$out"; fi
    LAST_OUT=$out
}

# expect_fail NAME STATUS PATTERN CMD...: CMD must exit with STATUS and
# print something matching the extended regular expression PATTERN.
expect_fail() {
    local name=$1 status=$2 pattern=$3 out rc
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -ne "$status" ]; then
        fail "$name" "expected exit $status, got $rc" "$out"
    elif ! grep -Eq -- "$pattern" <<<"$out"; then
        fail "$name" "output does not match /$pattern/" "$out"
    else
        pass "$name"
    fi
    LAST_OUT=$out
}

# expect_match NAME PATTERN TEXT
expect_match() {
    if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "no match for /$2/" "$3"; fi
}

# Run the CLI as another uid (the registry binds people to uids).
as_uid() {
    local uid=$1
    shift
    setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# A valid 18-character resident identity number for person N (N < 1000),
# with its ISO 7064 MOD 11-2 check character computed here.
make_id_number() {
    local body weights sum i check
    body=$(printf '110105198001%02d%03d' $(( ($1 % 28) + 1 )) "$1")
    weights=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2)
    sum=0
    for i in $(seq 0 16); do
        sum=$((sum + ${body:$i:1} * ${weights[$i]}))
    done
    check=$(echo "1 0 X 9 8 7 6 5 4 3 2" | cut -d' ' -f$(( sum % 11 + 1 )))
    echo "$body$check"
}

# Create an active-ready tenant: create_tenant NAME [START END]
create_tenant() {
    local start=${2:-$(date -u +%Y-%m-%d)} end=${3:-$(date -u -d '+6 months' +%Y-%m-%d)}
    "$WARDEN" tenant create "$1" --legal-entity "$1 Ltd" \
        --contact "ops@$1.example" --scenario "analysis" \
        --start "$start" --end "$end" >/dev/null
}

finish() {
    if [ "$FAILURES" -gt 0 ]; then
        echo "--- wardend log (last 40 lines) ---"
        tail -n 40 "$T/wardend.log"
        exit 1
    fi
    exit 0
}

# File an emergency plan for tenant NAME and activate it.
activate_tenant() {
    printf 'Emergency response plan of %s: contact the platform on-call.\n' \
        "$1" > "$T/plan-$1.txt"
    "$WARDEN" tenant plan "$1" "$T/plan-$1.txt" >/dev/null &&
        "$WARDEN" tenant activate "$1" >/dev/null
}

# Register an operator who meets every prerequisite:
# add_operator LOGIN UID TENANT
add_operator() {
    "$WARDEN" user add "$1" --uid "$2" --name "Operator $1" \
        --id-number "$(make_id_number $(( $2 % 1000 )))" --role operator \
        --tenant "$3" >/dev/null &&
        "$WARDEN" user agree "$1" >/dev/null &&
        "$WARDEN" user train "$1" >/dev/null &&
        "$WARDEN" user approve "$1" >/dev/null
}

# Host directory of LOGIN's home in TENANT's workspace.
home_of() {
    echo "$T/state/workspaces/$2/$1"
}

# Copy a file into LOGIN's home (TENANT), owned by the sandbox user.
put_in_home() {
    local login=$1 tenant=$2 src=$3 base
    base=$(sqlite3 "$T/state/warden.db" "SELECT uid_base FROM tenants WHERE name = '$tenant'")
    mkdir -p "$(home_of "$login" "$tenant")"
    cp "$src" "$(home_of "$login" "$tenant")/"
    chown -R $((base + 1000)):$((base + 1000)) "$(home_of "$login" "$tenant")"
}
