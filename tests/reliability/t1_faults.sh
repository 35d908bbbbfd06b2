#!/bin/bash
# t1_faults.sh -- T1, the stack oracle under fault injection.
#
# The real libpam (through pam_wrapper) loads pam_tokend.so in stacks
# where a permissive module stands beside it, against a real tokend
# whose clock (libfaketime) moves one TOTP step before every attempt,
# so every attempt types a valid, fresh code.  faultinj.so makes the
# Nth call of one function fail inside the module (or inside libcbor,
# which the module calls), for N = 1, 2, ... until N passes the number
# of calls a login makes.
#
# The oracle, for every run:
#  - PAM_SUCCESS at all => tokend's audit trail gained exactly one "ok"
#    TOTP verification for this attempt (success only if a valid fresh
#    factor was verified);
#  - the fault fired => a failure code, or a success that passes the
#    rule above ("absorbed": the module did its job despite the fault;
#    counted and shown; t1_answers.sh proves the absorbed ones are the
#    look-up of tokend's user, which only narrows trust to root);
#    never PAM_IGNORE, never a crash;
#  - the fault did not fire (N past the last call) => PAM_SUCCESS: the
#    same stack and code let the person in, so the failures above were
#    caused by the faults;
#  - the same fault with a wrong code => a failure code.
# Then the whole process (libpam, pam_wrapper, libc) is swept with
# malloc failures: the same rules, except that a crash inside a
# third-party library is reported, not failed (it denies the login).
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

mkdir -m 0700 "$TK_DIR/faillock"
# the stacks: a permissive module stands beside ours in each
pam_service permit "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@"
pam_service permit_nullok "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@ nullok"
pam_service faillock "auth required @MODDIR@/pam_faillock.so preauth dir=$TK_DIR/faillock
auth required @MODULE@ config=@CONF@ nullok
auth required @MODDIR@/pam_permit.so"
pam_service okdie "auth [success=ok default=die] @MODULE@ config=@CONF@ nullok
auth required @MODDIR@/pam_permit.so"
STACKS="permit permit_nullok faillock okdie"

USER_=nobody
tk_enroll_active "$USER_" || bail "enroll failed: $ADM_ERR"
uri=$URI

# audit_ok: how many successful TOTP verifications tokend recorded
audit_ok() {
	sql "SELECT count(*) FROM audit WHERE event = 'totp_verify' AND
	    result = 'ok';"
}

# check_success_audited BEFORE: a PAM_SUCCESS must be backed by exactly
# one new "ok" verification in the audit trail; returns 1 when not
check_success_audited() {
	[ "$PAM_RESULT" != PAM_SUCCESS ] && return 0
	[ "$(audit_ok)" -eq $(($1 + 1)) ]
}

# ---- controls: each stack lets a valid fresh code in, refuses a wrong one
for st in $STACKS; do
	tk_step_next
	pam_is "$st" "$USER_" PAM_SUCCESS "$st: a valid fresh code passes" \
	    -a "$(totp_code "$uri")"
	pam_run "$st" "$USER_" -a "$(wrong_code "$uri")"
	pam_refused "$st: a wrong code fails"
done

# ---- the sweep: FUNC[:ERRNO|:timeout] entries
ENTRIES="malloc calloc realloc strdup socket connect connect:13 recv recv:5
	sendmsg sendmsg:104 poll poll:timeout read write send getpwnam"
if [ -n "$REL_COVERAGE" ]; then
	skip "malloc sweeps" "coverage build (gcov's runtime allocates)"
	ENTRIES=${ENTRIES/malloc /}
