#!/bin/bash
# t4_peercred.sh -- T4: every request is authorised by the kernel's
# view of the caller.  tokend runs with peercred.so (a getsockopt
# wrapper that reports the uid/gid written in a file as the peer's) and
# nss_wrapper (users and an admin group of the test's own).  The tools
# themselves run as root; only tokend's view of them changes, so the
# refusals come from tokend, not from a client-side check.
#
# A non-admin uid may not enroll, confirm, list, revoke, unlock, issue
# recovery codes, grant, verify or export the audit trail, back up, nor
# ask about or verify another user; each attempt is refused
# (TK_ST_DENIED, tokenadm exit 1) and leaves one "denied" row with its
# uid in the audit table.  An administrator by supplementary group or
# by primary group may; root may; a uid with no passwd entry gets
# nothing at all.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3
rel_built
[ -n "$NSS_WRAPPER_LIB" ] || skip_all "nss_wrapper (libnss-wrapper) is not installed"
tk_setup
TK_ADMINS=admin1
tk_nss_setup alice:2001:2001 admin1:2002:2002 carol:2003:2003 dave:2004:990
tk_write_conf "max_failures = 100"
sed -i 's/^\[tokend\]$/[tokend]\nadmin_group = tokend-admin/' "$TK_CONF"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"

