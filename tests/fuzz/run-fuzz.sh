#!/bin/sh
# run-fuzz.sh HARNESS -- runs one libFuzzer harness for $FUZZ_SECONDS
# (default 60) over its committed corpus in tests/fuzz/corpus/HARNESS/,
# and prints the outcome as TAP.  New inputs go to a scratch directory
# in the build tree; the committed corpus is only read.
prog=$1
name=$(basename "$prog")
seconds=${FUZZ_SECONDS:-60}
seeds=${TOP_SRCDIR:-../..}/tests/fuzz/corpus/$name
work=$name.work

rm -rf "$work"
mkdir -p "$work" || exit 99
echo "1..1"
"$prog" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=70000 -print_final_stats=1 -artifact_prefix="./$name-" \
    "$work" "$seeds" >"$name.fuzz.log" 2>&1
rc=$?
sed 's/^/# /' "$name.fuzz.log"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$name.fuzz.log")
if [ "$rc" -eq 0 ]; then
	echo "ok 1 - $name ran ${seconds}s without a finding (${execs:-?} executions)"
else
	echo "not ok 1 - $name: finding or failure (exit $rc), see $name-*"
fi
exit 0
