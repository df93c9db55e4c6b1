#!/bin/bash
# The authorization lifecycle: the emergency response plan, activation,
# suspension and its deadline, expiry (also while the daemon is down),
# termination with the destruction of the workspace (also across a crash),
# retention and purge, and the reports.  Time moves through the test clock.
. "$(dirname "$0")/lib.sh"

DB="$T/state/warden.db"

# Replace the clock file in one rename: the daemon must never read it half
# written, or it falls back to the system clock for that moment.
set_clock() { date -u -d "$1" +%s > "$T/clock.new" && mv "$T/clock.new" "$T/clock"; }
state_of() { "$WARDEN" --json tenant show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
sql() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }

# wait_state NAME TENANT STATE: poll for up to 10 s.
wait_state() {
    local s=
    for _ in $(seq 1 100); do
        s=$(state_of "$2")
        [ "$s" = "$3" ] && { pass "$1"; return; }
        sleep 0.1
    done
    fail "$1" "tenant $2 is $s, expected $3"
}

# wait_destruction NAME TENANT: poll for up to 30 s until done.
wait_destruction() {
    local s=
    for _ in $(seq 1 300); do
        s=$(sql "SELECT x.status FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = '$2'")
        [ "$s" = done ] && { pass "$1"; return; }
        sleep 0.1
    done
    fail "$1" "destruction of $2 is '$s'"
}

set_clock 2026-03-01T12:00:00
write_config
start_daemon

for t in beta gamma delta epsilon zeta; do
    "$WARDEN" tenant create $t --legal-entity "$t Ltd" --contact "ops@$t.example" \
        --scenario analysis --start 2026-03-01 --end 2026-12-31 >/dev/null
done
"$WARDEN" tenant create acme --legal-entity "Acme Ltd" --contact ops@acme.example \
    --scenario analysis --start 2026-03-10 --end 2026-12-31 >/dev/null
"$WARDEN" tenant create beta2 --legal-entity "Beta Ltd" --contact ops@beta.example \
    --scenario analysis --start 2026-03-01 --end 2026-05-31 >/dev/null
"$WARDEN" tenant create gamma2 --legal-entity "Gamma Ltd" --contact ops@gamma.example \
    --scenario analysis --start 2026-03-01 --end 2026-06-30 >/dev/null
"$WARDEN" user add alice --uid 2001 --name "Alice Zhang" \
    --id-number "$(make_id_number 1)" --role operator --tenant acme >/dev/null
"$WARDEN" user add bob --uid 2002 --name "Bob Li" \
    --id-number "$(make_id_number 2)" --role operator --tenant delta >/dev/null
"$WARDEN" user add audra --uid 2003 --name "Audra Wu" \
    --id-number "$(make_id_number 3)" --role auditor >/dev/null

# Plan and activation.
printf 'Emergency response plan\n1. Call the duty officer.\n' > "$T/plan.txt"
expect_fail "activation without plan rejected" 3 "no emergency response plan" \
    "$WARDEN" tenant activate acme
printf '\xff\xfe\x00bad' > "$T/bad-plan.txt"
expect_fail "non-text plan rejected" 3 "NUL byte|UTF-8" \
    "$WARDEN" tenant plan acme "$T/bad-plan.txt"
expect_fail "plan from a device rejected by the CLI" 1 "not a regular file" \
    "$WARDEN" tenant plan acme /dev/stdin < /dev/null
# The daemon checks too: a pipe passed over the raw socket.
out=$(python3 - "$WARDEN_SOCKET" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
r, w = os.pipe()
line = json.dumps({"v": 1, "id": 1, "verb": "tenant.plan",
                   "args": {"name": "acme"}, "fds": 1}).encode() + b"\n"
socket.send_fds(s, [line], [r])
print(s.recv(65536).decode())
PY
)
expect_match "plan from a pipe rejected by the daemon" "regular file" "$out"
expect_fail "operator cannot file a plan" 4 "needs the role admin" \
    as_uid 2001 "$WARDEN" tenant plan acme "$T/plan.txt"
expect_ok "plan filed" "$WARDEN" tenant plan acme "$T/plan.txt"
expect_match "plan hash printed" "SHA-256 $(sha256sum < "$T/plan.txt" | cut -d' ' -f1)" "$LAST_OUT"
n=$(sql "SELECT plan_filed_by FROM tenants WHERE name = 'acme'")
[ "$n" = root ] && pass "plan filer stored" || fail "plan filer stored" "got '$n'"
expect_fail "activation before the term names the start" 3 "starts on 2026-03-10" \
    "$WARDEN" tenant activate acme
