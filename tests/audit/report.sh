#!/bin/bash
# report.sh -- tokenadm audit report against a real tokend: a scripted
# month (March 2030, tokend's clock under libfaketime) of enrollments,
# logins through the real PAM stack, failures, a lockout, an unlock, a
# revocation, recovery codes, an emergency grant and a refused request,
# with rows before and after the month that must not count; the report
# (tokenadm's clock faked as well) gives exactly those numbers, lists
# the user with no active credential and the credentials unused for N
# days, and --json parses.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3
need_built
tk_setup
tk_write_conf "max_failures = 3"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2030-02-01 09:00:00"
tk_start || bail "tokend did not start"
pam_services

# tokenadm with its own clock faked at $1 (tokend's stays as it is)
ADM_FAKE=$TK_DIR/adm-faketime
adm_at() {
	local when=$1 rc
	shift
	printf '%s\n' "$when" >"$ADM_FAKE"
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$ADM_FAKE" \
	    FAKETIME_NO_CACHE=1 "$TOKENADM" -c "$TK_CONF" "$@" \
	    >"$TK_DIR/out/adm.out" 2>"$TK_DIR/out/adm.err" </dev/null
	rc=$?
	ADM_RC=$rc
	ADM_OUT=$(cat "$TK_DIR/out/adm.out")
	ADM_ERR=$(cat "$TK_DIR/out/adm.err")
	return $rc
}

# login_at TIME USER right|wrong|CODE: one PAM login at TIME on tokend's
# clock, with the right code of the user's URI (ALICE, BOB), a wrong one,
# or the code given
login_at() {
	local uri code
	tk_faketime "$1"
	case $2 in
	alice) uri=$ALICE ;;
	bob) uri=$BOB ;;
	*) uri=$CAROL ;;
	esac
	case $3 in
	right) code=$(totp_code "$uri") ;;
	wrong) code=$(wrong_code "$uri") ;;
	*) code=$3 ;;
	esac
	pam_run tokend "$2" -a "$code"
}

# ---- February (before the month): carol and dave enrolled
tk_enroll_active carol || bail "enroll carol"
CAROL=$URI
tk_enroll_active dave || bail "enroll dave"
pam_run tokend carol -a "$(wrong_code "$CAROL")"	# a February failure

# ---- March
tk_faketime "2030-03-02 09:00:00"
tk_enroll_active alice || bail "enroll alice"
ALICE=$URI
login_at "2030-03-02 09:01:00" alice right
is "$PAM_RESULT" PAM_SUCCESS "alice logs in (1)"
login_at "2030-03-02 09:02:00" alice right
login_at "2030-03-02 09:03:00" alice right
is "$PAM_RESULT" PAM_SUCCESS "alice logs in (3)"
login_at "2030-03-02 09:04:00" alice wrong
is "$PAM_RESULT" PAM_AUTH_ERR "alice: a wrong code (1)"
login_at "2030-03-02 09:05:00" alice wrong

tk_faketime "2030-03-05 09:00:00"
tk_enroll_active bob || bail "enroll bob"
BOB=$URI
login_at "2030-03-05 09:01:00" bob wrong
login_at "2030-03-05 09:02:00" bob wrong
login_at "2030-03-05 09:03:00" bob wrong
login_at "2030-03-05 09:04:00" bob right
pam_refused "bob is locked after 3 wrong codes (right code refused)"
tk_adm unlock bob
is "$ADM_RC" 0 "bob unlocked"
tk_adm --json recovery bob --count 5
is "$ADM_RC" 0 "5 recovery codes for bob"
rcode=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["codes"][0])' "$ADM_OUT")
login_at "2030-03-05 09:05:00" bob "$rcode"
is "$PAM_RESULT" PAM_SUCCESS "bob logs in with a recovery code"
login_at "2030-03-20 09:00:00" bob right
is "$PAM_RESULT" PAM_SUCCESS "bob logs in with TOTP on 2030-03-20"

tk_faketime "2030-03-25 09:00:00"
tk_adm revoke dave --all
is "$ADM_RC" 0 "dave's credential revoked"
tk_adm grant erin --for 1h --reason "key not yet issued"
is "$ADM_RC" 0 "an emergency grant for erin"
pam_is strict erin PAM_SUCCESS "erin logs in on the grant"
ADM_AS=65534:65534 tk_adm list
is "$ADM_RC" 1 "uid 65534: tokenadm list refused"

# ---- April (after the month)
login_at "2030-04-05 09:00:00" alice right
is "$PAM_RESULT" PAM_SUCCESS "alice logs in on 2030-04-05"

