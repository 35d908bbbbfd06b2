#!/bin/sh
# coverage.sh -- `make coverage' in a build configured with
# --enable-coverage: runs `make check' (COVERAGE_CHECK=no skips it, to
# report on counters already collected), then gcovr over common/,
# tokend/ and pam_module/, and fails when line coverage is under
# COVERAGE_MIN percent (default 85).  Reports: coverage.txt (per file)
# and coverage.xml (Cobertura) in the build directory.
#   usage: coverage.sh SRCDIR BUILDDIR
set -u
src=$(cd "$1" && pwd) || exit 2
build=$(cd "$2" && pwd) || exit 2
min=${COVERAGE_MIN:-85}

command -v gcovr >/dev/null 2>&1 || { echo "coverage: gcovr is not installed" >&2; exit 2; }
grep -q -- '--coverage' "$build/config.status" 2>/dev/null ||
    { echo "coverage: $build is not configured with --enable-coverage" >&2; exit 2; }

if [ "${COVERAGE_CHECK:-yes}" != no ]; then
	find "$build" -name '*.gcda' -delete
	# a failing test still leaves its counters: report, then fail
	make -C "$build" -k check; check_rc=$?
else
	check_rc=0
fi

cd "$build" || exit 2
gcovr --root "$src" --object-directory "$build" \
    --filter "$src/common/" --filter "$src/tokend/" \
    --filter "$src/pam_module/" \
    --exclude "$src/tokend/main.c" \
    --gcov-ignore-parse-errors \
    --txt coverage.txt --xml coverage.xml --print-summary >coverage.summary 2>&1
rc=$?
cat coverage.summary
[ $rc -eq 0 ] || { echo "coverage: gcovr failed" >&2; exit 1; }
pct=$(sed -n 's/^lines: \([0-9.]*\)%.*/\1/p' coverage.summary)
echo "coverage: line coverage of common/ tokend/ pam_module/: ${pct:-?}% (minimum $min%), details in $build/coverage.txt"
[ $check_rc -eq 0 ] || { echo "coverage: make check failed" >&2; exit 1; }
awk -v p="${pct:-0}" -v m="$min" 'BEGIN { exit !(p >= m) }' || {
	echo "coverage: ${pct:-?}% is under $min%" >&2
	exit 1
}
