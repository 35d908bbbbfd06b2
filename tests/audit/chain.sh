#!/bin/bash
# chain.sh -- the audit chain against an attacker with the sqlite3 CLI:
# one field changed, a row deleted, two rows swapped, a forged row
# inserted -- "tokenadm audit verify" exits 1 and names the row each
# time, and 0 again once the change is undone.  Then an untouched chain
# of 100,000 rows (appended by audit_fill through the store) verifies.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd sqlite3
need_built
FILL=$TOP_BUILDDIR/tests/audit/audit_fill
[ -x "$FILL" ] || bail "not built: $FILL"
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"

sq() { sqlite3 -cmd '.timeout 5000' "$TK_DB" "$@"; }

# some genuine rows
tk_enroll alice
for i in 1 2 3 4 5 6; do tk_adm status >/dev/null; done
tk_adm audit verify
is "$ADM_RC" 0 "an untouched chain verifies (exit 0)"
like "$ADM_OUT" 'intact: [0-9]+ rows verified' "... and says how many rows"
tk_adm --json audit verify
is "$(json_get "$ADM_OUT" .intact)" true "... --json: intact is true"
is "$(json_get "$ADM_OUT" .first_bad_row)" null "... and first_bad_row null"
# a copy to come back to after the changes that cannot be undone
tk_adm backup "$TK_DIR/pristine.db"
is "$ADM_RC" 0 "tokenadm backup of the untouched store"

# restore: stop tokend, put the backup in place of the database, start
restore() {
	tk_stop
	rm -f "$TK_DB" "$TK_DB-wal" "$TK_DB-shm"
	cp "$TK_DIR/pristine.db" "$TK_DB"
	chmod 0600 "$TK_DB"
	tk_start || bail "tokend did not start on the restored copy"
}

# ---- one field of one row
sq "UPDATE audit SET user = 'mallory' WHERE seq = 4"
tk_adm audit verify
is "$ADM_RC" 1 "a changed field: exit 1"
like "$ADM_OUT" 'BROKEN at row 4:' "... naming row 4"
tk_adm --json audit verify
is "$(json_get "$ADM_OUT" .first_bad_row)" 4 "... --json names row 4 too"
is "$(json_get "$ADM_OUT" .intact)" false "... and intact is false"
orig=$(sq "SELECT event FROM audit WHERE seq = 4")
sq "UPDATE audit SET user = '' WHERE seq = 4"
tk_adm audit verify
is "$ADM_RC" 0 "undone: the chain verifies again"

sq "UPDATE audit SET time = time + 1 WHERE seq = 5"
tk_adm audit verify
like "$ADM_OUT" 'BROKEN at row 5:' "a changed time names row 5"
sq "UPDATE audit SET time = time - 1 WHERE seq = 5"
sq "UPDATE audit SET result = 'ok ' WHERE seq = 6"
tk_adm audit verify
like "$ADM_OUT" 'BROKEN at row 6:' "a changed result names row 6"
sq "UPDATE audit SET result = 'ok' WHERE seq = 6"
tk_adm audit verify
is "$ADM_RC" 0 "... undone"

# ---- a row deleted
sq "CREATE TABLE saved AS SELECT * FROM audit WHERE seq = 3;
    DELETE FROM audit WHERE seq = 3"
tk_adm audit verify
is "$ADM_RC" 1 "a deleted row: exit 1"
like "$ADM_OUT" 'BROKEN at row 4:' "... naming the row after the gap (4)"
sq "INSERT INTO audit SELECT * FROM saved; DROP TABLE saved"
tk_adm audit verify
is "$ADM_RC" 0 "... put back: verifies"

# ---- the first row deleted
sq "CREATE TABLE saved AS SELECT * FROM audit WHERE seq = 1;
    DELETE FROM audit WHERE seq = 1"
tk_adm audit verify
like "$ADM_OUT" 'BROKEN at row 2:' "a deleted first row names row 2"
sq "INSERT INTO audit SELECT * FROM saved; DROP TABLE saved"

