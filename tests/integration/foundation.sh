#!/bin/bash
# The daemon, the control protocol and the real-name registry.
. "$(dirname "$0")/lib.sh"

start_daemon

expect_ok "status as root" "$WARDEN" status
expect_match "root is the bootstrap admin" "role admin" "$LAST_OUT"

# Tenants.
expect_ok "create tenant" create_tenant aviation 2026-01-01 2026-12-31
expect_fail "duplicate tenant rejected" 3 "tenant 'aviation' already exists" \
    "$WARDEN" tenant create aviation --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2026-06-01
expect_fail "13-month term rejected" 3 "must end by 2026-12-31, not 2027-02-01" \
    "$WARDEN" tenant create longterm --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2027-02-01
expect_fail "year and a day rejected" 3 "must end by 2026-12-31, not 2027-01-01" \
    "$WARDEN" tenant create yearday --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2027-01-01
expect_fail "leap-day term ends Feb 28" 3 "must end by 2025-02-28" \
    "$WARDEN" tenant create leap --legal-entity X --contact Y \
    --scenario s --start 2024-02-29 --end 2025-03-01
expect_fail "invalid date rejected" 3 "invalid end date '2026-02-30'" \
    "$WARDEN" tenant create baddate --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2026-02-30
expect_fail "invalid tenant name rejected" 3 "invalid tenant name 'Bad_Name'" \
    "$WARDEN" tenant create Bad_Name --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2026-06-01
expect_ok "list tenants" "$WARDEN" tenant list
expect_match "list shows the tenant" "aviation +pending +2026-01-01 +2026-12-31" "$LAST_OUT"
expect_match "rejected tenants were not stored" "^NAME" "$(echo "$LAST_OUT" | grep -v aviation)"
count=$("$WARDEN" --json tenant list | grep -c '"name"')
[ "$count" = 1 ] && pass "exactly one tenant stored" || fail "exactly one tenant stored" "found $count"

# Users.
ID1=$(make_id_number 1)
ID2=$(make_id_number 2)
expect_ok "register operator" "$WARDEN" user add alice --uid 2001 \
    --name "Alice Zhang" --id-number "$ID1" --role operator --tenant aviation
expect_match "identity number stored masked" "identity ${ID1:0:6}\*{8}${ID1:14:4}" "$LAST_OUT"
if sqlite3 "$T/state/warden.db" "SELECT * FROM users" | grep -q "$ID1"; then
    fail "identity number never stored in clear"
else
    pass "identity number never stored in clear"
fi
BAD_CHECK="${ID2:0:17}$( [ "${ID2:17:1}" = 0 ] && echo 1 || echo 0 )"
expect_fail "wrong check character rejected" 3 "check" \
    "$WARDEN" user add bob --uid 2002 --name Bob --id-number "$BAD_CHECK" \
    --role reviewer
expect_fail "same person twice rejected" 3 "already registered as user 'alice'" \
    "$WARDEN" user add alice2 --uid 2003 --name "Alice Zhang" \
    --id-number "$ID1" --role reviewer
expect_fail "operator without tenant rejected" 3 "an operator needs a tenant" \
    "$WARDEN" user add carol --uid 2004 --name Carol \
    --id-number "$(make_id_number 4)" --role operator
expect_ok "show lists missing prerequisites" "$WARDEN" user show alice
expect_match "missing training listed" "completed training" "$LAST_OUT"
expect_match "missing agreement listed" "confidentiality agreement" "$LAST_OUT"
expect_match "missing approval listed" "filing approval" "$LAST_OUT"
expect_match "inactive tenant listed" "tenant 'aviation' is pending" "$LAST_OUT"
expect_ok "record agreement" "$WARDEN" user agree alice --date 2026-01-05
expect_ok "record training" "$WARDEN" user train alice
expect_ok "record approval" "$WARDEN" user approve alice
expect_fail "future training date rejected" 3 "in the future" \
    "$WARDEN" user train alice --date 2999-01-01
out=$("$WARDEN" user show alice)
if grep -q "completed training" <<<"$out"; then
    fail "training no longer missing" "$out"
else
    pass "training no longer missing"
fi

# Callers.
expect_fail "unregistered uid refused" 4 "uid 4242 is not registered" \
    as_uid 4242 "$WARDEN" status
