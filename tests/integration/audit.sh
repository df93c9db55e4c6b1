#!/bin/bash
# Reading, exporting and verifying the audit log, and playing back recorded
# sessions, with the role rules of each verb.
. "$(dirname "$0")/lib.sh"

MAKE_RECORDING="$TOP/$BUILD/tools/audit-make-recording"
if [ ! -x "$MAKE_RECORDING" ]; then
    echo "skip: $MAKE_RECORDING is not built: run 'make test-bins'"
    exit 77
fi

# json_check NAME PYTHON_EXPR JSON: PYTHON_EXPR, evaluated with the parsed
# JSON as `r`, must be true.
json_check() {
    local name=$1 expr=$2 json=$3 out
    if out=$(python3 -c "
import json, sys
r = json.loads(sys.stdin.read())
sys.exit(0 if ($expr) else 1)" <<<"$json" 2>&1); then
        pass "$name"
    else
        fail "$name" "not true: $expr" "${json:0:2000}" "$out"
    fi
}

start_daemon
create_tenant aviation
create_tenant rail
"$WARDEN" user add alice --uid 2001 --name "Alice Zhang" \
    --id-number "$(make_id_number 1)" --role operator --tenant aviation >/dev/null
"$WARDEN" user add bob --uid 2002 --name "Bob Li" \
    --id-number "$(make_id_number 2)" --role operator --tenant rail >/dev/null
"$WARDEN" user add audrey --uid 2003 --name "Audrey Wang" \
    --id-number "$(make_id_number 3)" --role auditor >/dev/null
"$WARDEN" user add rita --uid 2004 --name "Rita Chen" \
    --id-number "$(make_id_number 4)" --role reviewer >/dev/null
for _ in 1 2 3; do as_uid 2001 "$WARDEN" status >/dev/null; done
as_uid 2002 "$WARDEN" status >/dev/null

# Public key.
expect_ok "pubkey prints the key" "$WARDEN" audit pubkey
expect_match "pubkey matches audit.pub" "^$(cat "$T/state/audit.pub")\$" "$LAST_OUT"
expect_ok "pubkey --output writes a file" "$WARDEN" audit pubkey --output "$T/pub.hex"
if cmp -s "$T/pub.hex" "$T/state/audit.pub"; then
    pass "pubkey file equals audit.pub"
else
    fail "pubkey file equals audit.pub" "$(cat "$T/pub.hex")"
fi
expect_ok "any role reads the pubkey" as_uid 2001 "$WARDEN" audit pubkey

# Filters.
out=$("$WARDEN" --json audit log --tenant aviation)
json_check "tenant filter keeps one chain" \
    "r['count'] >= 4 and all(e['chain'] == 'tenant:aviation' for e in r['events'])" "$out"
json_check "tenant chain in seq order" \
    "[e['seq'] for e in r['events']] == list(range(1, r['count'] + 1))" "$out"
out=$("$WARDEN" --json audit log --action tenant.create)
json_check "exact action filter" \
    "r['count'] == 2 and {e['object'] for e in r['events']} == {'tenant:aviation', 'tenant:rail'}" "$out"
out=$("$WARDEN" --json audit log --action 'user.*')
json_check "action prefix filter" \
    "r['count'] >= 4 and all(e['action'].startswith('user.') for e in r['events'])" "$out"
out=$("$WARDEN" --json audit log --user alice)
# alice made three status requests and read the public key once.
json_check "user filter" \
    "r['count'] == 4 and all(e['actor'] == 'alice' for e in r['events'])" "$out"
out=$("$WARDEN" --json audit log --limit 2)
json_check "limit cuts and says so" "r['count'] == 2 and r['truncated']" "$out"
TODAY=$(date -u +%Y-%m-%d)
out=$("$WARDEN" --json audit log --since "$(date -u -d tomorrow +%Y-%m-%d)")
json_check "since tomorrow finds nothing" "r['count'] == 0" "$out"
out=$("$WARDEN" --json audit log --until "$(date -u -d yesterday +%Y-%m-%d)")
json_check "until yesterday finds nothing" "r['count'] == 0" "$out"
out=$("$WARDEN" --json audit log --since "$TODAY" --until "$TODAY")
json_check "a whole day includes today's events" "r['count'] >= 10" "$out"
out=$("$WARDEN" --json audit log --since "${TODAY}T00:00:00Z" --action tenant.create)
json_check "date-time bound accepted" "r['count'] == 2" "$out"
expect_fail "invalid time rejected" 3 "invalid since time '2026-13-01'" \
    "$WARDEN" audit log --since 2026-13-01
expect_fail "invalid limit rejected" 2 "invalid --limit" \
    "$WARDEN" audit log --limit lots
expect_ok "table view" "$WARDEN" audit log --tenant aviation
expect_match "table has the columns" "^TIME +CHAIN +SEQ +ACTOR +ACTION +OBJECT +RESULT" "$LAST_OUT"
expect_match "table row of the creation" \
    "^$TODAY [0-9:]{8} +tenant:aviation +1 +root +tenant.create +tenant:aviation +ok" "$LAST_OUT"

# Operators see their own tenant only.
out=$(as_uid 2001 "$WARDEN" --json audit log)
json_check "operator sees only own chain" \
    "r['count'] >= 4 and all(e['chain'] == 'tenant:aviation' for e in r['events'])" "$out"
expect_fail "operator cannot read another tenant" 4 "only their own tenant's audit log" \
    as_uid 2001 "$WARDEN" audit log --tenant rail
expect_fail "operator cannot read the platform chain" 4 "only their own tenant's audit log" \
    as_uid 2001 "$WARDEN" audit log --chain platform
expect_fail "operator cannot export" 4 "needs the role admin or auditor" \
    as_uid 2001 "$WARDEN" audit export
expect_fail "operator cannot verify" 4 "needs the role admin or auditor" \
    as_uid 2001 "$WARDEN" audit verify

# Auditors read everything and change nothing; reviewers read logs.
out=$(as_uid 2003 "$WARDEN" --json audit log)
json_check "auditor reads every chain" \
    "{'platform', 'tenant:aviation', 'tenant:rail'} <= {e['chain'] for e in r['events']}" "$out"
expect_fail "auditor cannot create tenants" 4 "needs the role admin; audrey is auditor" \
    as_uid 2003 "$WARDEN" tenant create x --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2026-06-01
expect_fail "auditor cannot register users" 4 "needs the role admin" \
    as_uid 2003 "$WARDEN" user add eve --uid 2009 --name Eve \
    --id-number "$(make_id_number 9)" --role auditor
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM tenants WHERE name = 'x'")
[ "$n" = 0 ] && pass "refused creation stored nothing" || fail "refused creation stored nothing" "count $n"
expect_ok "auditor verifies" as_uid 2003 "$WARDEN" audit verify
out=$(as_uid 2004 "$WARDEN" --json audit log --tenant rail)
json_check "reviewer reads a tenant chain" "r['count'] >= 2" "$out"

# Reading the log is itself recorded, with the filter and the count.
out=$("$WARDEN" --json audit log --action audit.log --user audrey)
json_check "auditor's read recorded" \
    "r['count'] >= 1 and r['events'][0]['details']['count'] > 0 and 'filter' in r['events'][0]['details']" "$out"
out=$("$WARDEN" --json audit log --action audit.log --user alice)
json_check "refused read recorded with its filter" \
    "any(e['result'].startswith('permission_denied') and e['details']['filter'].get('tenant') == 'rail' for e in r['events'])" "$out"
out=$("$WARDEN" --json audit log --action audit.log --tenant aviation)
json_check "operator's read is in the tenant chain" \
    "any(e['actor'] == 'alice' and e['object'] == 'audit:tenant:aviation' for e in r['events'])" "$out"

# Export.
before=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events")
"$WARDEN" audit export > "$T/export.jsonl"
expect_match "export exit status" "^0$" "$?"
lines=$(wc -l < "$T/export.jsonl")
[ "$lines" = "$before" ] && pass "export has every event" || fail "export has every event" "$lines lines, $before events"
if out=$(python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    for key in ("chain", "seq", "time", "actor", "action", "result", "hash", "prev"):
        if key not in e:
            sys.exit("line %d has no %s" % (n, key))
' "$T/export.jsonl" 2>&1); then
    pass "export is valid JSON Lines"
else
    fail "export is valid JSON Lines" "$out"
fi
"$WARDEN" audit export --tenant rail --action 'user.*' > "$T/rail.jsonl"
out=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(len(rows), all(r["chain"] == "tenant:rail" and r["action"].startswith("user.") for r in rows))
' "$T/rail.jsonl")
expect_match "export applies filters" "^[1-9][0-9]* True$" "$out"

# Verification of a fresh log.
expect_ok "verify a fresh log" "$WARDEN" audit verify
expect_match "fresh log intact" "the audit log is intact" "$LAST_OUT"
expect_ok "verify one tenant" "$WARDEN" audit verify --tenant aviation
expect_match "one chain verified" "^1 chains" "$LAST_OUT"
expect_ok "verify with the key file" "$WARDEN" audit verify --pubkey "$T/pub.hex"
printf '%064d\n' 0 > "$T/wrong.pub"
expect_fail "verify with a wrong key fails" 6 "invalid signature" \
    "$WARDEN" audit verify --pubkey "$T/wrong.pub"

# Sessions, recorded while the daemon is stopped.
stop_daemon
SHA1=$("$MAKE_RECORDING" --state "$T/state" --tenant aviation --id sbx-1 \
    --login alice --uid 2001 --text flight-data-42)
SHA2=$("$MAKE_RECORDING" --state "$T/state" --tenant rail --id sbx-2 \
    --login bob --uid 2002 --text rail-data-7 --exit-code 3)
start_daemon
# A running session: recorded, but not yet sealed by a session.end event.
# Added while the daemon runs, because at start the daemon closes every
# session that a previous run left open.
cp "$T/state/recordings/aviation/sbx-1.cast" "$T/state/recordings/aviation/sbx-3.cast"
sqlite3 "$T/state/warden.db" "INSERT INTO sandboxes (id, tenant_id, login,
    uid, kind, started_at, command, recording) SELECT 'sbx-3', id, 'alice',
    2001, 'shell', strftime('%s', 'now'), '[\"/bin/sh\"]',
    'aviation/sbx-3.cast' FROM tenants WHERE name = 'aviation'"
expect_ok "session list" "$WARDEN" session list
expect_match "list has both sessions" "sbx-1 +aviation +alice +shell .* 0 +yes" "$LAST_OUT"
expect_match "list shows the exit code" "sbx-2 +rail +bob +shell .* 3 +yes" "$LAST_OUT"
expect_ok "operator lists sessions" as_uid 2001 "$WARDEN" session list
if grep -q sbx-2 <<<"$LAST_OUT"; then
    fail "operator sees only own sessions" "$LAST_OUT"
else
    pass "operator sees only own sessions"
fi
expect_fail "operator cannot list another tenant" 4 "only their own tenant's sessions" \
    as_uid 2001 "$WARDEN" session list --tenant rail
expect_ok "session show" "$WARDEN" session show sbx-1
expect_match "show names the sealing event" "sealed in +tenant:aviation seq [0-9]+, sha256 $SHA1" "$LAST_OUT"
expect_match "show says intact" "recording intact +yes" "$LAST_OUT"
expect_match "running session listed" "sbx-3 +aviation +alice +shell .* - +running +yes" \
    "$("$WARDEN" session list)"
expect_ok "show a running session" "$WARDEN" session show sbx-3
expect_match "running session not sealed yet" "recording intact +unknown until" "$LAST_OUT"
out=$("$WARDEN" session play sbx-3 --speed 0 2>&1)
expect_match "playing an unsealed recording warns" "not sealed in the audit chain yet" "$out"
expect_fail "operator cannot see another tenant's session" 3 "session 'sbx-2' not found" \
    as_uid 2001 "$WARDEN" session show sbx-2
expect_fail "unknown session" 3 "session 'sbx-9' not found" "$WARDEN" session show sbx-9
expect_ok "play a session" "$WARDEN" session play sbx-1 --speed 0
expect_match "playback shows the output" "flight-data-42" "$LAST_OUT"
expect_ok "operator plays own session" as_uid 2001 "$WARDEN" session play sbx-1 --speed 0
expect_fail "reviewer cannot play" 4 "needs the role admin or operator or auditor" \
    as_uid 2004 "$WARDEN" session play sbx-2
"$WARDEN" session play sbx-1 --raw > "$T/sbx-1.cast"
actual=$(sha256sum "$T/sbx-1.cast" | cut -d' ' -f1)
[ "$actual" = "$SHA1" ] && pass "raw playback is the sealed file" || fail "raw playback is the sealed file" "$actual != $SHA1"
json_check "raw file has an asciicast v2 header" "r['version'] == 2 and r['width'] == 80" \
    "$(head -1 "$T/sbx-1.cast")"
if command -v asciinema >/dev/null && command -v script >/dev/null; then
    # asciinema 2.2 (Debian 12) opens /dev/tty even for 'cat', so give it
    # a terminal with script(1).
    expect_ok "asciinema reads the recording" \
        script -qec "asciinema cat $T/sbx-1.cast" /dev/null
    expect_match "asciinema shows the output" "flight-data-42" "$LAST_OUT"
else
    echo "# SKIPPED CHECK: asciinema or script is not installed, so playback" \
        "with a standard player was not tested" | tee /dev/stderr
fi
out=$("$WARDEN" --json audit log --action session.play)
json_check "playing is recorded" \
    "any(e['object'] == 'sandbox:sbx-1' and e['details']['recording'] == 'aviation/sbx-1.cast' for e in r['events'])" "$out"
expect_ok "verify with recordings" "$WARDEN" audit verify
expect_match "both recordings re-hashed" "2 recordings checked: the audit log is intact" "$LAST_OUT"

# One changed byte in a recording.
python3 - "$T/state/recordings/aviation/sbx-1.cast" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
i = data.index(b"flight-data-42")
data[i] = ord("F")
open(path, "wb").write(bytes(data))
PY
expect_fail "verify names the altered recording" 6 \
    "recording 'aviation/sbx-1.cast' of event [0-9]+ does not match" \
    "$WARDEN" audit verify
expect_ok "show reports the alteration" "$WARDEN" session show sbx-1
expect_match "show says not intact" "recording intact +NO" "$LAST_OUT"
expect_fail "offline verify finds it too" 6 "aviation/sbx-1.cast" \
    "$WARDEN" audit verify --db "$T/state/warden.db" --pubkey "$T/state/audit.pub" \
    --recordings "$T/state/recordings"
out=$("$WARDEN" session play sbx-1 --speed 0 2>&1)
expect_match "playing warns about the alteration" "does not match the SHA-256" "$out"

finish
