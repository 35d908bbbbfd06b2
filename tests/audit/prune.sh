#!/bin/bash
# prune.sh -- tokenadm audit prune against a real tokend, with tokend's
# clock under libfaketime: rows of January, then of February; pruning
# before 2030-02-01 removes exactly the January rows, leaves an anchor,
# keeps "tokenadm audit verify" clean (also across a restart and new
# rows), and is itself audited (the newest row, and the log).  Refused:
# a date in the future, a non-admin caller (denied, audited), a broken
# chain (nothing removed), and without --yes off a terminal.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_faketime
need_cmd sqlite3 python3
need_built
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2030-01-10 09:00:00"
tk_start || bail "tokend did not start"

sq() { tk_sql "$1"; }
FEB=$(date -u -d '2030-02-01 00:00:00 UTC' +%s)

# ---- January: an enrollment and some queries; then February
tk_enroll alice || bail "enroll alice"
for i in 1 2 3 4 5; do tk_adm status >/dev/null; done
tk_faketime "2030-01-31 23:59:59"
tk_adm status >/dev/null
tk_faketime "2030-02-01 00:00:00"
tk_adm status >/dev/null
tk_faketime "2030-02-10 09:00:00"
for i in 1 2 3; do tk_adm status >/dev/null; done
old=$(sq "SELECT count(*) FROM audit WHERE time < $FEB")
last_old=$(sq "SELECT max(seq) FROM audit WHERE time < $FEB")
total=$(sq "SELECT count(*) FROM audit")
[ "$old" -ge 8 ] && [ "$last_old" = "$old" ]
ok $? "rows 1..$old are of January ($total in all)"

# ---- usage errors and refusals: nothing removed
tk_adm audit prune --before 2030-02-01
is "$ADM_RC" 2 "without --yes and without a terminal: usage error (exit 2)"
like "$ADM_ERR" '--yes' "... asking for --yes"
tk_adm audit prune --yes
is "$ADM_RC" 2 "without --before: usage error"
tk_adm audit prune --before 2030-02-30 --yes
is "$ADM_RC" 2 "an impossible date: usage error"
tk_adm audit prune --before 2030-03-01 --yes
is "$ADM_RC" 1 "a date in tokend's future is refused (exit 1)"
like "$ADM_ERR" 'past' "... saying UNTIL must be in the past"
ADM_AS=65534:65534 tk_adm audit prune --before 2030-02-01 --yes
is "$ADM_RC" 1 "uid 65534 (not an administrator) is refused (exit 1)"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'denied'
    AND reason = 'AUDIT_PRUNE'")" 1 "... and the refusal is audited"
is "$(sq "SELECT count(*) FROM audit WHERE time < $FEB")" "$old" \
    "nothing was removed so far"
is "$(sq "SELECT count(*) FROM audit_anchor")" 0 "... and there is no anchor"

# ---- a broken chain is not pruned
orig=$(sq "SELECT user FROM audit WHERE seq = 3")
sq "UPDATE audit SET user = 'mallory' WHERE seq = 3"
tk_adm audit prune --before 2030-02-01 --yes
is "$ADM_RC" 1 "a broken chain: prune refused (exit 1)"
like "$ADM_ERR" 'broken' "... saying the chain is broken"
is "$(sq "SELECT result || ' ' || reason FROM audit ORDER BY seq DESC LIMIT 1")" \
    "broken nothing removed: chain broken at row 3" "... audited as broken"
sq "UPDATE audit SET user = '$orig' WHERE seq = 3"
tk_adm audit verify
is "$ADM_RC" 0 "undone: the chain verifies"

# ---- the prune
tk_adm audit prune --before 2030-02-01 --yes
is "$ADM_RC" 0 "tokenadm audit prune --before 2030-02-01 --yes exits 0"
like "$ADM_OUT" "Removed $old audit rows older than 2030-02-01T00:00:00Z" \
    "... says how many rows went"
like "$ADM_OUT" "after row $last_old \\(the anchor\\)" "... and names the anchor"
is "$(sq "SELECT count(*) FROM audit WHERE time < $FEB")" 0 \
    "no row before 2030-02-01 is left"
is "$(sq "SELECT min(seq) FROM audit")" $((last_old + 1)) \
    "the first row of February is kept"
is "$(sq "SELECT count(*) FROM audit WHERE time = $FEB")" 1 \
    "... the row at exactly 00:00:00 too"
is "$(sq "SELECT seq FROM audit_anchor")" "$last_old" "the anchor is row $last_old"
is "$(sq "SELECT event || '|' || result || '|' || reason FROM audit
    ORDER BY seq DESC LIMIT 1")" \
    "audit_prune|ok|removed $old rows before 2030-02-01T00:00:00Z, anchor seq $last_old" \
    "the newest row records the prune"
grep -q 'event=audit_prune' "$TK_LOG"
ok $? "... and the log has its line"
tk_adm audit verify
is "$ADM_RC" 0 "the kept chain verifies"
like "$ADM_OUT" 'intact' "... intact"

# ---- again: nothing older; JSON
tk_adm --json audit prune --before 2030-02-01 --yes
is "$ADM_RC" 0 "pruning again exits 0"
is "$(json_get "$ADM_OUT" .removed)" 0 "... removes nothing"
is "$(json_get "$ADM_OUT" .anchor_seq)" "$last_old" "... and reports the anchor"
is "$(json_get "$ADM_OUT" .before)" 2030-02-01T00:00:00Z "... and the date"

# ---- the chain goes on: new rows, a restart, a second prune
tk_stop
tk_faketime "2030-03-05 09:00:00"
tk_start || bail "tokend did not restart"
tk_adm status >/dev/null
tk_adm audit verify
is "$ADM_RC" 0 "after a restart and new rows the chain verifies"
tk_adm --json audit prune --before 2030-03-01T00:00:00Z --yes
is "$ADM_RC" 0 "a second prune (date and time) exits 0"
n=$(json_get "$ADM_OUT" .removed)
[ "$n" -ge 5 ]
ok $? "... removes the February rows ($n)"
is "$(sq "SELECT count(*) FROM audit WHERE time < $(date -u -d '2030-03-01 UTC' +%s)")" 0 \
    "... none older is left"
tk_adm audit verify
is "$ADM_RC" 0 "the chain verifies after the second prune"
# tampering with the anchor breaks the first kept row
first=$(sq "SELECT min(seq) FROM audit")
sq "UPDATE audit_anchor SET mac = zeroblob(32)"
tk_adm audit verify
is "$ADM_RC" 1 "a changed anchor: verify exits 1"
like "$ADM_OUT" "BROKEN at row $first:" "... naming the first kept row ($first)"

tk_stop
done_testing