for t in beta gamma delta epsilon zeta beta2 gamma2; do
    "$WARDEN" tenant plan $t "$T/plan.txt" >/dev/null
    "$WARDEN" tenant activate $t >/dev/null || fail "activate $t"
done
set_clock 2026-03-10T00:00:00
expect_ok "activation on the first day of the term" "$WARDEN" tenant activate acme
expect_match "tenant show says active" "^state +active" "$("$WARDEN" tenant show acme)"
expect_fail "activating twice rejected" 3 "already active" "$WARDEN" tenant activate acme
expect_ok "operator of an active tenant reads its report" \
    as_uid 2001 "$WARDEN" report annual acme --year 2026

# Suspension and resumption.
expect_fail "suspend needs a deadline" 2 "needs --deadline" \
    "$WARDEN" tenant suspend acme --reason "export without review"
expect_fail "deadline in the past rejected" 3 "already passed" \
    "$WARDEN" tenant suspend acme --reason x --deadline 2026-03-09
expect_ok "suspend" "$WARDEN" tenant suspend acme \
    --reason "export without review" --deadline 2026-04-01
expect_match "tenant show says suspended" "^state +suspended" "$("$WARDEN" tenant show acme)"
expect_fail "operator of a suspended tenant refused" 4 \
    "tenant 'acme' is suspended since 2026-03-10 00:00:00 UTC \(reason: export without review; rectification deadline 2026-04-01\): ask a platform admin" \
    as_uid 2001 "$WARDEN" report annual acme --year 2026
expect_fail "suspended tenant cannot be activated" 3 "tenant resume acme" \
    "$WARDEN" tenant activate acme
expect_fail "suspending twice rejected" 3 "is suspended: only an active" \
    "$WARDEN" tenant suspend acme --reason x --deadline 2026-05-01
expect_ok "resume" "$WARDEN" tenant resume acme
expect_match "tenant show says active again" "^state +active" "$("$WARDEN" tenant show acme)"
expect_ok "operator allowed again after resume" \
    as_uid 2001 "$WARDEN" report annual acme --year 2026
expect_ok "freeze without deadline" "$WARDEN" tenant freeze acme --reason "leak suspected"
expect_fail "frozen tenant refused, no deadline" 4 "leak suspected; frozen, no deadline" \
    as_uid 2001 "$WARDEN" report annual acme --year 2026
expect_ok "resume after freeze" "$WARDEN" tenant resume acme
expect_ok "suspend with deadline" "$WARDEN" tenant suspend acme \
    --reason "second violation" --deadline 2026-04-01
n=$(sql "SELECT count(*) FROM audit_events WHERE chain = 'tenant:acme' AND action IN ('tenant.suspend', 'tenant.freeze', 'tenant.resume') AND result = 'ok'")
[ "$n" = 5 ] && pass "suspensions recorded in the tenant chain" || fail "suspensions recorded in the tenant chain" "count $n"

