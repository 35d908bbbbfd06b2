#!/bin/bash
# t9_files.sh -- T9: privileged files.  A symbolic link, a FIFO, a
# directory, another owner or a too-open mode planted at the master key,
# the database, the database directory, the socket path, the socket
# directory and the config file makes tokend refuse to start, with a
# message naming the problem (and no hang on a FIFO).  tokenadm's
# --qr-png refuses a symbolic link, a FIFO and an existing file.  A
# running tokend holds only the descriptors it needs, each with
# O_CLOEXEC, and the PAM driver has no more descriptors open after a
# login than before.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_cmd python3 timeout
rel_built
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"

# refuses NAME REGEX [CONF]: tokend -f exits non-zero within 10 s and its
# stderr matches REGEX; the socket is not created
refuses() {
	local name=$1 re=$2 conf=${3:-$TK_CONF} rc out
	timeout 10 "$TOKEND" -c "$conf" -f >"$TK_DIR/out/t9" 2>&1 </dev/null
	rc=$?
	out=$(tail -n 3 "$TK_DIR/out/t9")
	if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
		ok 1 "$name: tokend refuses to start (exit $rc)"
	else
		ok 0 "$name: tokend refuses to start (exit $rc)"
	fi
	like "$out" "$re" "$name: ... saying so"
}
# starts NAME: the control, tokend starts (then is stopped)
starts() {
	tk_start
	ok $? "$1: tokend starts"
	tk_stop_quiet
}

starts "control"
sock_dir=$TK_DIR/run
# ---- master key
mv "$TK_KEY" "$TK_KEY.real"
ln -s "$TK_KEY.real" "$TK_KEY"
refuses "key is a symlink" 'symbolic link'
rm -f "$TK_KEY"; mkfifo -m 0400 "$TK_KEY"
refuses "key is a FIFO" 'not a regular file'
rm -f "$TK_KEY"; mkdir -m 0700 "$TK_KEY"
refuses "key is a directory" 'not a regular file|directory'
rmdir "$TK_KEY"; cp -p "$TK_KEY.real" "$TK_KEY"
chown 65534 "$TK_KEY"
refuses "key owned by uid 65534" 'owned by uid 65534'
chown 0 "$TK_KEY"; chmod 0440 "$TK_KEY"
refuses "key readable by its group" 'mode 0440'
chmod 0400 "$TK_KEY"
starts "key restored"

# ---- database
mv "$TK_DB" "$TK_DB.real"
ln -s "$TK_DB.real" "$TK_DB"
refuses "database is a symlink" 'symbolic link|symlink'
rm -f "$TK_DB"; mkfifo -m 0600 "$TK_DB"
refuses "database is a FIFO" 'not a regular file|FIFO|regular'
rm -f "$TK_DB"; mkdir -m 0700 "$TK_DB"
refuses "database is a directory" 'not a regular file|directory|regular'
rmdir "$TK_DB"; mv "$TK_DB.real" "$TK_DB"
chown 65534 "$TK_DB"
refuses "database owned by uid 65534" 'owned by uid 65534|uid 65534'
chown 0 "$TK_DB"
db_dir=$(dirname "$TK_DB")
chown 65534 "$db_dir"
refuses "database directory owned by uid 65534" 'owned by uid 65534'
chown 0 "$db_dir"; chmod 0777 "$db_dir"
refuses "database directory writable by others" 'writable by group or others'
chmod 0755 "$db_dir"
starts "database restored"

# ---- socket path and its directory
touch "$TK_SOCK"
refuses "a regular file at the socket path" 'not a socket'
is "$(stat -c %F "$TK_SOCK")" "regular empty file" "... and the file is left alone"
rm -f "$TK_SOCK"; ln -s "$TK_DIR/elsewhere" "$TK_SOCK"
refuses "a symlink at the socket path" 'not a socket'
[ ! -e "$TK_DIR/elsewhere" ]
ok $? "... and nothing was created through it"
rm -f "$TK_SOCK"; mkfifo "$TK_SOCK"
refuses "a FIFO at the socket path" 'not a socket'
rm -f "$TK_SOCK"; mkdir "$TK_SOCK"
refuses "a directory at the socket path" 'not a socket'
rmdir "$TK_SOCK"
mv "$sock_dir" "$sock_dir.real"
ln -s "$sock_dir.real" "$sock_dir"
refuses "socket directory is a symlink" 'not a directory'
rm -f "$sock_dir"; touch "$sock_dir"
refuses "socket directory is a file" 'not a directory'
rm -f "$sock_dir"; mv "$sock_dir.real" "$sock_dir"
chown 65534 "$sock_dir"
refuses "socket directory owned by uid 65534" 'owned by uid 65534'
chown 0 "$sock_dir"; chmod 0777 "$sock_dir"
refuses "socket directory writable by others" 'writable by group or others'
chmod 0755 "$sock_dir"
starts "socket directory restored"

