#!/bin/bash
# tokenadm_fido2.sh -- tokenadm's FIDO2 commands (enroll fido2, devices,
# list, reinstate, revoke) against a real tokend, with soft keys
# (tests/softkey) reached through the LD_PRELOAD shim, so the real
# libfido2 paths of tokenadm run.  PINs are typed on a pseudo-terminal,
# as an administrator would.
. "$TOP_SRCDIR/tests/pam/lib.sh"

SK_DIR=$TOP_BUILDDIR/tests/softkey
SK_CTL=$SK_DIR/softkey-ctl
SK_PRELOAD=$SK_DIR/.libs/softkey-preload.so

need_root
need_wrappers
need_cmd python3
need_built
[ -x "$SK_CTL" ] && [ -f "$SK_PRELOAD" ] ||
    bail "not built: $SK_CTL or $SK_PRELOAD"
tk_setup
# keys made from one sample AAGUID are the "approved model"
APPROVED=736f6674-6b65-792d-746f-6b656e640001
OTHER=cb69481e-8ff7-4039-93ec-0a2729a154a8
tk_write_conf "
[fido2]
allowed_aaguids = $APPROVED

[pam]
fido2_wait = 1"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
pam_services
mkdir -m 0755 "$TK_DIR/keys"

# key NAME [softkey-ctl init options]: a new soft key state file
key() {
	local f=$TK_DIR/keys/$1
	shift
	"$SK_CTL" init "$f" "$@" >/dev/null || bail "softkey-ctl init $f"
	echo "$f"
}

# fadm KEYS ARGS...: tokenadm with the soft keys KEYS (colon-separated
# state files, may be empty) plugged in; like tk_adm (ADM_RC, ADM_OUT,
# ADM_ERR), standard input /dev/null and no terminal
fadm() {
	local keys=$1
	shift
	env LD_PRELOAD="$SK_PRELOAD" SOFTKEY_KEYS="$keys" \
	    "$TOKENADM" -c "$TK_CONF" "$@" \
	    >"$TK_DIR/out/adm.out" 2>"$TK_DIR/out/adm.err" </dev/null
	ADM_RC=$?
	ADM_OUT=$(cat "$TK_DIR/out/adm.out")
	ADM_ERR=$(cat "$TK_DIR/out/adm.err")
	return $ADM_RC
}

# ttyadm KEYS "PROMPT=ANSWER"... -- ARGS...: as fadm, but on a new
# pseudo-terminal that is the controlling terminal; each time the next
# PROMPT (a substring) appears on the terminal, ANSWER and Enter are
# typed.  TTY_OUT holds what the terminal showed.
ttyadm() {
	local keys=$1
	shift
	local -a answers=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		answers+=("$1")
		shift
	done
	shift
	timeout 60 python3 - "$TK_DIR/out" "${answers[@]}" -- \
	    env LD_PRELOAD="$SK_PRELOAD" SOFTKEY_KEYS="$keys" \
	    "$TOKENADM" -c "$TK_CONF" "$@" <<'PYEOF'
import os, pty, select, sys, time
outdir = sys.argv[1]
i = sys.argv.index("--", 2)
answers = [a.split("=", 1) for a in sys.argv[2:i]]
cmd = sys.argv[i + 1:]
pid, fd = pty.fork()
if pid == 0:
    o = os.open(outdir + "/adm.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    e = os.open(outdir + "/adm.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    n = os.open("/dev/null", os.O_RDONLY)
    # fd 9 keeps the terminal open, so that the master side does not
    # see a hang-up before the program opens /dev/tty
    os.dup2(0, 9)
    os.dup2(n, 0); os.dup2(o, 1); os.dup2(e, 2)
    os.execvp(cmd[0], cmd)
seen = b""
pos = 0
status = None
deadline = time.time() + 50
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        seen += data
    while answers and answers[0][0].encode() in seen[pos:]:
        pos = seen.index(answers[0][0].encode(), pos) + len(answers[0][0])
        os.write(fd, answers[0][1].encode() + b"\n")
        answers.pop(0)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done == pid:
        status = st
        break
if status is None:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
open(outdir + "/adm.tty", "wb").write(seen)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128)
PYEOF
	ADM_RC=$?
	ADM_OUT=$(cat "$TK_DIR/out/adm.out")
	ADM_ERR=$(cat "$TK_DIR/out/adm.err")
	TTY_OUT=$(tr -d '\r' <"$TK_DIR/out/adm.tty")
	return $ADM_RC
}

