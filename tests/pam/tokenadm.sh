#!/bin/bash
# tokenadm.sh -- tokenadm's contract for scripts: exit codes (0 ok,
# 1 refused or not found, 2 usage, 3 daemon unreachable) and the JSON
# printed by --json for enroll, list, revoke, unlock and status.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool
need_built
tk_setup
tk_write_conf "max_failures = 2"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
pam_services

# ---- usage errors: 2 (no daemon needed)
usage() { # NAME ARGS...
	local name=$1
	shift
	tk_adm "$@"
	is "$ADM_RC" 2 "usage: $name exits 2"
}
usage "no command"
usage "unknown command" frobnicate
usage "unknown option" --frobnicate status
usage "enroll without a kind" enroll
usage "enroll totp without a user" enroll totp
usage "enroll of an unknown kind" enroll password alice
usage "--digits 7" enroll totp alice --digits 7
usage "--algorithm md5" enroll totp alice --algorithm md5
usage "confirm without a code" confirm alice 1
usage "confirm with a non-numeric credential" confirm alice one 123456
usage "revoke without a credential" revoke alice
usage "revoke with both a credential and --all" revoke alice 1 --all
usage "unlock without a user" unlock
usage "status with an extra argument" status extra
tk_adm --help
is "$ADM_RC" 0 "--help exits 0"
like "$ADM_OUT$ADM_ERR" 'enroll' "... and lists the commands"

# ---- daemon unreachable: 3
for cmd in status list "unlock alice" "enroll totp alice" "revoke alice 1"; do
	# shellcheck disable=SC2086
	tk_adm $cmd
	is "$ADM_RC" 3 "daemon down: tokenadm $cmd exits 3"
done

tk_start || bail "tokend did not start"

# ---- refused / not found: 1
tk_adm revoke nosuchuser 1
is "$ADM_RC" 1 "revoke of an unknown user's credential exits 1"
tk_adm revoke nosuchuser --all
is "$ADM_RC" 1 "revoke --all of a user with nothing exits 1"
tk_adm confirm nosuchuser 1 123456
is "$ADM_RC" 1 "confirm of an unknown credential exits 1"
tk_enroll alice --label "desk phone"
is "$ADM_RC" 0 "enroll alice"
alice_cred=$CRED
alice_uri=$URI
tk_adm revoke alice 999999
is "$ADM_RC" 1 "revoke of a credential that does not exist exits 1"
tk_adm revoke bob "$alice_cred"
is "$ADM_RC" 1 "revoke of alice's credential as bob's exits 1"
tk_adm confirm bob "$alice_cred" "$(totp_code "$alice_uri")"
is "$ADM_RC" 1 "confirm of alice's credential as bob's exits 1"
tk_adm --json enroll totp "bad
name"
like "$ADM_RC" '^[12]$' "enroll of a user name with a newline is refused"
tk_adm --json enroll totp "$(printf 'u%.0s' $(seq 1 300))"
like "$ADM_RC" '^[12]$' "enroll of a 300-byte user name is refused"

# ---- JSON: enroll with options
tk_enroll bob --label "token 2" --digits 8 --algorithm sha512
is "$ADM_RC" 0 "enroll bob --digits 8 --algorithm sha512"
bob_cred=$CRED
bob_uri=$URI
is "$(json_get "$ADM_OUT" .user)" bob "enroll JSON: user"
is "$(json_get "$ADM_OUT" .state)" pending "enroll JSON: state"
python3 -c 'import json,sys; v=json.loads(sys.argv[1])["credential"]; sys.exit(0 if isinstance(v,int) and not isinstance(v,bool) else 1)' "$ADM_OUT"
ok $? "enroll JSON: credential is a JSON number"
like "$bob_uri" '^otpauth://totp/[^?]*bob' "enroll JSON: the URI names the user"
like "$bob_uri" 'issuer=tokend' "enroll JSON: the URI names the issuer"
is "$(uri_param "$bob_uri" digits)" 8 "enroll JSON: digits=8 in the URI"
is "$(uri_param "$bob_uri" algorithm)" SHA512 "enroll JSON: algorithm=SHA512 in the URI"

wait_step_margin
tk_adm confirm alice "$alice_cred" "$(totp_code "$alice_uri" -30)"
is "$ADM_RC" 0 "confirm alice exits 0"
tk_adm --json confirm bob "$bob_cred" "$(totp_code "$bob_uri" -30)"
is "$ADM_RC" 0 "confirm --json bob exits 0"
json_ok "$ADM_OUT"
ok $? "confirm --json prints JSON"
is "$(json_get "$ADM_OUT" .state)" active "confirm JSON: state active"

# ---- JSON: list
tk_enroll carol
carol_cred=$CRED
tk_adm --json list
is "$ADM_RC" 0 "list --json exits 0"
json_ok "$ADM_OUT"
ok $? "list --json prints JSON"
diag "$ADM_OUT"
is "$(json_cred "$ADM_OUT" "$alice_cred" user)" alice "list JSON: alice's record has user"
is "$(json_cred "$ADM_OUT" "$alice_cred" kind)" totp "list JSON: kind totp"
is "$(json_cred "$ADM_OUT" "$alice_cred" state)" active "list JSON: state active"
is "$(json_cred "$ADM_OUT" "$alice_cred" label)" "desk phone" "list JSON: label"
like "$(json_cred "$ADM_OUT" "$alice_cred" created)" \
    '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "list JSON: created (UTC, ISO 8601)"
