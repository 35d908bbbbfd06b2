#!/bin/bash
# fido2.sh -- FIDO2 logins through the whole stack: the real libpam
# (pam_wrapper) loads the built pam_tokend.so, which finds soft keys
# (tests/softkey, through its LD_PRELOAD shim) with libfido2 and talks to
# a real tokend; credentials are enrolled with the real tokenadm.  Every
# refusal is checked to be a failure code printed by pamdriver.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool
need_built

SK_DIR=$TOP_BUILDDIR/tests/softkey
SKCTL=$SK_DIR/softkey-ctl
SK_PRELOAD=$SK_DIR/.libs/softkey-preload.so
PTYRUN="python3 $TOP_SRCDIR/tests/pam/ptyrun.py"
PROXY="python3 $TOP_SRCDIR/tests/pam/fido2proxy.py"
[ -x "$SKCTL" ] && [ -f "$SK_PRELOAD" ] || bail "not built: $SK_DIR"

tk_setup
tk_write_conf "
[pam]
fido2_wait = 3"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services
pam_service cue "auth required @MODULE@ config=@CONF@ cue"
pam_service fido2only "auth required @MODULE@ config=@CONF@ factors=fido2"
pam_service wait0 "auth required @MODULE@ config=@CONF@ fido2_wait=0"
K=$TK_DIR/keys
mkdir -m 0755 "$K"

# the driver sees the soft keys of SOFTKEY_KEYS (exported per call)
PAM_PRELOAD=$SK_PRELOAD
export SOFTKEY_KEYS=

# sk NAME ARGS...: softkey-ctl init $K/NAME.state ARGS
sk() {
	local name=$1
	shift
	"$SKCTL" init "$K/$name.state" "$@" >/dev/null ||
	    bail "softkey-ctl init $name failed"
}
skset() {
	local name=$1
	shift
	"$SKCTL" set "$K/$name.state" "$@" >/dev/null ||
	    bail "softkey-ctl set $name $* failed"
}
skget() { "$SKCTL" get "$K/$1.state" "$2"; }

# enroll USER KEY [PIN]: tokenadm enroll fido2 with that key alone
# plugged in, the PIN typed on a pseudo-terminal; sets FCRED
enroll() {
	local user=$1 key=$2 pin=${3:-}
	local -a answer=()
	[ -n "$pin" ] && answer=("PIN of the security key: =$pin")
	FCRED=
	# the shim is preloaded into tokenadm alone (in the sanitizer pass
	# it is instrumented and loads only into instrumented programs)
	$PTYRUN 30 "${answer[@]}" -- env SOFTKEY_KEYS="$K/$key.state" \
	    LD_PRELOAD="$SK_PRELOAD" "$TOKENADM" -c "$TK_CONF" --json \
	    enroll fido2 "$user" >"$TK_DIR/out/enroll.out" \
	    2>"$TK_DIR/out/enroll.err" || return 1
	FCRED=$(json_get "$(cat "$TK_DIR/out/enroll.out")" .credential)
}

# keys NAME...: the keys plugged in for the next logins
keys() {
	local n
	SOFTKEY_KEYS=
	for n in "$@"; do
		SOFTKEY_KEYS=${SOFTKEY_KEYS:+$SOFTKEY_KEYS:}$K/$n.state
	done
}

said() { printf '%s\n' "$PAM_ERR" | grep -Fq -- "$1"; }

# --- enrollment ---
sk alice --pin 1234
enroll alice alice 1234
ok $? "tokenadm enroll fido2 alice (key with a PIN)"
ALICE_CRED=$FCRED
[ -n "$ALICE_CRED" ] || diag "$(cat "$TK_DIR/out/enroll.err")"

