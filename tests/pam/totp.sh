#!/bin/bash
# totp.sh -- TOTP end to end with the real clock: enroll with tokenadm,
# compute codes independently with oathtool from the otpauth URI, log in
# through pam_tokend.so; replay, older-after-newer, wrong codes,
# lockout and unlock (also across a restart), revocation, malformed
# answers from the conversation, SHA-256 and SHA-512 with 8 digits.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool
need_built
tk_setup
tk_write_conf "max_failures = 3"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services

# ---- enrollment output
tk_enroll alice --label "alice phone"
is "$ADM_RC" 0 "tokenadm --json enroll totp exits 0"
json_ok "$ADM_OUT"
ok $? "... and prints JSON"
diag "$(printf '%s\n' "$ADM_OUT" | sed 's/secret=[A-Z2-7]*/secret=.../')"
is "$(python3 -c 'import json,sys; print(",".join(sorted(json.loads(sys.argv[1]))))' \
    "$ADM_OUT" 2>/dev/null)" "credential,otpauth_uri,state,user" \
    "... with exactly user, credential, otpauth_uri, state"
is "$(json_get "$ADM_OUT" .user)" alice "... user is alice"
is "$(json_get "$ADM_OUT" .state)" pending "... state is pending"
like "$CRED" '^[1-9][0-9]*$' "... credential is a positive number"
like "$URI" '^otpauth://totp/' "... otpauth_uri is an otpauth://totp/ URI"
is "$(uri_param "$URI" issuer)" tokend "... issuer=tokend (the default)"
secret=$(uri_param "$URI" secret)
nbytes=$(python3 -c 'import base64,sys; s=sys.argv[1]; print(len(base64.b32decode(s + "=" * (-len(s) % 8))))' \
    "$secret" 2>/dev/null)
[ "${nbytes:-0}" -ge 20 ]
ok $? "... the secret has at least 160 bits ($nbytes bytes)"
alg=$(uri_param "$URI" algorithm) || alg=SHA1
is "$alg" SHA1 "... default algorithm SHA1"
digits=$(uri_param "$URI" digits) || digits=6
is "$digits" 6 "... default 6 digits"

tk_enroll alice
secret2=$(uri_param "$URI" secret)
isnt "$secret2" "$secret" "a second enrollment gets a different secret"
tk_adm revoke alice "$CRED"
is "$ADM_RC" 0 "... which can be revoked while pending"

