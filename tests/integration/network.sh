#!/bin/bash
# Network modes and allowlists through the real daemon.  Covered: mode
# none, internal mode's allowlist for TCP, UDP and ICMP, and isolation
# between tenants and from the host end.  Also allowlist and mode changes
# seen by running sandboxes, dropped packets in the audit chain, input
# checks, suspension, and the links and nftables table after a stop.
#
# The namespace lib.sh creates stands in for the host.  The test service
# listens in it on 192.0.2.10 (TEST-NET-1, RFC 5737), an address that
# exists only on this namespace's loopback.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
SERVICE=192.0.2.10
SERVICE_PID=
BACKGROUND_PIDS=()

network_cleanup() {
    for pid in "${BACKGROUND_PIDS[@]}" $SERVICE_PID; do
        kill "$pid" 2>/dev/null
    done
    cleanup
}
trap network_cleanup EXIT

# One script for every probe, run inside sandboxes and in this namespace.
#   probe tcp|udp HOST PORT   connect (TCP) or send and await the echo (UDP)
#   loop tcp HOST PORT        probe every 0.2 s, one line per attempt
#   watch tcp HOST PORT       the same, each line led by "links=NAMES"
#   links                     names of the links in /proc/net/dev
#   listen PORT FILE          serve TCP and UDP on PORT; write the own
#                             address to FILE first
#   ping HOST                 ICMP echo through a raw socket (needs root)
#   service TCP,... UDP,...   the test service of this namespace
# A probe prints "reply TEXT", "timeout" or "error MESSAGE"; only a reply
# exits 0.  A dropped packet shows as a timeout, because the rules drop
# it without sending an ICMP error or a TCP reset.
cat > "$T/net.py" <<'PY'
import os, select, socket, struct, sys, time

def probe(proto, host, port, timeout=1.0):
    try:
        if proto == "tcp":
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.settimeout(timeout)
                data = s.recv(200)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(b"ping", (host, port))
                data, _ = s.recvfrom(200)
        return True, "reply " + data.decode().strip()
    except TimeoutError:
        return False, "timeout"
    except OSError as e:
        return False, "error " + (e.strerror or str(e))

def links():
    with open("/proc/net/dev") as f:
        return ",".join(line.split(":")[0].strip() for line in f.readlines()[2:])

def own_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.10", 9))
        return s.getsockname()[0]

def serve(tcp_ports, udp_ports, banner):
    socks = {}
    for port in tcp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(16)
        socks[s] = ("tcp", port)
    for port in udp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        socks[s] = ("udp", port)
    print("listening", flush=True)
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            proto, port = socks[s]
            if proto == "tcp":
                conn, _ = s.accept()
                conn.sendall(("%s tcp %d\n" % (banner, port)).encode())
                conn.close()
            else:
                data, peer = s.recvfrom(200)
                s.sendto(("%s udp %d\n" % (banner, port)).encode(), peer)

def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff

def ping(host, timeout=1.0):
    ident = os.getpid() & 0xffff
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    payload = b"warden-test-ping"
    packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, 1) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        s.sendto(packet, (host, 0))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([s], [], [], end - time.monotonic())
            if not ready:
                break
            data, _ = s.recvfrom(1500)
            icmp = data[(data[0] & 0x0f) * 4:]
            kind, _, _, reply_id, _ = struct.unpack("!BBHHH", icmp[:8])
            if kind == 0 and reply_id == ident:
                return True, "reply echo"
    return False, "timeout"

command = sys.argv[1]
if command == "probe":
    ok, text = probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    print(text)
    sys.exit(0 if ok else 1)
elif command == "loop":
    while True:
        ok, text = probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), 0.5)
        print(text, flush=True)
        time.sleep(0.2)
elif command == "links":
    print(links())
elif command == "watch":
    while True:
        ok, text = probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), 0.5)
        print("links=%s %s" % (links(), text), flush=True)
        time.sleep(0.2)
elif command == "listen":
    with open(sys.argv[3], "w") as f:
        f.write(own_address() + "\n")
    serve([int(sys.argv[2])], [int(sys.argv[2])], "sandbox")