# the credential number of JSON enroll output
cred_of() {
	json_get "$1" .credential
}

K_SELF=$(key self --pin 1234 --attestation self)
K_BASIC=$(key basic --pin 1234 --attestation basic)
K_OTHER=$(key other --pin 1234 --aaguid "$OTHER")
K_BARE=$(key bare)
K_UV=$(key uv --builtin-uv)
K_NONE=$(key none --pin 1234 --attestation none)
K_SETPIN=$(key setpin)

# ---- devices: no tokend needed
fadm "" devices
is "$ADM_RC" 0 "devices with no key exits 0"
like "$ADM_OUT" 'No security key found' "... and says so"
fadm "" --json devices
is "$ADM_OUT" "[]" "devices --json with no key: []"
fadm "$K_SELF:$K_UV" --json devices
is "$ADM_RC" 0 "devices with two keys exits 0"
is "$(json_get "$ADM_OUT" '[0].path')" "softkey:$K_SELF" "devices: first path"
is "$(json_get "$ADM_OUT" '[0].pin_set')" true "devices: first key has a PIN"
is "$(json_get "$ADM_OUT" '[0].pin_retries')" 8 "devices: its PIN retries"
is "$(json_get "$ADM_OUT" '[0].uv_builtin')" false "devices: no built-in UV"
is "$(json_get "$ADM_OUT" '[0].aaguid')" "$APPROVED" "devices: AAGUID"
is "$(json_get "$ADM_OUT" '[1].pin_set')" false "devices: second key has no PIN"
is "$(json_get "$ADM_OUT" '[1].uv_builtin')" true "devices: second key has built-in UV"
is "$(json_get "$ADM_OUT" '[1].pin_retries')" null "devices: no retries without a PIN"
fadm "$K_OTHER" devices
like "$ADM_OUT" 'YubiKey 5 Series' "devices: a well-known AAGUID shows its model"

# ---- usage errors: 2, before anything else
fadm "" enroll fido2
is "$ADM_RC" 2 "enroll fido2 without a user exits 2"
fadm "" enroll fido2 alice --uv sometimes
is "$ADM_RC" 2 "enroll fido2 --uv sometimes exits 2"
fadm "" enroll fido2 alice --digits 6
is "$ADM_RC" 2 "enroll fido2 with a TOTP option exits 2"
fadm "" reinstate alice
is "$ADM_RC" 2 "reinstate without a credential exits 2"

# ---- daemon down: 3
fadm "$K_SELF" enroll fido2 alice
is "$ADM_RC" 3 "daemon down: enroll fido2 exits 3"

tk_start || bail "tokend did not start"

# ---- enroll: self attestation, PIN typed on the terminal
ttyadm "$K_SELF" "PIN of the security key: =1234" -- \
    --json enroll fido2 alice --label "key 1"
is "$ADM_RC" 0 "enroll fido2 (self attestation, PIN) exits 0"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR"
json_ok "$ADM_OUT"
ok $? "... and prints one JSON object"
alice_cred=$(cred_of "$ADM_OUT")
is "$(json_get "$ADM_OUT" .state)" active "... state active"
is "$(json_get "$ADM_OUT" .kind)" fido2 "... kind fido2"
is "$(json_get "$ADM_OUT" .aaguid)" "$APPROVED" "... AAGUID"
is "$(json_get "$ADM_OUT" .attestation_format)" packed "... format packed"
is "$(json_get "$ADM_OUT" .algorithm)" es256 "... algorithm es256"
is "$(json_get "$ADM_OUT" .model)" null "... model unknown: null"
like "$ADM_ERR" 'Touch your security key' "... asked for a touch on stderr"
unlike "$TTY_OUT" '1234' "... the PIN was not echoed"

