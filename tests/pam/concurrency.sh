#!/bin/bash
# concurrency.sh -- one valid code submitted by 50 PAM clients at the
# same instant succeeds exactly once; 20 users logging in at once all
# succeed; a code accepted before tokend is killed with SIGKILL is still
# refused after the restart, also when the kill lands in the middle of
# parallel submissions.  tokend's clock is frozen (libfaketime) so no
# step boundary can fall inside a case.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool flock
need_built
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
pam_services

# par_run N [THREADS]: start N drivers together (USER and CODE of
# driver I from the arrays PAR_USER/PAR_CODE), each running THREADS
# transactions at once (-P); wait for all (bounded); results in
# $TK_DIR/out/par.I.out (a line a transaction), messages in par.I.err
par_run() {
	local n=$1 threads=${2:-1} i
	local -a pids=()
	rm -f "$TK_DIR"/out/par.*
	pam_driver_env
	for i in $(seq 1 "$n"); do
		(
			flock 9 || exit 99
			exec env "${PAM_ENV[@]}" \
			    "$TK_DRIVER" -L 9 -T 60 -s tokend \
			    -u "${PAR_USER[$i]}" -a "${PAR_CODE[$i]}" \
			    -P "$threads"
		) 9>"$PWRAP_LOCK" >"$TK_DIR/out/par.$i.out" \
		    2>"$TK_DIR/out/par.$i.err" </dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
}
# par_count NAME: how many results are NAME
par_count() {
	cat "$TK_DIR"/out/par.*.out 2>/dev/null | awk -v n="$1" '$2 == n' |
	    wc -l
}

# par_summary: the results, as diagnostics
par_summary() {
	local f
	diag "results: $(cat "$TK_DIR"/out/par.*.out 2>/dev/null |
	    awk '{ print $2 }' | sort | uniq -c | tr -s ' \n' ' ')"
	for f in "$TK_DIR"/out/par.*.out; do
		grep -q '^[0-9]* PAM_\(SUCCESS\|AUTH_ERR\)$' "$f" && continue
		diag "$f: $(cat "$f")" "$(cat "${f%.out}.err")"
	done
}

# ---- 50 submissions of one code: 5 processes of 10 threads each
tk_enroll_active p1 || diag "enroll p1: $ADM_ERR"
code=$(totp_code "$URI")
PAR_USER=() PAR_CODE=()
for i in $(seq 1 5); do PAR_USER[$i]=p1 PAR_CODE[$i]=$code; done
t0=$SECONDS
par_run 5 10
diag "50 submissions took $((SECONDS - t0)) s"
is "$(par_count PAM_SUCCESS)" 1 "50 parallel submissions of one code: exactly one PAM_SUCCESS"
is "$(par_count PAM_AUTH_ERR)" 49 "... and 49 PAM_AUTH_ERR"
par_summary
pam_is tokend p1 PAM_AUTH_ERR "the code is spent afterwards" -a "$code"

# ---- 20 users at once, each with a valid code
PAR_USER=() PAR_CODE=()
for i in $(seq 1 20); do
	tk_enroll_active "q$i" || diag "enroll q$i: $ADM_ERR"
	PAR_USER[$i]=q$i
	PAR_CODE[$i]=$(totp_code "$URI")
done
par_run 20
is "$(par_count PAM_SUCCESS)" 20 "20 users logging in at once: all succeed"
par_summary

# ---- SIGKILL after an accepted code
tk_enroll_active k1 || diag "enroll k1: $ADM_ERR"
code=$(totp_code "$URI")
pam_is tokend k1 PAM_SUCCESS "k1 logs in" -a "$code"
tk_kill9
pam_is tokend k1 PAM_AUTHINFO_UNAVAIL \
    "tokend killed (stale socket file): PAM_AUTHINFO_UNAVAIL" -a "$code"
tk_start
ok $? "tokend restarts after SIGKILL"
pam_is tokend k1 PAM_AUTH_ERR "the code accepted before the crash is refused" \
    -a "$code"
pam_is tokend k1 PAM_SUCCESS "the next step's code logs in" \
    -a "$(totp_code "$URI" 30)"

# ---- SIGKILL in the middle of 20 parallel submissions of one code
tk_enroll_active k2 || diag "enroll k2: $ADM_ERR"
code=$(totp_code "$URI")
PAR_USER=() PAR_CODE=()
for i in $(seq 1 4); do PAR_USER[$i]=k2 PAR_CODE[$i]=$code; done
(sleep 0.05; kill -KILL "$TOKEND_PID") &
killer=$!
par_run 4 5
par_summary
wait "$killer"
TOKEND_PID=
before=$(par_count PAM_SUCCESS)
[ "$before" -le 1 ]
ok $? "killed during 20 submissions: at most one success ($before)"
is $(($(par_count PAM_SUCCESS) + $(par_count PAM_AUTH_ERR) + \
    $(par_count PAM_AUTHINFO_UNAVAIL))) 20 \
    "... every other one refused or unavailable"
tk_start
ok $? "tokend restarts"
pam_run tokend k2 -a "$code"
after=0
[ "$PAM_RESULT" = PAM_SUCCESS ] && after=1
[ $((before + after)) -le 1 ]
ok $? "the code is accepted at most once across the crash ($before before, $after after)"
pam_is tokend k2 PAM_AUTH_ERR "and never again" -a "$code"

done_testing
