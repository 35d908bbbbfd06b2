#!/bin/sh
# store.sh -- the store contract (test_store_pg) against a real
# PostgreSQL started for this run, then the schema a DBA creates from
# tokend/schema-pg.sql compared with the one tokend creates itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "${TOP_SRCDIR:-$here/../..}/tests/pg/pglib.sh"
build=${TOP_BUILDDIR:-$here/../..}
src=${TOP_SRCDIR:-$here/../..}

if ! grep -q '^#define HAVE_LIBPQ 1' "$build/config.h" 2>/dev/null; then
	echo "1..0 # SKIP tokend built without libpq"
	exit 77
fi
pg_skip_unless_available
top=$(mktemp -d /tmp/tk-pg.XXXXXX) || exit 1
trap 'pg_stop; rm -rf "$top"' EXIT
trap 'exit 1' INT TERM HUP
pg_start "$top" || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

# the contract: one TAP plan, from the cmocka program
TK_TEST_STORE_URL=$PG_URL "$build/tests/pg/test_store_pg" >"$top/contract.tap"
rc=$?
# the program's TAP without its plan, then our own case after it
n=$(grep -c '^\(not \)\?ok ' "$top/contract.tap")
grep -v '^1\.\.' "$top/contract.tap"

# schema-pg.sql gives the same schema as the code (the version row aside)
schema_dump() {
	"$PG_BIN/pg_dump" -h "$PG_SOCK" -U postgres -d "$1" --schema-only \
	    --no-owner --no-privileges | grep -v '^--' | grep -v '^$' |
	    grep -v '^SET \|^SELECT pg_catalog.set_config\|^\\\(un\)\?restrict '
}
for db in bydba bycode; do
	"$PG_BIN/psql" -X -q -h "$PG_SOCK" -U postgres -d postgres \
	    -c "CREATE DATABASE $db" >/dev/null
done
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -1 -h "$PG_SOCK" \
    -U postgres -d bydba -f "$src/tokend/schema-pg.sql" >/dev/null
ok=1
# tokend's own: open the store once on an empty database
TK_TEST_STORE_URL="host=$PG_SOCK user=postgres dbname=bycode" \
    TK_TEST_ONLY_OPEN=1 "$build/tests/pg/test_store_pg" >/dev/null 2>&1 ||
    ok=0
schema_dump bycode >"$top/code.sql"
schema_dump bydba >"$top/dba.sql"
v=$(PG_DB=bydba pg_psql "SELECT max(version) FROM tokend_schema")
if ! diff -u "$top/dba.sql" "$top/code.sql" >"$top/schema.diff" ||
    [ "$v" != 3 ] || ! grep -q 'CREATE TABLE public.credentials' "$top/code.sql"; then
	ok=0
	sed 's/^/# /' "$top/schema.diff"
fi
n=$((n + 1))
if [ $ok = 1 ]; then
	echo "ok $n - schema-pg.sql equals the schema tokend creates"
else
	echo "not ok $n - schema-pg.sql equals the schema tokend creates"
	rc=1
fi
echo "1..$n"
exit $rc