elif command == "ping":
    ok, text = ping(sys.argv[2])
    print(text)
    sys.exit(0 if ok else 1)
elif command == "service":
    serve([int(p) for p in sys.argv[2].split(",")],
          [int(p) for p in sys.argv[3].split(",")], "service")
PY

# wait_for_line FILE PATTERN SECONDS [AFTER_LINE]: wait until a line after
# line AFTER_LINE of FILE matches PATTERN.
wait_for_line() {
    local file=$1 pattern=$2 tries=$(($3 * 10)) after=${4:-0}
    for _ in $(seq 1 "$tries"); do
        tail -n +$((after + 1)) "$file" 2>/dev/null | grep -Eq -- "$pattern" && return 0
        sleep 0.1
    done
    return 1
}

# Print the links, addresses, routes and sandboxes, to explain a failure.
network_state() {
    ip -o addr show
    ip route show
    "$WARDEN" sandbox list
}

# Print the pid of the init process of LOGIN's first sandbox.
sandbox_pid() {
    "$WARDEN" sandbox list | awk -v login="$1" '$3 == login {print $5}' | head -1
}

# Print the id of LOGIN's first sandbox.
sandbox_id() {
    "$WARDEN" sandbox list | awk -v login="$1" '$3 == login {print $1}' | head -1
}

tenant_index() {
    local base
    base=$(sqlite3 "$T/state/warden.db" "SELECT uid_base FROM tenants WHERE name = '$1'")
    echo $(((base - 3000000) / 65536))
}

# ---- Setup: two tenants with one operator each, and the test service ----

start_daemon
out=$(nft list table inet warden 2>&1)
expect_match "table inet warden exists after start" "chain tenants" "$out"

create_tenant aviation && activate_tenant aviation && add_operator olga 2101 aviation
create_tenant navy && activate_tenant navy && add_operator nina 2102 navy
put_in_home olga aviation "$T/net.py"
put_in_home nina navy "$T/net.py"
AV="as_uid 2101 $WARDEN run -- $PY /home/olga/net.py"
NV="as_uid 2102 $WARDEN run -- $PY /home/nina/net.py"
AV_INDEX=$(tenant_index aviation)
NV_INDEX=$(tenant_index navy)
AV_GATEWAY=10.201.$AV_INDEX.1

ip addr add "$SERVICE/32" dev lo
$PY "$T/net.py" service 8001,8002 9001,9002 > "$T/service.out" 2>&1 &
SERVICE_PID=$!
wait_for_line "$T/service.out" listening 5 || fail "test service starts" "$(cat "$T/service.out")"
expect_ok "service answers in the host namespace" $PY "$T/net.py" probe tcp $SERVICE 8001
expect_match "service replies with its port" "reply service tcp 8001" "$LAST_OUT"

# ---- Mode none ----

expect_match "mode none is the default" "network mode none" "$("$WARDEN" tenant net show aviation)"
out=$($AV links)
[ "$out" = lo ] && pass "mode none: only lo exists" || fail "mode none: only lo exists" "$out"
expect_fail "mode none: service unreachable" 1 "error Network is unreachable" \
    $AV probe tcp $SERVICE 8001

# ---- Invalid input, nothing stored ----

expect_fail "malformed address rejected" 3 "invalid address '192.0.2.300'" \
    "$WARDEN" tenant allow aviation 192.0.2.300 tcp 8001
expect_fail "hostname rejected" 3 "invalid address 'service.example'" \
    "$WARDEN" tenant allow aviation service.example tcp 8001
expect_fail "prefix past 32 rejected" 3 "invalid prefix length in '192.0.2.10/33'" \
    "$WARDEN" tenant allow aviation 192.0.2.10/33 tcp 8001
expect_fail "port 0 rejected" 3 "invalid port '0': use a number from 1 to 65535" \
    "$WARDEN" tenant allow aviation $SERVICE tcp 0
expect_fail "port 70000 rejected" 3 "invalid port '70000'" \
    "$WARDEN" tenant allow aviation $SERVICE tcp 70000
expect_fail "non-numeric port rejected" 3 "invalid port '80x'" \
    "$WARDEN" tenant allow aviation $SERVICE udp 80x