# Termination destroys the workspace and views, never what a link points to.
WS="$T/state/workspaces/delta"
mkdir -p "$WS/home/bob/project/deep" "$T/state/views/delta/dev" "$T/outside-dir"
for i in $(seq 1 20); do echo "row $i" > "$WS/home/bob/project/deep/f$i.txt"; done
echo "secret" > "$WS/home/bob/notes.txt"
echo "keep me" > "$T/outside.txt"
echo "keep me too" > "$T/outside-dir/keep.txt"
ln -s "$T/outside.txt" "$WS/home/bob/link-to-file"
ln -s "$T/outside-dir" "$WS/home/bob/link-to-dir"
echo "a,b" > "$T/state/views/delta/dev/traffic.csv"
chown -R 3065536:3065536 "$WS/home"
files_expected=$(find "$WS" "$T/state/views/delta" ! -type d | wc -l)
bytes_expected=$(find "$WS" "$T/state/views/delta" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
mkdir -p "$T/state/recordings/delta"
echo '{"version": 2}' > "$T/state/recordings/delta/sbx-1.cast"

expect_fail "terminate needs a reason" 2 "needs --reason" "$WARDEN" tenant terminate delta
expect_ok "terminate" "$WARDEN" tenant terminate delta --reason "contract ended early"
expect_match "terminate reports terminated" "terminated tenant delta" "$LAST_OUT"
wait_destruction "destruction finished" delta
[ ! -e "$WS" ] && pass "workspace removed" || fail "workspace removed" "$(find "$WS" | head)"
[ ! -e "$T/state/views/delta" ] && pass "views removed" || fail "views removed"
[ "$(cat "$T/outside.txt" 2>/dev/null)" = "keep me" ] && pass "file behind a link survives" || fail "file behind a link survives"
[ -f "$T/outside-dir/keep.txt" ] && pass "directory behind a link survives" || fail "directory behind a link survives"
row=$(sql "SELECT files || ' ' || bytes || ' ' || datasets || ' ' || (finished_at IS NOT NULL) FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'delta'")
expect_match "destruction record counts files and bytes" "^$files_expected $bytes_expected " "$row"
expect_match "destruction record names the datasets" '\["traffic"\] 1$' "$row"
ev=$(sql "SELECT details FROM audit_events WHERE chain = 'platform' AND action = 'tenant.destroyed' AND object LIKE 'tenant:delta %'")
expect_match "destruction in the platform chain" "\"files\":$files_expected" "$ev"
[ -d "$T/state/recordings/delta" ] && pass "recordings kept until purge" || fail "recordings kept until purge"
expect_fail "terminated tenant cannot be activated" 3 "is terminated and cannot be activated" \
    "$WARDEN" tenant activate delta
expect_fail "terminated tenant takes no plan" 3 "is terminated: a plan can no longer be filed" \
    "$WARDEN" tenant plan delta "$T/plan.txt"
expect_fail "terminated tenant cannot be suspended" 3 "is terminated" \
    "$WARDEN" tenant suspend delta --reason x --deadline 2026-05-01
expect_fail "operator of a terminated tenant refused" 4 \
    "tenant 'delta' is terminated since .* \(reason: contract ended early\)" \
    as_uid 2002 "$WARDEN" report annual delta --year 2026
expect_ok "terminating again is harmless" "$WARDEN" tenant terminate delta --reason again
expect_match "second termination says already" "already terminated" "$LAST_OUT"
n=$(sql "SELECT count(*) FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'delta'")
[ "$n" = 1 ] && pass "one destruction per tenant" || fail "one destruction per tenant" "count $n"
have_verify() { "$WARDEN" audit --help 2>/dev/null | grep -q "warden audit verify"; }
if have_verify; then
    expect_ok "audit chain verifies after termination" "$WARDEN" audit verify
else
    echo "# SKIP audit chain verification: 'warden audit verify' is missing from this build" >&2
    fail "audit verify command available" "'warden audit verify' is missing"
fi

# A crash in the middle of a destruction: it finishes after the restart.
WS="$T/state/workspaces/epsilon"
mkdir -p "$WS/home/eve"
python3 - "$WS/home/eve" <<'PY'
import os, sys
for i in range(10000):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("x" * 100)
PY
expect_ok "terminate with 10000 files" "$WARDEN" tenant terminate epsilon --reason "crash test"
crash_daemon
left=$(find "$WS" -type f 2>/dev/null | wc -l)
status=$(sql "SELECT status FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'epsilon'")
echo "# after SIGKILL: $left of 10000 files left, destruction $status"
if [ "$status" = pending ]; then
    pass "crash interrupted the destruction"
else
    echo "# note: the destruction finished before the kill; the restart only checks the record"
fi
start_daemon
wait_destruction "destruction resumed after restart" epsilon
left=$(find "$WS" -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] && [ ! -e "$WS" ] && pass "every file destroyed after restart" || fail "every file destroyed after restart" "$left left"
row=$(sql "SELECT files || ' ' || bytes FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'epsilon'")
expect_match "crash destruction counts every file" "^10000 1000000$" "$row"

# A crash after the inventory was stored, while files are being deleted:
# the count stays exact because it was taken before the first unlink.
WS="$T/state/workspaces/zeta"
mkdir -p "$WS/home/zed"
python3 - "$WS/home/zed" <<'PY'
import os, sys
for i in range(10000):
    d = os.path.join(sys.argv[1], "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("y" * 10)
PY
expect_ok "terminate zeta" "$WARDEN" tenant terminate zeta --reason "second crash test"
for _ in $(seq 1 1000); do
    [ -n "$(sql "SELECT files FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'zeta'")" ] && break
    sleep 0.005
done
crash_daemon
left=$(find "$WS" -type f 2>/dev/null | wc -l)
echo "# after SIGKILL past the inventory: $left of 10000 files left"
start_daemon
wait_destruction "destruction resumed after a crash mid-deletion" zeta
[ ! -e "$WS" ] && pass "zeta workspace gone after restart" || fail "zeta workspace gone after restart"
row=$(sql "SELECT files || ' ' || bytes || ' ' || attempts FROM destructions x JOIN tenants t ON t.id = x.tenant_id WHERE t.name = 'zeta'")
expect_match "inventory survives the crash" "^10000 100000 2$" "$row"

# Deadline: a tenant still suspended after its deadline day is terminated.
set_clock 2026-04-01T23:59:58
sleep 1.5
expect_match "still suspended on the deadline day" "^suspended$" "$(state_of acme)"
set_clock 2026-04-02T00:00:01
wait_state "terminated after the deadline" acme terminated
reason=$(sql "SELECT termination_reason FROM tenants WHERE name = 'acme'")
expect_match "termination names the deadline" "rectification deadline 2026-04-01 passed" "$reason"
n=$(sql "SELECT count(*) FROM audit_events WHERE chain = 'tenant:acme' AND action = 'tenant.terminate' AND actor = 'wardend'")
[ "$n" = 1 ] && pass "daemon termination recorded" || fail "daemon termination recorded" "count $n"

# Expiry while running: the term ends at the end of its last day.
set_clock 2026-05-31T23:59:59
sleep 1.5
expect_match "active on the last day of the term" "^active$" "$(state_of beta2)"
set_clock 2026-06-01T00:00:00
wait_state "terminated when the term ends" beta2 terminated
expect_match "expiry names the term end" "term ended on 2026-05-31" \
    "$(sql "SELECT termination_reason FROM tenants WHERE name = 'beta2'")"

# Expiry while the daemon is down: terminated at start.
stop_daemon
set_clock 2026-07-01T00:00:00
start_daemon
expect_match "expired while down, terminated at start" "^terminated$" "$(state_of gamma2)"
expect_match "others stay active" "^active$" "$(state_of gamma)"

# Reports.
expect_ok "annual report" "$WARDEN" report annual delta --year 2026
for section in "# Annual operation report: delta, 2026" "## Storage" "## Data use" \
    "## Processing" "## Requests, imports and exports" "## Security events" "## Audit chain"; do
    expect_match "annual report has '$section'" "^$section" "$LAST_OUT"
done
expect_match "annual report verifies the chain" 'Chain `tenant:delta`: verified' "$LAST_OUT"
if "$WARDEN" report annual acme --year 2026 --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["tenant"] == "acme", r["tenant"]
assert r["year"] == 2026, r["year"]
assert r["security_events"]["by_action"]["tenant.suspend"] == 2
assert r["security_events"]["by_action"]["tenant.freeze"] == 1
assert r["audit"]["ok"] is True
'; then pass "annual JSON parses and counts suspensions"; else fail "annual JSON parses and counts suspensions"; fi
expect_ok "auditor reads annual report" as_uid 2003 "$WARDEN" report annual gamma --year 2026
expect_fail "operator cannot read another tenant's report" 4 "their own tenant" \
    as_uid 2002 "$WARDEN" report annual gamma --year 2026
expect_ok "platform report" "$WARDEN" report platform
expect_match "platform report lists days left" "\| gamma +\| active +\| 2026-12-31 +\| 184 \|" "$LAST_OUT"
expect_match "platform report gives the purge date" "\| delta +\| terminated .*\| 2026-09-09 \|" "$LAST_OUT"

# Retention: purge is refused before terminated_at + retention_days.
expect_fail "purge before retention names the date" 3 "purging is allowed from 2026-09-09 00:00:00 UTC" \
    "$WARDEN" tenant purge delta
expect_fail "purge of an active tenant rejected" 3 "only a terminated tenant" \
    "$WARDEN" tenant purge gamma
set_clock 2026-09-09T00:00:00
expect_ok "purge after retention" "$WARDEN" tenant purge delta
expect_match "tenant show says purged" "^state +purged" "$("$WARDEN" tenant show delta)"
n=$(sql "SELECT count(*) FROM audit_events WHERE chain = 'tenant:delta'")
[ "$n" = 0 ] && pass "tenant chain deleted" || fail "tenant chain deleted" "$n events left"
n=$(sql "SELECT count(*) FROM audit_events WHERE chain = 'platform' AND action = 'audit.purge' AND details LIKE '%tenant:delta%'")
[ "$n" -ge 1 ] && pass "platform chain keeps the purge" || fail "platform chain keeps the purge" "count $n"
n=$(sql "SELECT count(*) FROM audit_events WHERE chain = 'platform' AND action = 'tenant.destroyed' AND object LIKE 'tenant:delta %'")
[ "$n" = 1 ] && pass "destruction record outlives the purge" || fail "destruction record outlives the purge" "count $n"
for _ in $(seq 1 50); do [ -e "$T/state/recordings/delta" ] || break; sleep 0.1; done
[ ! -e "$T/state/recordings/delta" ] && pass "recordings removed by purge" || fail "recordings removed by purge"
expect_fail "purging twice rejected" 3 "already purged" "$WARDEN" tenant purge delta
if have_verify; then
    expect_ok "audit log verifies after purge" "$WARDEN" audit verify
fi

finish