expect_ok "registered operator allowed" as_uid 2001 "$WARDEN" status
expect_match "operator identified" "alice \(uid 2001, role operator, tenant aviation\)" "$LAST_OUT"
expect_fail "operator cannot create tenants" 4 "needs the role admin" \
    as_uid 2001 "$WARDEN" tenant create x --legal-entity X --contact Y \
    --scenario s --start 2026-01-01 --end 2026-06-01
expect_fail "operator cannot see other users" 4 "only see their own" \
    as_uid 2001 "$WARDEN" user show root

# Protocol abuse: each gets an error and leaves the daemon serving.
send_raw() {
    python3 - "$T/run/warden.sock" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
mode = sys.argv[2]
if mode == "malformed":
    s.sendall(b'{"v":1,"id":1,"verb":\n')
elif mode == "huge":
    s.sendall(b'{"v":1,"id":2,"verb":"status","args":{"x":"' + b"a" * (10 << 20) + b'"}}\n')
elif mode == "unknown":
    s.sendall(b'{"v":1,"id":3,"verb":"no.such.verb"}\n')
elif mode == "version":
    s.sendall(b'{"v":99,"id":4,"verb":"status"}\n')
elif mode == "midline":
    s.sendall(b'{"v":1,"id":5,"verb":"sta')
    time.sleep(1.5)
    print("held")
    sys.exit(0)
s.settimeout(10)
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
}
expect_match "malformed JSON gets protocol_error" '"code":"protocol_error"' "$(send_raw malformed)"
expect_match "10 MiB request gets request_too_large" '"code":"request_too_large"' "$(send_raw huge)"
expect_match "unknown verb gets invalid_argument" "unknown verb 'no.such.verb'" "$(send_raw unknown)"
expect_match "wrong version rejected" "speaks version 1" "$(send_raw version)"
send_raw midline > "$T/midline.out" &
MIDLINE=$!
sleep 0.3
expect_ok "stuck client does not block others" timeout 1 "$WARDEN" status
wait $MIDLINE
expect_ok "daemon still serves after abuse" "$WARDEN" tenant show aviation

# Audit: refused and accepted requests both leave events.
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events WHERE result LIKE 'already_exists%'")
[ "$n" -ge 1 ] && pass "refusal recorded in audit" || fail "refusal recorded in audit" "count $n"
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events WHERE action = 'tenant.create' AND result = 'ok'")
[ "$n" = 1 ] && pass "tenant creation recorded once" || fail "tenant creation recorded once" "count $n"

# Reload and restart keep state.
kill -HUP "$DAEMON_PID"
sleep 0.2
expect_ok "serves after SIGHUP" "$WARDEN" status
expect_match "reload logged" "reloaded configuration" "$(cat "$T/wardend.log")"
stop_daemon
expect_match "clean shutdown logged" "wardend stopping" "$(cat "$T/wardend.log")"
start_daemon
expect_ok "state survives restart" "$WARDEN" user show alice

# The retention may only grow, also across restarts.
stop_daemon
write_config "[audit]" "retention_days = 400"
start_daemon
stop_daemon
write_config "[audit]" "retention_days = 300"
expect_fail "lower retention after restart rejected" 1 "below the 400 days this platform used before" \
    timeout 10 "$WARDEND" --config "$T/warden.conf"
write_config
rm -f "$T/warden.conf"

# Configuration errors.
printf '[audit]\nretention_days = 100\n' > "$T/bad1.conf"
expect_fail "retention below minimum rejected" 1 "below the minimum of 183" \
    "$WARDEND" --config "$T/bad1.conf" --check-config
printf '[daemon]\nsocket = /tmp/x\nbogus = 1\n' > "$T/bad2.conf"
expect_fail "unknown key names file and line" 1 "bad2.conf:3: unknown key 'bogus'" \
    "$WARDEND" --config "$T/bad2.conf" --check-config
printf '[sandbox]\npids_limit = many\n' > "$T/bad3.conf"
expect_fail "malformed value rejected" 1 "bad3.conf:2: invalid value 'many' for key 'pids_limit'" \
    "$WARDEND" --config "$T/bad3.conf" --check-config

finish
