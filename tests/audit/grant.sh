#!/bin/bash
# grant.sh -- emergency access (break-glass) through the real PAM stack,
# with tokend's clock under libfaketime: a grant lets the user in without
# a prompt until it runs out on tokend's clock, then the factor is asked
# again; the maximum duration comes from [grant] max_duration; grants
# show in tokenadm list and tokenadm grants; revoke-grant ends one; the
# grant, each use and the expiry are audited.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3
need_built
tk_setup
tk_write_conf "
[grant]
max_duration = 28800"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2030-01-01 09:00:00"
tk_start || bail "tokend did not start"
pam_services

sq() { tk_sql "$1"; }

tk_enroll_active bob || bail "enroll bob"

# ---- giving a grant
tk_adm grant bob --for 9h --reason "key lost"
is "$ADM_RC" 1 "a grant longer than max_duration (8 h) is refused (exit 1)"
like "$ADM_ERR" '28800' "... saying the limit"
tk_adm grant bob --for 1h
is "$ADM_RC" 2 "a grant without --reason is a usage error"
tk_adm grant bob --for 1x --reason r
is "$ADM_RC" 2 "a bad duration is a usage error"
tk_adm --json grant bob --for 1h --reason 'key lost, new one ordered'
is "$ADM_RC" 0 "tokenadm grant bob --for 1h exits 0"
is "$(json_get "$ADM_OUT" .expires)" 2030-01-01T10:00:00Z \
    "... until 10:00 on tokend's (faked) clock"
tk_adm grant carol --for 30m --reason "no key yet"
is "$ADM_RC" 0 "a grant for carol (no credential at all) for 30 min"
like "$ADM_OUT" '2030-01-01T09:30:00Z' "... until 09:30"

# ---- visible
tk_adm list
like "$ADM_OUT" 'Emergency access grants' "tokenadm list shows the grants"
like "$ADM_OUT" 'bob .*2030-01-01T10:00:00Z' "... bob's, with its end"
tk_adm --json grants
is "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$ADM_OUT")" 2 \
    "tokenadm --json grants lists both"
is "$(json_get "$ADM_OUT" '[0].reason')" 'key lost, new one ordered' "... with the reason"

# ---- used
pam_run tokend bob
is "$PAM_RESULT" PAM_SUCCESS "bob logs in on the grant"
unlike "$PAM_ERR" 'Verification code' "... without a prompt"
like "$PAM_ERR" 'Emergency access: no second factor asked \(until 2030-01-01 10:00 UTC\)' \
    "... and is told so"
pam_is strict carol PAM_SUCCESS "carol (no credential) logs in on hers"
tk_faketime "2030-01-01 09:59:59"
pam_is tokend bob PAM_SUCCESS "one second before the end the grant still passes"

# ---- expired on tokend's clock
tk_faketime "2030-01-01 10:00:00"
pam_run tokend bob -a "$(wrong_code "$URI")"
is "$PAM_RESULT" PAM_AUTH_ERR "at 10:00 the grant no longer passes (a wrong code is refused)"
like "$PAM_ERR" 'Verification code' "... the code is asked again"
pam_run tokend bob -a "$(totp_code "$URI")"
is "$PAM_RESULT" PAM_SUCCESS "... and the right code works"
unlike "$PAM_ERR" 'Emergency' "... with no word of the grant"
pam_is strict carol PAM_AUTH_ERR "carol's ran out at 09:30: refused (no credential, no nullok)"
tk_adm --json grants
is "$ADM_OUT" "[]" "no grant is listed any more"
# the sweep (every minute, and at start) records each expiry once
tk_stop
tk_start || bail "tokend did not restart"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant_expire' AND user = 'bob'")" 1 \
    "bob's expiry is audited (grant_expire)"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant_expire' AND user = 'carol'")" 1 \
    "carol's too"

# ---- revoked early
tk_adm grant dave --for 8h --reason "on site"
pam_is strict dave PAM_SUCCESS "dave logs in on a grant"
tk_adm revoke-grant dave
is "$ADM_RC" 0 "tokenadm revoke-grant dave exits 0"
pam_is strict dave PAM_AUTH_ERR "... and then the grant no longer passes"
tk_adm revoke-grant dave
is "$ADM_RC" 1 "revoking again: exit 1 (no active grant)"

# ---- the audit trail
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant' AND result = 'ok'")" 3 \
    "each grant is audited"
is "$(sq "SELECT reason FROM audit WHERE event = 'grant' AND user = 'bob' AND result = 'ok'")" \
    'key lost, new one ordered' "... with its reason"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant' AND result = 'bad_request'")" 1 \
    "the refused grant is audited too"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant_use' AND result = 'ok'")" 4 \
    "each use is audited (4)"
is "$(sq "SELECT service FROM audit WHERE event = 'grant_use' AND user = 'carol'")" strict \
    "... with the PAM service"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'grant_revoke'")" 2 \
    "revocations are audited"
tk_adm audit verify
is "$ADM_RC" 0 "the chain verifies"

tk_stop
done_testing
