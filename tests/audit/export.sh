#!/bin/bash
# export.sh -- tokenadm audit export: CSV (RFC 4180: header, CRLF, quoted
# commas, quotes and line breaks, UTF-8, optional BOM, formulas
# defused) and JSON Lines (one object a line, 13 fields), the --since,
# --until and --user filters, paging through more rows than one answer
# holds, and the usage errors.  Then tokenadm backup: a new 0600 file
# that opens as a database and restores.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 sqlite3
need_built
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"

sq() { sqlite3 -cmd '.timeout 5000' "$TK_DB" "$@"; }

# rows with awkward texts: a reason with a comma, quotes and Japanese,
# one that looks like a formula
tk_adm grant alice --for 1h --reason 'lost key, "urgent" 鍵を紛失'
tk_adm grant bob --for 1h --reason '=HYPERLINK("http://x")'
for i in $(seq 1 60); do tk_adm status >/dev/null; done
total=$(sq "SELECT count(*) FROM audit")

# ---- CSV
tk_adm audit export --format csv
is "$ADM_RC" 0 "export --format csv exits 0"
cp "$TK_DIR/out/adm.out" "$TK_DIR/a.csv"
head -c 3 "$TK_DIR/a.csv" | od -An -tx1 | grep -q 'ef bb bf'
isnt "$?" 0 "no BOM without --bom"
is "$(head -n 1 "$TK_DIR/a.csv")" \
    $'seq,time,host,event,user,credential,service,rhost,tty,uid,pid,result,reason\r' \
    "the header row, CRLF-terminated"
py_csv() {
	python3 - "$@" <<'PYEOF'
import csv, io, sys
raw = open(sys.argv[1], 'rb').read()
bom = raw.startswith(b'\xef\xbb\xbf')
text = raw.decode('utf-8-sig')
# every record ends with CRLF (RFC 4180); bare LF only inside quotes
rows = list(csv.reader(io.StringIO(text, newline='')))
ok = all(len(r) == 13 for r in rows)
print(len(rows) - 1, int(bom), int(ok))
for r in rows[1:]:
    if r[3] == sys.argv[2] and r[4] == sys.argv[3]:
        print(r[12])
PYEOF
}
out=$(py_csv "$TK_DIR/a.csv" grant alice)
set -- $out
rows=$1
[ "$rows" -ge "$total" ]
ok $? "every row is exported ($rows rows, $total in the table; more than one page)"
is "$3" 1 "... each with 13 fields"
is "$(printf '%s\n' "$out" | sed -n 2p)" 'lost key, "urgent" 鍵を紛失' \
    "a reason with a comma, quotes and Japanese reads back exactly"
grep -q '"lost key, ""urgent"" 鍵を紛失"' "$TK_DIR/a.csv"
ok $? "... written quoted, with the quotes doubled (RFC 4180)"
is "$(py_csv "$TK_DIR/a.csv" grant bob | sed -n 2p)" "'=HYPERLINK(\"http://x\")" \
    "a text that starts like a formula gets a leading apostrophe"
crlf=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.count(b"\r\n") == d.count(b"\n"))' "$TK_DIR/a.csv")
is "$crlf" True "every line ends with CRLF"

tk_adm audit export --format csv --bom
cp "$TK_DIR/out/adm.out" "$TK_DIR/b.csv"
head -c 3 "$TK_DIR/b.csv" | od -An -tx1 | grep -q 'ef bb bf'
ok $? "--bom starts the file with the UTF-8 byte order mark"
is "$(py_csv "$TK_DIR/b.csv" x x | awk '{print $2}')" 1 "... and it still parses as CSV"