# ---- two rows swapped
swap() {
	sq "UPDATE audit SET seq = -1 WHERE seq = $1;
	    UPDATE audit SET seq = $1 WHERE seq = $2;
	    UPDATE audit SET seq = $2 WHERE seq = -1"
}
swap 5 6
tk_adm audit verify
is "$ADM_RC" 1 "two rows swapped: exit 1"
like "$ADM_OUT" 'BROKEN at row 5:' "... naming row 5"
swap 5 6
tk_adm audit verify
is "$ADM_RC" 0 "... swapped back: verifies"

# ---- a forged row inserted in the middle (the rows after it moved up)
sq "UPDATE audit SET seq = seq + 1000000 WHERE seq > 5;
    INSERT INTO audit SELECT 6, time, host, event, 'bob', cred, service,
        rhost, tty, uid, pid, 'ok', reason, randomblob(32)
        FROM audit WHERE seq = 5;
    UPDATE audit SET seq = seq - 999999 WHERE seq > 1000000"
tk_adm audit verify
is "$ADM_RC" 1 "a forged row inserted: exit 1"
like "$ADM_OUT" 'BROKEN at row 6:' "... naming row 6"
# the forged row with a copied (genuine) MAC fails as well
sq "UPDATE audit SET mac = (SELECT mac FROM audit WHERE seq = 7)
    WHERE seq = 6"
tk_adm audit verify
like "$ADM_OUT" 'BROKEN at row 6:' "... also with a MAC copied from a genuine row"
# every verification is itself audited
n=$(sq "SELECT count(*) FROM audit WHERE event = 'audit_verify'
    AND result = 'broken'")
[ "${n:-0}" -ge 9 ]
ok $? "each failed verification left an audit row ($n)"
# rows written meanwhile chained to the moved rows: back to the copy
restore
tk_adm audit verify
is "$ADM_RC" 0 "restored from the backup: the chain verifies again"

# ---- a forged row at the end: everything written after it is suspect
last=$(sq "SELECT max(seq) FROM audit")
sq "INSERT INTO audit SELECT $((last + 1)), time, host, 'grant', 'bob',
    0, '', '', '', 0, 1, 'ok', 'forged', randomblob(32)
    FROM audit WHERE seq = $last"
tk_adm audit verify
is "$ADM_RC" 1 "a forged row appended: exit 1"
like "$ADM_OUT" "BROKEN at row $((last + 1)):" "... naming row $((last + 1))"
n=$(sq "SELECT count(*) FROM audit WHERE event = 'audit_verify'
    AND result = 'broken'")
is "$n" 1 "... and that verification left an audit row"

# ---- 100,000 genuine rows
tk_stop
rm -f "$TK_DB" "$TK_DB-wal" "$TK_DB-shm"
t0=$(date +%s.%N)
"$FILL" "$TK_DB" "$TK_KEY" 100000
is "$?" 0 "audit_fill appended 100,000 rows in one transaction"
t1=$(date +%s.%N)
diag "audit_fill: $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
tk_start || bail "tokend did not start"
t0=$(date +%s.%N)
tk_adm --timeout 120 audit verify
rc=$ADM_RC
t1=$(date +%s.%N)
is "$rc" 0 "a chain of 100,000 rows verifies (exit 0)"
rows=$(printf '%s\n' "$ADM_OUT" | sed -n 's/.*intact: \([0-9]*\) rows.*/\1/p')
[ "${rows:-0}" -ge 100000 ]
ok $? "... all of them ($rows rows)"
diag "tokenadm audit verify of $rows rows: $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
# one bit of the middle row changed is still found
sq "UPDATE audit SET pid = pid + 1 WHERE seq = 50000"
tk_adm --timeout 120 audit verify
like "$ADM_OUT" 'BROKEN at row 50000:' "... and one changed row among them is named (50000)"

tk_stop
done_testing
