#!/bin/bash
# valgrind.sh -- tokend and the PAM driver (loading pam_tokend.so) under
# valgrind memcheck, through enrollment, successful, wrong, replayed,
# locked and unenrolled logins, broken conversations, a broken daemon
# and a clean stop.  Every run must end with "ERROR SUMMARY: 0 errors",
# where definite leaks count as errors.  Run by `make check-valgrind'
# (not by `make check': it takes a few minutes).
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd valgrind python3 oathtool
rel_built
tk_setup
tk_write_conf "max_failures = 3"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"

VG=(valgrind --quiet --error-exitcode=97 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --track-fds=no --num-callers=30)

# tokend under valgrind (libfaketime preloaded into the guest)
tk_tokend_env
env "${TK_TOKEND_ENV[@]}" "${VG[@]}" --log-file="$TK_DIR/out/vg-tokend.log" \
    "$TOKEND" -c "$TK_CONF" -f >>"$TK_LOG" 2>&1 </dev/null &
TOKEND_PID=$!
for i in $(seq 1 300); do
	[ -S "$TK_SOCK" ] && tk_adm status >/dev/null 2>&1 && break
	sleep 0.1
done
tk_adm status
is "$ADM_RC" 0 "tokend answers under valgrind"
pam_services

nvg=0
# vg_pam SERVICE USER EXPECTED NAME [ARGS]: the driver under valgrind
vg_pam() {
	local service=$1 user=$2 want=$3 name=$4 log
	shift 4
	nvg=$((nvg + 1))
	log=$TK_DIR/out/vg-pam.$nvg.log
	env LD_PRELOAD="$PAM_WRAPPER_LIB" PAM_WRAPPER=1 \
	    PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d" \
	    "${VG[@]}" --log-file="$log" \
	    "$TK_DRIVER" -s "$service" -u "$user" "$@" \
	    >"$TK_DIR/out/pam.out" 2>"$TK_DIR/out/pam.err" </dev/null
	rc=$?
	is "$(awk 'NR == 1 { print $2 }' "$TK_DIR/out/pam.out")" "$want" "$name"
	is "$rc" 0 "$name: valgrind: no error, no definite leak in the driver"
	[ "$rc" -eq 0 ] || diag "$(head -n 60 "$log")"
}

tk_enroll_active val || bail "enroll: $ADM_ERR"
uri=$URI
tk_step_next
code=$(totp_code "$uri")
vg_pam tokend val PAM_SUCCESS "valid code" -a "$code"
vg_pam tokend val PAM_AUTH_ERR "replayed code" -a "$code"
vg_pam tokend val PAM_AUTH_ERR "wrong code" -a "$(wrong_code "$uri")"
vg_pam tokend val PAM_AUTH_ERR "junk typed" -a "12ab"
vg_pam nullok nobody_enrolled PAM_SUCCESS "not enrolled, nullok" -a 1
vg_pam tokend val PAM_CONV_ERR "conversation fails" -N
vg_pam tokend val PAM_CONV_ERR "conversation answers NULL" -0
vg_pam tokend val PAM_CONV_ERR "no conversation" -C
vg_pam tokend val PAM_MAXTRIES "third failure locks" -a "$(wrong_code "$uri")"
vg_pam tokend val PAM_MAXTRIES "locked" -a "$(wrong_code "$uri")"
tk_adm unlock val
tk_adm --json list
is "$ADM_RC" 0 "tokenadm list"
tk_adm revoke val --all
is "$ADM_RC" 0 "tokenadm revoke"

# a broken daemon: garbage answers
python3 "$FAKED" "$TK_DIR/run/fake" garbage 60 >"$TK_DIR/out/fake" 2>&1 &
fpid=$!
for i in $(seq 1 50); do grep -q ready "$TK_DIR/out/fake" && break; sleep 0.1; done
pam_service fake "auth required @MODULE@ config=@CONF@ socket=$TK_DIR/run/fake timeout=2"
vg_pam fake val PAM_AUTHINFO_UNAVAIL "garbage from the daemon" -a 123456
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# stop tokend; valgrind writes its report at exit
kill -TERM "$TOKEND_PID"
tk_wait_pid "$TOKEND_PID" 60
TOKEND_PID=
is "$TK_WAIT_RC" 0 "tokend under valgrind: no error, no definite leak (exit status)"
[ "$TK_WAIT_RC" -eq 0 ] || diag "$(head -n 80 "$TK_DIR/out/vg-tokend.log")"

done_testing
