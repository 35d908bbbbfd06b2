#!/bin/bash
# t3_abuse.sh -- T3: hostile clients on tokend's socket, with
# idle_timeout = 2.  Bad frames are closed at once; a truncated request
# is closed after the idle timeout; a slow sender only holds its own
# connection; 300 idle connections of an unprivileged uid (more than
# max_connections = 256) cannot lock root's PAM logins out; a client
# that never reads is dropped; out-of-order and answer-shaped requests
# are refused.  During all of it another client's STATUS and a PAM
# login still succeed, and tokend's resident memory stays bounded.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool setpriv timeout
rel_built
tk_setup
tk_write_conf "max_failures = 100"
sed -i 's/^idle_timeout = .*/idle_timeout = 2/' "$TK_CONF"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
pam_services
tk_enroll_active alice || bail "enroll: $ADM_ERR"
uri=$URI

abuse() { timeout 60 python3 "$ABUSE" "$TK_SOCK" "$@" 2>&1; }
# others_served NAME: STATUS from tokenadm and a PAM login both work now
others_served() {
	local t0 t1
	t0=$(date +%s%N)
	tk_adm status
	t1=$(date +%s%N)
	is "$ADM_RC" 0 "$1: another client's STATUS works ($(((t1 - t0) / 1000000)) ms)"
	tk_step_next
	pam_is tokend alice PAM_SUCCESS "$1: a PAM login works" \
	    -a "$(totp_code "$uri")"
}

rss0=$(rss_kb "$TOKEND_PID")
fd0=$(ls "/proc/$TOKEND_PID/fd" | wc -l)

like "$(abuse zero)" '^closed=[0-9.]+ answer_bytes=0$' "zero-length frame: closed without an answer"
like "$(abuse oversized)" '^closed=[0-9.]+ answer_bytes=0$' "2^31-1 byte frame: closed without an answer"
like "$(abuse over-limit)" '^closed=[0-9.]+ answer_bytes=0$' "65537 byte frame: closed without an answer"
out=$(abuse truncated 5)
like "$out" '^closed=[23]\.[0-9] answer_bytes=0$' "half a request: closed after the idle timeout ($out)"
like "$(abuse answer-shaped)" '^status=([1-9][0-9]*)$' "an answer sent as a request: refused"
like "$(abuse out-of-order)" '^status=([1-9][0-9]*)$' "ENROLL_CONFIRM of a credential never begun: refused"
is "$(abuse pipeline 50)" "answered_ok=50" "50 pipelined STATUS requests: 50 answers, in order"
others_served "after the bad frames"

# ---- a slow sender (one byte a second) for at most 6 s, alongside
abuse slow 6 >"$TK_DIR/out/slow" &
slow_pid=$!
sleep 1.5
others_served "with a one-byte-a-second sender"
wait "$slow_pid"
out=$(cat "$TK_DIR/out/slow")
like "$out" '^sent=[0-9]+ of=[0-9]+ answered=(yes|no) closed=' "the slow sender ran, bounded ($out)"

# ---- a client that never reads its answers
abuse noread 6 >"$TK_DIR/out/noread" &
noread_pid=$!
sleep 1
others_served "with a client that never reads"
wait "$noread_pid"
out=$(cat "$TK_DIR/out/noread")
like "$out" '^requests_sent=[0-9]+ closed=[0-9.]+$' \
    "the client that never reads is dropped within its 6 s ($out)"

# ---- 300 idle connections of uid 65534 (max_connections = 256)
chmod 0755 "$TK_DIR"
setpriv --reuid=65534 --regid=65534 --clear-groups \
    timeout 60 python3 "$ABUSE" "$TK_SOCK" idle 300 4 \
    >"$TK_DIR/out/idle" 2>&1 &
idle_pid=$!
for i in $(seq 1 50); do
	grep -q '^connected' "$TK_DIR/out/idle" && break
	sleep 0.1
done
first=$(head -n 1 "$TK_DIR/out/idle")
like "$first" '^connected=[0-9]+ refused=[0-9]+ closed_at_once=([4-9][0-9]|[1-9][0-9][0-9])$' \
    "300 idle connections: those over the limit are closed at once ($first)"
others_served "while uid 65534 holds idle connections"
wait "$idle_pid"
out=$(tail -n 1 "$TK_DIR/out/idle")
is "$out" "closed_after_4s=300" "after the idle timeout every idle connection is closed"
others_served "after the idle connections"

# ---- bounded memory, no descriptor left behind
sleep 0.5
rss1=$(rss_kb "$TOKEND_PID")
fd1=$(ls "/proc/$TOKEND_PID/fd" | wc -l)
diag "tokend VmRSS: $rss0 kB before, $rss1 kB after; fds $fd0 before, $fd1 after"
if [ -n "$REL_SANITIZED" ]; then
	skip "tokend's RSS bound" "AddressSanitizer keeps freed memory in quarantine"
else
	[ "$rss1" -le $((rss0 + 4096)) ]
	ok $? "tokend's RSS grew by less than 4 MiB ($rss0 -> $rss1 kB)"
fi
[ "$fd1" -le "$fd0" ]
ok $? "no descriptor leaked ($fd0 -> $fd1)"
kill -0 "$TOKEND_PID" 2>/dev/null
ok $? "tokend is still running"

done_testing
