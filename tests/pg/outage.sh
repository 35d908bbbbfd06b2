#!/bin/bash
# outage.sh -- PostgreSQL goes away under load and comes back:
#  - during the outage every verification is a clean refusal (internal,
#    fail closed), never a wrong answer, and tokend keeps running;
#  - no "ok" was answered without its commit: every ok has its audit row;
#  - tokend recovers by itself (no restart): verifications pass again;
#  - no code accepted before the outage is accepted again after it;
#  - the log says what happened, in one line each way.
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
trap 'tk_stop_quiet; pg_stop; tk_cleanup' EXIT
pg_start "$TK_DIR/pg" || bail "cannot start PostgreSQL"
tk_write_conf "[store]
url = $PG_URL"
tk_faketime "2027-04-01 09:00:10"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pid=$TOKEND_PID
tk_enroll_active alice || bail "enroll failed: $ADM_ERR"
SECRET=$(uri_param "$URI" secret)
T0=$(date -u -d "2027-04-01 09:01:00 UTC" +%s)
N=120

python3 "$HOSTS_PY" load "$TK_SOCK" alice "$SECRET" "$TK_FAKETIME_FILE" \
    "$T0" "$N" "$TK_DIR/load.out" &
load=$!
sleep 1.5
# a restart with a pause: the server is down for about two seconds
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast stop >/dev/null
sleep 2
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
    >/dev/null || bail "PostgreSQL did not come back"
wait $load

oks=$(awk '$3 == 0' "$TK_DIR/load.out" | wc -l)
refused=$(awk '$3 == 10' "$TK_DIR/load.out" | wc -l)
others=$(awk '$3 != 0 && $3 != 10' "$TK_DIR/load.out" | wc -l)
diag "$N verifications: $oks ok, $refused refused (store unavailable), $others other"
is "$(wc -l <"$TK_DIR/load.out")" "$N" "every verification was answered"
is "$others" 0 "during the outage: only clean refusals, no other answer"
[ "$refused" -gt 0 ]
ok $? "the outage was seen (refusals while the server was down)"
last_st=$(tail -n 5 "$TK_DIR/load.out" | awk '$3 != 0' | wc -l)
is "$last_st" 0 "tokend recovered by itself: the last verifications pass"
kill -0 "$pid" 2>/dev/null
ok $? "the same tokend process kept running"

rows=$(pg_psql "SELECT count(*) FROM audit WHERE event = 'totp_verify' AND \"user\" = 'alice' AND result = 'ok'")
[ "$rows" -ge "$oks" ]
ok $? "no ok without its commit: $oks ok answers, $rows stored ok rows"

# the codes accepted before the outage stay used
first_ok=$(awk '$3 == 0 { print $1; exit }' "$TK_DIR/load.out")
t=$((T0 + 30 * first_ok + 10))
tk_faketime "$(date -u -d "@$t" '+%Y-%m-%d %H:%M:%S')"
code=$(python3 "$HOSTS_PY" code "$SECRET" "$t")
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")
is "$st" 2 "a code accepted before the outage is refused as replayed"
last_ok=$(awk '$3 == 0 { k = $1 } END { print k }' "$TK_DIR/load.out")
t=$((T0 + 30 * last_ok + 10))
tk_faketime "$(date -u -d "@$t" '+%Y-%m-%d %H:%M:%S')"
code=$(python3 "$HOSTS_PY" code "$SECRET" "$t")
st=$(python3 "$HOSTS_PY" verify "$TK_SOCK" alice "$code")
is "$st" 2 "the last accepted code is refused as replayed too"

grep -q "connection to PostgreSQL lost" "$TK_LOG"
ok $? "the log says the store was lost"
grep -q "PostgreSQL is back" "$TK_LOG"
ok $? "the log says the store is back"
tk_adm audit verify
ok $ADM_RC "the audit chain is intact after the outage"

done_testing
