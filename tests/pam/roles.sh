#!/bin/bash
# roles.sh -- every request is authorised by the peer's uid: a caller
# that is neither root nor in admin_group (role "self") may verify only
# its own user and may not enroll, list, revoke or unlock; a member of
# admin_group may.  Users and groups come from nss_wrapper (preloaded
# into tokend, tokenadm and the driver); other uids via setpriv.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool setpriv
need_built
[ -n "$NSS_WRAPPER_LIB" ] || skip_all "nss_wrapper (libnss-wrapper) is not installed"
tk_setup
TK_ADMINS=admin1
tk_nss_setup alice:2001:2001 admin1:2002:2002 carol:2003:2003
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services

tk_enroll_active alice
is "$ADM_RC" 0 "root enrolls alice"
alice_uri=$URI
alice_cred=$CRED
tk_enroll_active nobody
is "$ADM_RC" 0 "root enrolls nobody (uid 65534)"
nobody_uri=$URI

wait_step_margin
# ---- the PAM module run by uid 65534 (a screen locker of "nobody")
code=$(totp_code "$alice_uri")
PAM_AS=65534:65534 pam_is tokend alice PAM_AUTH_ERR \
    "uid 65534 verifying alice with alice's valid code: PAM_AUTH_ERR" -a "$code"
PAM_AS=65534:65534 pam_is nullok alice PAM_AUTH_ERR \
    "... also with nullok + pam_permit: the stack fails" -a "$code"
pam_is tokend alice PAM_SUCCESS \
    "root verifying alice with the same code: PAM_SUCCESS (it was not spent)" \
    -a "$code"
PAM_AS=65534:65534 pam_is tokend nobody PAM_SUCCESS \
    "uid 65534 verifying its own user: PAM_SUCCESS" \
    -a "$(totp_code "$nobody_uri")"

# ---- raw requests from uid 65534
export WIRE_AS=65534:65534
like "$(wire request 1)" '^status=0 ' "self: STATUS is allowed"
like "$(wire request 2 10=s:nobody)" '^status=0 ' \
    "self: USER_STATUS of its own user is allowed"
like "$(wire request 2 10=s:alice)" '^status=6 ' \
    "self: USER_STATUS of alice is denied"
like "$(wire request 3 10=s:alice 11=s:123456)" '^status=6 ' \
    "self: TOTP_VERIFY of alice is denied"
like "$(wire request 4 10=s:nobody)" '^status=6 ' \
    "self: TOTP_ENROLL_BEGIN, even for itself, is denied"
like "$(wire request 6)" '^status=6 ' "self: CRED_LIST is denied"
like "$(wire request 6 10=s:nobody)" '^status=6 ' \
    "self: CRED_LIST of itself is denied"
like "$(wire request 7 10=s:alice 29=true)" '^status=6 ' \
    "self: CRED_REVOKE is denied"
like "$(wire request 8 10=s:nobody)" '^status=6 ' \
    "self: USER_UNLOCK is denied"
unset WIRE_AS

# ---- tokenadm as uid 65534, as a non-admin user, as an admin
ADM_AS=65534:65534 tk_adm status
is "$ADM_RC" 0 "uid 65534: tokenadm status works"
ADM_AS=65534:65534 tk_adm list
is "$ADM_RC" 1 "uid 65534: tokenadm list is refused (exit 1)"
ADM_AS=65534:65534 tk_adm --json enroll totp nobody
is "$ADM_RC" 1 "uid 65534: tokenadm enroll is refused (exit 1)"
ADM_AS=65534:65534 tk_adm revoke alice --all
is "$ADM_RC" 1 "uid 65534: tokenadm revoke is refused (exit 1)"
ADM_AS=2003:2003 tk_adm list
is "$ADM_RC" 1 "carol (not in tokend-admin): tokenadm list is refused"
ADM_AS=2003:2003 tk_adm unlock alice
is "$ADM_RC" 1 "carol: tokenadm unlock is refused"

ADM_AS=2002:2002 tk_adm --json list
is "$ADM_RC" 0 "admin1 (in tokend-admin): tokenadm list works"
is "$(json_cred "$ADM_OUT" "$alice_cred" state)" active \
    "... and shows alice's credential still active"
ADM_AS=2002:2002 tk_adm --json enroll totp carol
is "$ADM_RC" 0 "admin1: tokenadm enroll totp carol works"
ADM_AS=2002:2002 tk_adm unlock alice
is "$ADM_RC" 0 "admin1: tokenadm unlock alice works"

pam_is tokend alice PAM_SUCCESS "alice still logs in" \
    -a "$(totp_code "$alice_uri" 30)"

done_testing
