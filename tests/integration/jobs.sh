#!/bin/bash
# Production jobs: raw data visible only there, no network, no terminal,
# outputs into the export review with provenance; development sandboxes
# never see the raw data by any path.
. "$(dirname "$0")/lib.sh"

write_config "[data]" "sample_rows = 100"
start_daemon
create_tenant aviation
activate_tenant aviation
add_operator olga 2101 aviation
OP="as_uid 2101 $WARDEN"

"$WARDEN" dataset add residents --file "$TOP/tests/data/residents-10k.csv" \
    --owner "Civil Affairs" --level 2 --rules "$TOP/tests/data/residents.rules" >/dev/null
"$WARDEN" grant residents aviation --scenario analysis >/dev/null
for _ in $(seq 100); do
    "$WARDEN" grant list --tenant aviation | grep -q "ready" && break
    sleep 0.1
done
RAW_ID=$(sed -n 2p "$TOP/tests/data/residents-10k.csv" | cut -d, -f4)

# Development: only the desensitized sample, by any path.
n=$($OP run -- /bin/sh -c 'tail -n +2 /data/residents.csv | wc -l')
[ "$n" = 100 ] && pass "development view holds the sample" || fail "development view holds the sample" "$n rows"
# Everything but /usr, /proc and /dev, which hold no tenant data and take
# long to read.
out=$($OP run -- /bin/sh -c "ls / | grep -vxE 'usr|proc|dev|bin|lib|lib64|sbin' | sed 's|^|/|' | xargs grep -rs '$RAW_ID' 2>/dev/null | head -1; echo done")
[ "$out" = done ] && pass "raw identity number unreachable from development" || fail "raw identity number unreachable from development" "$out"
expect_fail "development /data is read-only" 2 "Read-only|Permission denied" \
    $OP run -- /bin/sh -c 'echo x > /data/residents.csv'

# A production job.
$OP run -- /bin/sh -c 'mkdir -p ~/code && cat > ~/code/job.sh' <<'SH'
#!/bin/sh
# Count residents per county on the raw data; probe the job's limits.
echo "county,residents" > /output/by_county.csv
tail -n +2 /data/residents.csv | cut -d, -f8 | sort | uniq -c |
    awk '{ printf "%s,%d\n", $2, $1 }' >> /output/by_county.csv
wc -l < /data/residents.csv > /output/raw_rows.txt
tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /output/links.txt
if tty -s; then echo terminal > /output/tty.txt; else echo none > /output/tty.txt; fi
if (exec 3<>/dev/tcp/10.1.2.3/80) 2>/dev/null; then echo open; else echo blocked; fi > /output/net.txt
if (echo x > /code/job.sh) 2>/dev/null; then echo writable; else echo read-only; fi > /output/code.txt
echo "to stdout"; echo "to stderr" >&2
SH
out=$($OP job submit --dataset residents --scenario analysis -- /bin/sh job.sh)
expect_match "job submitted" "submitted job-[0-9]+" "$out"
job=$(grep -Eo 'job-[0-9]+' <<<"$out" | head -1)
for _ in $(seq 100); do
    $OP job show "$job" | grep -Eq "state +(succeeded|failed)" && break
    sleep 0.1
done
out=$($OP job show "$job")
expect_match "job succeeded" "state +succeeded" "$out"
expect_match "job records the code hash" "code_sha256 +[0-9a-f]{64}" "$out"
expect_match "job records the dataset hash" "residents.*sha256" "$out"
expect_match "job outputs counted" "outputs +6" "$out"
grep -q "to stdout" <<<"$out" && fail "job output is not shown to the user" "$out" || pass "job output is not shown to the user"
jobdir="$T/state/jobs/aviation/$job"
raw_lines=$(wc -l < "$TOP/tests/data/residents-10k.csv")
[ "$(cat "$jobdir/output/raw_rows.txt")" = "$raw_lines" ] && pass "job reads the raw data" || fail "job reads the raw data" "$(cat "$jobdir/output/raw_rows.txt") of $raw_lines lines"
[ "$(cat "$jobdir/output/links.txt")" = lo ] && pass "job has only loopback" || fail "job has only loopback" "$(cat "$jobdir/output/links.txt")"
[ "$(cat "$jobdir/output/tty.txt")" = none ] && pass "job has no terminal" || fail "job has no terminal"
[ "$(cat "$jobdir/output/net.txt")" = blocked ] && pass "job cannot connect out" || fail "job cannot connect out"
grep -q "to stdout" "$jobdir/stdout.log" && pass "job stdout kept for review" || fail "job stdout kept for review"
grep -q "to stderr" "$jobdir/stderr.log" && pass "job stderr kept for review" || fail "job stderr kept for review"
[ "$(stat -c %a "$jobdir/stdout.log")" = 600 ] && pass "job logs are root-only" || fail "job logs are root-only"
sha_home=$(sha256sum "$(home_of olga aviation)/code/job.sh" | cut -d' ' -f1)
sha_snap=$(sha256sum "$jobdir/code/job.sh" | cut -d' ' -f1)
[ "$sha_home" = "$sha_snap" ] && pass "code snapshot matches the home" || fail "code snapshot matches the home"
[ "$(cat "$jobdir/output/code.txt")" = read-only ] && pass "code snapshot is read-only" || fail "code snapshot is read-only"

# Outputs become one export request with the job as provenance.
"$WARDEN" user add rita --uid 2301 --name "Rita Reviewer" --id-number "$(make_id_number 301)" --role reviewer >/dev/null
out=$(as_uid 2301 "$WARDEN" review list)
expect_match "job outputs wait in the review queue" "export +aviation .*$job" "$out"
req=$(grep "$job" <<<"$out" | awk '{print $1}')
out=$(as_uid 2301 "$WARDEN" review show "$req")
expect_match "review shows the job provenance" "\"job\":\"$job\"" "$out"
expect_match "small counts flagged on per-county output" "small_counts|by_county" "$out"

# Refusals.
expect_fail "job refuses an ungranted dataset" 4 "not granted" \
    $OP job submit --dataset birdstrikes -- /bin/true
expect_fail "job refuses a code folder outside the home" 3 "invalid code folder" \
    $OP job submit --code ../other -- /bin/true
expect_fail "job refuses a missing code folder" 3 "not found" \
    $OP job submit --code nothing-here -- /bin/true
expect_fail "admins cannot submit jobs" 4 "needs the role operator" \
    "$WARDEN" job submit -- /bin/true

# Termination destroys the job folders and the quarantined outputs.
quarantined=$(sqlite3 "$T/state/warden.db" "SELECT sha256 FROM review_files LIMIT 1")
[ -f "$T/state/quarantine/$quarantined" ] && pass "job output is quarantined" || fail "job output is quarantined"
expect_ok "terminate the tenant" "$WARDEN" tenant terminate aviation --reason "authorization ended"
for _ in $(seq 50); do
    "$WARDEN" tenant lifecycle aviation | grep -q "done" && break
    sleep 0.1
done
[ ! -e "$T/state/jobs/aviation" ] && pass "job folders destroyed" || fail "job folders destroyed" "$(ls -R "$T/state/jobs")"
[ ! -e "$T/state/quarantine/$quarantined" ] && pass "quarantined outputs destroyed" || fail "quarantined outputs destroyed"

finish