# ---- the report, on 2030-06-15
tk_faketime "2030-06-15 09:00:00"
adm_at "2030-06-15 09:00:00" --json audit report --month 2030-03
is "$ADM_RC" 0 "tokenadm --json audit report --month 2030-03 exits 0"
printf '%s\n' "$ADM_OUT" | python3 -m json.tool >/dev/null
ok $? "... and prints JSON (python3 -m json.tool)"
J=$ADM_OUT
jis() { is "$(json_get "$J" "$1")" "$2" "$3"; }
jis .month 2030-03 "month 2030-03"
jis .since 2030-03-01T00:00:00Z "... from 2030-03-01 (UTC)"
jis .until 2030-04-01T00:00:00Z "... to 2030-04-01"
jis .generated 2030-06-15T09:00:00Z "generated on tokenadm's clock"
jis .unused_days 90 "unused days: 90 by default"
jis .chain.intact true "the chain is intact"
jis .chain.first_bad_row null "... no bad row"
jis .totals.logins.totp 4 "TOTP logins: 4 (alice 3, bob 1)"
jis .totals.logins.recovery 1 "recovery code logins: 1"
jis .totals.logins.grant 1 "grant logins: 1"
jis .totals.logins.fido2 0 "FIDO2 logins: 0"
jis .totals.failures 5 "failures: 5 (alice 2, bob 3; PAM asks no code while locked)"
jis .totals.lockouts 1 "lockouts: 1"
jis .totals.unlocks 1 "unlocks: 1"
jis .totals.enrollments.totp 2 "TOTP enrollments: 2 (alice, bob; not February's)"
jis .totals.enrollments.fido2 0 "FIDO2 enrollments: 0"
jis .totals.revocations 1 "revocations: 1"
jis .totals.grants_issued 1 "grants issued: 1"
jis .totals.grants_used 1 "grants used: 1"
jis .totals.recovery_issued 1 "recovery code sets issued: 1"
jis .totals.recovery_codes_issued 5 "... of 5 codes"
jis .totals.recovery_used 1 "recovery codes used: 1"
jis .totals.denied 1 "refused requests: 1"
# per user, in name order
is "$(python3 -c '
import json, sys
for u in json.loads(sys.argv[1])["users"]:
    l = u["logins"]
    print(u["user"], l["totp"], l["fido2"], l["recovery"], l["grant"],
          u["failures"], u["lockouts"])' "$J" | tr '\n' ';')" \
    "alice 3 0 0 0 2 0;bob 1 0 1 0 3 1;erin 0 0 0 1 0 0;" \
    "per user: logins by factor, failures, lockouts (carol's February failure not counted)"
is "$(python3 -c '
import json, sys
print(" ".join("%s:%d" % (u["user"], u["credentials"])
               for u in json.loads(sys.argv[1])["no_active_credential"]))' "$J")" \
    "dave:1" "no active credential: dave (1 revoked)"
is "$(python3 -c '
import json, sys
print(" ".join("%s:%s:%s" % (c["user"], c["state"], c["last_used"])
               for c in json.loads(sys.argv[1])["unused_credentials"]))' "$J")" \
    "carol:active:2030-02-01T09:00:00Z" \
    "unused for 90 days: carol's (last used at her enrollment in February)"
n=$(tk_sql "SELECT count(*) FROM audit WHERE time >= $(date -u -d '2030-03-01 UTC' +%s) AND time < $(date -u -d '2030-04-01 UTC' +%s)")
jis .audit_rows "$n" "audit rows: $n, the month's"

adm_at "2030-06-15 09:00:00" --json audit report --month 2030-03 --unused-days 80
is "$(python3 -c '
import json, sys
print(" ".join("%s:%s" % (c["user"], c["last_used"])
               for c in json.loads(sys.argv[1])["unused_credentials"]))' "$ADM_OUT")" \
    "bob:2030-03-20T09:00:00Z carol:2030-02-01T09:00:00Z" \
    "unused for 80 days: bob's too (last used 2030-03-20), not alice's (2030-04-05)"

# ---- text
adm_at "2030-06-15 09:00:00" audit report --month 2030-03
is "$ADM_RC" 0 "the text report exits 0"
[ -n "${TK_SHOW:-}" ] && printf '%s\n' "$ADM_OUT" >&2
like "$ADM_OUT" 'Self-inspection report for 2030-03' "... with its title"
like "$ADM_OUT" '== Audit chain ==' "... a chain section"
like "$ADM_OUT" 'intact: [0-9]+ rows verified' "... intact"
like "$ADM_OUT" '== Logins and failures by user ==' "... a user section"
like "$ADM_OUT" 'bob +1 +0 +1 +0 +3 +1' "... bob's line"
like "$ADM_OUT" 'Lockouts +1' "... lockouts 1"
like "$ADM_OUT" 'Failed verifications +5' "... failures 5"
like "$ADM_OUT" 'Recovery codes issued +5' "... recovery codes 5"
like "$ADM_OUT" '== Users with no active credential ==' "... a section of users without credential"
like "$ADM_OUT" 'dave \(1 credential' "... naming dave"
like "$ADM_OUT" 'unused for 90 days or more' "... a section of unused credentials"
like "$ADM_OUT" 'carol +[0-9]+ +totp +.*2030-02-01T09:00:00Z' "... naming carol's"

# ---- default month: the one before tokenadm's
adm_at "2030-04-10 12:00:00" --json audit report
is "$(json_get "$ADM_OUT" .month)" 2030-03 "without --month: the previous month (2030-03 on 2030-04-10)"
adm_at "2030-01-10 12:00:00" --json audit report
is "$(json_get "$ADM_OUT" .month)" 2029-12 "... and 2029-12 in January"
jis .totals.logins.totp 4 "(the first report is unchanged)"

# ---- usage errors, refusals
tk_adm audit report --month 2030-13
is "$ADM_RC" 2 "--month 2030-13: usage error"
tk_adm audit report --month 2030-3
is "$ADM_RC" 2 "--month 2030-3: usage error"
tk_adm audit report --unused-days 0
is "$ADM_RC" 2 "--unused-days 0: usage error"
ADM_AS=65534:65534 tk_adm audit report --month 2030-03
is "$ADM_RC" 1 "uid 65534: the report is refused (exit 1)"

# ---- a broken chain: the report says so and exits 1
tk_sql "UPDATE audit SET user = 'mallory' WHERE seq = 2"
adm_at "2030-06-15 09:00:00" --json audit report --month 2030-03
is "$ADM_RC" 1 "a broken chain: exit 1"
is "$(json_get "$ADM_OUT" .chain.first_bad_row)" 2 "... naming row 2"

tk_stop
done_testing
