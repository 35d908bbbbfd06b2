#!/bin/bash
# clock.sh -- TOTP time rules with tokend's clock frozen by libfaketime
# (set on tokend only): an older code inside the window after a newer
# one was accepted is refused, the window is +-1 step, a clock that went
# back refuses, pending enrollments expire after pending_ttl.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool
need_built
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
T0=$(date -u -d '2026-01-01 00:00:00 UTC' +%s)
at() { tk_faketime "$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S')"; }
at "$T0"
tk_start || bail "tokend did not start"
pam_services

# ---- older code after a newer one (google-authenticator accepts it)
tk_enroll_active u1
is "$ADM_RC" 0 "u1 enrolled and confirmed at the faked time"
pam_is tokend u1 PAM_SUCCESS "the next step's code logs in" \
    -a "$(totp_code "$URI" 30)"
pam_is tokend u1 PAM_AUTH_ERR \
    "the current step's code, never used but older: PAM_AUTH_ERR" \
    -a "$(totp_code "$URI")"
at $((T0 + 60))
pam_is tokend u1 PAM_AUTH_ERR \
    "60 s later, the code just used (previous step now): PAM_AUTH_ERR" \
    -a "$(totp_code "$URI" -30)"
pam_is tokend u1 PAM_SUCCESS "60 s later, the current code logs in" \
    -a "$(totp_code "$URI")"
pam_is tokend u1 PAM_AUTH_ERR "and only once" -a "$(totp_code "$URI")"

# ---- the window is one step either side
T1=$((T0 + 1000))
at "$T1"
tk_enroll_active u2
is "$ADM_RC" 0 "u2 enrolled and confirmed"
at $((T1 + 300))
pam_is tokend u2 PAM_AUTH_ERR "a code two steps ahead: PAM_AUTH_ERR" \
    -a "$(totp_code "$URI" 60)"
pam_is tokend u2 PAM_AUTH_ERR "a code two steps behind: PAM_AUTH_ERR" \
    -a "$(totp_code "$URI" -60)"
pam_is tokend u2 PAM_SUCCESS "a code one step behind logs in" \
    -a "$(totp_code "$URI" -30)"

# ---- the clock goes back: nothing older than the last accepted step
at $((T1 + 300 - 600))
pam_is tokend u2 PAM_AUTH_ERR \
    "the clock went back 10 minutes: the code of that time is refused" \
    -a "$(totp_code "$URI")"

# ---- a clock that reads before 2020 (an unset clock) fails closed
at 59
pam_run tokend u2 -a "$(totp_code "$URI")"
pam_refused "clock at 1970: the code of that time is refused ($PAM_RESULT)"
pam_run nullok nosuchuser -a 123456
pam_refused "clock at 1970: nullok + pam_permit fails for a user with nothing ($PAM_RESULT)"

# ---- pending enrollments expire after pending_ttl (900 s)
T2=$((T0 + 5000))
at "$T2"
tk_enroll u3
is "$ADM_RC" 0 "u3 enrolled (pending)"
cred3=$CRED
uri3=$URI
tk_enroll u4
is "$ADM_RC" 0 "u4 enrolled (pending)"
at $((T2 + 899))
tk_adm confirm u4 "$CRED" "$(totp_code "$URI")"
is "$ADM_RC" 0 "confirmed after 899 s: exit 0"
at $((T2 + 901))
tk_adm confirm u3 "$cred3" "$(totp_code "$uri3")"
is "$ADM_RC" 1 "confirmed after 901 s: expired, exit 1"
pam_is tokend u3 PAM_AUTH_ERR "the expired enrollment cannot log in" \
    -a "$(totp_code "$uri3" 30)"

done_testing