fi
total_points=0
total_runs=0
absorbed=
for entry in $ENTRIES; do
	func=${entry%%:*}
	FI_ENV=()
	case $entry in
	*:timeout) FI_ENV=(TK_FAULT_MODE=timeout) ;;
	*:*) FI_ENV=(TK_FAULT_ERRNO="${entry#*:}") ;;
	esac
	for st in $STACKS; do
		bad=
		control=
		n=1
		t0=$SECONDS
		while :; do
			tk_step_next
			before=$(audit_ok)
			fi_run "$st" "$USER_" "$func" "$n" -a "$(totp_code "$uri")"
			total_runs=$((total_runs + 1))
			check_success_audited "$before" ||
			    bad="$bad n=$n:success-not-audited"
			if [ "$FI_HIT" = 0 ]; then
				control=$PAM_RESULT
				break
			fi
			total_points=$((total_points + 1))
			tally "$PAM_RESULT"
			if [ "$PAM_RESULT" = PAM_SUCCESS ]; then
				absorbed="$absorbed $st/$entry#$n"
			elif ! is_failure "$PAM_RESULT"; then
				bad="$bad n=$n:$PAM_RESULT"
			fi
			# the same fault with a wrong code
			fi_run "$st" "$USER_" "$func" "$n" -a "$(wrong_code "$uri")"
			total_runs=$((total_runs + 1))
			is_failure "$PAM_RESULT" ||
			    bad="$bad n=$n(wrong code):$PAM_RESULT"
			n=$((n + 1))
			[ $n -le 500 ] || { bad="$bad (runaway)"; break; }
		done
		calls=$((n - 1))
		[ -n "${TK_TIMING:-}" ] && diag "$st $entry: $((SECONDS - t0)) s"
		is "$bad" "" "$st: $entry: each of the $calls faults fails closed"
		if [ "$calls" -eq 0 ]; then
			# the module makes no such call: nothing to inject, but the
			# run itself must still have let the person in
			is "$control" PAM_SUCCESS \
			    "$st: $entry: not called by the module; the login passes"
		else
			is "$control" PAM_SUCCESS \
			    "$st: $entry: with the fault past the last call the login passes"
		fi
	done
	# failures counted at tokend must not pile up to a lock
	tk_adm unlock "$USER_" >/dev/null 2>&1
done
diag "module-scope faults injected: $total_points (in $total_runs runs)" \
    "results of the faulted runs: $(tally_text)" \
    "absorbed (audited success despite the fault):$absorbed"
n_absorbed=$(echo $absorbed | wc -w)
# today: the buffer of the look-up of [tokend] user, once per request
[ "$n_absorbed" -le $((2 * 4)) ]
ok $? "at most 2 absorbed faults a stack ($n_absorbed in all)"

# ---- the whole process: every Nth allocation anywhere (libpam,
# pam_wrapper, libc, the module); a fault there may be harmless, so
# only "no success without an audited verification" and "no PAM_IGNORE,
# no crash" apply.
if [ -n "$REL_COVERAGE" ]; then
	skip "whole-process allocation sweep" "coverage build (gcov's runtime allocates)"
else
	TALLY=()
	FI_ENV=(TK_FAULT_SCOPE='*')
	bad=
	crashes=
	n=1
	points=0
	while :; do
		tk_step_next
		before=$(audit_ok)
		fi_run permit_nullok "$USER_" malloc "$n" -a "$(totp_code "$uri")"
		[ "$FI_HIT" = 0 ] && break
		points=$((points + 1))
		tally "$PAM_RESULT"
		case $PAM_RESULT in
		PAM_IGNORE | PAM_UNKNOWN_CODE | "DRIVER_FAILED(124)")
			bad="$bad n=$n:$PAM_RESULT" ;;
		DRIVER_FAILED*)
			case $FI_CALLER in
			*pam_tokend.so | *libcbor*)
				bad="$bad n=$n:$PAM_RESULT(in $FI_CALLER)" ;;
			*)
				crashes="$crashes n=$n:$PAM_RESULT(${FI_CALLER##*/})" ;;
			esac ;;
		esac
		check_success_audited "$before" || bad="$bad n=$n:success-not-audited"
		n=$((n + 1))
		[ $n -le 20000 ] || { bad="$bad (runaway)"; break; }
		# a fault between tokend's answer and PAM may leave failures behind
		[ $((points % 40)) -eq 0 ] && tk_adm unlock "$USER_" >/dev/null 2>&1
	done
	is "$bad" "" "whole process: $points allocation faults: no PAM_IGNORE, no crash, no unaudited success"
	is "$PAM_RESULT" PAM_SUCCESS "whole process: past the last allocation the login passes"
	diag "results: $(tally_text)"
	[ -n "$crashes" ] && diag "crashed (denied) in a third-party library:$crashes" \
	    "(glibc's NSS dereferences a failed allocation in getpwnam_r;" \
	    " pam_wrapper exits when it cannot load libpam)"
fi

# ---- the conversation: missing, failing, or answering NULL
for flag in -C -N -Z -0; do
	for st in permit permit_nullok faillock; do
		tk_step_next
		pam_run "$st" "$USER_" "$flag"
		pam_refused "$st: conversation $flag: the stack fails"
	done
done

# ---- tokend absent: the stack fails
tk_stop
for st in $STACKS; do
	pam_run "$st" "$USER_" -a 123456
	pam_refused "$st: tokend stopped: the stack fails"
done

done_testing