# ---- config file
cp -p "$TK_CONF" "$TK_DIR/real.conf"
ln -s "$TK_DIR/real.conf" "$TK_DIR/link.conf"
refuses "config is a symlink" 'symbolic link|symlink' "$TK_DIR/link.conf"
mkfifo -m 0644 "$TK_DIR/fifo.conf"
refuses "config is a FIFO" 'not a regular file|regular' "$TK_DIR/fifo.conf"
mkdir "$TK_DIR/dir.conf"
refuses "config is a directory" 'not a regular file|regular|directory' "$TK_DIR/dir.conf"
cp -p "$TK_CONF" "$TK_DIR/other.conf"; chown 65534 "$TK_DIR/other.conf"
refuses "config owned by uid 65534" 'uid 65534' "$TK_DIR/other.conf"
cp -p "$TK_CONF" "$TK_DIR/gw.conf"; chmod 0664 "$TK_DIR/gw.conf"
refuses "config writable by its group" 'writable|mode' "$TK_DIR/gw.conf"

# ---- tokenadm --qr-png
tk_start || bail "tokend did not start"
touch "$TK_DIR/out/target"
ln -s "$TK_DIR/out/target" "$TK_DIR/out/qr-link.png"
tk_adm enroll totp alice --qr-png "$TK_DIR/out/qr-link.png"
isnt "$ADM_RC" 0 "--qr-png to a symlink: refused"
is "$(stat -c %s "$TK_DIR/out/target")" 0 "... and the link's target is untouched"
mkfifo "$TK_DIR/out/qr-fifo.png"
t0=$SECONDS
timeout 20 "$TOKENADM" -c "$TK_CONF" enroll totp alice \
    --qr-png "$TK_DIR/out/qr-fifo.png" >/dev/null 2>&1 </dev/null
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ]
ok $? "--qr-png to a FIFO: refused without hanging (exit $rc, $((SECONDS - t0)) s)"
echo keep >"$TK_DIR/out/qr-exists.png"
tk_adm enroll totp alice --qr-png "$TK_DIR/out/qr-exists.png"
isnt "$ADM_RC" 0 "--qr-png to an existing file: refused"
is "$(cat "$TK_DIR/out/qr-exists.png")" keep "... and the file is untouched"
tk_adm enroll totp alice --qr-png "$TK_DIR/out/qr-new.png"
is "$ADM_RC" 0 "control: --qr-png to a new file works"
is "$(stat -c %a "$TK_DIR/out/qr-new.png" 2>/dev/null)" 600 "... mode 0600"

# ---- descriptors of a running tokend: few, and all close-on-exec
pam_services
pam_run tokend alice -a 123456   # some traffic first
fds=$(ls "/proc/$TOKEND_PID/fd")
n=0
leaky=
kinds=
for fd in $fds; do
	n=$((n + 1))
	target=$(readlink "/proc/$TOKEND_PID/fd/$fd")
	kinds="$kinds $fd:${target##*/}"
	[ "$fd" -le 2 ] && continue
	flags=$(awk '/^flags:/ { print $2 }' "/proc/$TOKEND_PID/fdinfo/$fd")
	[ $((8#$flags & 8#2000000)) -ne 0 ] || leaky="$leaky $fd:$target"
done
diag "tokend descriptors:$kinds"
is "$leaky" "" "every descriptor of tokend above 2 has O_CLOEXEC"
[ "$n" -le 8 ]
ok $? "tokend holds at most 8 descriptors ($n: stdio, listener, database, WAL, shm)"
unlike "$kinds" 'master.key' "the master key file is not held open"

# ---- the PAM driver leaks no descriptor across a login
ls -l /proc/self/fd >/dev/null
LD_PRELOAD=$PAM_WRAPPER_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d" \
    REL_FD_REPORT=1 "$TK_DRIVER" -s tokend -u alice -a 123456 \
    >"$TK_DIR/out/fd.out" 2>"$TK_DIR/out/fd.err" </dev/null
fdline=$(grep '^fds:' "$TK_DIR/out/fd.err")
like "$fdline" '^fds: before=([0-9]+) after=\1$' \
    "the PAM process has as many descriptors after the login as before ($fdline)"

done_testing