expect_fail "unknown protocol rejected" 3 "unknown protocol 'sctp': use tcp, udp or icmp" \
    "$WARDEN" tenant allow aviation $SERVICE sctp 8001
expect_fail "icmp with a port rejected" 3 "icmp has no ports" \
    "$WARDEN" tenant allow aviation $SERVICE icmp 8
expect_fail "sandbox pool address rejected" 3 "lies in the sandbox pool 10.201.0.0/16" \
    "$WARDEN" tenant allow aviation 10.201.$NV_INDEX.2 tcp 7000
expect_fail "unknown tenant rejected" 3 "tenant 'nobody' not found" \
    "$WARDEN" tenant allow nobody $SERVICE tcp 8001
expect_fail "unknown mode rejected" 3 "invalid network mode 'bridged': use none or internal" \
    "$WARDEN" tenant net aviation --mode bridged
expect_fail "operator cannot change the allowlist" 4 "" \
    as_uid 2101 "$WARDEN" tenant allow aviation $SERVICE tcp 8001
expect_fail "deny of a missing entry rejected" 3 "is not on the allowlist of tenant 'aviation'" \
    "$WARDEN" tenant deny aviation $SERVICE tcp 8001
out=$("$WARDEN" tenant net show aviation)
expect_match "rejected entries are not stored" "allowlist: empty" "$out"
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM tenant_endpoints")
[ "$n" = 0 ] && pass "no allowlist row stored" || fail "no allowlist row stored" "$n rows"
expect_match "mode unchanged after rejection" "network mode none" "$out"

# ---- Mode internal: TCP, UDP, the host end ----

expect_ok "switch to internal" "$WARDEN" tenant net aviation --mode internal
out=$($AV links)
[ "$out" = lo,eth0 ] && pass "internal: lo and eth0 exist" || fail "internal: lo and eth0 exist" "$out"
expect_fail "empty allowlist drops TCP" 1 "^timeout$" $AV probe tcp $SERVICE 8001

expect_ok "allow TCP port" "$WARDEN" tenant allow aviation $SERVICE tcp 8001
expect_ok "allow UDP port" "$WARDEN" tenant allow aviation $SERVICE/32 udp 9001
expect_fail "duplicate entry rejected" 3 "192.0.2.10/32 tcp port 8001 is already allowed for tenant 'aviation'" \
    "$WARDEN" tenant allow aviation $SERVICE tcp 8001
out=$("$WARDEN" tenant net show aviation)
expect_match "show lists the TCP entry" "allow 192.0.2.10/32 tcp port 8001 \(added by root\)" "$out"
expect_match "show lists the UDP entry" "allow 192.0.2.10/32 udp port 9001" "$out"
expect_match "show says internal" "network mode internal" "$out"

expect_ok "allowed TCP port reachable" $AV probe tcp $SERVICE 8001
expect_match "allowed TCP port replies" "reply service tcp 8001" "$LAST_OUT"
expect_fail "other TCP port dropped" 1 "^timeout$" $AV probe tcp $SERVICE 8002
expect_ok "allowed UDP port reachable" $AV probe udp $SERVICE 9001
expect_match "allowed UDP port echoes" "reply service udp 9001" "$LAST_OUT"
expect_fail "other UDP port dropped" 1 "^timeout$" $AV probe udp $SERVICE 9002
expect_fail "TCP entry does not open UDP" 1 "^timeout$" $AV probe udp $SERVICE 8001
expect_ok "bash /dev/tcp reaches the allowed port" \
    as_uid 2101 "$WARDEN" run -- /bin/bash -c "exec 3<>/dev/tcp/$SERVICE/8001"

# The service listens on every address of this namespace, so it would
# reply on the host end too if the rules let the packet in.
expect_fail "host end dropped" 1 "^timeout$" $AV probe tcp "$AV_GATEWAY" 8001
expect_ok "allow the host end" "$WARDEN" tenant allow aviation "$AV_GATEWAY" tcp 8001
expect_ok "allowlisted host end reachable" $AV probe tcp "$AV_GATEWAY" 8001
expect_fail "other port of the host end dropped" 1 "^timeout$" $AV probe tcp "$AV_GATEWAY" 8002
expect_ok "remove the host end" "$WARDEN" tenant deny aviation "$AV_GATEWAY" tcp 8001
expect_fail "host end dropped again" 1 "^timeout$" $AV probe tcp "$AV_GATEWAY" 8001

