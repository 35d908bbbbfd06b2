#!/bin/bash
# t1_store.sh -- T1/T7 for store errors: tokend runs with faultinj.so
# preloaded, scoped to libsqlite3, and armed around one login at a
# time, so that the Nth fdatasync (an fsync error) or the Nth pwrite64
# (ENOSPC: a full disk) SQLite makes while tokend verifies a valid,
# fresh code fails.  Then:
#  - the login fails (never PAM_SUCCESS, never PAM_IGNORE) with a
#    permissive module and nullok beside ours;
#  - tokend keeps running and serving;
#  - the same code typed again once the disk "recovers" is accepted,
#    unless the failed transaction had in fact committed, in which case
#    it is refused as a replay (never accepted twice);
#  - at the end PRAGMA integrity_check says ok, after a restart too.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 timeout
rel_built
need_interposable
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
tk_enroll_active nobody || bail "enroll failed: $ADM_ERR"
uri=$URI
tk_stop
pam_service permit_nullok "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@ nullok"

ARM=$TK_DIR/arm
FLOG=$TK_DIR/out/tokend-fault.log

# start_faulty FUNC NTH: tokend with the fault library (disarmed) and faketime
start_faulty() {
	local i
	rm -f "$ARM"
	env LD_PRELOAD="$FAULTINJ_LIB:$FAKETIME_LIB" \
	    FAKETIME_TIMESTAMP_FILE="$TK_FAKETIME_FILE" FAKETIME_NO_CACHE=1 \
	    FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    TK_FAULT_FUNC="$1" TK_FAULT_SCOPE=libsqlite3 \
	    TK_FAULT_ARMFILE="$ARM" TK_FAULT_LOG="$FLOG" TK_FAULT_NTH="$2" \
	    "$TOKEND" -c "$TK_CONF" -f >>"$TK_LOG" 2>&1 </dev/null &
	TOKEND_PID=$!
	for i in $(seq 1 100); do
		[ -S "$TK_SOCK" ] && tk_adm status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

total=0
TALLY=()
for func in fdatasync pwrite64; do
	n=1
	bad=
	while :; do
		start_faulty "$func" "$n" || bail "tokend did not start"
		tk_step_next
		code=$(totp_code "$uri")
		rm -f "$FLOG"
		touch "$ARM"
		pam_run permit_nullok nobody -a "$code"
		rm -f "$ARM"
		if ! grep -q '^hit ' "$FLOG" 2>/dev/null; then
			# past the last call: the control
			is "$PAM_RESULT" PAM_SUCCESS \
			    "$func: with no fault left the login passes ($((n - 1)) faults)"
			tk_stop
			break
		fi
		total=$((total + 1))
		tally "$PAM_RESULT"
		is_failure "$PAM_RESULT" || bad="$bad n=$n:$PAM_RESULT"
		kill -0 "$TOKEND_PID" 2>/dev/null || bad="$bad n=$n:tokend-died"
		# the disk recovered: the same code once more
		pam_run permit_nullok nobody -a "$code"
		second=$PAM_RESULT
		case $second in
		PAM_SUCCESS | PAM_AUTH_ERR) ;;
		*) bad="$bad n=$n:retry=$second" ;;
		esac
		# and a third time: now it must be spent
		pam_run permit_nullok nobody -a "$code"
		[ "$PAM_RESULT" = PAM_AUTH_ERR ] || bad="$bad n=$n:third=$PAM_RESULT"
		tk_stop || bad="$bad n=$n:stop"
		[ "$(sql 'PRAGMA integrity_check;')" = ok ] ||
		    bad="$bad n=$n:integrity"
		n=$((n + 1))
		[ $n -le 100 ] || { bad="$bad (runaway)"; break; }
	done
	is "$bad" "" "$func: each of the $((n - 1)) store faults fails the login, tokend survives, the code is never accepted twice"
done
diag "store faults injected: $total; results: $(tally_text)"

# a restart on the same database, and the audit chain still verifies
tk_start || bail "tokend did not restart"
is "$(sql 'PRAGMA integrity_check;')" ok "integrity_check ok at the end"
tk_adm audit verify
is "$ADM_RC" 0 "tokenadm audit verify: the chain is intact"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_OUT" "$ADM_ERR"

done_testing
