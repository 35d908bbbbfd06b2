#!/bin/bash
# rfc6238.sh -- the times of RFC 6238 Appendix B through tokend: at each
# test time (tokend's clock set there by libfaketime), a credential of
# each algorithm with 8 digits is enrolled and a login with the code
# oathtool computes from its URI succeeds.  tokend makes its own
# secrets, so the RFC seeds themselves only check the oracle (oathtool);
# the vectors with the seeds are checked by the unit tests.  tokend
# refuses to run on a clock before 2020, so the four earlier times check
# that refusal instead.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool
need_built

# ---- the oracle: oathtool reproduces Appendix B
b32() { python3 -c 'import base64,sys; print(base64.b32encode(sys.argv[1].encode()).decode())' "$1"; }
seed_sha1=$(b32 12345678901234567890)
seed_sha256=$(b32 12345678901234567890123456789012)
seed_sha512=$(b32 1234567890123456789012345678901234567890123456789012345678901234)
while read -r t c1 c256 c512; do
	is "$(oathtool --totp -d 8 -b "$seed_sha1" --now="@$t")" "$c1" \
	    "oathtool SHA1 at $t"
	is "$(oathtool --totp=sha256 -d 8 -b "$seed_sha256" --now="@$t")" \
	    "$c256" "oathtool SHA256 at $t"
	is "$(oathtool --totp=sha512 -d 8 -b "$seed_sha512" --now="@$t")" \
	    "$c512" "oathtool SHA512 at $t"
done <<'VECTORS'
59 94287082 46119246 90693936
1111111109 07081804 68084774 25091201
1111111111 14050471 67062674 99943326
1234567890 89005924 91819424 93441116
2000000000 69279037 90698825 38618901
20000000000 65353130 77737706 47863826
VECTORS

# ---- through tokend
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
at() { tk_faketime "$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S')"; }

# tokend refuses a clock that reads before 2020 (an unset clock): the
# times of Appendix B before then cannot be checked through the daemon,
# and it must fail closed there
for t in 59 1111111109 1111111111 1234567890; do
	at "$t"
	: >"$TK_LOG"
	if tk_start 2>/dev/null; then
		ok 1 "at $t: tokend refuses to start (clock before 2020)"
		tk_stop
	else
		ok 0 "at $t: tokend refuses to start (clock before 2020)"
	fi
	like "$(cat "$TK_LOG")" 'clock' "at $t: ... and says the clock is wrong"
done

# the times after 2020, in increasing order, on one daemon
at 2000000000
tk_start || bail "tokend did not start at the faked time 2000000000"
pam_services
for t in 2000000000 20000000000; do
	at "$t"
	for alg in sha1 sha256 sha512; do
		user=v$t-$alg
		tk_enroll_active "$user" --digits 8 --algorithm "$alg"
		is "$ADM_RC" 0 "at $t: $alg enrolled and confirmed"
		[ "$ADM_RC" -eq 0 ] || diag "$ADM_OUT" "$ADM_ERR"
		code=$(totp_code "$URI")
		pam_is tokend "$user" PAM_SUCCESS \
		    "at $t: the $alg/8 code from oathtool logs in ($code)" \
		    -a "$code"
		pam_is tokend "$user" PAM_AUTH_ERR "at $t: $alg/8: only once" \
		    -a "$code"
	done
done

done_testing
