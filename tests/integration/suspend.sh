#!/bin/bash
# Suspension and termination acting on real sandboxes: a running loop is
# frozen and carries on after resume, a shell is disconnected with the
# reason, new sandboxes are refused; termination leaves no process,
# cgroup, link or rule behind.
. "$(dirname "$0")/lib.sh"

start_daemon
create_tenant aviation
activate_tenant aviation
add_operator olga 2101 aviation
OP="as_uid 2101 $WARDEN"
"$WARDEN" tenant net aviation --mode internal >/dev/null
"$WARDEN" tenant allow aviation 192.0.2.10/32 tcp 8080 >/dev/null

counter="$(home_of olga aviation)/counter"
$OP run -- /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i > ~/counter; sleep 0.05; done' >/dev/null 2>&1 &
LOOP=$!

# An interactive shell that reports what the daemon tells it.
python3 - "$WARDEN" > "$T/shell.out" 2>&1 <<'PY' &
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.setgid(2101); os.setuid(2101)
    os.execv(sys.argv[1], [sys.argv[1], "shell"])
buf = b""
end = time.time() + 40
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
print("\nSTATUS", os.waitstatus_to_exitcode(status))
PY
SHELL_CLIENT=$!

for _ in $(seq 100); do [ -s "$counter" ] && break; sleep 0.1; done
sleep 0.5
expect_match "loop and shell are running" "olga +run.*olga +shell|olga +shell.*olga +run" \
    "$("$WARDEN" sandbox list | tr '\n' ' ')"
loop_id=$("$WARDEN" sandbox list | awk '/olga +run/ {print $1}')

expect_ok "suspend" "$WARDEN" tenant suspend aviation --reason "security patch overdue" --deadline 2099-01-31
a=$(cat "$counter"); sleep 1; b=$(cat "$counter")
[ "$a" = "$b" ] && pass "the loop's counter stops" || fail "the loop's counter stops" "$a then $b"
expect_match "sandbox list shows it frozen" "$loop_id .*frozen" "$("$WARDEN" sandbox list)"
wait $SHELL_CLIENT
out=$(cat "$T/shell.out")
expect_match "shell hears the reason" "security patch overdue" "$out"
expect_match "shell is disconnected" "STATUS" "$out"
expect_fail "new shells refused while suspended" 4 "suspended" $OP shell -c true
expect_match "network cut while suspended" "cut off" "$("$WARDEN" tenant net show aviation)"

expect_ok "resume" "$WARDEN" tenant resume aviation
sleep 1
c=$(cat "$counter")
[ "$c" -gt "$b" ] && pass "the same loop carries on after resume" || fail "the same loop carries on after resume" "$b then $c"
expect_match "the same sandbox still runs" "$loop_id " "$("$WARDEN" sandbox list)"
expect_ok "shells allowed again" $OP shell -c true

# Termination ends everything.
base=$(sqlite3 "$T/state/warden.db" "SELECT uid_base FROM tenants WHERE name='aviation'")
expect_ok "terminate" "$WARDEN" tenant terminate aviation --reason "authorization ended"
wait $LOOP
rc=$?
[ $rc -ne 0 ] && pass "the loop's client sees the end" || fail "the loop's client sees the end" "exit $rc"
for _ in $(seq 50); do
    "$WARDEN" tenant lifecycle aviation | grep -q "done" && break
    sleep 0.1
done
left=$(ps -eo uid= | awk -v lo="$base" -v hi=$((base + 65536)) '$1 >= lo && $1 < hi' | wc -l)
[ "$left" = 0 ] && pass "no process of the tenant is left" || fail "no process of the tenant is left" "$left processes"
cg=$(find /sys/fs/cgroup -maxdepth 8 -type d -path "*warden-test-$$*/aviation" 2>/dev/null | head -3)
[ -z "$cg" ] && pass "no cgroup of the tenant is left" || fail "no cgroup of the tenant is left" "$cg"
links=$(ip -o link | grep -c ' wd[0-9]')
[ "$links" = 0 ] && pass "no link is left" || fail "no link is left" "$(ip -o link | grep ' wd')"
rules=$(nft list table inet warden 2>/dev/null | grep -c 'chain t0 ')
[ "$rules" = 0 ] && pass "no rule of the tenant is left" || fail "no rule of the tenant is left" "$(nft list table inet warden)"
[ ! -e "$(home_of olga aviation)" ] && pass "the workspace is gone" || fail "the workspace is gone"
expect_fail "requests refused after termination" 4 "terminated" $OP run -- /bin/true
expect_ok "the audit chain still verifies" "$WARDEN" audit verify

finish
