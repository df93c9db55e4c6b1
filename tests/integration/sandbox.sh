#!/bin/bash
# Sandboxed shells and jobs through the real daemon: prerequisites, exit
# statuses, streams, isolation, the pty, recordings, seccomp denials and
# every escape probe run inside a real sandbox.
. "$(dirname "$0")/lib.sh"

start_daemon

create_tenant aviation
"$WARDEN" user add olga --uid 2101 --name "Olga Operator" \
    --id-number "$(make_id_number 101)" --role operator --tenant aviation >/dev/null
expect_fail "shell refused before activation and training" 4 \
    "missing: filing approval.*agreement.*training.*active tenant" \
    as_uid 2101 "$WARDEN" shell -c true
activate_tenant aviation
"$WARDEN" user agree olga >/dev/null
"$WARDEN" user approve olga >/dev/null
expect_fail "shell refused lists only what is missing" 4 \
    "missing: completed training \(warden user train\)$" \
    as_uid 2101 "$WARDEN" shell -c true
"$WARDEN" user train olga >/dev/null
expect_fail "admins get no shell" 4 "needs the role operator" "$WARDEN" shell -c true

OP="as_uid 2101 $WARDEN"
expect_ok "run /bin/true" $OP run -- /bin/true
expect_fail "exit status propagates" 3 "" $OP run -- /bin/sh -c 'exit 3'
$OP run -- /bin/sh -c 'kill -TERM $$' >/dev/null 2>&1
rc=$?
[ $rc -eq 143 ] && pass "signal becomes 128+N" || fail "signal becomes 128+N" "exit $rc"
out=$($OP run -- /bin/sh -c 'echo out; echo err >&2' 2>"$T/err")
[ "$out" = out ] && pass "stdout streams back" || fail "stdout streams back" "$out"
[ "$(cat "$T/err")" = err ] && pass "stderr streams apart" || fail "stderr streams apart" "$(cat "$T/err")"
out=$(printf 'line1\nline2\n' | $OP run -- /bin/cat)
[ "$out" = "$(printf 'line1\nline2')" ] && pass "stdin reaches the program" || fail "stdin reaches the program" "$out"

out=$($OP run -- /bin/sh -c 'id -u; id -g; hostname; echo $HOME')
expect_match "sandbox user is uid 1000" "^1000$" "$(sed -n 1p <<<"$out")"
expect_match "hostname is the tenant" "^aviation$" "$(sed -n 3p <<<"$out")"
expect_match "home is /home/olga" "^/home/olga$" "$(sed -n 4p <<<"$out")"
out=$($OP run -- /bin/cat /proc/net/dev)
links=$(tail -n +3 <<<"$out" | awk -F: '{gsub(/ /, "", $1); print $1}' | tr '\n' ' ')
[ "$links" = "lo " ] && pass "network namespace has only lo" || fail "network namespace has only lo" "$links"
expect_fail "connecting outside fails" 1 "" $OP run -- /bin/bash -c 'exec 3<>/dev/tcp/10.1.2.3/80'
expect_fail "/usr is read-only" 1 "Read-only file system" $OP run -- /bin/touch /usr/warden-test
n=$($OP run -- /bin/sh -c 'head -c1 /proc/kcore 2>/dev/null | wc -c')
[ "$n" = 0 ] && pass "/proc/kcore unreadable" || fail "/proc/kcore unreadable" "read $n bytes"
$OP run -- /bin/sh -c 'echo persistent > ~/note.txt' >/dev/null
out=$($OP run -- /bin/cat /home/olga/note.txt)
[ "$out" = persistent ] && pass "home persists across sandboxes" || fail "home persists across sandboxes" "$out"
base=$(sqlite3 "$T/state/warden.db" "SELECT uid_base FROM tenants WHERE name='aviation'")
owner=$(stat -c %u "$(home_of olga aviation)/note.txt")
[ "$owner" = $((base + 1000)) ] && pass "files belong to the tenant's host uid" || fail "files belong to the tenant's host uid" "owner $owner, base $base"

# A running sandbox is listed and can be ended.
$OP run -- /bin/sleep 60 >/dev/null 2>&1 &
RUNNER=$!
sleep 1
out=$("$WARDEN" sandbox list)
expect_match "sandbox list shows the job" "aviation +olga +run" "$out"
id=$(awk '/olga +run/ {print $1}' <<<"$out" | head -1)
host_uid=$(ps -o uid= -p "$(awk '/olga +run/ {print $5}' <<<"$out" | head -1)" | tr -d ' ')
[ "$host_uid" -ge "$base" ] && [ "$host_uid" -lt $((base + 65536)) ] &&
    pass "sandbox init runs in the tenant's uid range" || fail "sandbox init runs in the tenant's uid range" "uid $host_uid"
expect_ok "kill a sandbox" "$WARDEN" sandbox kill "$id"
wait $RUNNER
rc=$?
[ $rc -eq 137 ] && pass "killed job reports SIGKILL" || fail "killed job reports SIGKILL" "exit $rc"

# An interactive shell through a real pty, recorded.
python3 - "$WARDEN" > "$T/pty.out" 2>&1 <<'PY'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.setgid(2101); os.setuid(2101)
    os.execv(sys.argv[1], [sys.argv[1], "shell"])