# ---- Allowlist changes reach a running sandbox ----

$AV loop tcp $SERVICE 8002 > "$T/loop.out" 2>&1 &
LOOP_PID=$!
BACKGROUND_PIDS+=($LOOP_PID)
wait_for_line "$T/loop.out" "^timeout$" 10 &&
    pass "running sandbox: port not yet allowed" ||
    fail "running sandbox: port not yet allowed" "$(tail -3 "$T/loop.out")"
"$WARDEN" tenant allow aviation $SERVICE tcp 8002 >/dev/null
mark=$(wc -l < "$T/loop.out")
wait_for_line "$T/loop.out" "^reply service tcp 8002$" 5 "$mark" &&
    pass "running sandbox: allow takes effect" ||
    fail "running sandbox: allow takes effect" "$(tail -3 "$T/loop.out")"
"$WARDEN" tenant deny aviation $SERVICE tcp 8002 >/dev/null
mark=$(wc -l < "$T/loop.out")
wait_for_line "$T/loop.out" "^timeout$" 5 "$mark" &&
    pass "running sandbox: deny takes effect" ||
    fail "running sandbox: deny takes effect" "$(tail -3 "$T/loop.out")"
"$WARDEN" sandbox kill "$(sandbox_id olga)" >/dev/null
wait "$LOOP_PID"

# ---- Dropped packets become audit events ----

# Drops are summed over 5 s windows.  The window of the drops above ends
# during the running-sandbox checks, so the record appears while the
# daemon runs.
ev=
for _ in $(seq 1 80); do
    ev=$(sqlite3 "$T/state/warden.db" "SELECT chain, tenant, object, details FROM audit_events WHERE action = 'net.drop' AND object = '$SERVICE:8002'")
    [ -n "$ev" ] && break
    sleep 0.1
done
expect_match "drop recorded while running" "^tenant:aviation\|aviation\|$SERVICE:8002\|" "$ev"
expect_match "drop record names the sandbox as source" \
    "\"source\": ?\"10\.201\.$AV_INDEX\.[0-9]+\"" "$ev"
expect_match "drop record names TCP" "\"protocol\": ?6[,}]" "$ev"

# ---- ICMP ----

# A sandbox cannot send ICMP itself because it has no CAP_NET_RAW.  Ping
# sockets need net.ipv4.ping_group_range, which is "1 0" (off) in a new
# network namespace, and the sandbox cannot change it.  So the echo
# requests come from root inside the sandbox's network namespace
# (nsenter), and cross the same link and rules as the sandbox's packets.
$AV listen 7000 /home/olga/address > "$T/av-listen.out" 2>&1 &
BACKGROUND_PIDS+=($!)
wait_for_line "$T/av-listen.out" listening 10 || fail "aviation listener starts" "$(cat "$T/av-listen.out")"
AV_PID=$(sandbox_pid olga)
AV_ADDR=$(cat "$(home_of olga aviation)/address")
expect_match "sandbox address lies in the tenant's /24" "^10\.201\.$AV_INDEX\.[0-9]+$" "$AV_ADDR"
out=$(as_uid 2101 "$WARDEN" run -- $PY -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)' 2>&1)
expect_match "sandbox cannot open a ping socket" "PermissionError" "$out"
expect_fail "ICMP dropped before allow" 1 "^timeout$" \
    nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" ping $SERVICE
expect_ok "allow ICMP" "$WARDEN" tenant allow aviation $SERVICE icmp
expect_ok "ICMP allowed" nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" ping $SERVICE
expect_ok "remove ICMP" "$WARDEN" tenant deny aviation $SERVICE icmp
expect_fail "ICMP dropped after deny" 1 "^timeout$" \
    nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" ping $SERVICE

# ---- Mode none -> internal for a running sandbox ----

