#!/bin/bash
# recovery.sh -- recovery codes through the real PAM stack: issued with
# tokenadm (shown once), typed at the verification code prompt (either
# case, dashes optional), each works once and says how many are left,
# a new set voids the old one, failures are throttled and lock like TOTP
# codes, a user with only recovery codes gets the prompt (not nullok's
# ignore), and every step is audited.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool sqlite3
need_built
tk_setup
tk_write_conf "max_failures = 4"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services

sq() { tk_sql "$1"; }
codes_of() {
	python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["codes"]))' "$1"
}

# ---- issue
tk_adm recovery alice
is "$ADM_RC" 0 "tokenadm recovery exits 0"
like "$ADM_OUT" 'Each code works once' "... and explains the codes"
n=$(printf '%s\n' "$ADM_OUT" | grep -cE '^  [0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$')
is "$n" 10 "... showing 10 codes of the form xxxx-xxxx-xxxx"
tk_adm --json recovery alice --count 4
is "$ADM_RC" 0 "tokenadm --json recovery --count 4 exits 0"
is "$(json_get "$ADM_OUT" .user)" alice "... JSON names the user"
mapfile -t codes < <(codes_of "$ADM_OUT")
is "${#codes[@]}" 4 "... and holds 4 codes"
like "${codes[0]}" '^[0-9abcdefghjkmnpqrstvwxyz]{4}(-[0-9abcdefghjkmnpqrstvwxyz]{4}){2}$' \
    "... from Crockford's alphabet"
tk_adm recovery alice --count 21
is "$ADM_RC" 2 "--count 21 is a usage error"
tk_adm recovery alice --count 0
is "$ADM_RC" 2 "--count 0 is a usage error"

# ---- only recovery codes: the TOTP prompt, not nullok's ignore
pam_run nullok alice -a "${codes[0]}"
is "$PAM_RESULT" PAM_SUCCESS "a user with only recovery codes logs in with one"
like "$PAM_ERR" 'Verification code:' "... at the verification code prompt (not ignored under nullok)"
like "$PAM_ERR" 'Recovery code used; 3 left\.' "... and is told 3 are left"

# ---- single use
pam_run tokend alice -a "${codes[0]}"
is "$PAM_RESULT" PAM_AUTH_ERR "the same recovery code again is refused"
# capitals, no dashes
up=$(printf '%s' "${codes[1]}" | tr -d - | tr a-z A-Z)
pam_run tokend alice -a "$up"
is "$PAM_RESULT" PAM_SUCCESS "a code typed in capitals without dashes works"
like "$PAM_ERR" '2 left' "... 2 left"

# ---- shapes the module refuses before sending anything
before=$(sq "SELECT count(*) FROM audit WHERE event = 'recovery_use'")
pam_run tokend alice -a "${codes[2]}x"
is "$PAM_RESULT" PAM_AUTH_ERR "a code with a character too many is refused"
pam_run tokend alice -a "${codes[2]//-/_}"
is "$PAM_RESULT" PAM_AUTH_ERR "... and one with _ for -"
after=$(sq "SELECT count(*) FROM audit WHERE event = 'recovery_use'")
is "$after" "$before" "... by the module: nothing reached tokend"

# ---- a new set voids the old one
tk_adm --json recovery alice --count 2
mapfile -t new < <(codes_of "$ADM_OUT")
pam_run tokend alice -a "${codes[3]}"
is "$PAM_RESULT" PAM_AUTH_ERR "an unused code of the old set no longer works"
tk_adm unlock alice >/dev/null
pam_run tokend alice -a "${new[0]}"
is "$PAM_RESULT" PAM_SUCCESS "a code of the new set works"
like "$PAM_ERR" 'Recovery code used; 1 left\.' "... 1 left"
pam_run tokend alice -a "${new[1]}"
like "$PAM_ERR" 'none left' "the last code says none are left"
tk_adm --json list alice
pam_run tokend alice -a "${new[1]}"
is "$PAM_RESULT" PAM_AUTH_ERR "with none left (and no TOTP) the user is not enrolled"

# ---- with TOTP as well, and throttling
tk_enroll_active bob || bail "enroll bob"
tk_adm --json recovery bob --count 3
mapfile -t bc < <(codes_of "$ADM_OUT")
wait_step_margin
pam_run tokend bob -a "$(totp_code "$URI")"
is "$PAM_RESULT" PAM_SUCCESS "bob's TOTP code still works next to recovery codes"
for i in 1 2 3; do
	pam_run tokend bob -a "zzzz-zzzz-zzz$i"
done
is "$PAM_RESULT" PAM_AUTH_ERR "wrong recovery codes are refused"
pam_run tokend bob -a "zzzz-zzzz-zzz4"
is "$PAM_RESULT" PAM_MAXTRIES "the 4th wrong one (max_failures = 4) locks"
pam_run tokend bob -a "${bc[0]}"
is "$PAM_RESULT" PAM_MAXTRIES "locked: a good recovery code is refused too"
unlike "$PAM_ERR" 'Verification code' "... before any prompt"
tk_adm unlock bob >/dev/null
pam_run tokend bob -a "${bc[0]}"
is "$PAM_RESULT" PAM_SUCCESS "after unlock the good code works (it was not used up)"
like "$PAM_ERR" '2 left' "... 2 left"

# ---- the audit trail
is "$(sq "SELECT count(*) FROM audit WHERE event = 'recovery_issue' AND result = 'ok'")" 4 \
    "each issue is one recovery_issue row"
is "$(sq "SELECT reason FROM audit WHERE event = 'recovery_issue' AND user = 'bob'")" \
    "count=3" "... with the count only"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'recovery_use' AND result = 'ok'")" 5 \
    "each use is one recovery_use row with result ok"
is "$(sq "SELECT reason FROM audit WHERE event = 'recovery_use' AND result = 'ok' ORDER BY seq DESC LIMIT 1")" \
    "2 left" "... saying how many are left"
n=$(sq "SELECT count(*) FROM audit WHERE event = 'recovery_use' AND result IN ('wrong', 'locked')")
[ "${n:-0}" -ge 5 ]
ok $? "failed recovery codes are audited as wrong or locked ($n)"
tk_adm audit verify
is "$ADM_RC" 0 "the chain verifies"

tk_stop
done_testing
