#!/bin/bash
# The warden demo: installs what is needed, builds, starts wardend with a
# temporary state folder in its own network and mount namespaces, and
# plays a complete authorization with the real CLI, printing each command
# as a user would type it.  Exits non-zero if any step does not behave as
# described.  Run as root:  ./demo.sh   (--no-install skips apt-get and
# make; the test suite uses it).
set -u
TOP=$(cd "$(dirname "$0")" && pwd)
cd "$TOP" || exit 1

if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: run as root (sudo ./demo.sh): wardend creates namespaces, cgroups and uid ranges" >&2
    exit 1
fi
if [ "${1:-}" != --no-install ] && [ -z "${WARDEN_DEMO_IN_NS:-}" ]; then
    sh scripts/install-deps.sh || exit 1
    make -j"$(nproc)" all || exit 1
fi
if [ -z "${WARDEN_DEMO_IN_NS:-}" ]; then
    export WARDEN_DEMO_IN_NS=1
    exec unshare --net --mount --propagation private -- bash "$0" --no-install
fi

BUILD=${BUILD:-build}
BIN="$TOP/$BUILD"
export PATH="$BIN:$PATH"
DATA="$TOP/tests/data"
ip link set lo up

D=$(mktemp -d /tmp/warden-demo.XXXXXX)
chmod 755 "$D"
export WARDEN_SOCKET="$D/run/warden.sock"
DAEMON_PID=
STEP=0
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT

if [ -t 1 ]; then BOLD=$'\e[1m'; DIM=$'\e[2m'; RED=$'\e[31m'; OFF=$'\e[0m'; else BOLD= DIM= RED= OFF=; fi

step() { STEP=$((STEP + 1)); printf '\n%s== %d. %s ==%s\n' "$BOLD" "$STEP" "$*" "$OFF"; }
note() { printf '%s# %s%s\n' "$DIM" "$*" "$OFF"; }
die() {
    printf '%sdemo failed: %s%s\n' "$RED" "$*" "$OFF" >&2
    echo "--- wardend log (last 30 lines) ---" >&2
    tail -n 30 "$D/wardend.log" >&2
    exit 1
}

# Who types a command: "admin" is root; the others are registered uids.
declare -A UIDS=([admin]=0 [li]=2201 [wang]=2202 [zhao]=2203 [chen]=2204 [ops2]=2301)
as() {
    local who=$1
    shift
    if [ "$who" = admin ]; then "$@"; else setpriv --reuid="${UIDS[$who]}" --regid="${UIDS[$who]}" --clear-groups "$@"; fi
}

# run WHO CMD...: print, run, require success, keep the output in $OUT.
run() {
    local who=$1
    shift
    printf '%s%s$ %s%s\n' "$BOLD" "$who" "$*" "$OFF"
    OUT=$(cd "$D/home-$who" 2>/dev/null || cd "$D"; as "$who" "$@" 2>&1)
    local rc=$?
    [ -n "$OUT" ] && printf '%s\n' "$OUT"
    [ $rc -eq 0 ] || die "'$*' exited with $rc"
}

# rejected WHO PATTERN CMD...: the command must fail and print PATTERN.
rejected() {
    local who=$1 pattern=$2
    shift 2
    printf '%s%s$ %s%s\n' "$BOLD" "$who" "$*" "$OFF"
    OUT=$(cd "$D/home-$who" 2>/dev/null || cd "$D"; as "$who" "$@" 2>&1)
    local rc=$?
    printf '%s\n' "$OUT"
    [ $rc -ne 0 ] || die "'$*' should have been rejected"
    grep -Eq -- "$pattern" <<<"$OUT" || die "'$*' did not print /$pattern/"
}

expect() { grep -Eq -- "$1" <<<"$OUT" || die "expected /$1/ in the output above"; }
absent() { ! grep -Eq -- "$1" <<<"$OUT" || die "did not expect /$1/ in the output above"; }

# A valid identity number (ISO 7064 MOD 11-2 check character) for the demo
# people, made up from a fixed body.
id_number() {
    local body=$1 w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) sum=0 i
    for i in $(seq 0 16); do sum=$((sum + ${body:$i:1} * ${w[$i]})); done
    echo "$body$(echo "1 0 X 9 8 7 6 5 4 3 2" | cut -d' ' -f$((sum % 11 + 1)))"
}

