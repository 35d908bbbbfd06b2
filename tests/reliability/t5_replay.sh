#!/bin/bash
# t5_replay.sh -- T5: one valid code submitted 1,000 times at once, by
# many clients through the real socket (raw TOTP_VERIFY requests from
# 4 processes of 100 threads, each its own connection) and through the
# PAM driver (10 processes of 60 threads, pam_tokend.so under libpam),
# is accepted exactly once: one "ok", every other submission a replay
# (or, once max_failures = 100 replays have been counted, "locked": no
# configuration allows 999 failures without a lock), never a second
# success; the audit trail shows exactly one "ok", and only replays and
# locks besides it.  tokend's clock is frozen (libfaketime) so
# no step boundary can fall inside the run.
# FIDO2 challenge reuse is covered by the FIDO2 tests (see
# docs/testing.md).
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 flock timeout
rel_built
tk_setup
tk_write_conf "max_failures = 100"
# 1000 clients at once: room for all of them, and time to wait their turn
sed -i -e 's/^idle_timeout = .*/idle_timeout = 60/' \
    -e '/^idle_timeout/a max_connections = 4096' "$TK_CONF"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start: $(tail -n 5 "$TK_LOG")"
pam_services
tk_enroll_active rita || bail "enroll: $ADM_ERR"
uri=$URI
# the confirmation spent the code of this step: the next step's is fresh
tk_step_next
code=$(totp_code "$uri")
seq0=$(sql "SELECT max(seq) FROM audit;")

RAW_PROCS=4 RAW_THREADS=100 PAM_PROCS=10 PAM_THREADS=60
total=$((RAW_PROCS * RAW_THREADS + PAM_PROCS * PAM_THREADS))
is "$total" 1000 "1000 submissions planned ($RAW_PROCS x $RAW_THREADS raw, $PAM_PROCS x $PAM_THREADS PAM)"

rm -f "$TK_DIR"/out/raw.* "$TK_DIR"/out/par.*
# everyone waits for this file, then goes at once
go=$TK_DIR/out/go
pids=()
for p in $(seq 1 $RAW_PROCS); do
	timeout 120 python3 - "$TOP_SRCDIR/tests/pam" "$TK_SOCK" rita "$code" \
	    "$RAW_THREADS" "$go" >"$TK_DIR/out/raw.$p" 2>&1 <<'PYEOF' &
import os, sys, threading, time
sys.path.insert(0, sys.argv[1])
import wire
sock, user, code, n, go = sys.argv[2], sys.argv[3], sys.argv[4], \
    int(sys.argv[5]), sys.argv[6]
out, lock = [], threading.Lock()
def one():
    try:
        s = wire.connect(sock)
        s.settimeout(60)
        while not os.path.exists(go):
            time.sleep(0.001)
        # the PAM drivers start at the same signal but take longer to
        # reach the socket: let a share of them get there first
        time.sleep(0.05)
        s.sendall(wire.frame(wire.enc({0: wire.VERSION, 1: 3, 10: user,
            11: code, 12: "t5-raw"})))
        a = wire.read_answer(s, time.monotonic() + 60)
        r = "closed" if a is None else str(a.get(2))
    except Exception as e:
        r = "error:" + type(e).__name__
    with lock:
        out.append(r)
