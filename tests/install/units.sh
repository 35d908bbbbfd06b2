#!/bin/bash
# units.sh -- the systemd units and the sysusers file.
#  - tokend.service and tokend.socket carry the settings the deployment
#    relies on (socket path and mode, Type=notify, the account, the
#    sandbox) and agree with tokend.conf.example (socket, database);
#  - systemd-analyze verify accepts them (with ExecStart pointing at the
#    tokend of the build tree, since verify wants the binary to exist),
#    and refuses a copy whose ExecStart is missing (so verify really
#    checks here);
#  - systemd-analyze security --offline rates the service's exposure at
#    1.5 or lower (when this systemd can do that offline);
#  - tokend started the way tokend.socket starts it (socket passed as fd
#    3, NOTIFY_SOCKET) reports READY=1, serves tokenadm on that socket,
#    and on SIGTERM reports STOPPING=1 and exits 0;
#  - systemd-sysusers, run on an empty root, creates the tokend user and
#    the tokend-admin group from tokend.sysusers.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_cmd python3
SERVICE=$TOP_BUILDDIR/systemd/tokend.service
SOCKET=$TOP_BUILDDIR/systemd/tokend.socket
SYSUSERS=$TOP_SRCDIR/systemd/tokend.sysusers
EXAMPLE=$TOP_SRCDIR/tokend.conf.example
[ -f "$SERVICE" ] && [ -f "$SOCKET" ] || bail "not built: $SERVICE $SOCKET"

tmp=$(mktemp -d /tmp/tokend-units.XXXXXX) || bail "mktemp failed"
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# ---- the settings the deployment relies on
has() {
	grep -qx "$2" "$1"
	ok $? "$(basename "$1"): $2"
}
has "$SOCKET" 'ListenStream=/run/tokend/socket'
has "$SOCKET" 'SocketMode=0666'
for line in 'Type=notify' 'User=tokend' 'Group=tokend' 'Requires=tokend.socket' \
    'StateDirectory=tokend' 'StateDirectoryMode=0700' \
    'ReadWritePaths=/var/lib/tokend' 'UMask=0077' 'Restart=on-failure' \
    'NoNewPrivileges=yes' 'CapabilityBoundingSet=' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
    'PrivateNetwork=yes' 'RestrictAddressFamilies=AF_UNIX' \
    'SystemCallFilter=@system-service' 'SystemCallArchitectures=native' \
    'MemoryDenyWriteExecute=yes' 'LockPersonality=yes' \
    'RestrictRealtime=yes' 'RestrictNamespaces=yes' \
    'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' \
    'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' 'ProtectClock=yes' \
    'ProtectHostname=yes'; do
	has "$SERVICE" "$line"
done
unlike "$(grep -E '^(RuntimeDirectory|PrivateUsers)=' "$SERVICE")" . \
    "tokend.service has no RuntimeDirectory= (it would remove the socket) and no PrivateUsers= (it would hide the clients' uids)"

# the example configuration and the units name the same places
sock=$(sed -n 's/^[;#]*socket = //p' "$EXAMPLE")
is "$sock" /run/tokend/socket "tokend.conf.example's socket is tokend.socket's ListenStream"
db=$(sed -n 's/^database = //p' "$EXAMPLE")
is "$(dirname "$db")" /var/lib/tokend \
    "tokend.conf.example's database lies in the StateDirectory of tokend.service"

# ---- systemd-analyze verify
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$tmp/units" "$tmp/broken"
	sed "s|^ExecStart=[^ ]*|ExecStart=$TOKEND|" "$SERVICE" >"$tmp/units/tokend.service"
	cp "$SOCKET" "$tmp/units/tokend.socket"
	systemd-analyze verify --man=no "$tmp/units/tokend.socket" \
	    "$tmp/units/tokend.service" >"$tmp/verify.out" 2>&1
	rc=$?
	ok $rc "systemd-analyze verify accepts tokend.socket and tokend.service"
	[ $rc -eq 0 ] || diag "$(cat "$tmp/verify.out")"
	is "$(grep -v '^$' "$tmp/verify.out")" "" "... without a warning"

	sed "s|^ExecStart=[^ ]*|ExecStart=$tmp/no-such-tokend|" "$SERVICE" \
	    >"$tmp/broken/tokend.service"
	cp "$SOCKET" "$tmp/broken/tokend.socket"
	systemd-analyze verify --man=no "$tmp/broken/tokend.socket" \
	    "$tmp/broken/tokend.service" >/dev/null 2>&1
	isnt $? 0 "systemd-analyze verify refuses a unit whose ExecStart is missing"

	if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
		systemd-analyze security --offline=yes --threshold=15 --no-pager \
		    "$tmp/units/tokend.service" >"$tmp/security.out" 2>&1
		rc=$?
		diag "$(grep 'Overall exposure' "$tmp/security.out")"
		ok $rc "systemd-analyze security: exposure of tokend.service at most 1.5"
		[ $rc -eq 0 ] || diag "$(grep '✗' "$tmp/security.out")"
	else
		skip "systemd-analyze security" "this systemd cannot rate a unit offline"
	fi
