#!/bin/bash
# daemon.sh -- the handler tests of tests/daemon (cmocka) run again
# against a real PostgreSQL started for this run: with TK_TEST_STORE_URL
# set, tests/daemon/fixture.c sets [store] url, opens the store as
# tokend does, and empties the database before each test case; the
# tests read and tamper with rows through fx_sql_*() (libpq).  Each
# program gets a database of its own.  Their TAP lines are repeated
# here, numbered in one plan and prefixed with the program's name; a
# case that skips itself on PostgreSQL (cmocka's "not ok N # SKIP") is
# a skipped case.  The other programs of tests/daemon (test_totp,
# test_throttle, test_role_dispatch, test_audit, test_fido2_verify)
# open no store.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "${TOP_SRCDIR:-$here/../..}/tests/pg/pglib.sh"
build=${TOP_BUILDDIR:-$here/../..}

if ! grep -q '^#define HAVE_LIBPQ 1' "$build/config.h" 2>/dev/null; then
	echo "1..0 # SKIP tokend built without libpq"
	exit 77
fi
pg_skip_unless_available
top=$(mktemp -d /tmp/tk-pgdaemon.XXXXXX) || exit 1
trap 'pg_stop; rm -rf "$top"' EXIT
trap 'exit 1' INT TERM HUP
pg_start "$top" || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

# TK_PG_DAEMON_TESTS: another list (a single program while debugging)
PROGS=${TK_PG_DAEMON_TESTS:-"test_handlers test_emergency test_fido2
test_fido2_matrix test_fido2_race test_cov_handler_faults"}

n=0
rc=0
i=0
for p in $PROGS; do
	i=$((i + 1))
	db=daemon_$i
	if [ ! -x "$build/tests/daemon/$p" ]; then
		n=$((n + 1))
		echo "not ok $n - $p: not built (make -C tests/daemon check)"
		rc=1
		continue
	fi
	"$PG_BIN/psql" -X -q -h "$PG_SOCK" -U postgres -d postgres \
	    -c "CREATE DATABASE $db" >/dev/null ||
	    { echo "Bail out! cannot create database $db"; exit 1; }
	TK_TEST_STORE_URL="host=$PG_SOCK user=postgres dbname=$db" \
	    CMOCKA_MESSAGE_OUTPUT=TAP \
	    "$build/tests/daemon/$p" >"$top/out.tap" 2>"$top/err.txt" \
	    </dev/null
	st=$?
	cases=$(grep -c '^\(not \)\?ok' "$top/out.tap")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$top/out.tap" | head -n 1)
	# every case again, numbered here, prefixed with the program
	while IFS= read -r line; do
		case $line in
		"not ok "*" # SKIP "*)
			n=$((n + 1))
			echo "ok $n - $p: ${line##* # SKIP } # SKIP on PostgreSQL" ;;
		"not ok"*)
			n=$((n + 1))
			echo "not ok $n - $p:${line#not ok}"
			rc=1 ;;
		ok*)
			n=$((n + 1))
			echo "ok $n - $p:${line#ok}" ;;
		"#"*)	echo "$line" ;;
		esac
	done <"$top/out.tap"
	# a program that stopped early or failed outside a case
	n=$((n + 1))
	if [ $st = 0 ] && [ -n "$plan" ] && [ "$plan" = "$cases" ]; then
		echo "ok $n - $p: all $cases cases ran, exit 0"
	else
		echo "not ok $n - $p: exit $st, $cases of ${plan:-?} cases ran"
		grep -v '^tokend: ' "$top/err.txt" | tail -n 30 | sed 's/^/# /'
		rc=1
	fi
done
echo "1..$n"
exit $rc
