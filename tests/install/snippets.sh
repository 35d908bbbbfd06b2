#!/bin/bash
# snippets.sh -- every ```pam block of docs/integration.md, run through
# libpam (pam_wrapper) with the real pam_tokend.so against a real
# tokend.  pam_unix.so becomes pam_permit.so (right password) or
# pam_deny.so (wrong password); "@include" and "include" lines resolve to
# the other blocks, as they do in /etc/pam.d.  For each stack:
#   right password + right code       -> PAM_SUCCESS, after the prompt
#   right password + wrong code       -> refused
#   wrong password                    -> refused, and no code is asked
#   daemon stopped                    -> refused
#   nothing enrolled, no nullok       -> refused
#   nothing enrolled, nullok          -> what the block's nullok= says
#                                        (default: PAM_SUCCESS)
#   enrolled, nullok, wrong code      -> refused
# A block marked as=user runs as the user (screen locker), and also
# checks that it cannot verify another user's code.  The block marked
# expect=unsafe (the documented wrong way) must show the danger the
# guide describes: a wrong code and a stopped daemon log in.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool setpriv
need_built
DOC=$TOP_SRCDIR/docs/integration.md
SNIP="python3 $TOP_SRCDIR/tests/install/snippets.py"

tk_setup
[ -n "$NSS_WRAPPER_LIB" ] || skip_all "nss_wrapper (libnss-wrapper) is not installed"
tk_nss_setup alice:1001:1001 bob:1002:1002 carol:1003:1003 ||
    bail "nss_wrapper set-up failed"
mkdir -m 0755 "$TK_DIR/faillock"
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"

# tokend's clock: frozen, moved on by one time step before each login
# that must succeed, so no code is ever a replay of an earlier one
T=$(date -u -d '2026-04-01 08:30:00' +%s)
tick() {
	T=$((T + 30))
	tk_faketime "$(date -u -d "@$T" '+%Y-%m-%d %H:%M:%S')"
}
tick
tk_start || bail "tokend did not start"
tk_enroll_active alice || bail "enrolling alice failed: $ADM_ERR"
ALICE=$URI
tk_enroll_active bob || bail "enrolling bob failed: $ADM_ERR"
BOB=$URI

# gen PASSWORD NULLOK: (re)write every block as a service file
gen() {
	$SNIP write "$DOC" "$TK_DIR/pam.d" "$PAM_MODDIR" "$TK_MODULE" \
	    "$TK_CONF" "$1" "$2" 2>"$TK_DIR/out/gen.err" ||
	    bail "snippets.py failed: $(cat "$TK_DIR/out/gen.err")"
}

# refused NAME / accepted NAME: judge the last pam_run
refused() { pam_refused "$1"; }
accepted() { is "$PAM_RESULT" PAM_SUCCESS "$1"; }

# run SERVICE USER [--as CALLER] ARGS: pam_run; for an as=user block as
# the uid of CALLER (default: USER itself), as a screen locker runs
declare -A UID_OF=([alice]=1001 [bob]=1002 [carol]=1003)
run() {
	local service=$1 user=$2 caller=$2
	shift 2
	if [ "${1:-}" = "--as" ]; then
		caller=$2
		shift 2
	fi
	if [ "$as" = yes ]; then
		PAM_AS=${UID_OF[$caller]}:${UID_OF[$caller]} pam_run "$service" "$user" "$@"
	else
		PAM_AS= pam_run "$service" "$user" "$@"
	fi
}

list=$($SNIP list "$DOC") || bail "cannot read the blocks of $DOC"
blocks=$(printf '%s\n' "$list" | wc -l)
diag "$blocks blocks in docs/integration.md:" "$list"
gen right 0
diag "$(cat "$TK_DIR/out/gen.err")"
for want in login gdm-password lightdm sudo xscreensaver sshd sshd-password \
    common-auth system-auth; do
	printf '%s\n' "$list" | grep -q "^$want\( \|\$\)"
	ok $? "docs/integration.md has a pam block for $want"
done

# the Japanese guide shows the very same stacks
JA=$TOP_SRCDIR/docs/integration.ja.md
if [ -f "$JA" ]; then
	d=$(diff <($SNIP dump "$DOC") <($SNIP dump "$JA"))
	is "$d" "" "docs/integration.ja.md has the same pam blocks as integration.md"
fi

while read -r name attrs; do
	# blocks that are only included by others are run through them
	case $name in second-factor | common-auth) continue ;; esac
	as= nullok=success password=yes unsafe=no
	for a in $attrs; do
		case $a in
		as=user) as=yes ;;
		nullok=*) nullok=${a#nullok=} ;;
		password=none) password=no ;;
		expect=unsafe) unsafe=yes ;;
		esac
	done
	t="[$name]"

	gen right 0
	tick
	wait_step_margin
	run "$name" alice -a "$(totp_code "$ALICE")"
	accepted "$t right password, right code: PAM_SUCCESS"
	like "$PAM_ERR" 'PROMPT_ECHO_OFF: Verification code: ' \
	    "$t ... after asking for the code"

	run "$name" alice -a "$(wrong_code "$ALICE")"
	if [ $unsafe = yes ]; then
		accepted "$t (the wrong way) a wrong code logs in, as the guide warns"
	else
		refused "$t right password, wrong code: refused"
	fi

	if [ $password = yes ]; then
		gen wrong 0
		tick
		run "$name" alice -a "$(totp_code "$ALICE")"
		refused "$t wrong password: refused"
		unlike "$PAM_ERR" 'PROMPT_ECHO_OFF' "$t ... before any code is asked"
		gen right 0
	fi

	tk_stop_quiet
	tick
	run "$name" alice -a 123456
	if [ $unsafe = yes ]; then
		accepted "$t (the wrong way) with the daemon stopped, the password alone logs in"
	else
		refused "$t daemon stopped: refused"
	fi
	tk_start || bail "tokend did not restart"

	run "$name" carol -a 123456
	if [ $unsafe = yes ]; then
		accepted "$t (the wrong way) nothing enrolled, no nullok: logs in"
	else
		refused "$t nothing enrolled, no nullok: refused"
	fi

	gen right 1
	run "$name" carol -a 123456
	if [ "$nullok" = success ]; then
		accepted "$t nothing enrolled, nullok: the password alone logs in"
	else
		refused "$t nothing enrolled, nullok: refused"
	fi
	if [ $unsafe = no ]; then
		run "$name" alice -a "$(wrong_code "$ALICE")"
		refused "$t nullok does not help an enrolled user with a wrong code"
	fi

	if [ -n "$as" ]; then
		gen right 0
		tick
		run "$name" bob --as alice -a "$(totp_code "$BOB")"
		refused "$t run as alice, bob's right code: refused (self role)"
	fi
done <<<"$list"

# the blocks the others include were really used
grep -q 'pam_tokend' "$TK_DIR/pam.d/second-factor"
ok $? "second-factor names pam_tokend.so (and common-auth includes it)"

done_testing