"$WARDEN" tenant allow navy $SERVICE tcp 8001 >/dev/null
$NV watch tcp $SERVICE 8001 > "$T/watch.out" 2>&1 &
WATCH_PID=$!
BACKGROUND_PIDS+=($WATCH_PID)
wait_for_line "$T/watch.out" "^links=lo error Network is unreachable$" 10 &&
    pass "running sandbox in mode none has only lo" ||
    fail "running sandbox in mode none has only lo" "$(tail -3 "$T/watch.out")"
NV_WATCH_ID=$(sandbox_id nina)
expect_ok "switch navy to internal" "$WARDEN" tenant net navy --mode internal
mark=$(wc -l < "$T/watch.out")
wait_for_line "$T/watch.out" "^links=lo,eth0 reply service tcp 8001$" 5 "$mark" &&
    pass "running sandbox gains eth0 and its allowlist" ||
    fail "running sandbox gains eth0 and its allowlist" "$(tail -3 "$T/watch.out")"
expect_ok "switch navy back to none" "$WARDEN" tenant net navy --mode none
mark=$(wc -l < "$T/watch.out")
wait_for_line "$T/watch.out" "^links=lo error" 5 "$mark" &&
    pass "running sandbox loses eth0" ||
    fail "running sandbox loses eth0" "$(tail -3 "$T/watch.out")"
"$WARDEN" sandbox kill "$NV_WATCH_ID" >/dev/null
wait "$WATCH_PID"
expect_ok "switch navy to internal again" "$WARDEN" tenant net navy --mode internal

# ---- Isolation between sandboxes ----

$NV listen 7000 /home/nina/address > "$T/nv-listen.out" 2>&1 &
BACKGROUND_PIDS+=($!)
wait_for_line "$T/nv-listen.out" listening 10 || fail "navy listener starts" "$(cat "$T/nv-listen.out")"
NV_ADDR=$(cat "$(home_of nina navy)/address")
expect_match "navy address lies in its /24" "^10\.201\.$NV_INDEX\.[0-9]+$" "$NV_ADDR"
for addr in "$AV_ADDR" "$NV_ADDR"; do
    out=$($PY "$T/net.py" probe tcp "$addr" 7000 2>&1)
    [ "$out" = "reply sandbox tcp 7000" ] && pass "listener $addr answers the host" ||
        fail "listener $addr answers the host" "$out" "$(network_state)"
done
expect_fail "navy cannot reach aviation (TCP)" 1 "^timeout$" $NV probe tcp "$AV_ADDR" 7000
expect_fail "navy cannot reach aviation (UDP)" 1 "^timeout$" $NV probe udp "$AV_ADDR" 7000
expect_fail "aviation cannot reach navy (TCP)" 1 "^timeout$" $AV probe tcp "$NV_ADDR" 7000
expect_fail "aviation cannot reach navy (UDP)" 1 "^timeout$" $AV probe udp "$NV_ADDR" 7000
expect_fail "aviation cannot reach its own other sandbox" 1 "^timeout$" \
    $AV probe tcp "$AV_ADDR" 7000
# A broad entry opens the outside but still no sandbox address.
expect_ok "allow navy every address" "$WARDEN" tenant allow navy 0.0.0.0/0 tcp
expect_ok "broad entry opens the service" $NV probe tcp $SERVICE 8002
expect_fail "broad entry does not reach aviation" 1 "^timeout$" $NV probe tcp "$AV_ADDR" 7000
expect_fail "duplicate any-port entry rejected" 3 "0.0.0.0/0 tcp any port is already allowed" \
    "$WARDEN" tenant allow navy 0.0.0.0/0 tcp
expect_ok "remove the broad entry" "$WARDEN" tenant deny navy 0.0.0.0/0 tcp
NV_DROPS_TO=$AV_ADDR

# ---- Suspension cuts the allowlist, resumption restores it ----

expect_ok "aviation sandbox reaches the service" \
    nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" probe tcp $SERVICE 8001
expect_ok "suspend aviation" "$WARDEN" tenant suspend aviation --reason "network test" \
    --deadline "$(date -u -d '+30 days' +%Y-%m-%d)"
expect_match "show says cut off" "cut off while suspended" "$("$WARDEN" tenant net show aviation)"
expect_fail "suspended sandbox loses the service" 1 "^timeout$" \
    nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" probe tcp $SERVICE 8001