# alice's first credential again (the one labelled "alice phone")
tk_adm --json list alice
CRED=$(python3 -c '
import json, sys
def walk(x):
    if isinstance(x, dict):
        if x.get("label") == "alice phone": print(x.get("credential"))
        for y in x.values(): walk(y)
    elif isinstance(x, list):
        for y in x: walk(y)
walk(json.loads(sys.argv[1]))' "$ADM_OUT" 2>/dev/null | head -n 1)
like "$CRED" '^[1-9][0-9]*$' "tokenadm --json list finds the pending credential"
is "$(json_cred "$ADM_OUT" "$CRED" state)" pending "... in state pending"
URI="otpauth://totp/x?secret=$secret"

# ---- a pending credential cannot log in
wait_step_margin
pam_is tokend alice PAM_AUTH_ERR "a pending credential cannot log in" \
    -a "$(totp_code "$URI")"

# ---- confirm
tk_adm confirm alice "$CRED" "$(wrong_code "$URI")"
is "$ADM_RC" 1 "confirm with a wrong code exits 1"
tk_adm --json list alice
is "$(json_cred "$ADM_OUT" "$CRED" state)" pending "... and it stays pending"

wait_step_margin
tk_adm confirm alice "$CRED" "$(totp_code "$URI" -30)"
is "$ADM_RC" 0 "confirm with a valid code exits 0"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_ERR"
tk_adm --json list alice
is "$(json_cred "$ADM_OUT" "$CRED" state)" active "... and it is active"

# ---- log in, replay, older after newer
code=$(totp_code "$URI")
pam_is tokend alice PAM_SUCCESS "the current code logs in: PAM_SUCCESS" \
    -a "$code"
like "$PAM_ERR" '^PROMPT_ECHO_OFF: Verification code: $' \
    "... after the prompt 'Verification code: ' with echo off"
pam_is tokend alice PAM_AUTH_ERR "the same code again: PAM_AUTH_ERR" \
    -a "$code"
pam_is nullok alice PAM_AUTH_ERR \
    "the same code again, nullok + pam_permit: the stack fails" -a "$code"
next=$(totp_code "$URI" 30)
pam_is tokend alice PAM_SUCCESS \
    "the next step's code (inside the window) logs in" -a "$next"
pam_is tokend alice PAM_AUTH_ERR \
    "the current step's code after the next one was used: PAM_AUTH_ERR" \
    -a "$code"
tk_adm --json list alice
last=$(json_cred "$ADM_OUT" "$CRED" last_used)
like "$last" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
    "list shows a last use time ($last)"

# ---- wrong codes
tk_enroll_active bob || diag "enroll bob: $ADM_ERR"
wait_step_margin
pam_is tokend bob PAM_AUTH_ERR "a wrong code: PAM_AUTH_ERR" \
    -a "$(wrong_code "$URI")"
pam_is tokend bob PAM_SUCCESS "then the right code: PAM_SUCCESS" \
    -a "$(totp_code "$URI")"

# ---- lockout after max_failures (3), across a restart, unlock
tk_enroll_active carol || diag "enroll carol: $ADM_ERR"
wait_step_margin
bad=$(wrong_code "$URI")
pam_is tokend carol PAM_AUTH_ERR "carol: failure 1: PAM_AUTH_ERR" -a "$bad"
pam_is tokend carol PAM_AUTH_ERR "carol: failure 2: PAM_AUTH_ERR" -a "$bad"
pam_run tokend carol -a "$bad"
like "$PAM_RESULT" '^PAM_(AUTH_ERR|MAXTRIES)$' \
    "carol: failure 3: refused ($PAM_RESULT)"
pam_is tokend carol PAM_MAXTRIES \
    "carol is locked: the right code gets PAM_MAXTRIES" \
    -a "$(totp_code "$URI")"
pam_is nullok carol PAM_MAXTRIES \
    "locked, nullok + pam_permit: the stack fails with PAM_MAXTRIES" \
    -a "$(totp_code "$URI")"
tk_adm --json status
is "$(json_get "$ADM_OUT" .locked_users)" 1 "tokenadm status counts 1 locked user"
tk_stop
is $? 0 "tokend stops"
tk_start
ok $? "tokend starts again"
pam_is tokend carol PAM_MAXTRIES "carol is still locked after the restart" \
    -a "$(totp_code "$URI")"
tk_adm unlock carol
is "$ADM_RC" 0 "tokenadm unlock carol exits 0"
wait_step_margin
pam_is tokend carol PAM_AUTH_ERR "unlocked: failure 1: PAM_AUTH_ERR" -a "$bad"
pam_is tokend carol PAM_AUTH_ERR "unlocked: failure 2: PAM_AUTH_ERR" -a "$bad"
pam_is tokend carol PAM_SUCCESS "unlocked: the right code logs in" \
    -a "$(totp_code "$URI")"
pam_is tokend carol PAM_AUTH_ERR "after the success: failure 1: PAM_AUTH_ERR" \
    -a "$bad"
pam_is tokend carol PAM_AUTH_ERR "after the success: failure 2: PAM_AUTH_ERR" \
    -a "$bad"
pam_is tokend carol PAM_SUCCESS \
    "the success had reset the count: the next code logs in" \
    -a "$(totp_code "$URI" 30)"

# ---- revocation
tk_enroll_active dave || diag "enroll dave: $ADM_ERR"
dave_cred=$CRED
tk_adm revoke dave "$dave_cred"
is "$ADM_RC" 0 "tokenadm revoke dave CRED exits 0"
wait_step_margin
pam_is tokend dave PAM_AUTH_ERR "a revoked credential: PAM_AUTH_ERR" \
    -a "$(totp_code "$URI")"
tk_adm --json list dave
is "$(json_cred "$ADM_OUT" "$dave_cred" state)" revoked \
    "list shows the credential revoked"

tk_enroll_active erin || diag "enroll erin: $ADM_ERR"
uri1=$URI
tk_enroll_active erin || diag "enroll erin: $ADM_ERR"
uri2=$URI
tk_adm revoke erin --all
is "$ADM_RC" 0 "tokenadm revoke erin --all exits 0"
wait_step_margin
pam_is tokend erin PAM_AUTH_ERR "revoked (--all), first credential: refused" \
    -a "$(totp_code "$uri1")"
pam_is tokend erin PAM_AUTH_ERR "revoked (--all), second credential: refused" \
    -a "$(totp_code "$uri2")"

# ---- broken or odd answers are never success, even with nullok and
# pam_permit after the module
tk_enroll_active frank || diag "enroll frank: $ADM_ERR"
wait_step_margin
good=$(totp_code "$URI")
never() { # NAME DRIVER-ARGS
	local name=$1
	shift
	pam_run nullok frank "$@"
	pam_refused "$name: the stack fails ($PAM_RESULT)"
	tk_adm unlock frank >/dev/null 2>&1
}
never "empty answer" -a ""
never "NULL response text (Ctrl-D)" -0
never "no response array" -Z
never "conversation error" -N
never "no conversation function" -C
never "200 digits" -a "$(printf '1%.0s' $(seq 1 200))"
never "letters" -a "12a456"
never "full-width digits" -a "１２３４５６"
never "the right code with a digit more" -a "${good}0"
never "the right code without its last digit" -a "${good%?}"
never "a negative number" -a "-$good"
pam_is tokend frank PAM_SUCCESS "and then the right code still logs in" \
    -a "$good"

# ---- SHA-256 and SHA-512, 8 digits
for alg in sha256 sha512; do
	user=user-$alg
	tk_enroll "$user" --digits 8 --algorithm "$alg"
	is "$ADM_RC" 0 "$alg/8: enroll exits 0"
	is "$(uri_param "$URI" algorithm)" "${alg^^}" "$alg/8: the URI says algorithm=${alg^^}"
	is "$(uri_param "$URI" digits)" 8 "$alg/8: the URI says digits=8"
	wait_step_margin
	tk_adm confirm "$user" "$CRED" "$(totp_code "$URI" -30)"
	is "$ADM_RC" 0 "$alg/8: confirm exits 0"
	code=$(totp_code "$URI")
	is "${#code}" 8 "$alg/8: oathtool makes an 8-digit code"
	sha1=$(oathtool --totp -d 8 -b "$(uri_param "$URI" secret)" \
	    --now="@$(date +%s)")
	if [ "$sha1" != "$code" ]; then
		pam_is tokend "$user" PAM_AUTH_ERR \
		    "$alg/8: the SHA-1 code of the same secret is refused" \
		    -a "$sha1"
	else
		skip "$alg/8: the SHA-1 code is refused" "it equals the $alg code"
	fi
	pam_is tokend "$user" PAM_SUCCESS "$alg/8: the code logs in" -a "$code"
done

# ---- the daemon stops: fail closed
tk_stop
pam_is tokend alice PAM_AUTHINFO_UNAVAIL "daemon stopped: PAM_AUTHINFO_UNAVAIL" \
    -a "$(totp_code "$uri1")"

done_testing
