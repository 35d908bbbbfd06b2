#!/bin/bash
# t6_throttle.sh -- T6: the failure count survives restarts (SIGTERM
# and SIGKILL) and concurrent client processes, and a user is never
# given more than max_failures consecutive failures before the lock.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 timeout
rel_built
tk_setup
tk_write_conf "max_failures = 5"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
pam_services
tk_enroll_active bob || bail "enroll: $ADM_ERR"
uri=$URI

failures() { sql "SELECT failures || ' ' || locked FROM throttle WHERE user = 'bob';"; }
bad=$(wrong_code "$uri")

for i in 1 2; do
	pam_is tokend bob PAM_AUTH_ERR "wrong code $i: PAM_AUTH_ERR" -a "$bad"
done
tk_stop
tk_start || bail "restart"
is "$(failures)" "2 0" "after SIGTERM and a restart: 2 failures kept"
pam_is tokend bob PAM_AUTH_ERR "wrong code 3: PAM_AUTH_ERR" -a "$bad"
tk_kill9
tk_start || bail "restart"
is "$(failures)" "3 0" "after SIGKILL and a restart: 3 failures kept"
pam_is tokend bob PAM_AUTH_ERR "wrong code 4: PAM_AUTH_ERR" -a "$bad"
pam_is tokend bob PAM_MAXTRIES "wrong code 5 (max_failures): PAM_MAXTRIES" -a "$bad"
tk_kill9
tk_start || bail "restart"
tk_step_next
pam_is tokend bob PAM_MAXTRIES "after a restart the lock holds, even with a valid code" \
    -a "$(totp_code "$uri")"
is "$(failures)" "5 1" "5 failures, locked"

# ---- two processes of 20 threads each, all wrong codes, at once
tk_adm unlock bob
is "$ADM_RC" 0 "unlock"
seq0=$(sql "SELECT max(seq) FROM audit;")
pids=
for p in 1 2; do
	LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d" \
	    timeout 60 "$TK_DRIVER" -s tokend -u bob -a "$bad" -P 20 \
	    >"$TK_DIR/out/par.$p" 2>/dev/null </dev/null &
	pids="$pids $!"
done
wait $pids
results=$(cat "$TK_DIR"/out/par.* | awk '{ print $2 }' | sort | uniq -c | tr -s ' \n' ' ')
diag "40 concurrent wrong codes: $results"
n_err=$(cat "$TK_DIR"/out/par.* | grep -c ' PAM_AUTH_ERR$')
n_max=$(cat "$TK_DIR"/out/par.* | grep -c ' PAM_MAXTRIES$')
is "$n_err" 4 "exactly max_failures - 1 = 4 attempts answered PAM_AUTH_ERR"
is "$n_max" 36 "... and all 36 others PAM_MAXTRIES"
counted=$(sql "SELECT count(*) FROM audit WHERE seq > $seq0 AND user = 'bob'
    AND event = 'totp_verify' AND (result = 'wrong' OR reason = 'wrong');")
is "$counted" 5 "the audit trail shows exactly 5 counted failures"
is "$(failures)" "5 1" "the store: 5 failures, locked"

# ---- a success resets the count; failures after it count from zero
tk_adm unlock bob
pam_is tokend bob PAM_AUTH_ERR "after unlock: a wrong code fails" -a "$bad"
tk_step_next
pam_is tokend bob PAM_SUCCESS "a valid code passes" -a "$(totp_code "$uri")"
is "$(failures)" "0 0" "the success reset the count"

done_testing