# ---- enroll: basic attestation, human output
ttyadm "$K_BASIC" "PIN of the security key: =1234" -- \
    enroll fido2 bob
is "$ADM_RC" 0 "enroll fido2 (basic attestation) exits 0"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR"
like "$ADM_OUT" '^Credential [0-9]+ of bob is active' "... says so"
like "$ADM_OUT" 'unknown model' "... model unknown"
bob_cred=$(printf '%s\n' "$ADM_OUT" | sed -n 's/^Credential \([0-9]*\) .*/\1/p')

# ---- the same key again: excluded by the key itself
ttyadm "$K_SELF" "PIN of the security key: =1234" -- \
    enroll fido2 alice
is "$ADM_RC" 1 "the same key for alice again exits 1"
like "$ADM_ERR" 'enrolled already' "... says it is enrolled already"

# ---- refusals
ttyadm "$K_OTHER" "PIN of the security key: =1234" -- \
    enroll fido2 carol
is "$ADM_RC" 1 "a model not in allowed_aaguids is refused (exit 1)"
like "$ADM_ERR" 'refused by policy' "... by policy"
like "$ADM_ERR" "$OTHER" "... naming the key's AAGUID"
like "$ADM_ERR" 'YubiKey 5 Series' "... and model"

fadm "$K_BARE" enroll fido2 carol
is "$ADM_RC" 1 "UV required, key without PIN or UV: exit 1"
like "$ADM_ERR" 'neither a PIN nor built-in' "... explained"
like "$ADM_ERR" '--set-pin' "... suggesting --set-pin"

ttyadm "$K_NONE" "PIN of the security key: =1234" -- \
    enroll fido2 carol
is "$ADM_RC" 1 "attestation format none is refused"
like "$ADM_ERR" 'none' "... explained"

fadm "$K_SELF" enroll fido2 carol
is "$ADM_RC" 1 "a PIN needed but no terminal: exit 1"
like "$ADM_ERR" 'no terminal' "... explained"

ttyadm "$K_BASIC" "PIN of the security key: =9999" \
    "PIN of the security key: =9998" "PIN of the security key: =9997" -- \
    enroll fido2 carol
is "$ADM_RC" 1 "three wrong PINs: exit 1"
like "$ADM_ERR" 'Wrong PIN' "... saying the PIN was wrong"
is "$("$SK_CTL" get "$K_BASIC" pin_retries)" 5 "... the key counted 3 failures"

fadm "$K_SELF:$K_BASIC" enroll fido2 carol
is "$ADM_RC" 1 "two keys and no --device: exit 1"
like "$ADM_ERR" '--device' "... asking for --device"
like "$ADM_ERR" "softkey:$K_BASIC" "... listing the keys"

fadm "" enroll fido2 carol
is "$ADM_RC" 1 "no key plugged in (fido2_wait = 1): exit 1"
like "$ADM_ERR" 'Insert the security key' "... after asking for one"
like "$ADM_ERR" 'no security key found' "... and giving up"

# ---- --set-pin, then enrolled; built-in UV needs no PIN
ttyadm "$K_SETPIN" "New PIN for the security key: =4321" \
    "Repeat the new PIN: =4321" -- \
    --json enroll fido2 carol --set-pin
is "$ADM_RC" 0 "--set-pin on a key without PIN, then enrolled"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR" "$TTY_OUT"
carol_cred=$(cred_of "$ADM_OUT")
is "$("$SK_CTL" get "$K_SETPIN" pin_set)" 1 "... the key has a PIN now"

fadm "$K_UV:$K_BARE" --json enroll fido2 dave --device "softkey:$K_UV"
is "$ADM_RC" 0 "--device picks the key with built-in UV; no PIN asked"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR"
dave_cred=$(cred_of "$ADM_OUT")

