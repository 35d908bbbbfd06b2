#!/bin/bash
# wire.sh -- malformed traffic on tokend's socket: every bad frame or
# message gets an error answer or a closed connection (never an "ok"),
# the daemon keeps serving, a slow client does not block others, a
# half-sent request times out, and no descriptor leaks.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3
need_built
tk_setup
tk_write_conf
sed -i 's/^idle_timeout = .*/idle_timeout = 2/' "$TK_CONF"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"

# ---- a well-formed request, to show the test speaks the protocol
out=$(wire request 1)
like "$out" '^status=0 type=1 ' "a raw STATUS request is answered ok"
[ -n "$out" ] && diag "$out"

nfd() { ls "/proc/$TOKEND_PID/fd" 2>/dev/null | wc -l; }
fd_before=$(nfd)

# ---- each malformed input
for c in $(wire cases); do
	out=$(wire case "$c")
	like "$out" '^(closed|answer status=([1-9][0-9]*) then closed)$' \
	    "$c: refused and the connection closed ($out)"
	like "$(wire request 1)" '^status=0 type=1 ' \
	    "$c: tokend still answers afterwards"
done

out=$(wire case bad-version)
like "$out" '^(closed|answer status=11 then closed)$' \
    "a wrong protocol version is answered with the version status"

# ---- many malformed connections in a row: no crash, no leak
out=$(wire flood 20)
is "$out" done "420 malformed connections sent"
sleep 0.5
kill -0 "$TOKEND_PID" 2>/dev/null
ok $? "tokend is still running"
tk_adm status
is "$ADM_RC" 0 "tokenadm status still works"
fd_after=$(nfd)
[ "$fd_after" -le $((fd_before + 2)) ]
ok $? "no descriptor leak ($fd_before before, $fd_after after)"

# ---- a slow client does not block the others
wire hold 6 >"$TK_DIR/out/hold" 2>&1 &
hold_pid=$!
sleep 0.3
t0=$(date +%s%N)
tk_adm status
t1=$(date +%s%N)
is "$ADM_RC" 0 "with a half-sent request pending, tokenadm status works"
[ $(((t1 - t0) / 1000000)) -lt 1500 ]
ok $? "... without waiting for the slow client ($(((t1 - t0) / 1000000)) ms)"
wait "$hold_pid"
is "$(cat "$TK_DIR/out/hold")" closed \
    "the half-sent request is closed after idle_timeout (2 s)"

# ---- many clients at once beyond max_connections, then it recovers
python3 - "$TK_SOCK" <<'EOF' >"$TK_DIR/out/many" 2>&1
import socket, sys, time
conns = []
for _ in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
        s.send(b"\x00")
    except OSError:
        pass
    conns.append(s)
time.sleep(0.5)
for s in conns:
    s.close()
print("done")
EOF
is "$(cat "$TK_DIR/out/many")" done "300 connections opened at once"
sleep 0.3
tk_adm status
is "$ADM_RC" 0 "tokend serves again after they close"

done_testing