def read_until(token, timeout=15):
    buf = b""
    end = time.time() + timeout
    while time.time() < end and token not in buf:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return buf
os.write(fd, b"tty; echo result=$((6*7))\n")
out = read_until(b"result=42")
os.write(fd, b"exit 0\n")
out += read_until(b"\xff", 5)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\nSTATUS", os.waitstatus_to_exitcode(status))
PY
out=$(cat "$T/pty.out")
expect_match "interactive shell computes" "result=42" "$out"
expect_match "shell has a terminal" "/dev/pts/" "$out"
expect_match "shell exits 0" "STATUS 0" "$out"
rec=$(sqlite3 "$T/state/warden.db" "SELECT recording FROM sandboxes WHERE kind='shell' ORDER BY started_at DESC LIMIT 1")
sha=$(sqlite3 "$T/state/warden.db" "SELECT recording_sha256 FROM audit_events WHERE action='session.end' ORDER BY id DESC LIMIT 1")
[ -n "$rec" ] && [ -f "$T/state/recordings/$rec" ] && pass "session recorded" || fail "session recorded" "recording '$rec'"
[ -n "$sha" ] && [ "$(sha256sum "$T/state/recordings/$rec" | cut -d' ' -f1)" = "$sha" ] &&
    pass "recording hash is in the chain" || fail "recording hash is in the chain" "$sha"
grep -q 'result=42' "$T/state/recordings/$rec" && pass "recording holds the output" || fail "recording holds the output"
[ "$(stat -c %a "$T/state/recordings/$rec")" = 600 ] && pass "recording is root-only" || fail "recording is root-only"

# Full-screen programs through the relayed terminal: vi writes a file,
# top draws its screen.
if [ -x /usr/bin/vi ] && [ -x /usr/bin/top ]; then
    python3 - "$WARDEN" > "$T/fullscreen.out" 2>&1 <<'PY'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.setgid(2101); os.setuid(2101)
    os.environ["TERM"] = "xterm"
    os.execv(sys.argv[1], [sys.argv[1], "shell"])
def read_until(token, timeout=10):
    buf = b""
    end = time.time() + timeout
    while time.time() < end and token not in buf:
        r, _, _ = select.select([fd], [], [], 0.3)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return buf
read_until(b"$ ")
os.write(fd, b"vi notes.txt\r")
read_until(b"~", 5)
time.sleep(0.5)
os.write(fd, b"iwritten in vi\x1b:wq\r")
read_until(b"$ ", 5)
os.write(fd, b"top -n 1 | head -3 | cat; echo top=$?\r")
out = read_until(b"top=0", 10)
os.write(fd, b"exit\r")
read_until(b"\xff", 3)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
PY
    expect_match "top draws in the sandbox" "Tasks" "$(cat "$T/fullscreen.out")"
    [ "$(cat "$(home_of olga aviation)/notes.txt" 2>/dev/null)" = "written in vi" ] &&
        pass "vi edits a file through the relay" || fail "vi edits a file through the relay"
else
    echo "# skip: vi or top is not installed in /usr"
fi

# Seccomp denials reach the audit chain.
$OP run -- /bin/sh -c 'mount -t tmpfs none /tmp 2>/dev/null; exit 0' >/dev/null
sleep 0.3
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events WHERE action='seccomp.denied' AND details LIKE '%\"mount\"%'")
[ "$n" -ge 1 ] && pass "denied mount is audited" || fail "denied mount is audited" "count $n"

# The request socket inside the sandbox identifies the sandbox's user.
cp "$WARDEN" "$T/warden-cli"
put_in_home olga aviation "$T/warden-cli"
out=$($OP run -- /home/olga/warden-cli status)
expect_match "request socket speaks for the sandbox user" "olga \(uid 2101, role operator, tenant aviation\)" "$out"
expect_fail "request socket refuses admin verbs" 4 "not available inside a sandbox" \
    $OP run -- /home/olga/warden-cli tenant create x --legal-entity X --contact Y --scenario s --start 2026-01-01 --end 2026-02-01

# Every escape probe, inside a real sandbox.  tenant_home looks for a
# marker file of another tenant.
create_tenant navy
activate_tenant navy
add_operator nina 2102 navy
as_uid 2102 "$WARDEN" run -- /bin/sh -c 'echo secret > ~/navy-marker.txt' >/dev/null
marker="$(home_of nina navy)/navy-marker.txt"
[ -f "$marker" ] && pass "second tenant has a marker file" || fail "second tenant has a marker file"
for probe in "$TOP/$BUILD"/escape/*; do
    name=$(basename "$probe")
    put_in_home olga aviation "$probe"
    args=()
    [ "$name" = tenant_home ] && args=("$marker")
    out=$($OP run -- "/home/olga/$name" "${args[@]}" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && grep -q "^PASS" <<<"$out"; then
        pass "escape probe $name held"
    else
        fail "escape probe $name held" "exit $rc" "$out"
    fi
    case $name in
    memhog) expect_match "user told of the memory limit" "memory limit" "$out" ;;
    forkbomb) expect_match "user told of the process limit" "process limit" "$out" ;;
    esac
done

finish
