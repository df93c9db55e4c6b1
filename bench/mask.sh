#!/bin/sh
# Masking throughput against the floor of reading the same file.
#
# Usage: bench/mask.sh [ROWS]   (run from the repository root; default
# 1000000 rows).  Builds the generator and the benchmark, writes a
# residents table of ROWS rows to a temporary directory, then prints the
# MB/s of `cat FILE > /dev/null` (best of three, file in the page cache)
# and of bench_mask (best of three), and their ratio.  Extra make
# arguments can be passed in MAKE_ARGS; BUILD selects the build folder.
set -eu

rows=${1:-1000000}
build=${BUILD:-build}
# shellcheck disable=SC2086
make -s BUILD="$build" ${MAKE_ARGS:-} "$build/bench/gen_residents" \
    "$build/bench/bench_mask"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/residents.csv"
"$build/bench/gen_residents" "$rows" 20240215 > "$file"
bytes=$(stat -c %s "$file")

best_ns=
for _ in 1 2 3; do
    start=$(date +%s%N)
    cat "$file" > /dev/null
    elapsed=$(($(date +%s%N) - start))
    if [ -z "$best_ns" ] || [ "$elapsed" -lt "$best_ns" ]; then
        best_ns=$elapsed
    fi
done
cat_mbs=$(awk -v b="$bytes" -v ns="$best_ns" \
    'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')
echo "cat:  $rows rows, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB: $cat_mbs MB/s"

"$build/bench/bench_mask" "$file" 3 > "$dir/mask.txt"
cat "$dir/mask.txt"
mask_mbs=$(sed -n 's/^mask: .*: \([0-9.]*\) MB\/s$/\1/p' "$dir/mask.txt")
awk -v c="$cat_mbs" -v m="$mask_mbs" \
    'BEGIN { printf "ratio: masking runs at %.1f %% of cat speed (cat is %.1fx faster)\n", 100 * m / c, c / m }'