ts = [threading.Thread(target=one) for _ in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("\n".join(out))
PYEOF
	pids+=($!)
done
for p in $(seq 1 $PAM_PROCS); do
	(
		while [ ! -e "$go" ]; do sleep 0.01; done
		flock 9 || exit 99
		LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 \
		    PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d" \
		    exec timeout 120 "$TK_DRIVER" -L 9 -T 60 -s tokend -u rita \
		    -a "$code" -P "$PAM_THREADS"
	) 9>"$PWRAP_LOCK" >"$TK_DIR/out/par.$p" 2>"$TK_DIR/out/par.$p.err" \
	    </dev/null &
	pids+=($!)
done
sleep 1		# the raw clients are connected and waiting
t0=$SECONDS
touch "$go"
for p in "${pids[@]}"; do
	wait "$p"
done
diag "1000 submissions took $((SECONDS - t0)) s"

# raw answers: status numbers (0 ok, 2 replay, 3 locked)
raw_ok=$(cat "$TK_DIR"/out/raw.* | grep -cx 0)
raw_replay=$(cat "$TK_DIR"/out/raw.* | grep -cx 2)
raw_locked=$(cat "$TK_DIR"/out/raw.* | grep -cx 3)
raw_all=$(cat "$TK_DIR"/out/raw.* | grep -c .)
pam_ok=$(cat "$TK_DIR"/out/par.? "$TK_DIR"/out/par.?? 2>/dev/null | grep -c ' PAM_SUCCESS$')
pam_err=$(cat "$TK_DIR"/out/par.? "$TK_DIR"/out/par.?? 2>/dev/null | grep -c ' PAM_AUTH_ERR$')
pam_max=$(cat "$TK_DIR"/out/par.? "$TK_DIR"/out/par.?? 2>/dev/null | grep -c ' PAM_MAXTRIES$')
diag "raw: ok $raw_ok, replay $raw_replay, locked $raw_locked, of $raw_all;" \
    "PAM: success $pam_ok, auth_err $pam_err, maxtries $pam_max"
other=$(cat "$TK_DIR"/out/raw.* | grep -vx '[023]' | sort | uniq -c | tr -s ' \n' ' ')
[ -n "$other" ] && diag "raw answers other than ok/replay/locked: $other"

is "$raw_all" $((RAW_PROCS * RAW_THREADS)) "every raw submission was answered"
is "$((pam_ok + pam_err + pam_max))" $((PAM_PROCS * PAM_THREADS)) \
    "every PAM submission ended in SUCCESS, AUTH_ERR or MAXTRIES"
is "$((raw_ok + pam_ok))" 1 "exactly one success among 1000 submissions"
is "$((raw_replay + raw_locked + pam_err + pam_max))" 999 \
    "999 refusals (replay, or locked after max_failures replays)"

rows() {
	sql "SELECT count(*) FROM audit WHERE seq > $seq0 AND user = 'rita'
	    AND event = 'totp_verify' $1;"
}
# a PAM client that finds the user locked (USER_STATUS) answers
# PAM_MAXTRIES without sending the code: only the others leave a row
n_rows=$(rows "")
diag "audit: $n_rows verification rows ($(sql "SELECT result || '=' || count(*)
    FROM audit WHERE seq > $seq0 AND user = 'rita' AND event = 'totp_verify'
    GROUP BY result;" | tr '\n' ' '))"
ok "$([ "$n_rows" -ge "$raw_all" ] && [ "$n_rows" -le 1000 ]; echo $?)" \
    "the audit trail has a row for every code that reached tokend ($n_rows)"
is "$(rows "AND result = 'ok'")" 1 "... exactly one of them ok"
is "$(rows "AND result NOT IN ('ok', 'replay', 'locked')")" 0 \
    "... and the others replay or locked"
n_replay=$(rows "AND result = 'replay'")
ok "$([ "$n_replay" -ge 99 ] && [ "$n_replay" -le 199 ]; echo $?)" \
    "replays counted until the lock: 99 after the success, at most 100 before ($n_replay)"
is "$(sql "SELECT failures || ' ' || locked FROM throttle WHERE user = 'rita';")" \
    "100 1" "the user ends locked with exactly max_failures = 100 failures"
is "$(sql "SELECT count(*) FROM audit WHERE seq > $seq0 AND result = 'wrong';")" 0 \
    "no submission was taken for a wrong code"
pam_verified=$((n_rows - raw_all))
diag "$pam_verified PAM submissions reached TOTP_VERIFY, $((PAM_PROCS * PAM_THREADS - pam_verified)) were refused on the lock first"

# the code stays spent
tk_adm unlock rita
pam_is tokend rita PAM_AUTH_ERR "after unlock, the code is still refused" -a "$code"
tk_adm audit verify
is "$ADM_RC" 0 "the audit chain verifies"

done_testing