expect_fail "suspended tenant gets no new sandbox" 4 "tenant 'aviation' is suspended" \
    $AV probe tcp $SERVICE 8001
expect_ok "navy keeps its allowlist" $NV probe tcp $SERVICE 8001
expect_ok "resume aviation" "$WARDEN" tenant resume aviation
expect_ok "resumed sandbox reaches the service" \
    nsenter --net="/proc/$AV_PID/ns/net" $PY "$T/net.py" probe tcp $SERVICE 8001
expect_ok "resumed tenant's new sandbox reaches the service" $AV probe tcp $SERVICE 8001

# ---- Nothing left behind ----

for login in olga nina; do
    id=$(sandbox_id $login)
    [ -n "$id" ] && "$WARDEN" sandbox kill "$id" >/dev/null
done
for pid in "${BACKGROUND_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
done
BACKGROUND_PIDS=()
# The client sees the exit before the daemon has removed the link, and
# the kernel releases a dead sandbox's namespace asynchronously.
for _ in $(seq 1 50); do
    out=$(ip -o link show | grep -E '^[0-9]+: wd' || true)
    [ -z "$out" ] && break
    sleep 0.1
done
[ -z "$out" ] && pass "no wd link once the sandboxes ended" ||
    fail "no wd link once the sandboxes ended" "$out" "$(ip -o addr show)" "$("$WARDEN" sandbox list)"

stop_daemon
# Stopping flushes the drops of the window still open.
db="$T/state/warden.db"
source_of="json_extract(details, '$.source')"
n=$(sqlite3 "$db" "SELECT count(*) FROM audit_events WHERE action = 'net.drop' AND tenant = 'navy' AND chain = 'tenant:navy' AND object = '$NV_DROPS_TO:7000' AND $source_of LIKE '10.201.$NV_INDEX.%'")
[ "$n" -ge 1 ] && pass "navy drops recorded in navy's chain" || fail "navy drops recorded in navy's chain" "count $n"
n=$(sqlite3 "$db" "SELECT count(*) FROM audit_events WHERE action = 'net.drop' AND tenant = 'aviation' AND object = '$SERVICE:0' AND json_extract(details, '$.protocol') = 1")
[ "$n" -ge 1 ] && pass "ICMP drops recorded" || fail "ICMP drops recorded" "count $n"
n=$(sqlite3 "$db" "SELECT count(*) FROM audit_events WHERE action = 'net.drop' AND (tenant IS NULL OR chain != ('tenant:' || tenant) OR $source_of NOT LIKE ('10.201.' || CASE tenant WHEN 'aviation' THEN $AV_INDEX ELSE $NV_INDEX END || '.%'))")
[ "$n" = 0 ] && pass "every drop is in its source tenant's chain" ||
    fail "every drop is in its source tenant's chain" "$n events elsewhere" \
    "$(sqlite3 "$db" "SELECT chain, tenant, object, details FROM audit_events WHERE action = 'net.drop'")"
out=$(ip -o link show | grep -E '^[0-9]+: wd' || true)
[ -z "$out" ] && pass "no wd link after stop" || fail "no wd link after stop" "$out"

# A restart rebuilds the table and removes a stale host end.
expect_ok "add a stale host end" ip link add wd99s0 type veth peer name stale-peer
expect_ok "add a foreign chain" nft add chain inet warden stale
expect_ok "flush aviation's chain" nft flush chain inet warden "t$AV_INDEX"
start_daemon
out=$(nft list table inet warden 2>&1)
if grep -q "chain stale" <<<"$out"; then
    fail "restart removes a foreign chain" "$out"
else
    pass "restart removes a foreign chain"
fi
expect_match "restart restores the allowlist" "ip daddr 192\.0\.2\.10 tcp dport 8001 accept" \
    "$(nft list chain inet warden "t$AV_INDEX" 2>&1)"
out=$(ip -o link show | grep -E '^[0-9]+: wd' || true)
[ -z "$out" ] && pass "restart removes a stale wd link" || fail "restart removes a stale wd link" "$out"
expect_ok "allowlist works after restart" $AV probe tcp $SERVICE 8001
stop_daemon

finish