# --- touch and PIN ---
keys alice
pam_is cue alice PAM_SUCCESS "touch and PIN: success" -a 1234
said "PROMPT_ECHO_OFF: Security key PIN: "
ok $? "the PIN is asked with echo off"
said "TEXT_INFO: Touch your security key"
ok $? "cue: touch message shown"
pam_is tokend alice PAM_SUCCESS "a second login (fresh challenge) passes" \
    -a 1234
said "Touch your security key"
ok $((! $?)) "without cue: no touch message"

# --- wrong PIN ---
pam_run tokend alice -a 0000 -a 1234
is "$PAM_RESULT" PAM_SUCCESS "a wrong PIN, then the right one: success"
said "ERROR_MSG: Wrong PIN (attempts left: 7)."
ok $? "the wrong PIN reports the tries left"
pam_run tokend alice -a 0000 -a 0000 -a 0000 -a 1234
pam_refused "three wrong PINs: refused"
is "$PAM_RESULT" PAM_AUTH_ERR "three wrong PINs: PAM_AUTH_ERR"
is "$(printf '%s\n' "$PAM_ERR" | grep -c 'PROMPT_ECHO_OFF: Security key PIN')" \
    3 "the PIN is asked at most three times"
said "attempts left: 6"
ok $? "each wrong PIN counts down"
said "Too many wrong PINs: remove and reinsert the security key"
ok $? "the key's block after three wrong PINs is explained"
pam_is tokend alice PAM_SUCCESS "the right PIN after a replug: success" \
    -a 1234
is "$(skget alice pin_retries)" 8 "the key's PIN tries are reset"
pam_run tokend alice
is "$PAM_RESULT" PAM_CONV_ERR "no PIN typed (Ctrl-D): PAM_CONV_ERR"

# --- PIN blocked ---
skset alice pin_retries=1
pam_run tokend alice -a 0000
pam_refused "the last PIN try wrong: refused"
said "PIN is blocked. Contact your administrator."
ok $? "the blocked PIN is reported"
pam_run tokend alice -a 1234
pam_refused "a blocked PIN: refused"
said "PIN is blocked"
ok $? "a blocked PIN says so"
skset alice pin=1234
pam_is tokend alice PAM_SUCCESS "a new PIN: success again" -a 1234

# --- no touch ---
skset alice touch=0 touch_timeout_ms=60000
t0=$(date +%s%N)
pam_run tokend alice -a 1234
t1=$(date +%s%N)
pam_refused "no touch: refused"
said "No touch: timed out."
ok $? "no touch: the message says so"
ms=$(((t1 - t0) / 1000000))
diag "no touch failed after $ms ms (fido2_wait = 3)"
[ "$ms" -lt 8000 ]
ok $? "no touch: fails within fido2_wait + 5 s"
skset alice touch_timeout_ms=500
pam_run tokend alice -a 1234
pam_refused "no touch (the key's own timeout): refused"
said "No touch: timed out."
ok $? "the key's timeout says so too"
skset alice touch=1 touch_timeout_ms=2000

# --- a key with neither PIN nor built-in UV ---
sk nopin --pin 4321
enroll alice nopin 4321 || bail "enrolling a second key failed"
skset nopin pin=
keys nopin
pam_run tokend alice
pam_refused "UV required, key without PIN or UV: refused"
said "no PIN and no built-in user verification"
ok $? "the missing PIN or UV is explained"
said "PROMPT_ECHO_OFF"
ok $((! $?)) "no PIN is asked of such a key"

# --- built-in UV ---
sk bio --builtin-uv
enroll alice bio
ok $? "tokenadm enroll fido2 with built-in UV"
keys bio
pam_is tokend alice PAM_SUCCESS "built-in UV: success without a PIN"
said "PROMPT_ECHO_OFF"
ok $((! $?)) "built-in UV: no PIN asked"
skset bio uv_ok=0
pam_run tokend alice
pam_refused "built-in UV fails, no PIN: refused"
skset bio uv_ok=1

