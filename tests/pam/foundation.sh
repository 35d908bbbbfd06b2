#!/bin/bash
# foundation.sh -- the foundation issue through the real PAM stack:
# tokenadm init, a private tokend, tokenadm status, the PAM module's
# outcomes for a daemon that is down, broken or silent, for a user
# with nothing enrolled (with and without nullok), for bad options, and
# a clean stop on SIGTERM.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 stat
need_built
tk_setup
tk_write_conf
pam_services

# ---- tokenadm init
tk_init
rc=$?
ok $rc "tokenadm init succeeds"
[ $rc -eq 0 ] || diag "$(cat "$TK_DIR/init.out")"

[ -f "$TK_KEY" ]
ok $? "init created the master key"
is "$(stat -c %a "$TK_KEY" 2>/dev/null)" 400 "master key has mode 0400"
is "$(stat -c %s "$TK_KEY" 2>/dev/null)" 32 "master key is 32 bytes"
[ -f "$TK_DB" ]
ok $? "init created the database"

key_before=$(sha256sum "$TK_KEY" | cut -d' ' -f1)
tk_init
is $? 1 "a second tokenadm init refuses (exit 1)"
like "$(cat "$TK_DIR/init.out")" '.' "... and says why"
is "$(sha256sum "$TK_KEY" | cut -d' ' -f1)" "$key_before" \
    "... and leaves the master key unchanged"

# ---- the daemon is not running
pam_is tokend alice PAM_AUTHINFO_UNAVAIL "daemon down: PAM_AUTHINFO_UNAVAIL" \
    -a 123456
pam_is nullok alice PAM_AUTHINFO_UNAVAIL \
    "daemon down, nullok + pam_permit: the stack fails" -a 123456
tk_adm status
is "$ADM_RC" 3 "daemon down: tokenadm status exits 3"

# ---- start it
tk_start
ok $? "tokend starts on the private socket"
[ -S "$TK_SOCK" ]
ok $? "the socket exists"
is "$(stat -c %a "$TK_SOCK" 2>/dev/null)" 666 "the socket has mode 0666"

tk_adm status
is "$ADM_RC" 0 "tokenadm status exits 0"
like "$ADM_OUT" '[0-9]+\.[0-9]+' "tokenadm status shows a version"

tk_adm --json status
is "$ADM_RC" 0 "tokenadm --json status exits 0"
json_ok "$ADM_OUT"
ok $? "tokenadm --json status prints JSON"
[ "$(json_get "$ADM_OUT" . 2>/dev/null | cut -c1)" = "{" ]
rc=$?
ok $rc "... a JSON object"
[ $rc -eq 0 ] || diag "$ADM_OUT"

# ---- a user with nothing enrolled
pam_is tokend alice PAM_AUTH_ERR "nothing enrolled, no nullok: PAM_AUTH_ERR" \
    -a 123456
pam_is strict alice PAM_AUTH_ERR \
    "nothing enrolled, no nullok, pam_permit after: the stack fails" -a 123456
pam_is nullok alice PAM_SUCCESS \
    "nothing enrolled, nullok, pam_permit after: the stack succeeds" -a 123456
pam_is onlyignore alice PAM_SUCCESS \
    "nothing enrolled, nullok: the module returns exactly PAM_IGNORE" \
    -a 123456
unlike "$PAM_ERR" 'PROMPT_ECHO_OFF' "... without prompting for a code"

# ---- bad options fail closed, even with nullok and pam_permit after
pam_service badopt "auth required @MODULE@ config=@CONF@ nullok frobnicate
auth required @MODDIR@/pam_permit.so"
pam_is badopt alice PAM_SERVICE_ERR "unknown module option: PAM_SERVICE_ERR" \
    -a 123456
pam_service badtimeout "auth required @MODULE@ config=@CONF@ nullok timeout=soon
auth required @MODDIR@/pam_permit.so"
pam_is badtimeout alice PAM_SERVICE_ERR "timeout=soon: PAM_SERVICE_ERR" \
    -a 123456
