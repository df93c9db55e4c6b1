#!/bin/bash
# Datasets, grants and the views mounted at /data: registration by
# descriptor, the column profile, blocked and built development views,
# pseudonyms per tenant, file owners and modes, and rejected input.
. "$(dirname "$0")/lib.sh"

DATA_SRC="$TOP/tests/data"
for f in birdstrikes.csv residents-10k.csv residents.rules; do
    if [ ! -f "$DATA_SRC/$f" ]; then
        echo "skip: test data $DATA_SRC/$f is missing" >&2
        exit 77
    fi
done
if ! command -v python3 >/dev/null || ! command -v iconv >/dev/null; then
    echo "skip: python3 and iconv are needed to check the views" >&2
    exit 77
fi
SCAN="$TOP/$BUILD/tools/dz-scan"

D="$T/data"
mkdir -p "$D"
cp "$DATA_SRC/birdstrikes.csv" "$DATA_SRC/residents-10k.csv" \
    "$DATA_SRC/residents.rules" "$D/"
chmod 755 "$D"
chmod 644 "$D"/*
STORE="$T/state/datasets"
VIEWS="$T/state/views"

write_config "[data]" "sample_rows = 1000"
start_daemon
create_tenant alpha
create_tenant beta
GID_ALPHA=$(( 3000000 + 1000 ))
GID_BETA=$(( 3000000 + 65536 + 1000 ))

# Print column NAME of every row of a CSV file, one per line.
csv_column() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    for row in csv.DictReader(f):
        print(row[sys.argv[2]])
PY
}

# Print "record_no,resident_id" pairs present in both views, with the
# pseudonym of each, and count how many differ.
compare_pseudonyms() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
def load(path):
    with open(path, newline='', encoding='utf-8') as f:
        return {r['record_no']: r['resident_id'] for r in csv.DictReader(f)}
a, b = load(sys.argv[1]), load(sys.argv[2])
common = set(a) & set(b)
same = sum(1 for k in common if a[k] == b[k])
print(f"common {len(common)} same {same}")
PY
}

# --- registration -------------------------------------------------------
expect_ok "register birdstrikes" "$WARDEN" dataset add birdstrikes \
    --file "$D/birdstrikes.csv" --owner "Civil Aviation Bureau" --level 2
expect_match "birdstrikes row count" "10000 rows" "$LAST_OUT"
sha=$(sha256sum "$D/birdstrikes.csv" | cut -d' ' -f1)
expect_match "birdstrikes sha256 recorded" "sha256 $sha" "$LAST_OUT"

expect_ok "register residents with rules" "$WARDEN" dataset add residents \
    --file "$D/residents-10k.csv" --owner "Civil Affairs Bureau" --level 3 \
    --rules "$D/residents.rules"
expect_ok "show residents" "$WARDEN" dataset show residents
for col in resident_id phone bank_card employer_uscc note; do
    expect_match "profile flags $col as PII" "^$col +yes" "$LAST_OUT"
done
expect_match "profile keeps gender clear" "^gender +no" "$LAST_OUT"
expect_match "show lists the rule of resident_id" \
    "^resident_id +yes .*pseudonym id +ok" "$LAST_OUT"
expect_match "show reports the dev view allowed" "dev view +allowed" \
    "$LAST_OUT"

expect_ok "register residents without rules" "$WARDEN" dataset add \
    residents-raw --file "$D/residents-10k.csv" --owner "Civil Affairs Bureau" \
    --level 3
expect_ok "show unruled residents" "$WARDEN" dataset show residents-raw
expect_match "unruled PII column shown as blocking" \
    "^resident_id +yes .* - +blocking" "$LAST_OUT"

perm=$(stat -c '%U %a' "$STORE/residents/raw.csv")
[ "$perm" = "root 600" ] && pass "raw store file is root 0600" ||
    fail "raw store file is root 0600" "got $perm"
perm=$(stat -c '%U %a' "$STORE/residents")
[ "$perm" = "root 700" ] && pass "raw store directory is root 0700" ||
    fail "raw store directory is root 0700" "got $perm"
cmp -s "$STORE/residents/raw.csv" "$D/residents-10k.csv" &&
    pass "raw store holds the registered bytes" ||
    fail "raw store holds the registered bytes"
[ -s "$STORE/residents/rawset.bin" ] && pass "raw set built" ||
    fail "raw set built"

# --- a blocked development view -----------------------------------------
expect_ok "grant unruled residents" "$WARDEN" grant residents-raw alpha \
    --scenario analysis
expect_match "grant reports the blocked view" \
    "blocked: .*look like PII and have no rule: 'resident_id'" "$LAST_OUT"
[ ! -e "$VIEWS/alpha/dev/residents-raw.csv" ] &&
    pass "blocked dev view not written" ||
    fail "blocked dev view not written"
[ -f "$VIEWS/alpha/prod/residents-raw.csv" ] &&
    pass "production copy written despite the block" ||
    fail "production copy written despite the block"
expect_ok "grant list" "$WARDEN" grant list --tenant alpha
expect_match "grant list says why the view is blocked" \
    "residents-raw +alpha +analysis +blocked .*blocked: .*resident_id" \
    "$LAST_OUT"
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events WHERE \
    action = 'dataview.blocked' AND tenant = 'alpha'")
[ "$n" = 1 ] && pass "blocked view recorded in the audit log" ||
    fail "blocked view recorded in the audit log" "found $n events"

# --- a built development view -------------------------------------------
expect_ok "grant residents to alpha" "$WARDEN" grant residents alpha \
    --scenario analysis
expect_match "grant reports the built view" "ready, 1000 rows" "$LAST_OUT"
DEV_A="$VIEWS/alpha/dev/residents.csv"
PROD_A="$VIEWS/alpha/prod/residents.csv"
rows=$(csv_column "$DEV_A" record_no | wc -l)
[ "$rows" = 1000 ] && pass "dev view has sample_rows rows" ||
    fail "dev view has sample_rows rows" "got $rows"
out=$("$SCAN" "$DEV_A" 2>&1)
[ $? -eq 0 ] && pass "no PII detected in the dev view" ||
    fail "no PII detected in the dev view" "$out"
out=$("$SCAN" "$D/residents-10k.csv" 2>&1)
[ $? -eq 1 ] && pass "scanner detects PII in the raw file" ||
    fail "scanner detects PII in the raw file" "$out"
head -1 "$DEV_A" | grep -q bank_card &&
    fail "dropped column absent from the view" "$(head -1 "$DEV_A")" ||
    pass "dropped column absent from the view"
cmp -s "$PROD_A" "$D/residents-10k.csv" && pass "prod view is the raw file" ||
    fail "prod view is the raw file"
for f in "$DEV_A" "$PROD_A"; do
    perm=$(stat -c '%u:%g %a' "$f")
    [ "$perm" = "0:$GID_ALPHA 440" ] && pass "view $(basename "$(dirname "$f")") is root:gid 0440" ||
        fail "view $(basename "$(dirname "$f")") is root:gid 0440" "got $perm"
done
for dir in "$VIEWS/alpha" "$VIEWS/alpha/dev" "$VIEWS/alpha/prod"; do
    perm=$(stat -c '%u:%g %a' "$dir")
    [ "$perm" = "0:$GID_ALPHA 750" ] && pass "directory ${dir#$VIEWS/} is root:gid 0750" ||
        fail "directory ${dir#$VIEWS/} is root:gid 0750" "got $perm"
done
perm=$(stat -c '%U %a' "$T/state/keys/tenant-alpha.key")
[ "$perm" = "root 600" ] && pass "tenant secret is root 0600" ||
    fail "tenant secret is root 0600" "got $perm"

# --- pseudonyms ---------------------------------------------------------
cp "$DEV_A" "$T/dev-alpha-1.csv"
expect_ok "replace residents rules" "$WARDEN" dataset rules residents \
    --file "$D/residents.rules"
expect_match "rules change rebuilds alpha's view" \
    "view of residents for alpha: ready, 1000 rows" "$LAST_OUT"
cmp -s "$DEV_A" "$T/dev-alpha-1.csv" &&
    pass "rebuild gives the same view and pseudonyms" ||
    fail "rebuild gives the same view and pseudonyms"
expect_ok "grant residents to beta" "$WARDEN" grant residents beta \
    --scenario analysis
DEV_B="$VIEWS/beta/dev/residents.csv"
perm=$(stat -c '%u:%g %a' "$DEV_B")
[ "$perm" = "0:$GID_BETA 440" ] && pass "beta's view has beta's group" ||
    fail "beta's view has beta's group" "got $perm"
result=$(compare_pseudonyms "$DEV_A" "$DEV_B")
common=$(awk '{print $2}' <<<"$result")
same=$(awk '{print $4}' <<<"$result")
if [ "$common" -gt 0 ] && [ "$same" = 0 ]; then
    pass "pseudonyms differ across tenants"
else
    fail "pseudonyms differ across tenants" "$result"
fi
pseud=$(csv_column "$DEV_A" resident_id 2>/dev/null | head -1)
expect_match "pseudonym has its prefix" "^id[0-9a-f]{16}$" "$pseud"

# A rules file keeping a PII column with a reason is an audited exception.
printf 'phone keep needed to call back residents\n' > "$D/keep.rules"
cat "$D/residents.rules" | grep -v '^phone ' >> "$D/keep.rules"
expect_ok "rules with a kept PII column" "$WARDEN" dataset rules residents \
    --file "$D/keep.rules"
n=$(sqlite3 "$T/state/warden.db" "SELECT count(*) FROM audit_events WHERE \
    action = 'dataset.pii_exception' AND details LIKE '%call back residents%'")
[ "$n" = 1 ] && pass "kept PII column recorded as an exception" ||
    fail "kept PII column recorded as an exception" "found $n events"
expect_ok "restore residents rules" "$WARDEN" dataset rules residents \
    --file "$D/residents.rules"

# --- rejected registrations ---------------------------------------------
list_before=$("$WARDEN" dataset list)
store_before=$(ls -A "$STORE")
expect_fail "level 5 rejected" 3 "argument 'level' = 5 is out of range: use 1 to 4" \
    "$WARDEN" dataset add lvl --file "$D/birdstrikes.csv" --owner X --level 5
expect_fail "duplicate name rejected" 3 "dataset 'birdstrikes' already exists" \
    "$WARDEN" dataset add birdstrikes --file "$D/birdstrikes.csv" --owner X \
    --level 2
printf 'record_no keep\nnosuch drop\n' > "$D/bad.rules"
expect_fail "unknown rule column rejected" 3 \
    "unknown column 'nosuch'; the header has: record_no, name, gender" \
    "$WARDEN" dataset add badrules --file "$D/residents-10k.csv" --owner X \
    --level 3 --rules "$D/bad.rules"
expect_fail "unknown rule column rejected on replace" 3 \
    "unknown column 'nosuch'" \
    "$WARDEN" dataset rules residents --file "$D/bad.rules"
python3 - "$D/residents-10k.csv" <<'PY' | iconv -f UTF-8 -t GBK > "$D/gbk.csv"
import csv, sys
rows = csv.reader(open(sys.argv[1], newline='', encoding='utf-8'))
out = csv.writer(sys.stdout, lineterminator='\n')
for i, row in zip(range(41), rows):
    out.writerow(row)
PY
expect_fail "GBK file without --encoding rejected" 3 "byte offset [0-9]+" \
    "$WARDEN" dataset add gbk --file "$D/gbk.csv" --owner X --level 1
reply=$(python3 - "$WARDEN_SOCKET" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(json.dumps({"v": 1, "id": 1, "verb": "dataset.add", "args":
    {"name": "nofd", "owner": "X", "level": 1}}).encode() + b"\n")
print(s.makefile().readline())
PY
)
expect_match "missing descriptor rejected" "missing data file descriptor" \
    "$reply"
[ "$("$WARDEN" dataset list)" = "$list_before" ] &&
    pass "rejected datasets not listed" ||
    fail "rejected datasets not listed" "$("$WARDEN" dataset list)"
[ "$(ls -A "$STORE")" = "$store_before" ] &&
    pass "rejected datasets left nothing in the store" ||
    fail "rejected datasets left nothing in the store" "$(ls -A "$STORE")"
expect_ok "GBK file accepted with --encoding gbk" "$WARDEN" dataset add gbk \
    --file "$D/gbk.csv" --owner X --level 1 --encoding gbk
expect_match "GBK file has its rows" "40 rows" "$LAST_OUT"

# --- operators ----------------------------------------------------------
expect_ok "register operator" "$WARDEN" user add alice --uid 2001 \
    --name "Alice Zhang" --id-number "$(make_id_number 1)" --role operator \
    --tenant alpha
expect_fail "operator cannot add datasets" 4 "needs the role admin" \
    as_uid 2001 "$WARDEN" dataset add mine --file "$D/birdstrikes.csv" \
    --owner X --level 1
expect_ok "operator lists datasets" as_uid 2001 "$WARDEN" dataset list
expect_match "operator sees granted datasets" "^residents " "$LAST_OUT"
if grep -q '^birdstrikes ' <<<"$LAST_OUT"; then
    fail "operator does not see ungranted datasets" "$LAST_OUT"
else
    pass "operator does not see ungranted datasets"
fi
expect_fail "operator cannot show ungranted dataset" 3 "not found" \
    as_uid 2001 "$WARDEN" dataset show birdstrikes
expect_fail "operator cannot list another tenant's grants" 4 \
    "only see the grants of their own tenant" \
    as_uid 2001 "$WARDEN" grant list --tenant beta
expect_fail "scenario outside the tenant's rejected" 3 \
    "not an approved scenario of tenant 'beta'" \
    "$WARDEN" grant birdstrikes beta --scenario marketing

# --- revoke -------------------------------------------------------------
expect_ok "revoke residents from beta" "$WARDEN" grant revoke residents beta
[ ! -e "$DEV_B" ] && [ ! -e "$VIEWS/beta/prod/residents.csv" ] &&
    pass "revoke deletes the views" || fail "revoke deletes the views"
expect_ok "grant list after revoke" "$WARDEN" grant list
if grep -Eq 'residents +beta' <<<"$LAST_OUT"; then
    fail "revoked grant not listed" "$LAST_OUT"
else
    pass "revoked grant not listed"
fi
expect_fail "second revoke rejected" 3 "is not granted to tenant 'beta'" \
    "$WARDEN" grant revoke residents beta

finish