# --- a key that holds no listed credential ---
sk stranger --pin 1111
keys stranger
pam_run tokend alice -a 1111
pam_refused "a key not registered for the user: refused"
said "This security key is not registered for you."
ok $? "the unregistered key is explained"
said "PROMPT_ECHO_OFF"
ok $((! $?)) "no PIN is asked of an unregistered key"

# --- two keys plugged in ---
keys stranger alice
pam_is tokend alice PAM_SUCCESS "two keys: the one with the credential wins" \
    -a 1234
keys alice stranger
pam_is tokend alice PAM_SUCCESS "two keys, other order: still that one" \
    -a 1234

# --- a key that is pulled out (listed no more) ---
skset alice removed=1
keys alice
t0=$(date +%s%N)
pam_run fido2only alice -a 1234
t1=$(date +%s%N)
pam_refused "key removed: refused"
said "TEXT_INFO: Insert your security key"
ok $? "no key: asked to insert one"
said "No security key found."
ok $? "no key within fido2_wait: said so"
[ $(((t1 - t0) / 1000000)) -lt 8000 ]
ok $? "no key: fails within fido2_wait + 5 s"
skset alice removed=0

# --- replay of a captured FIDO2_FINISH ---
mkdir -m 0755 "$TK_DIR/rec"
$PROXY proxy "$TK_SOCK" "$TK_DIR/run/proxy" "$TK_DIR/rec" 20 &
PROXY_PID=$!
for i in $(seq 1 50); do [ -S "$TK_DIR/run/proxy" ] && break; sleep 0.1; done
pam_service proxied "auth required @MODULE@ config=@CONF@ socket=$TK_DIR/run/proxy"
pam_is proxied alice PAM_SUCCESS "a login through a recording proxy" \
    -a 1234
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null
fin=
for f in "$TK_DIR"/rec/req.*; do
	# type 21 (FIDO2_FINISH) is the map's key 1, value 0x15
	if python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if b"\x01\x15" in d[4:12] else 1)' "$f"; then
		fin=$f
	fi
done
[ -n "$fin" ]
ok $? "the FIDO2_FINISH request was captured"
if [ -n "$fin" ]; then
	st=$($PROXY replay "$TK_SOCK" "$fin")
	diag "replayed FIDO2_FINISH: $st"
	isnt "$st" "status=0" "a replayed FIDO2_FINISH is refused"
fi
pam_is tokend alice PAM_SUCCESS "and the next real login still passes" \
    -a 1234

# --- a cloned key: the counter does not grow ---
skset alice counter_mode=repeat
pam_run tokend alice -a 1234
pam_refused "counter not grown: refused"
said "suspended (possible copy)"
ok $? "the suspension is explained"
skset alice counter_mode=normal
pam_run tokend alice -a 1234
pam_refused "the next login with the suspended credential: refused"
tk_adm --json list alice
is "$(json_cred "$ADM_OUT" "$ALICE_CRED" state)" suspended \
    "tokenadm list shows the credential suspended"

# --- revoked credential ---
sk carolkey --pin 2222
enroll carol carolkey 2222 || bail "enrolling carol failed"
CAROL_CRED=$FCRED
keys carolkey
pam_is tokend carol PAM_SUCCESS "carol's key: success" -a 2222
tk_adm revoke carol "$CAROL_CRED"
ok $? "tokenadm revoke carol's key"
pam_run tokend carol -a 2222
pam_refused "a revoked credential: refused"
# onlyignore passes only when the module returned exactly PAM_IGNORE
pam_is onlyignore carol PAM_SUCCESS \
    "nullok, nothing left enrolled: PAM_IGNORE as before" -a 2222

