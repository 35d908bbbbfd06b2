#!/bin/bash
# migrate.sh -- tokenadm migrate-store moves a populated single-host
# SQLite store into PostgreSQL: credentials keep working (a TOTP login
# after the move), throttling, recovery codes and grants come along, the
# audit chain verifies on the target, a non-empty target and a password
# on the command line are refused, and tokenadm backup points to pg_dump.
. "$TOP_SRCDIR/tests/pam/lib.sh"
. "$TOP_SRCDIR/tests/pg/pglib.sh"

if ! grep -q '^#define HAVE_LIBPQ 1' "$TOP_BUILDDIR/config.h"; then
	skip_all "tokend built without libpq"
fi
need_root
need_cmd python3 oathtool
need_faketime
pg_find_bin || skip_all "no PostgreSQL server binaries"
HOSTS_PY=$TOP_SRCDIR/tests/pg/hosts.py
export TOP_SRCDIR

tk_setup
trap "tk_stop_quiet; pg_stop; [ -n \"${TK_KEEP:-}\" ] || tk_cleanup" EXIT
pg_start "$TK_DIR/pg" || bail "cannot start PostgreSQL"

# a single host on SQLite, with some history
tk_write_conf
tk_faketime "2027-05-01 09:00:10"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
tk_enroll_active alice || bail "enroll alice: $ADM_ERR"
ALICE=$URI
tk_enroll_active bob || bail "enroll bob: $ADM_ERR"
BOB=$URI
tk_enroll carol || bail "enroll carol: $ADM_ERR"	# stays pending
bad=$(wrong_code "$BOB")
for i in 1 2 3; do
	python3 "$HOSTS_PY" verify "$TK_SOCK" bob "$bad" >/dev/null
done
tk_adm recovery alice >/dev/null
tk_adm grant bob --for 2h --reason "lost phone" >/dev/null
tk_adm audit verify

# refused while tokend runs, and with a password in the URL
tk_adm migrate-store --from "sqlite:$TK_DB" --to "$PG_URL" --daemon "$TOKEND"
is "$ADM_RC" 1 "migrate-store refuses while tokend is running"
tk_stop
src_rows=$(sqlite3 "$TK_DB" "SELECT count(*) FROM audit")
src_creds=$(sqlite3 "$TK_DB" "SELECT count(*) FROM credentials")
tk_adm migrate-store --from "sqlite:$TK_DB" \
    --to "postgresql://tokend:secret@db.example/tokend" --daemon "$TOKEND"
is "$ADM_RC" 2 "a password on the command line is refused"
like "$ADM_ERR" "pgpass" "and the message points to the passfile"

tk_adm migrate-store --from "sqlite:$TK_DB" --to "$PG_URL" --daemon "$TOKEND"
ok $ADM_RC "migrate-store copies and verifies"
diag "$ADM_OUT" "$(tail -n 3 "$TK_DIR/out/adm.err")"
like "$ADM_OUT" "credentials=$src_creds .*audit=$src_rows " \
    "every credential and audit row was copied"
is "$(pg_psql "SELECT count(*) FROM audit")" "$src_rows" "the chain's rows are all there"
is "$(pg_psql "SELECT failures FROM throttle WHERE \"user\" = 'bob'")" 3 \
    "throttling state came along"
is "$(pg_psql "SELECT count(*) FROM recovery_codes WHERE \"user\" = 'alice'")" 10 \
    "recovery codes came along"
is "$(pg_psql "SELECT count(*) FROM grants WHERE state = 1")" 1 "the grant came along"

tk_adm migrate-store --from "sqlite:$TK_DB" --to "$PG_URL" --daemon "$TOKEND"
is "$ADM_RC" 1 "a second migration into the non-empty target is refused"
is "$(pg_psql "SELECT count(*) FROM audit")" "$src_rows" "and it changed nothing"

# --json: one object of the copied counts, into a second, empty database
pg_psql "CREATE DATABASE tokend_json" >/dev/null
tk_adm --json migrate-store --from "sqlite:$TK_DB" \
    --to "host=$PG_SOCK user=postgres dbname=tokend_json" --daemon "$TOKEND"
ok $ADM_RC "migrate-store --json copies and verifies"
is "$(json_get "$ADM_OUT" .credentials)" "$src_creds" \
    "--json: credentials is the number copied"
is "$(json_get "$ADM_OUT" .audit)" "$src_rows" "--json: audit is the rows copied"
is "$(json_get "$ADM_OUT" .throttle)" \
    "$(sqlite3 "$TK_DB" "SELECT count(*) FROM throttle")" "--json: throttle rows"
is "$(json_get "$ADM_OUT" .recovery_codes)" \
    "$(sqlite3 "$TK_DB" "SELECT count(*) FROM recovery_codes")" \
    "--json: recovery_codes counts rows (alice's 10)"
is "$(json_get "$ADM_OUT" .anchor)" 0 "--json: anchor 0 (never pruned)"
is "$(json_get "$ADM_OUT" .secrets_verified)" \
    "$(sqlite3 "$TK_DB" "SELECT count(*) FROM credentials WHERE sealed IS NOT NULL")" \
    "--json: secrets_verified is every sealed secret"
is "$(json_get "$ADM_OUT" .verified)" true "--json: verified is true"
is "$(python3 -c 'import json, sys; print(sorted(json.loads(sys.argv[1])))' \
    "$ADM_OUT")" "['anchor', 'audit', 'challenges', 'credentials', 'grants', \
'recovery_codes', 'secrets_verified', 'throttle', 'verified']" \
    "--json: exactly the documented fields"

# tokend on PostgreSQL now
tk_write_conf "[store]
url = $PG_URL"
tk_faketime "2027-05-01 09:05:10"
tk_start || bail "tokend on PostgreSQL did not start"
tk_adm --json status
is "$(json_get "$ADM_OUT" .store)" postgresql "tokend now runs on PostgreSQL"
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$(totp_code "$ALICE")")
is "$st" 0 "alice logs in with her TOTP app after the move"
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" bob "$(totp_code "$BOB")")
is "$st" 0 "bob too"
tk_adm audit verify
ok $ADM_RC "tokenadm audit verify is clean on PostgreSQL"
diag "$ADM_OUT"
tk_adm backup "$TK_DIR/copy.db"
is "$ADM_RC" 1 "tokenadm backup is refused for PostgreSQL"
like "$ADM_ERR" "pg_dump" "and points to pg_dump"

done_testing