TODAY=$(date -u +%Y-%m-%d)
END=$(date -u -d '+11 months' +%Y-%m-%d)
YEAR=$(date -u +%Y)
cat > "$D/warden.conf" <<CONF
[daemon]
state_dir = $D/state
run_dir = $D/run
socket = $D/run/warden.sock
[audit]
checkpoint_seconds = 2
[sandbox]
cgroup_name = warden-demo-$$
uid_base = 4000000
[data]
sample_rows = 200
CONF
for who in li wang zhao chen; do mkdir -p "$D/home-$who"; chown "${UIDS[$who]}:${UIDS[$who]}" "$D/home-$who"; done

step "The platform starts"
note "wardend runs as root with its state in $D/state, in its own network namespace"
"$BIN/wardend" --config "$D/warden.conf" > "$D/wardend.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$WARDEN_SOCKET" ] && break; sleep 0.05; done
run admin warden status

step "An admin registers an operating unit, files its emergency plan and activates it"
run admin warden tenant create skyline --legal-entity "Skyline Aviation Safety Analytics Co., Ltd." \
    --contact "safety@skyline.example" --scenario "bird strike risk analysis" \
    --start "$TODAY" --end "$END"
rejected admin "without an emergency response plan|no emergency" warden tenant activate skyline
printf 'Skyline emergency response plan\n1. On a suspected leak, call the platform on-call desk.\n2. Stop all jobs; preserve logs.\n' > "$D/plan.txt"
run admin warden tenant plan skyline "$D/plan.txt"
run admin warden tenant activate skyline
run admin warden tenant show skyline
expect "state +active"

step "The admin registers staff with real-name details"
run admin warden user add li --uid 2201 --name "李娜" --id-number "$(id_number 11010519880412003)" --role operator --tenant skyline
run admin warden user add wang --uid 2202 --name "王伟" --id-number "$(id_number 31010419790223102)" --role reviewer
run admin warden user add zhao --uid 2203 --name "赵敏" --id-number "$(id_number 44030519850917204)" --role reviewer
run admin warden user add chen --uid 2204 --name "陈静" --id-number "$(id_number 33010619900101305)" --role auditor
run admin warden user agree li
run admin warden user approve li
note "the operator has signed the agreement and is approved, but has not finished training"
rejected li "missing: completed training" warden shell -c true
run admin warden user train li
run li warden shell -c 'echo "hello from $(hostname) as $(id -un), uid $(id -u)"'
expect "hello from skyline as li, uid 1000"

step "Datasets are registered and requested, and reviewers grant them"
run admin warden dataset add birdstrikes --file "$DATA/birdstrikes.csv" --owner "FAA Wildlife Strike Database" --level 2
run admin warden dataset add residents --file "$DATA/residents-10k.csv" --owner "Municipal Civil Affairs Bureau" --level 3 --rules "$DATA/residents.rules"
run admin warden dataset show residents
expect "resident_id"
run li warden data request birdstrikes --scenario "bird strike risk analysis" --purpose "strike counts by phase of flight"
BIRD_REQ=$(grep -Eo '^request [0-9]+' <<<"$OUT" | grep -Eo '[0-9]+')
run li warden data request residents --scenario "bird strike risk analysis" --purpose "population near airports, by county"
RES_REQ=$(grep -Eo '^request [0-9]+' <<<"$OUT" | grep -Eo '[0-9]+')
[ -n "$BIRD_REQ" ] && [ -n "$RES_REQ" ] || die "data requests have no ids"
run wang warden review list
run wang warden review approve "$BIRD_REQ" --note "aggregate analysis only"
note "residents is classified level 3: it needs a second reviewer"
run wang warden review approve "$RES_REQ" --note "masked development view"
run zhao warden review approve "$RES_REQ" --note "agreed"
for _ in $(seq 100); do
    as admin warden grant list --tenant skyline 2>/dev/null | grep -q "residents .* ready" && break
    sleep 0.2
done
run admin warden grant list --tenant skyline

step "In a development shell the operator sees only the desensitized sample"
printf 'head -4 /data/residents.csv\nwc -l /data/birdstrikes.csv\nexit\n' > "$D/shell-input.txt"
printf '%sli$ warden shell%s\n' "$BOLD" "$OFF"
OUT=$(cd "$D/home-li" && as li script -qec "warden shell" /dev/null < "$D/shell-input.txt" 2>&1)
printf '%s\n' "$OUT"
expect "resident_id"
RAW_ID=$(sed -n 2p "$DATA/residents-10k.csv" | cut -d, -f4)
absent "$RAW_ID"
note "identity numbers are pseudonyms, names and phones are masked, addresses redacted"
mkdir -p "$D/code"
cat > "$D/code/strikes.sh" <<'SH'
#!/bin/sh
# Count bird strikes per phase of flight, with the total repair cost.
echo "phase_of_flight,strikes,repair_cost" > /output/strikes_by_phase.csv
awk -F, 'NR > 1 && $7 != "" { n[$7]++; cost[$7] += $12 }
         END { for (p in n) printf "%s,%d,%d\n", p, n[p], cost[p] }' \
    /data/birdstrikes.csv | sort >> /output/strikes_by_phase.csv
