#!/bin/bash
# replica.sh -- the deployment.md recipe, run: a primary and a streaming
# replica made with pg_basebackup -R, tokend given both hosts with
# target_session_attrs=read-write.  The primary stops, the replica is
# promoted: verifications in flight fail closed, tokend finds the new
# primary by itself, no accepted code is accepted again.
. "$TOP_SRCDIR/tests/pam/lib.sh"
. "$TOP_SRCDIR/tests/pg/pglib.sh"

if ! grep -q '^#define HAVE_LIBPQ 1' "$TOP_BUILDDIR/config.h"; then
	skip_all "tokend built without libpq"
fi
need_root
need_cmd python3 oathtool
need_faketime
pg_find_bin || skip_all "no PostgreSQL server binaries"
[ -x "$PG_BIN/pg_basebackup" ] || skip_all "no pg_basebackup"
HOSTS_PY=$TOP_SRCDIR/tests/pg/hosts.py
export TOP_SRCDIR

tk_setup
R=$TK_DIR/replica
trap 'tk_stop_quiet; pg_as_owner "$PG_BIN/pg_ctl" -D "$R/data" -m fast -w stop >/dev/null 2>&1; pg_stop; tk_cleanup' EXIT
pg_start "$TK_DIR/pg" || bail "cannot start the primary"
PRIMARY_SOCK=$PG_SOCK

# the replica: a base backup that writes its own standby.signal and
# primary_conninfo (-R), on its own socket directory
mkdir -p "$R/sock" && chown nobody "$R" "$R/sock"
pg_as_owner "$PG_BIN/pg_basebackup" -h "$PRIMARY_SOCK" -U postgres \
    -D "$R/data" -R -X stream -c fast >/dev/null 2>&1
ok $? "pg_basebackup -R makes the replica"
sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$R/sock'|" \
    "$R/data/postgresql.conf"
pg_as_owner "$PG_BIN/pg_ctl" -D "$R/data" -l "$R/server.log" -w start \
    >/dev/null
ok $? "the replica starts and streams"
is "$("$PG_BIN/psql" -X -A -t -h "$R/sock" -U postgres -d tokend \
    -c 'SELECT pg_is_in_recovery()')" t "the replica is a standby"

URL="host=$PRIMARY_SOCK,$R/sock user=postgres dbname=tokend target_session_attrs=read-write"
tk_write_conf "[store]
url = $URL"
tk_faketime "2027-06-01 09:00:10"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
tk_enroll_active alice || bail "enroll failed: $ADM_ERR"
SECRET=$(uri_param "$URI" secret)
t=$(date -u -d "2027-06-01 09:00:40 UTC" +%s)
tk_faketime "2027-06-01 09:00:40"
code=$(python3 "$HOSTS_PY" code "$SECRET" "$t")
is "$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")" 0 \
    "a login on the primary"
# wait until the replica has replayed it (synchronous_commit is local)
for i in $(seq 1 50); do
	n=$("$PG_BIN/psql" -X -A -t -h "$R/sock" -U postgres -d tokend \
	    -c "SELECT count(*) FROM audit")
	[ "$n" = "$(pg_psql 'SELECT count(*) FROM audit')" ] && break
	sleep 0.1
done

# failover: the primary goes, the replica is promoted
pg_stop
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")
is "$st" 10 "while no primary answers: a clean refusal (fail closed)"
pg_as_owner "$PG_BIN/pg_ctl" -D "$R/data" -w promote >/dev/null
ok $? "the replica is promoted"
sleep 1.2
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")
is "$st" 2 "on the new primary the code used before is still used"
t=$((t + 30))
tk_faketime "$(date -u -d "@$t" '+%Y-%m-%d %H:%M:%S')"
code=$(python3 "$HOSTS_PY" code "$SECRET" "$t")
is "$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")" 0 \
    "tokend found the new primary by itself: the next code passes"
tk_adm audit verify
ok $ADM_RC "the audit chain is intact on the new primary"

done_testing