fadm "$K_BARE" --json enroll fido2 erin --uv discouraged
is "$ADM_RC" 0 "--uv discouraged: a key without PIN is enrolled"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR"

# ---- list
fadm "" --json list alice
is "$ADM_RC" 0 "list alice"
is "$(json_cred "$ADM_OUT" "$alice_cred" kind)" fido2 "list: kind fido2"
is "$(json_cred "$ADM_OUT" "$alice_cred" state)" active "list: state active"
is "$(json_cred "$ADM_OUT" "$alice_cred" aaguid)" "$APPROVED" "list: aaguid"
is "$(json_cred "$ADM_OUT" "$alice_cred" attestation_format)" packed \
    "list: attestation_format"
like "$(json_cred "$ADM_OUT" "$alice_cred" sign_count)" '^[0-9]+$' \
    "list: sign_count"
fadm "" list alice
like "$ADM_OUT" 'SIGN COUNT' "list (table) has a SIGN COUNT column"

# ---- reinstate: refused on an active credential, after a suspension ok
fadm "" reinstate alice "$alice_cred"
is "$ADM_RC" 1 "reinstate of an active credential exits 1"
fadm "" reinstate alice 999999
is "$ADM_RC" 1 "reinstate of an unknown credential exits 1"

# suspend: a login with a key whose counter repeats
pam_service fido2 "auth required @MODULE@ config=@CONF@ factors=fido2"
# (a counter of 0 twice is a key without a counter: allowed; so 5, 5)
"$SK_CTL" set "$K_UV" counter=5 counter_mode=repeat >/dev/null
pam_run_key() {
	pam_driver_env "$SK_PRELOAD"
	(
		flock 9 || exit 99
		exec env "${PAM_ENV[@]}" SOFTKEY_KEYS="$1" \
		    "$TK_DRIVER" -L 9 -T 30 -s fido2 -u "$2"
	) 9>"$PWRAP_LOCK" >"$TK_DIR/out/pam.out" 2>"$TK_DIR/out/pam.err" \
	    </dev/null
	PAM_RESULT=$(awk 'NR == 1 { print $2 }' "$TK_DIR/out/pam.out")
}
pam_run_key "$K_UV" dave
first=$PAM_RESULT
pam_run_key "$K_UV" dave
fadm "" --json list dave
if [ "$(json_cred "$ADM_OUT" "$dave_cred" state)" = suspended ]; then
	ok 0 "a repeated counter suspended dave's credential"
	fadm "" list dave
	like "$ADM_OUT" 'suspended \(possible cloned key\)' \
	    "list shows the suspension so that it stands out"
	like "$ADM_OUT" 'tokenadm reinstate' "... and says what to do"
	is "$first" PAM_SUCCESS "... after a first login that was accepted"
	isnt "$PAM_RESULT" PAM_SUCCESS "... and the repeated login failed"
	fadm "" --json list dave
	is "$(json_cred "$ADM_OUT" "$dave_cred" sign_count)" 5 \
	    "list: the sign count of the last accepted login"
	fadm "" --json reinstate dave "$dave_cred"
	is "$ADM_RC" 0 "reinstate of the suspended credential exits 0"
	is "$(json_get "$ADM_OUT" .state)" active "... now active"
else
	skip "a repeated counter suspended dave's credential" \
	    "FIDO2 login not available in pam_tokend.so yet (got $PAM_RESULT)"
fi

# ---- revoke of a FIDO2 credential
fadm "" --json revoke bob "$bob_cred"
is "$ADM_RC" 0 "revoke of a FIDO2 credential exits 0"
fadm "" --json list bob
is "$(json_cred "$ADM_OUT" "$bob_cred" state)" revoked "... and it is revoked"
fadm "" reinstate bob "$bob_cred"
is "$ADM_RC" 1 "a revoked credential cannot be reinstated"
: "$carol_cred"

done_testing
