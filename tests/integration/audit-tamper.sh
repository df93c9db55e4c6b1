#!/bin/bash
# Offline verification of tampered copies of the database, and a crash in
# the middle of a burst of requests.
. "$(dirname "$0")/lib.sh"

# Sign a checkpoint every 20 events of a chain and never by age, so that
# the tail of a chain stays unsigned for the truncation cases below.
write_config
sed -i -e 's/^checkpoint_events = .*/checkpoint_events = 20/' \
    -e 's/^checkpoint_seconds = .*/checkpoint_seconds = 86400/' "$T/warden.conf"
start_daemon

# tenant:aviation gets events 1 (tenant.create), 2 (user.add) and 3 to 25
# (alice's status requests); the checkpoint covers seq 20.  tenant:rail
# gets two events and no checkpoint.
create_tenant aviation
create_tenant rail
"$WARDEN" user add alice --uid 2001 --name "Alice Zhang" \
    --id-number "$(make_id_number 1)" --role operator --tenant aviation >/dev/null
"$WARDEN" user add bob --uid 2002 --name "Bob Li" \
    --id-number "$(make_id_number 2)" --role operator --tenant rail >/dev/null
for _ in $(seq 3 25); do as_uid 2001 "$WARDEN" status >/dev/null; done
stop_daemon

DB="$T/state/warden.db"
PUB="$T/state/audit.pub"
n=$(sqlite3 "$DB" "SELECT max(seq) FROM audit_events WHERE chain = 'tenant:aviation'")
[ "$n" = 25 ] && pass "aviation chain has 25 events" || fail "aviation chain has 25 events" "max seq $n"
n=$(sqlite3 "$DB" "SELECT group_concat(seq) FROM audit_checkpoints WHERE chain = 'tenant:aviation'")
[ "$n" = 20 ] && pass "aviation chain signed at seq 20" || fail "aviation chain signed at seq 20" "checkpoints at $n"

# tampered NAME SQL: a copy of the database with SQL applied; prints its path.
tampered() {
    local dir="$T/case-$1"
    mkdir -p "$dir"
    cp "$DB" "$dir/warden.db"
    sqlite3 "$dir/warden.db" "$2" >/dev/null ||
        echo "tampering SQL of case $1 failed" >&2
    echo "$dir/warden.db"
}

verify_copy() {
    "$WARDEN" audit verify --db "$1" --pubkey "$PUB"
}

AV="chain = 'tenant:aviation'"

expect_ok "untouched copy verifies" verify_copy "$(tampered clean "")"
expect_match "untouched copy intact" "the audit log is intact" "$LAST_OUT"
expect_match "unsigned tail reported as a limit" \
    "not provable: tenant:aviation: events after seq 20 are not covered" "$LAST_OUT"

expect_fail "edited result named" 6 "TAMPERED \(edited\): tenant:aviation: event 7 does not match its hash" \
    verify_copy "$(tampered edit "UPDATE audit_events SET result = 'ok' WHERE $AV AND seq = 7;
        UPDATE audit_events SET actor = 'mallory' WHERE $AV AND seq = 7")"

expect_fail "edited details named" 6 "tenant:aviation: event 2 does not match its hash" \
    verify_copy "$(tampered details "UPDATE audit_events SET details = '{}' WHERE $AV AND seq = 2")"

expect_fail "deleted event named" 6 "TAMPERED \(gap\): tenant:aviation: events 9 to 9 are missing" \
    verify_copy "$(tampered delete "DELETE FROM audit_events WHERE $AV AND seq = 9")"

# Insert a forged event at seq 12, renumbering the later ones; it links to
# event 11 correctly but its own hash cannot be right.
expect_fail "inserted event named" 6 "tenant:aviation: event 12 does not match its hash" \
    verify_copy "$(tampered insert "
        UPDATE audit_events SET seq = -seq WHERE $AV AND seq >= 12;
        UPDATE audit_events SET seq = 1 - seq WHERE $AV AND seq < 0;
        INSERT INTO audit_events (chain, seq, time_ns, actor, uid, tenant,
            action, object, result, details, recording, recording_sha256,
            prev, hash)
        SELECT chain, 12, time_ns, 'mallory', uid, tenant, action, object,
            result, details, recording, recording_sha256, hash, hash
        FROM audit_events WHERE $AV AND seq = 11")"

# Insert a second event 5 next to the real one, as an attacker who dropped
# the unique index would.
expect_fail "duplicate event named" 6 "TAMPERED \(duplicate\): tenant:aviation: event 5 appears again" \
    verify_copy "$(tampered duplicate "
        DROP INDEX audit_events_chain_seq;
        INSERT INTO audit_events (chain, seq, time_ns, actor, uid, tenant,
            action, object, result, details, recording, recording_sha256,
            prev, hash)
        SELECT chain, seq, time_ns, 'mallory', uid, tenant, action, object,
            result, details, recording, recording_sha256, prev, hash
        FROM audit_events WHERE $AV AND seq = 5")"

expect_fail "reordered events named" 6 "TAMPERED \(prev-mismatch\): tenant:aviation: event 14 does not link to event 13" \
    verify_copy "$(tampered reorder "
        UPDATE audit_events SET seq = -1 WHERE $AV AND seq = 14;
        UPDATE audit_events SET seq = 14 WHERE $AV AND seq = 15;
        UPDATE audit_events SET seq = 15 WHERE $AV AND seq = -1")"