PEER=$TK_DIR/peer
# tokend gets peercred.so in front of what lib.sh preloads
eval "rel_orig_tokend_env() $(declare -f tk_tokend_env | tail -n +2)"
tk_tokend_env() {
	local i
	rel_orig_tokend_env
	for i in "${!TK_TOKEND_ENV[@]}"; do
		case ${TK_TOKEND_ENV[$i]} in
		LD_PRELOAD=*)
			TK_TOKEND_ENV[$i]="LD_PRELOAD=$PEERCRED_LIB:${TK_TOKEND_ENV[$i]#LD_PRELOAD=}" ;;
		esac
	done
	TK_TOKEND_ENV+=(TK_PEERCRED_FILE="$PEER")
}
# as UID GID: tokend sees the next callers as that uid (nothing: real)
as() {
	if [ $# -eq 0 ]; then
		rm -f "$PEER"
	else
		echo "$1 $2" >"$PEER"
	fi
}
tk_start || bail "tokend did not start"
pam_services

# denied_rows UID: audit rows of refusals to that uid
denied_rows() {
	sql "SELECT count(*) FROM audit WHERE result = 'denied' AND uid = $1;"
}

# ---- set-up, as the real root
as
tk_enroll_active alice || bail "enroll alice: $ADM_ERR"
alice_uri=$URI
alice_cred=$CRED
tk_enroll_active carol || bail "enroll carol: $ADM_ERR"
carol_uri=$URI
tk_enroll alice --label pending || bail "enroll alice pending: $ADM_ERR"
pending_cred=$CRED

# ---- the wrapper works: the same tokenadm, seen as carol, is refused
as 2003 2003
before=$(denied_rows 2003)
tk_adm list
is "$ADM_RC" 1 "carol (uid 2003, not an admin): tokenadm list is refused (exit 1)"
is "$(denied_rows 2003)" $((before + 1)) "... and one denied row with uid 2003 is audited"
is "$(sql "SELECT reason FROM audit WHERE uid = 2003 ORDER BY seq DESC LIMIT 1;")" \
    CRED_LIST "... naming the request"

# tokenadm COMMAND... as carol: refused, and audited
refused_audited() {
	local what=$1 before
	shift
	before=$(denied_rows 2003)
	tk_adm "$@"
	is "$ADM_RC" 1 "carol: $what is refused (exit 1)"
	[ "$ADM_RC" -eq 1 ] || diag "$ADM_OUT" "$ADM_ERR"
	[ "$(denied_rows 2003)" -ge $((before + 1)) ]
	ok $? "carol: $what is audited as denied"
}
refused_audited "list alice" list alice
refused_audited "enroll totp alice" --json enroll totp alice
refused_audited "enroll totp carol (herself)" --json enroll totp carol
refused_audited "confirm alice" confirm alice "$pending_cred" 123456
refused_audited "revoke alice --all" revoke alice --all
refused_audited "revoke alice CRED" revoke alice "$alice_cred"
refused_audited "unlock alice" unlock alice
refused_audited "unlock carol (herself)" unlock carol
refused_audited "recovery alice" recovery alice
refused_audited "grant alice" grant alice --for 1h --reason test
refused_audited "grants" grants
refused_audited "revoke-grant alice" revoke-grant alice
refused_audited "audit verify" audit verify
refused_audited "audit export" audit export --format jsonl
refused_audited "backup" backup "$TK_DIR/out/backup.db"
[ ! -e "$TK_DIR/out/backup.db" ]
ok $? "... and no backup file was written"

# ---- raw requests about another user (the self role's own limits)
wire_denied() { # NAME TYPE KV...
	local name=$1 out before
	shift
	before=$(denied_rows 2003)
	out=$(wire request "$@")
	like "$out" '^status=6 ' "carol: $name is denied ($out)"
	[ "$(denied_rows 2003)" -ge $((before + 1)) ]
	ok $? "carol: $name is audited as denied"
}
wire_denied "USER_STATUS of alice" 2 10=s:alice
code=$(totp_code "$alice_uri")
wire_denied "TOTP_VERIFY of alice with alice's valid code" 3 10=s:alice "11=s:$code"
wire_denied "GRANT_USE of alice" 15 10=s:alice
like "$(wire request 1)" '^status=0 ' "carol: STATUS is allowed"
like "$(wire request 2 10=s:carol)" '^status=0 ' "carol: USER_STATUS of herself is allowed"

# the PAM module run by carol for alice: refused, and the code not spent
pam_is tokend alice PAM_AUTH_ERR "carol's screen locker verifying alice: PAM_AUTH_ERR" \
    -a "$code"
pam_is tokend carol PAM_SUCCESS "carol verifying herself: PAM_SUCCESS" \
    -a "$(totp_code "$carol_uri")"
as
pam_is tokend alice PAM_SUCCESS "root verifying alice with that code: it was not spent" \
    -a "$code"

# ---- nothing changed while carol was refused
tk_adm --json list alice
is "$(json_cred "$ADM_OUT" "$alice_cred" state)" active \
    "alice's credential is still active"
is "$(json_cred "$ADM_OUT" "$pending_cred" state)" pending \
    "alice's pending credential is still pending"

# ---- administrators
as 2002 2002
tk_adm --json list alice
is "$ADM_RC" 0 "admin1 (tokend-admin by membership): list works"
tk_adm unlock alice
is "$ADM_RC" 0 "admin1: unlock works"
as 2004 990
tk_adm --json list
is "$ADM_RC" 0 "dave (tokend-admin as primary group): list works"
as 2004 2004
tk_adm --json list
is "$ADM_RC" 0 "dave with another gid on the socket: still admin by passwd"
as 2002 2003
tk_adm --json list
is "$ADM_RC" 0 "admin1 with gid 2003 on the socket: admin by membership"
as 2003 990
tk_adm --json list
is "$ADM_RC" 0 "carol with gid 990 on the socket: the connection's gid is the admin group"
as 0 0
tk_adm --json list
is "$ADM_RC" 0 "uid 0: list works"

# ---- a uid nobody can name
as 4242 4242
tk_adm status
isnt "$ADM_RC" 0 "uid 4242 (no passwd entry): even status is refused"
unlike "$(wire request 1 2>&1)" '^status=' \
    "uid 4242: a raw STATUS gets nothing"
as
tk_adm status
is "$ADM_RC" 0 "the real root: status works again"
grep -q 'uid 4242' "$TK_LOG"
ok $? "tokend logged the refused uid 4242"

done_testing
