#!/bin/bash
# t10_config.sh -- T10, the configuration matrix: the default
# configuration and each option of pam_tokend.so (docs/pam_tokend.8,
# pam_module/args.c), each in the stacks of t1_faults.sh where a
# permissive module stands beside ours:
#   permit    pam_permit required, then ours required
#   faillock  pam_faillock preauth, ours required, pam_permit
#   okdie     ours [success=ok default=die], then pam_permit
# For every (option, stack):
#   a valid fresh code            -> PAM_SUCCESS
#   a wrong code                  -> a failure
#   a user with no credential     -> a failure; with nullok the module
#                                    answers PAM_IGNORE, so the stack
#                                    gives PAM_SUCCESS where pam_permit
#                                    decides (permit, faillock) and
#                                    PAM_PERM_DENIED under default=die;
#                                    only a user truly without any
#                                    credential: the enrolled user's
#                                    wrong code fails with nullok too
#   tokend stopped                -> a failure, nullok or not
# "Failure" is a real PAM error code: never PAM_SUCCESS or PAM_IGNORE.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 timeout
rel_built
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
mkdir -m 0700 "$TK_DIR/faillock"

ENROLLED=nobody		# a TOTP credential
NONE=daemon		# a passwd entry, no credential at all
tk_enroll_active "$ENROLLED" || bail "enroll failed: $ADM_ERR"
uri=$URI
bad=$(wrong_code "$uri")

# the options: a name and the arguments after config=
OPT_NAMES=(default nullok factors_totp factors_both socket timeout cue debug fido2_wait all)
declare -A OPT_ARGS=(
	[default]=""
	[nullok]="nullok"
	[factors_totp]="factors=totp"
	[factors_both]="factors=fido2,totp"
	[socket]="socket=$TK_SOCK"
	[timeout]="timeout=5"
	[cue]="cue"
	[debug]="debug"
	[fido2_wait]="fido2_wait=5"
	[all]="nullok factors=totp socket=$TK_SOCK timeout=5 cue debug fido2_wait=5"
)
STACKS="permit faillock okdie"

# service OPT STACK: the service file of one combination
service() {
	local name=$1_$2 ours="@MODULE@ config=@CONF@ ${OPT_ARGS[$1]}"
	case $2 in
	permit)
		pam_service "$name" "auth required @MODDIR@/pam_permit.so
auth required $ours" ;;
	faillock)
		pam_service "$name" "auth required @MODDIR@/pam_faillock.so preauth dir=$TK_DIR/faillock
auth required $ours
auth required @MODDIR@/pam_permit.so" ;;
	okdie)
		pam_service "$name" "auth [success=ok default=die] $ours
auth required @MODDIR@/pam_permit.so" ;;
	esac
	echo "$name"
}

# has_nullok OPT
has_nullok() {
	case " ${OPT_ARGS[$1]} " in
	*" nullok "*) return 0 ;;
	esac
	return 1
}

n=0
for o in "${OPT_NAMES[@]}"; do
	for st in $STACKS; do
		s=$(service "$o" "$st")
		tk_step_next
		pam_is "$s" "$ENROLLED" PAM_SUCCESS "$o/$st: a valid fresh code: PAM_SUCCESS" \
		    -a "$(totp_code "$uri")"
		pam_run "$s" "$ENROLLED" -a "$bad"
		pam_refused "$o/$st: a wrong code: failure ($PAM_RESULT)"
		pam_run "$s" "$NONE" -a "$bad"
		if has_nullok "$o" && [ "$st" != okdie ]; then
			is "$PAM_RESULT" PAM_SUCCESS "$o/$st: no credential, nullok: PAM_SUCCESS"
		elif has_nullok "$o"; then
			# nullok answers PAM_IGNORE, which default=die turns down
			is "$PAM_RESULT" PAM_PERM_DENIED "$o/$st: no credential, nullok, default=die: PAM_PERM_DENIED"
		else
			pam_refused "$o/$st: no credential: failure ($PAM_RESULT)"
		fi
		n=$((n + 1))
	done
done
diag "$n combinations with tokend running"

# the wrong codes above are counted failures: none of them locked
is "$(sql "SELECT locked FROM throttle WHERE user = '$ENROLLED';")" 0 \
    "the enrolled user is not locked by the matrix's wrong codes"

# ---- tokend stopped: every combination fails, nullok or not
tk_stop
tk_step_next
code=$(totp_code "$uri")
for o in "${OPT_NAMES[@]}"; do
	for st in $STACKS; do
		pam_run "${o}_$st" "$ENROLLED" -a "$code"
		pam_refused "$o/$st: tokend stopped, valid code: failure ($PAM_RESULT)"
		pam_run "${o}_$st" "$NONE" -a "$code"
		pam_refused "$o/$st: tokend stopped, user without credential: failure ($PAM_RESULT)"
	done
done

done_testing
