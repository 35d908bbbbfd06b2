#!/bin/bash
# t7_diskfull.sh -- T7, disk full on a real file system: tokend's
# database directory is a 2 MiB tmpfs, filled to the last block by a
# file in the middle of a load of verifications.  Then:
#  - tokend answers "internal error" (status 10), never "ok", and keeps
#    running;
#  - the PAM module fails closed: a valid fresh code fails a stack with
#    nullok and pam_permit beside ours;
#  - nothing stored is corrupted: PRAGMA integrity_check is ok while the
#    disk is full;
#  - once space is freed tokend recovers without a restart: the code
#    refused while the disk was full (its transaction rolled back) is
#    accepted once, then refused as a replay; integrity_check and
#    `tokenadm audit verify' pass, also after a restart.
# Needs mount(8) and tmpfs (root); skipped when mounting is not allowed.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 timeout mount umount dd
rel_built
tk_setup
MNT=$TK_DIR/lib
mkdir -m 0700 "$MNT"
mount -t tmpfs -o size=2m,mode=0700,uid=0,gid=0 tk-t7 "$MNT" 2>/dev/null ||
    skip_all "cannot mount a tmpfs here (no privilege for mount)"
# stop tokend before the file system goes, then the usual clean-up
trap 'tk_stop_quiet; umount -l "$MNT" 2>/dev/null; tk_cleanup' EXIT

tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
pam_services
pam_service permit_nullok "auth required @MODDIR@/pam_permit.so
auth required @MODULE@ config=@CONF@ nullok"
tk_enroll_active dora || bail "enroll: $ADM_ERR"
uri=$URI
for u in load1 load2 load3; do
	tk_enroll_active "$u" || bail "enroll $u: $ADM_ERR"
done
tk_step_next
diag "before filling: $(df -k "$MNT" | awk 'NR == 2 { print $3 " kB used, " $4 " kB free" }')"

# ---- a load of verifications (wrong codes of three users, each
# audited); after 100 of them a file fills the file system to the last
# block, and the load goes on until tokend has reported the full disk
# 20 times
load=$(timeout 120 python3 - "$TOP_SRCDIR/tests/pam" "$TK_SOCK" "$MNT/filler" <<'PYEOF'
import errno, os, sys, time
sys.path.insert(0, sys.argv[1])
import wire
sock, filler = sys.argv[2], sys.argv[3]
counts, internal, before = {}, 0, {}
for i in range(3000):
    if i == 100:
        before = dict(counts)
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        os.close(fd)
    s = wire.connect(sock)
    s.sendall(wire.frame(wire.enc({0: wire.VERSION, 1: 3,
        10: "load%d" % (i % 3 + 1), 11: "%06d" % (i % 1000000)})))
    a = wire.read_answer(s, time.monotonic() + 10)
    s.close()
    st = "closed" if a is None else a.get(2)
    counts[st] = counts.get(st, 0) + 1
    if st == 10:
        internal += 1
        if internal >= 20:
            break
fmt = lambda c: " ".join("%s=%d" % kv for kv in sorted(c.items(),
    key=lambda kv: str(kv[0])))
print("before the fill: %s; in all: %s; requests %d" % (fmt(before),
    fmt(counts), i + 1))
PYEOF
)
free_kb=$(df -k "$MNT" | awk 'NR == 2 { print $4 }')
is "$free_kb" 0 "the database's file system is full"
diag "load answers (status=count): $load"
like "$load" 'in all: .*10=20' "a full disk is answered internal error (status 10)"
unlike "$load" '(: | )0=' "no verification of the load was answered ok"
kill -0 "$TOKEND_PID" 2>/dev/null
ok $? "tokend keeps running"

# ---- a valid fresh code while the disk is full: the login fails
code=$(totp_code "$uri")
pam_run permit_nullok dora -a "$code"
pam_refused "a valid code while the disk is full: the stack (pam_permit, nullok) fails ($PAM_RESULT)"
pam_run tokend dora -a "$code"
pam_refused "... and with our module alone ($PAM_RESULT)"
like "$(tail -n 30 "$TK_LOG")" 'full|No space|SQLITE_FULL|disk' \
    "tokend's log names the full disk"
is "$(sql 'PRAGMA integrity_check;')" ok "integrity_check is ok while the disk is full"

# ---- free the space: tokend recovers without a restart
rm -f "$MNT/filler"
pam_is tokend dora PAM_SUCCESS "after space is freed the same code (never committed) is accepted" -a "$code"
pam_is tokend dora PAM_AUTH_ERR "... once: then it is a replay" -a "$code"
is "$(sql 'PRAGMA integrity_check;')" ok "integrity_check is ok after recovery"
tk_adm audit verify
is "$ADM_RC" 0 "tokenadm audit verify passes"
is "$(sql "SELECT count(*) FROM audit WHERE user = 'dora' AND event = 'totp_verify' AND result = 'ok';")" 1 \
    "the audit trail has exactly one accepted code of dora"
tk_stop
tk_start || bail "restart"
is "$(sql 'PRAGMA integrity_check;')" ok "integrity_check is ok after a restart"
tk_adm audit verify
is "$ADM_RC" 0 "audit verify passes after a restart"
tk_step_next
pam_is tokend dora PAM_SUCCESS "the next step's code logs in" -a "$(totp_code "$uri")"

done_testing