pam_service badfactor "auth required @MODULE@ config=@CONF@ nullok factors=password
auth required @MODDIR@/pam_permit.so"
pam_is badfactor alice PAM_SERVICE_ERR "factors=password: PAM_SERVICE_ERR" \
    -a 123456
pam_service noconf "auth required @MODULE@ config=$TK_DIR/missing.conf nullok
auth required @MODDIR@/pam_permit.so"
pam_run noconf alice -a 123456
pam_refused "config= names a missing file: the stack fails"

# ---- socket= overrides the file, and a wrong one fails closed
pam_service badsock "auth required @MODULE@ config=@CONF@ nullok socket=$TK_DIR/run/nothing
auth required @MODDIR@/pam_permit.so"
pam_is badsock alice PAM_AUTHINFO_UNAVAIL \
    "socket= to a missing socket: PAM_AUTHINFO_UNAVAIL, the stack fails" \
    -a 123456
pam_service relsock "auth required @MODULE@ config=@CONF@ nullok socket=run/socket
auth required @MODDIR@/pam_permit.so"
pam_run relsock alice -a 123456
pam_refused "socket= with a relative path: the stack fails"

# ---- a daemon that is broken: fake ones on their own sockets
fake_daemon() { # MODE EXPECTED NAME
	local mode=$1 sock=$TK_DIR/run/fake-$1 fpid i
	timeout 40 python3 "$TK_PYWIRE" "$sock" serve "$mode" 30 \
	    >"$TK_DIR/out/fake-$mode" 2>&1 &
	fpid=$!
	for i in $(seq 1 50); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	pam_service "fake-$mode" "auth required @MODULE@ config=@CONF@ nullok socket=$sock timeout=2
auth required @MODDIR@/pam_permit.so"
	local t0=$SECONDS
	pam_is "fake-$mode" alice "$2" "$3" -a 123456
	[ $((SECONDS - t0)) -le 10 ]
	ok $? "... within the timeout"
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	grep -q '^accepted' "$TK_DIR/out/fake-$mode"
	ok $? "... after connecting to the fake daemon"
}
fake_daemon silent PAM_AUTHINFO_UNAVAIL \
    "daemon never answers (timeout=2): PAM_AUTHINFO_UNAVAIL"
fake_daemon close PAM_AUTHINFO_UNAVAIL \
    "daemon closes at once: PAM_AUTHINFO_UNAVAIL"
fake_daemon garbage PAM_AUTHINFO_UNAVAIL \
    "daemon answers garbage: PAM_AUTHINFO_UNAVAIL"
fake_daemon wrongtype PAM_AUTHINFO_UNAVAIL \
    "daemon answers another message type: PAM_AUTHINFO_UNAVAIL"
fake_daemon huge PAM_AUTHINFO_UNAVAIL \
    "daemon answers an oversized length: PAM_AUTHINFO_UNAVAIL"
fake_daemon short PAM_AUTHINFO_UNAVAIL \
    "daemon answers half a frame: PAM_AUTHINFO_UNAVAIL"

# ---- the real daemon still serves, and stops cleanly on SIGTERM
tk_adm status
is "$ADM_RC" 0 "tokend still answers"
tk_stop
is $? 0 "SIGTERM: tokend exits 0"
[ ! -e "$TK_SOCK" ]
ok $? "SIGTERM: the socket is removed"
pam_is tokend alice PAM_AUTHINFO_UNAVAIL \
    "after the stop: PAM_AUTHINFO_UNAVAIL" -a 123456
tk_adm status
is "$ADM_RC" 3 "after the stop: tokenadm status exits 3"

# ---- it starts again on the same database
tk_start
ok $? "tokend starts again"
tk_adm status
is "$ADM_RC" 0 "tokenadm status exits 0 again"

done_testing
