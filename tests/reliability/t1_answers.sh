#!/bin/bash
# t1_answers.sh -- T1 with a broken daemon: a fake tokend
# (fakedaemon.py) answers USER_STATUS and TOTP_VERIFY with garbage,
# truncated frames, wrong types, duplicate keys, wrong versions...
# The PAM stacks have a permissive module beside ours and nullok set,
# where a module that turns a broken answer into PAM_IGNORE or
# PAM_SUCCESS lets the person in.  Every corruption must fail the stack;
# the fake's "ok" mode (a well-formed yes) is the control that shows
# the same stack does succeed when the answer is right.
#
# Then the fake runs as uid 65534 with "[tokend] user = nobody": the
# module trusts it only through the look-up of that user, so every
# fault injected into the module (malloc, getpwnam_r...) must now fail
# the login; this is what makes the faults t1_faults.sh saw "absorbed"
# (that look-up failing, with a root tokend) safe.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_cmd python3 setpriv timeout
rel_built
tk_setup
tk_write_conf
mkdir -m 0777 "$TK_DIR/fake"
cp "$FAKED" "$TK_DIR/fakedaemon.py"
chmod 0644 "$TK_DIR/fakedaemon.py"

FAKE_PID=
fake_stop() {
	[ -n "$FAKE_PID" ] || return 0
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
trap 'fake_stop; tk_cleanup' EXIT

# fake_start MODE [AS-UID]: start the fake on $TK_DIR/fake/sock
fake_start() {
	local i
	local -a as=()
	[ -n "${2:-}" ] && as=(setpriv --reuid="$2" --regid="$2" --clear-groups)
	rm -f "$TK_DIR/fake/out"
	"${as[@]}" timeout 300 python3 "$TK_DIR/fakedaemon.py" \
	    "$TK_DIR/fake/sock" "$1" 290 >"$TK_DIR/fake/out" 2>&1 &
	FAKE_PID=$!
	for i in $(seq 1 100); do
		grep -q '^ready' "$TK_DIR/fake/out" 2>/dev/null && return 0
		sleep 0.05
	done
	diag "fake daemon did not start: $(cat "$TK_DIR/fake/out")"
	return 1
}

pam_service nullok "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@ nullok socket=$TK_DIR/fake/sock timeout=2"
pam_service strict "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@ socket=$TK_DIR/fake/sock timeout=2"

# ---- controls
fake_start ok || bail "fake daemon"
pam_is nullok alice PAM_SUCCESS "control: the fake says ok, the stack passes" \
    -a 123456
grep -q 'answered ok 3' "$TK_DIR/fake/out"
ok $? "... after the fake answered TOTP_VERIFY"
fake_stop
fake_start us-not-enrolled || bail "fake daemon"
pam_is nullok alice PAM_SUCCESS \
    "control: not enrolled + nullok: PAM_IGNORE, the stack passes" -a 123456
pam_run strict alice -a 123456
pam_refused "control: not enrolled, no nullok: the stack fails"
fake_stop

# ---- every corruption fails both stacks
TALLY=()
modes=$(python3 "$TK_DIR/fakedaemon.py" modes)
nmodes=0
for mode in $modes; do
	[ "$mode" = ok ] && continue
	nmodes=$((nmodes + 1))
	fake_start "$mode" || { ok 1 "$mode: fake started"; continue; }
	t0=$SECONDS
	pam_run nullok alice -a 123456
	tally "$PAM_RESULT"
	pam_refused "$mode: nullok + pam_permit: the stack fails ($PAM_RESULT)"
	pam_run strict alice -a 123456
	pam_refused "$mode: pam_permit: the stack fails ($PAM_RESULT)"
	[ $((SECONDS - t0)) -le 12 ]
	ok $? "$mode: both within the timeout ($((SECONDS - t0)) s)"
	fake_stop
done
diag "$nmodes corrupted answers; results with nullok: $(tally_text)"

# ---- a daemon trusted only through the look-up of [tokend] user
sed 's/^user = root$/user = nobody/' "$TK_CONF" >"$TK_DIR/nobody.conf"
chmod 0644 "$TK_DIR/nobody.conf"
pam_service asnobody "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=$TK_DIR/nobody.conf nullok socket=$TK_DIR/fake/sock timeout=2"
fake_start ok 65534 || bail "fake daemon as nobody"
is "$(stat -c %u "$TK_DIR/fake/sock")" 65534 "the fake's socket belongs to uid 65534"
pam_is asnobody alice PAM_SUCCESS \
    "control: a daemon of uid 65534 with user = nobody is trusted" -a 123456
pam_run nullok alice -a 123456
pam_refused "the same daemon with user = root is not trusted: the stack fails"

TALLY=()
points=0
entries="getpwnam_r malloc calloc strdup"
if [ -n "$REL_SANITIZED" ]; then
	skip "fault sweep with a non-root daemon" "AddressSanitizer build"
	entries=
elif [ -n "$REL_COVERAGE" ]; then
	skip "malloc sweep with a non-root daemon" \
	    "coverage build (gcov's runtime allocates)"
	entries=${entries/malloc /}
fi
for entry in $entries; do
	FI_ENV=()
	bad=
	n=1
	while :; do
		fi_run asnobody alice "$entry" "$n" -a 123456
		[ "$FI_HIT" = 0 ] && break
		points=$((points + 1))
		tally "$PAM_RESULT"
		is_failure "$PAM_RESULT" || bad="$bad n=$n:$PAM_RESULT"
		n=$((n + 1))
		[ $n -le 200 ] || { bad="$bad (runaway)"; break; }
	done
	is "$bad" "" "daemon of user nobody: each of the $((n - 1)) $entry faults fails closed"
	is "$PAM_RESULT" PAM_SUCCESS "... and past the last call the login passes"
done
diag "$points faults with a non-root daemon; results: $(tally_text)"
fake_stop

done_testing