# --- fallback: no key, the user also has TOTP ---
sk davekey --pin 3333
enroll dave davekey 3333 || bail "enrolling dave failed"
tk_enroll_active dave || bail "enrolling dave's TOTP failed: $ADM_ERR"
wait_step_margin
keys
code=$(totp_code "$URI")
pam_run tokend dave -a "$code"
is "$PAM_RESULT" PAM_SUCCESS "no key within fido2_wait: the TOTP code passes"
said "PROMPT_ECHO_OFF: Verification code: "
ok $? "the TOTP prompt is offered"
pam_run tokend dave -a "$(wrong_code "$URI")"
is "$PAM_RESULT" PAM_AUTH_ERR "the fallback code must be right"
pam_run fido2only dave -a "$code"
pam_refused "factors=fido2: no fallback"
said "Verification code"
ok $((! $?)) "factors=fido2: no TOTP prompt"
# a key error falls back too, and the code must still be right
keys stranger
pam_run tokend dave -a "$(wrong_code "$URI")"
is "$PAM_RESULT" PAM_AUTH_ERR "a key error, then a wrong code: refused"
said "This security key is not registered for you."
ok $? "the key error is said before the TOTP prompt"
said "PROMPT_ECHO_OFF: Verification code: "
ok $? "a key error: the TOTP prompt is offered"
keys davekey
pam_is tokend dave PAM_SUCCESS "dave's key still works" -a 3333

# --- the FIDO2 object pam_tokend.so loads from its own directory ---
# (fido2_load.c): missing, unsafe or foreign, the factor fails closed;
# the TOTP code may follow (no assertion reached tokend), and must be
# right; the key works again once the object is back.
OBJ=$TK_DIR/tokend_fido2.so
cp "$OBJ" "$TK_DIR/fido2.good"
fido2_object_refused() {	# WHAT WANT-FIDO2ONLY
	keys davekey
	pam_run fido2only dave -a 3333
	is "$PAM_RESULT" "$2" "FIDO2 object $1: factors=fido2 fails ($2)"
	said "Security keys cannot be used on this computer"
	ok $? "FIDO2 object $1: the person is told"
	pam_run tokend dave -a "$(wrong_code "$URI")"
	is "$PAM_RESULT" PAM_AUTH_ERR \
	    "FIDO2 object $1: fido2,totp asks a code, and a wrong one fails"
	said "PROMPT_ECHO_OFF: Verification code: "
	ok $? "FIDO2 object $1: the TOTP prompt is offered"
}
# erin (a key and TOTP) has not logged in yet: her code of this step
# is fresh (one login a time step per user)
DAVE_URI=$URI
sk erinkey --pin 5555
enroll erin erinkey 5555 || bail "enrolling erin failed"
tk_enroll_active erin || bail "enrolling erin's TOTP failed: $ADM_ERR"
ERIN_URI=$URI
URI=$DAVE_URI
rm -f "$OBJ"
fido2_object_refused missing PAM_AUTHINFO_UNAVAIL
keys erinkey
wait_step_margin
pam_run tokend erin -a "$(totp_code "$ERIN_URI")"
is "$PAM_RESULT" PAM_SUCCESS "FIDO2 object missing: the right TOTP code passes"
tk_adm unlock dave >/dev/null
cp "$TK_DIR/fido2.good" "$OBJ" && chmod 0775 "$OBJ"
fido2_object_refused "group-writable" PAM_SERVICE_ERR
chmod 0755 "$OBJ" && chown nobody "$OBJ"
fido2_object_refused "not owned by root" PAM_SERVICE_ERR
rm -f "$OBJ" && ln -s "$TK_DIR/fido2.good" "$OBJ"
fido2_object_refused "a symbolic link" PAM_AUTHINFO_UNAVAIL
rm -f "$OBJ" && cp "$TK_MODULE" "$OBJ"
fido2_object_refused "of another kind (no entry point)" PAM_AUTHINFO_UNAVAIL
tk_adm unlock dave >/dev/null
rm -f "$OBJ" && cp "$TK_DIR/fido2.good" "$OBJ"
keys davekey
pam_is fido2only dave PAM_SUCCESS "the FIDO2 object back: the key works" \
    -a 3333

done_testing
