#!/bin/bash
# suites.sh -- the TOTP, FIDO2, administration and audit integration
# scripts of tests/pam and tests/audit run again, unchanged, against a
# real PostgreSQL started for this run: tests/pam/lib.sh writes
# "[store] url" into every tokend.conf when TK_TEST_STORE_URL is set.
# Each script gets a database of its own.  Their TAP lines are repeated
# here, numbered in one plan and prefixed with the script's name; a
# script that skips as a whole is one skipped case.  The scripts that
# read or damage the SQLite file itself (chain.sh, export.sh, secrets.sh,
# config.sh, foundation.sh) stay SQLite-only: their PostgreSQL
# counterparts are test_store_pg (tampering, the chain) and hosts.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "${TOP_SRCDIR:-$here/../..}/tests/pg/pglib.sh"
build=${TOP_BUILDDIR:-$here/../..}
src=${TOP_SRCDIR:-$here/../..}

if ! grep -q '^#define HAVE_LIBPQ 1' "$build/config.h" 2>/dev/null; then
	echo "1..0 # SKIP tokend built without libpq"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP the integration scripts run as root"
	exit 77
fi
pg_skip_unless_available
top=$(mktemp -d /tmp/tk-pgsuites.XXXXXX) || exit 1
trap 'pg_stop; rm -rf "$top"' EXIT
trap 'exit 1' INT TERM HUP
pg_start "$top" || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

# TK_PG_SUITES: another list (a single script while debugging)
SCRIPTS=${TK_PG_SUITES:-"pam/totp.sh pam/rfc6238.sh pam/throttle.sh pam/clock.sh
pam/concurrency.sh pam/roles.sh pam/tokenadm.sh pam/fido2.sh
pam/tokenadm_fido2.sh audit/grant.sh audit/recovery.sh audit/prune.sh
audit/report.sh"}

n=0
rc=0
i=0
for s in $SCRIPTS; do
	i=$((i + 1))
	db=suite_$i
	"$PG_BIN/psql" -X -q -h "$PG_SOCK" -U postgres -d postgres \
	    -c "CREATE DATABASE $db" >/dev/null ||
	    { echo "Bail out! cannot create database $db"; exit 1; }
	TK_TEST_STORE_URL="host=$PG_SOCK user=postgres dbname=$db" \
	    TK_TEST_PSQL="$PG_BIN/psql" \
	    TOP_SRCDIR=$src TOP_BUILDDIR=$build \
	    bash "$src/tests/$s" >"$top/out.tap" 2>"$top/err.txt" </dev/null
	st=$?
	if [ $st = 77 ]; then
		n=$((n + 1))
		echo "ok $n - $s # SKIP $(sed -n 's/^1\.\.0 *# *//p' \
		    "$top/out.tap" | head -n 1)"
		continue
	fi
	cases=$(grep -c '^\(not \)\?ok' "$top/out.tap")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$top/out.tap" | head -n 1)
	# every case again, numbered here, prefixed with the script
	while IFS= read -r line; do
		case $line in
		"not ok"*)
			n=$((n + 1))
			echo "not ok $n - $s:${line#not ok}"
			rc=1 ;;
		ok*)
			n=$((n + 1))
			echo "ok $n - $s:${line#ok}" ;;
		"#"*)	echo "$line" ;;
		esac
	done <"$top/out.tap"
	# a script that stopped early, bailed out or failed outside a case
	n=$((n + 1))
	if [ $st = 0 ] && [ -n "$plan" ] && [ "$plan" = "$cases" ]; then
		echo "ok $n - $s: all $cases cases ran, exit 0"
	else
		echo "not ok $n - $s: exit $st, $cases of ${plan:-?} cases ran"
		sed 's/^/# /' "$top/err.txt" | tail -n 20
		grep '^Bail out' "$top/out.tap" | sed 's/^/# /'
		rc=1
	fi
done
echo "1..$n"
exit $rc