is "$(json_cred "$ADM_OUT" "$carol_cred" last_used)" null "list JSON: last_used null (never used)"
is "$(json_cred "$ADM_OUT" "$carol_cred" state)" pending "list JSON: carol's state pending"
is "$(json_cred "$ADM_OUT" "$bob_cred" digits)" 8 "list JSON: bob's digits"
is "$(json_cred "$ADM_OUT" "$bob_cred" algorithm)" sha512 "list JSON: bob's algorithm"
unlike "$ADM_OUT" 'secret|otpauth' "list JSON shows no secret"
tk_adm --json list bob
is "$(json_cred "$ADM_OUT" "$alice_cred" user)" "" "list bob does not show alice"
is "$(json_cred "$ADM_OUT" "$bob_cred" user)" bob "list bob shows bob"
tk_adm list
is "$ADM_RC" 0 "list (table) exits 0"
like "$ADM_OUT" 'alice' "list table shows alice"
like "$ADM_OUT" 'desk phone' "list table shows the label"
unlike "$ADM_OUT" '\{' "list table is not JSON"

# ---- JSON: unlock
pam_run tokend bob -a 00000000
pam_run tokend bob -a 00000000
pam_is tokend bob PAM_MAXTRIES "bob is locked after 2 failures" \
    -a "$(totp_code "$bob_uri")"
tk_adm --json list bob
is "$(json_cred "$ADM_OUT" "$bob_cred" locked)" true "list JSON: locked true"
tk_adm --json status
is "$(json_get "$ADM_OUT" .locked_users)" 1 "status JSON: locked_users 1"
tk_adm --json unlock bob
is "$ADM_RC" 0 "unlock --json exits 0"
json_ok "$ADM_OUT"
ok $? "unlock --json prints JSON"
diag "$ADM_OUT"
is "$(json_get "$ADM_OUT" .user)" bob "unlock JSON: user"
is "$(json_get "$ADM_OUT" .unlocked)" true "unlock JSON: unlocked true"
is "$(json_get "$ADM_OUT" .failures_cleared)" 2 "unlock JSON: failures_cleared 2"
pam_is tokend bob PAM_SUCCESS "bob logs in after the unlock" \
    -a "$(totp_code "$bob_uri")"

# ---- JSON: revoke
tk_adm --json revoke bob "$bob_cred"
is "$ADM_RC" 0 "revoke --json exits 0"
json_ok "$ADM_OUT"
ok $? "revoke --json prints JSON"
diag "$ADM_OUT"
is "$(json_get "$ADM_OUT" .user)" bob "revoke JSON: user"
is "$(json_get "$ADM_OUT" .revoked)" 1 "revoke JSON: revoked 1"
tk_adm --json list bob
is "$(json_cred "$ADM_OUT" "$bob_cred" state)" revoked "list JSON: state revoked"
tk_adm revoke bob "$bob_cred"
is "$ADM_RC" 1 "revoking it again exits 1"

# ---- JSON: status
tk_adm --json status
is "$ADM_RC" 0 "status --json exits 0"
diag "$ADM_OUT"
like "$(json_get "$ADM_OUT" .version)" '^[0-9]+\.[0-9]+' "status JSON: version"
like "$(json_get "$ADM_OUT" .uptime)" '^[0-9]+$' "status JSON: uptime"
is "$(json_get "$ADM_OUT" .users)" 2 \
    "status JSON: users 2 (alice, carol; bob's only credential is revoked)"
is "$(json_get "$ADM_OUT" .credentials)" 2 "status JSON: credentials 2"
is "$(json_get "$ADM_OUT" .store_ok)" true "status JSON: store_ok true"
want_store=sqlite
[ -n "${TK_TEST_STORE_URL:-}" ] && want_store=postgresql
is "$(json_get "$ADM_OUT" .store)" "$want_store" \
    "status JSON: store $want_store"

# ---- on a terminal: URI, QR code, then a code typed in (phone.py plays
# the administrator's terminal and the phone)
wait_step_margin
python3 "$TOP_SRCDIR/tests/pam/phone.py" "$TOKENADM" -c "$TK_CONF" \
    enroll totp dave --label tty >"$TK_DIR/out/tty" 2>&1
is $? 0 "enroll totp on a terminal exits 0 after a valid code"
tty_out=$(cat "$TK_DIR/out/tty")
like "$tty_out" 'otpauth://totp/[^ ]*secret=' "... it shows the otpauth URI"
like "$tty_out" '(▀|▄|█)' "... and a QR code drawn with half blocks"
tk_adm --json list dave
is "$(python3 -c 'import json,sys; print(",".join(r["state"] for r in json.loads(sys.argv[1])))' \
    "$ADM_OUT" 2>/dev/null)" active "... and the credential is active"

tk_adm --json enroll totp erin --qr-png "$TK_DIR/qr.png"
is "$ADM_RC" 0 "enroll --qr-png exits 0"
is "$(head -c 8 "$TK_DIR/qr.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" \
    89504e470d0a1a0a "... and writes a PNG file"

done_testing