else
	for n in verify "verify without a warning" "verify refuses" security; do
		skip "systemd-analyze $n" "systemd-analyze is not installed (package systemd)"
	done
fi

# ---- socket activation and readiness, as tokend.socket/service do it
if grep -q '^#define HAVE_SYSTEMD 1' "$TOP_BUILDDIR/config.h"; then
	TK_DIR=$tmp/sd
	mkdir -m 0755 "$TK_DIR" "$TK_DIR/run"
	TK_SOCK=$TK_DIR/run/socket
	TK_DB=$TK_DIR/lib/tokend.db
	TK_KEY=$TK_DIR/etc/master.key
	TK_CONF=$TK_DIR/tokend.conf
	cat >"$TK_CONF" <<EOF2
[tokend]
socket = $TK_SOCK
database = $TK_DB
master_key = $TK_KEY
user = $(id -un)
EOF2
	chmod 0644 "$TK_CONF"
	"$TOKENADM" -c "$TK_CONF" init --daemon "$TOKEND" >"$tmp/init.out" 2>&1 ||
	    bail "tokenadm init failed: $(cat "$tmp/init.out")"
	python3 "$TOP_SRCDIR/tests/install/activate.py" "$TK_SOCK" "$tmp/ready" \
	    -- "$TOKEND" -c "$TK_CONF" >"$tmp/tokend.out" 2>&1 &
	act=$!
	for i in $(seq 1 120); do
		[ -s "$tmp/ready" ] && break
		kill -0 "$act" 2>/dev/null || break
		sleep 0.1
	done
	like "$(head -n 1 "$tmp/ready" 2>/dev/null)" '^READY [0-9]+$' \
	    "tokend given the socket by 'systemd' reports READY=1"
	pid=$(sed -n 's/^READY //p' "$tmp/ready" 2>/dev/null)
	"$TOKENADM" -c "$TK_CONF" status >"$tmp/status.out" 2>&1
	rc=$?
	ok $rc "tokenadm status is answered on the passed socket"
	[ $rc -eq 0 ] || diag "$(cat "$tmp/status.out" "$tmp/tokend.out")"
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	tk_wait_pid "$act" 15 || kill -KILL "$act" 2>/dev/null
	is "$TK_WAIT_RC" 0 "on SIGTERM tokend exits 0"
	grep -q '^NOTIFY .*STOPPING=1' "$tmp/ready" 2>/dev/null
	ok $? "... after reporting STOPPING=1"
	[ -S "$TK_SOCK" ]
	ok $? "... and leaves the socket, which belongs to systemd, in place"
else
	for n in READY=1 "passed socket" SIGTERM STOPPING=1 "socket left"; do
		skip "socket activation: $n" "tokend is built without libsystemd"
	done
fi

# ---- systemd-sysusers
if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$tmp/root/etc"
	systemd-sysusers --root="$tmp/root" "$SYSUSERS" >"$tmp/sysusers.out" 2>&1
	rc=$?
	ok $rc "systemd-sysusers accepts tokend.sysusers"
	[ $rc -eq 0 ] || diag "$(cat "$tmp/sysusers.out")"
	pw=$(grep '^tokend:' "$tmp/root/etc/passwd" 2>/dev/null)
	like "$pw" '^tokend:x:[0-9]+:[0-9]+:[^:]*:/var/lib/tokend:/[a-z/]*nologin$' \
	    "... creates the system user tokend (home /var/lib/tokend, no login shell)"
	uid=$(echo "$pw" | cut -d: -f3)
	[ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ]
	ok $? "... with a system uid"
	like "$(grep '^tokend:' "$tmp/root/etc/group" 2>/dev/null)" '^tokend:x:[0-9]+:' \
	    "... and the group tokend"
	like "$(grep '^tokend-admin:' "$tmp/root/etc/group" 2>/dev/null)" \
	    '^tokend-admin:x:[0-9]+:' "... and the group tokend-admin"
else
	skip "systemd-sysusers" "systemd-sysusers is not installed (package systemd)"
fi

done_testing