# ---- JSON Lines
tk_adm audit export --format jsonl
is "$ADM_RC" 0 "export --format jsonl exits 0"
res=$(python3 - "$TK_DIR/out/adm.out" <<'PYEOF'
import json, sys
keys = ["seq", "time", "host", "event", "user", "credential", "service",
        "rhost", "tty", "uid", "pid", "result", "reason"]
n = bad = 0
last = 0
for line in open(sys.argv[1], encoding='utf-8'):
    v = json.loads(line)
    n += 1
    if list(v) != keys or not isinstance(v["seq"], int) or v["seq"] <= last:
        bad += 1
    last = v["seq"]
    if not v["time"].endswith("Z"):
        bad += 1
print(n, bad)
PYEOF
)
set -- $res
[ "${1:-0}" -ge "$total" ]
ok $? "one JSON object a line, every row ($1)"
is "${2:-x}" 0 "... each with the 13 fields in order, seq growing, times in UTC"

# ---- filters
tk_adm audit export --format jsonl --user alice
n=$(printf '%s\n' "$ADM_OUT" | grep -c '"user":"alice"')
is "$n" "$(printf '%s\n' "$ADM_OUT" | grep -c .)" "--user alice: only alice's rows"
[ "$n" -ge 1 ]
ok $? "... and there are some ($n)"
today=$(date -u +%Y-%m-%d)
tk_adm audit export --format jsonl --since "$today"
n1=$(printf '%s\n' "$ADM_OUT" | grep -c .)
[ "$n1" -ge "$total" ]
ok $? "--since today: every row ($n1)"
tk_adm audit export --format jsonl --until 2020-01-01
is "$ADM_OUT" "" "--until 2020-01-01: none"
tk_adm audit export --format jsonl --since 2099-01-01T00:00:00Z
is "$ADM_OUT" "" "--since 2099-01-01T00:00:00Z: none"
tk_adm audit export --format jsonl --until "$today"
n2=$(printf '%s\n' "$ADM_OUT" | grep -c .)
[ "$n2" -ge "$total" ]
ok $? "--until today includes today ($n2 rows)"

# ---- usage errors
for args in "--format xml" "" "--format jsonl --bom" \
    "--format csv --since 2024-02-30" "--format csv --since yesterday" \
    "--format csv --since 2024-01-02 --until 2024-01-01"; do
	tk_adm audit export $args
	is "$ADM_RC" 2 "audit export $args: usage error (exit 2)"
done
tk_adm audit frobnicate
is "$ADM_RC" 2 "an unknown audit command: usage error"

# ---- backup
( cd "$TK_DIR" && "$TOKENADM" -c "$TK_CONF" backup rel.db >/dev/null 2>&1 )
is "$?" 0 "tokenadm backup with a relative file name exits 0"
[ -f "$TK_DIR/rel.db" ] && [ "$(stat -c %a "$TK_DIR/rel.db")" = 600 ]
ok $? "... writing the file there, mode 0600"
is "$(sqlite3 "$TK_DIR/rel.db" 'PRAGMA integrity_check')" ok \
    "... a sound SQLite database"
is "$(sqlite3 "$TK_DIR/rel.db" 'SELECT count(*) FROM grants')" 2 "... with the data"
tk_adm backup "$TK_DIR/rel.db"
is "$ADM_RC" 1 "an existing file is never overwritten (exit 1)"
ln -s /etc/passwd "$TK_DIR/link.db"
tk_adm backup "$TK_DIR/link.db"
is "$ADM_RC" 1 "a symbolic link is refused (exit 1)"
tk_adm backup "$TK_DIR/no/such/dir.db"
is "$ADM_RC" 1 "a missing directory is refused (exit 1)"
is "$(sq "SELECT count(*) FROM audit WHERE event = 'backup'")" 4 "every backup attempt is audited"
# restore the copy
tk_stop
rm -f "$TK_DB" "$TK_DB-wal" "$TK_DB-shm"
cp "$TK_DIR/rel.db" "$TK_DB"
tk_start || bail "tokend did not start on the restored copy"
tk_adm --json grants
is "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$ADM_OUT")" 2 \
    "restored: tokend runs on the copy with its grants"
tk_adm audit verify
is "$ADM_RC" 0 "... and its audit chain verifies"

tk_stop
done_testing