SH
run li warden run -- /bin/sh -c "mkdir -p ~/code && cat > ~/code/strikes.sh" < "$D/code/strikes.sh"
run li warden run -- /bin/sh -c "cd ~/code && sh strikes.sh 2>&1 || true"
note "the same program fails in development: /output exists only in production jobs"

step "A production job runs the analysis on the raw data, with no network"
run li warden job submit --dataset birdstrikes --scenario "bird strike risk analysis" -- /bin/sh strikes.sh
JOB=$(grep -Eo 'job-[0-9]+' <<<"$OUT" | head -1)
for _ in $(seq 150); do
    as li warden job show "$JOB" 2>/dev/null | grep -Eq "state +(succeeded|failed)" && break
    sleep 0.2
done
run li warden job show "$JOB"
expect "state +succeeded"

step "Exports are reviewed: raw rows are blocked, the aggregate is released"
run li warden run -- /bin/sh -c 'head -40 /data/birdstrikes.csv > ~/sample-rows.csv'
note "the job's output entered the review queue by itself"
run li warden export submit /home/li/sample-rows.csv --scenario "bird strike risk analysis" --purpose "share sample rows"
expect "checks FAILED"
expect "overlap with dataset birdstrikes"
RAW_REQ=$(grep -Eo '^request [0-9]+' <<<"$OUT" | grep -Eo '[0-9]+')
run wang warden review list
JOB_REQ=$(as wang warden review list 2>/dev/null | grep -E "$JOB" | awk '{print $1}' | grep -Eo '[0-9]+' | head -1)
[ -n "$JOB_REQ" ] || die "the job's output did not reach the review queue"
rejected wang "failed|override" warden review approve "$RAW_REQ" --note "looks fine"
run wang warden review reject "$RAW_REQ" --reason "contains raw records"
run wang warden review show "$JOB_REQ"
run wang warden review approve "$JOB_REQ" --note "aggregate counts, no raw records"
run li warden export fetch "$JOB_REQ" --output "$D/home-li/release"
run li warden audit pubkey --output "$D/home-li/audit.pub"
run li warden export verify-manifest "$D/home-li/release" --key "$D/home-li/audit.pub"
run li cat "$D/home-li/release/strikes_by_phase.csv"
expect "Climb"

step "Breaking out fails, and every attempt is on record"
rejected li "not permitted|denied|superuser" warden run -- /bin/mount -t tmpfs none /tmp
rejected li "not permitted|denied" warden run -- /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'
rejected li "unreachable|refused|No such" warden run -- /bin/bash -c 'exec 3<>/dev/tcp/203.0.113.7/443'
note "a second tenant's workspace is invisible"
run admin warden tenant create harbor --legal-entity "Harbor Logistics" --contact "it@harbor.example" \
    --scenario "port throughput" --start "$TODAY" --end "$END"
run admin warden tenant plan harbor "$D/plan.txt"
run admin warden tenant activate harbor
run li warden run -- /bin/ls -a /home
expect "^li$"
absent "harbor|ops2"
run chen warden audit log --tenant skyline --action 'seccomp.*'
expect "seccomp.denied"

step "The authorization ends: the workspace is destroyed, the logs stay"
SESSION=$(as chen warden session list --tenant skyline | awk '/ yes$/ {print $1}' | head -1)
[ -n "$SESSION" ] || die "no recorded session"
run admin warden tenant terminate skyline --reason "authorization ended"
for _ in $(seq 100); do
    as admin warden tenant lifecycle skyline 2>/dev/null | grep -q "done" && break
    sleep 0.2
done
run admin warden tenant lifecycle skyline
[ ! -e "$D/state/workspaces/skyline/li" ] || die "the workspace still exists"
rejected li "terminated" warden shell -c true
sleep 3
note "checkpoints are signed every 2 seconds in this demo (60 by default)"
run chen warden audit verify
expect "intact"
run chen warden session play "$SESSION" --speed 0
run admin warden report annual skyline --year "$YEAR"

printf '\n%sThe demo finished: every step behaved as described.%s\n' "$BOLD" "$OFF"