expect_fail "truncation below a checkpoint named" 6 \
    "TAMPERED \(checkpoint-past-end\): tenant:aviation: events 18 to 20 were deleted" \
    verify_copy "$(tampered truncate "DELETE FROM audit_events WHERE $AV AND seq >= 18")"

# Deleting events that no checkpoint covers cannot be proved, and verify
# reports that limit instead of calling the log intact without comment.
expect_ok "truncation of the unsigned tail is not a failure" \
    verify_copy "$(tampered truncate-tail "DELETE FROM audit_events WHERE $AV AND seq >= 23")"
expect_match "truncated tail reported as a limit" \
    "not provable: tenant:aviation: events after seq 20 are not covered by a signed checkpoint" "$LAST_OUT"

expect_fail "moved checkpoint named" 6 \
    "TAMPERED \(bad-signature\): tenant:aviation: the checkpoint at seq 19 has an invalid signature" \
    verify_copy "$(tampered checkpoint "UPDATE audit_checkpoints SET seq = 19 WHERE $AV")"

expect_fail "deleted chain named" 6 "TAMPERED \(chain-missing\): tenant:rail: the chain was started" \
    verify_copy "$(tampered chain "DELETE FROM audit_events WHERE chain = 'tenant:rail'")"

expect_fail "edit in the platform chain named" 6 "platform: event 1 does not match its hash" \
    verify_copy "$(tampered platform "UPDATE audit_events SET object = 'tenant:other' WHERE chain = 'platform' AND seq = 1")"

expect_fail "tenant filter checks one chain" 6 "tenant:aviation: event 7" \
    "$WARDEN" audit verify --tenant aviation --db "$T/case-edit/warden.db" --pubkey "$PUB"
expect_ok "tenant filter skips other chains" \
    "$WARDEN" audit verify --tenant rail --db "$T/case-edit/warden.db" --pubkey "$PUB"
printf '%064d\n' 0 > "$T/wrong.pub"
expect_fail "wrong public key rejected" 6 "invalid signature" \
    "$WARDEN" audit verify --db "$DB" --pubkey "$T/wrong.pub"
expect_fail "offline verify needs a key" 2 "needs --pubkey" \
    "$WARDEN" audit verify --db "$DB"
expect_fail "missing database named" 1 "cannot open the database $T/nonexistent.db" \
    "$WARDEN" audit verify --db "$T/nonexistent.db" --pubkey "$PUB"
out=$("$WARDEN" --json audit verify --db "$T/case-delete/warden.db" --pubkey "$PUB")
if python3 -c '
import json, sys
r = json.loads(sys.argv[1])
f = [x for x in r["findings"] if x["kind"] == "gap"]
sys.exit(0 if not r["ok"] and f and f[0]["chain"] == "tenant:aviation" and f[0]["seq"] == 9 else 1)
' "$out"; then
    pass "JSON report names chain and seq"
else
    fail "JSON report names chain and seq" "$out"
fi
expect_ok "original still verifies" verify_copy "$DB"

# Crash: SIGKILL in the middle of a burst of tenant creations.  Every
# creation the CLI reported must have its audit event after the restart.
start_daemon
(
    for i in $(seq 1 300); do
        if "$WARDEN" tenant create "burst-$i" --legal-entity "Burst $i" \
            --contact ops@example.com --scenario load \
            --start 2026-01-01 --end 2026-06-30 >/dev/null 2>&1; then
            echo "burst-$i"
        fi
    done
) > "$T/acked.txt" &
BURST=$!
for _ in $(seq 1 600); do
    [ "$(wc -l < "$T/acked.txt")" -ge 60 ] && break
    sleep 0.05
done
crash_daemon
wait "$BURST"
acked=$(wc -l < "$T/acked.txt")
if [ "$acked" -ge 60 ] && [ "$acked" -lt 300 ]; then
    pass "daemon killed in the middle of the burst"
else
    fail "daemon killed in the middle of the burst" "$acked creations acknowledged"
fi
mkdir -p "$T/crash-copy"
cp "$T/state/warden.db"* "$T/crash-copy/"
expect_ok "copy taken after the crash verifies offline" \
    verify_copy "$T/crash-copy/warden.db"
# The killed daemon left its socket behind; start_daemon waits for the
# socket to appear, so remove the stale one first.
rm -f "$T/run/warden.sock"
start_daemon
expect_ok "chain intact after the crash" "$WARDEN" audit verify
missing=$(sqlite3 "$DB" "SELECT substr(object, 8) FROM audit_events
    WHERE action = 'tenant.create' AND result = 'ok'" | sort | comm -13 - <(sort "$T/acked.txt"))
if [ -z "$missing" ]; then
    pass "every acknowledged creation has its event"
else
    fail "every acknowledged creation has its event" "missing: $missing"
fi
orphans=$(sqlite3 "$DB" "SELECT name FROM tenants WHERE name NOT IN
    (SELECT substr(object, 8) FROM audit_events WHERE action = 'tenant.create' AND result = 'ok')")
if [ -z "$orphans" ]; then
    pass "no tenant without its event"
else
    fail "no tenant without its event" "$orphans"
fi
echo "# $acked of 300 creations acknowledged before the crash"

finish
