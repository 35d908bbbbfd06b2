#!/bin/bash
# hosts_batch.sh -- group commit on PostgreSQL with two tokend hosts.
# Both hosts are kept busy by concurrent USER_STATUS requests for the
# same users (in opposite orders on the two hosts), so that each commits
# its requests in batches whose locks would, if a batch waited for them,
# make the two hosts deadlock (store_pg.c, invariant 10).  Meanwhile the
# same valid code is sent to both hosts at once, HOSTS_BATCH_ROUNDS (60)
# times.  What must hold:
#  - exactly one success for each raced code; the loser is refused
#    (replayed, or an internal error when its request was refused a lock
#    another host held), never accepted;
#  - both hosts committed batches of several requests;
#  - no deadlock: none reported by the server or by either tokend;
#  - `tokenadm audit verify' is clean on both hosts, the chain has no
#    gap, and every load request got an answer (ok, or refused).
. "$TOP_SRCDIR/tests/pam/lib.sh"
. "$TOP_SRCDIR/tests/pg/pglib.sh"

if ! grep -q '^#define HAVE_LIBPQ 1' "$TOP_BUILDDIR/config.h"; then
	skip_all "tokend built without libpq"
fi
need_root
need_cmd python3 oathtool
need_faketime
pg_find_bin || skip_all "no PostgreSQL server binaries"
[ -x "$TOKEND" ] && [ -x "$TOKENADM" ] || bail "not built"
ROUNDS=${HOSTS_BATCH_ROUNDS:-60}
THREADS=${HOSTS_BATCH_THREADS:-8}
DRIVER=$TOP_SRCDIR/tests/pg/hosts_batch.py
export TOP_SRCDIR

tk_setup
trap 'tk_stop_quiet; kill $B_PID 2>/dev/null; wait $B_PID 2>/dev/null; pg_stop; tk_cleanup' EXIT
pg_start "$TK_DIR/pg" || bail "cannot start PostgreSQL"

tk_write_conf "[store]
url = $PG_URL"
CONF_B=$TK_DIR/tokend-b.conf
SOCK_B=$TK_DIR/run/socket-b
LOG_B=$TK_DIR/tokend-b.log
sed "s|^socket = .*|socket = $SOCK_B|" "$TK_CONF" >"$CONF_B"
chmod 0644 "$CONF_B"
tk_faketime "2027-06-01 09:00:10"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"

# -d: the debug lines say how many requests each commit held
tk_start -d || bail "host A did not start"
tk_tokend_env
env "${TK_TOKEND_ENV[@]}" "$TOKEND" -c "$CONF_B" -f -d >>"$LOG_B" 2>&1 \
    </dev/null &
B_PID=$!
for i in $(seq 1 100); do
	"$TOKENADM" -c "$CONF_B" status >/dev/null 2>&1 && break
	sleep 0.1
done

tk_enroll_active alice || bail "enroll failed: $ADM_ERR"
SECRET=$(uri_param "$URI" secret)
# the load's users: half with a throttle row (read FOR UPDATE), half
# without one (guarded by the advisory lock on the name)
LOAD=u0,u1,u2,u3,u4,u5,u6,u7
pg_psql "INSERT INTO throttle (\"user\", failures, last_failure, locked)
    SELECT 'u' || i, 0, 0, 0 FROM generate_series(0, 3) AS i" >/dev/null
T0=$(date -u -d "2027-06-01 09:01:00 UTC" +%s)
res=$(python3 "$DRIVER" "$TK_SOCK" "$SOCK_B" alice "$SECRET" \
    "$TK_FAKETIME_FILE" "$T0" "$ROUNDS" "$THREADS" "$LOAD" \
    2>"$TK_DIR/race.err")
diag "race under load: $res"
val() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $res"; }

is "$(val one_ok)" "$ROUNDS" "$ROUNDS raced codes under load: exactly one success each"
is "$(val both_ok)" 0 "never two successes for one code"
is "$(val other)" 0 "the loser is refused: replayed, or an internal error" ||
    diag "$(head -n 5 "$TK_DIR/race.err")"
is "$(pg_psql "SELECT last_step FROM credentials WHERE \"user\" = 'alice'")" \
    "$(( (T0 + 30 * (ROUNDS - 1) + 10) / 30 ))" "the store holds the last step once"
ok "$([ "$(val load_ok)" -gt 0 ] && echo 0 || echo 1)" \
    "the load was answered ($(val load) requests, $(val load_internal) refused a lock)"
is "$(val load_other)" 0 "every load answer was ok or a refusal" ||
    diag "$(head -n 5 "$TK_DIR/race.err")"

# group commit really ran on both hosts
ba=$(grep -c 'requests in one commit' "$TK_LOG")
bb=$(grep -c 'requests in one commit' "$LOG_B")
ok "$([ "$ba" -gt 0 ] && [ "$bb" -gt 0 ] && echo 0 || echo 1)" \
    "both hosts committed batches on PostgreSQL (A: $ba, B: $bb)"
nb=$(grep -c 'group commit failed' "$TK_LOG" "$LOG_B" | awk -F: '{ s += $2 } END { print s }')
is "$nb" 0 "no batch commit failed"

# no deadlock, anywhere
dl=$(grep -ci 'deadlock detected' "$PG_LOG" "$TK_LOG" "$LOG_B" |
    awk -F: '{ s += $2 } END { print s }')
is "$dl" 0 "no deadlock reported by the server or either tokend" ||
    diag "$(grep -i -m 3 'deadlock' "$PG_LOG" "$TK_LOG" "$LOG_B")"

tk_adm audit verify
ok $ADM_RC "tokenadm audit verify is clean after the batches (A)"
diag "$ADM_OUT"
out=$("$TOKENADM" -c "$CONF_B" audit verify 2>&1 </dev/null)
ok $? "and through host B"
gaps=$(pg_psql "SELECT count(*) - (max(seq) - min(seq) + 1) FROM audit")
is "$gaps" 0 "one chain: no gap, no duplicate sequence number"

done_testing
