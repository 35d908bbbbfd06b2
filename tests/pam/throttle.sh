#!/bin/bash
# throttle.sh -- after a failure the next attempt must wait delay_base
# seconds (RFC 4226 section 7.3): an attempt too soon is refused even
# with the right code, which is not spent by it, and the same code is
# accepted once the delay has passed.  Real clock.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool
need_built
tk_setup
tk_write_conf "max_failures = 10"
sed -i 's/^delay_base = 0$/delay_base = 2\ndelay_max = 4/' "$TK_CONF"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services

tk_enroll_active tess || diag "enroll tess: $ADM_ERR"
# a step with room for the whole case (about 3 s)
while [ $(($(date +%s) % 30)) -ge 22 ] || [ $(($(date +%s) % 30)) -lt 1 ]; do
	sleep 0.5
done
code=$(totp_code "$URI")
pam_is tokend tess PAM_AUTH_ERR "a wrong code: PAM_AUTH_ERR" \
    -a "$(wrong_code "$URI")"
pam_is tokend tess PAM_AUTH_ERR \
    "the right code at once (inside delay_base = 2 s): PAM_AUTH_ERR" -a "$code"
like "$PAM_ERR" 'ERROR_MSG: .*[0-9]' "... with a message saying how long to wait"
tk_adm --json list tess
is "$(json_cred "$ADM_OUT" "$CRED" locked)" false "... and tess is not locked"
sleep 2.5
pam_is tokend tess PAM_SUCCESS \
    "the same code after the delay: PAM_SUCCESS (the early try did not spend it)" \
    -a "$code"

done_testing
