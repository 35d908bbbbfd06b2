#!/bin/bash
# hosts.sh -- two tokend processes ("host A" and "host B") on one real
# PostgreSQL, as two terminals of a zone would be:
#  - the same valid code sent to both at the same instant: exactly one
#    success, HOSTS_ROUNDS (200) times;
#  - a lockout reached through A holds on B, and an unlock on B frees A;
#  - interleaved writes from both keep `tokenadm audit verify' clean;
#  - the STATUS answer names the store "postgresql".
# Both daemons' clocks are frozen by libfaketime through one timestamp
# file, so that every round is a new TOTP time step.
. "$TOP_SRCDIR/tests/pam/lib.sh"
. "$TOP_SRCDIR/tests/pg/pglib.sh"

if ! grep -q '^#define HAVE_LIBPQ 1' "$TOP_BUILDDIR/config.h"; then
	skip_all "tokend built without libpq"
fi
need_root
need_cmd python3 oathtool
need_faketime
pg_find_bin || skip_all "no PostgreSQL server binaries"
[ -x "$TOKEND" ] && [ -x "$TOKENADM" ] || bail "not built"
ROUNDS=${HOSTS_ROUNDS:-200}
HOSTS_PY=$TOP_SRCDIR/tests/pg/hosts.py

tk_setup
trap 'tk_stop_quiet; kill $B_PID 2>/dev/null; wait $B_PID 2>/dev/null; pg_stop; tk_cleanup' EXIT
pg_start "$TK_DIR/pg" || bail "cannot start PostgreSQL"

# one configuration each; the same master key and store
tk_write_conf "[store]
url = $PG_URL"
CONF_A=$TK_CONF
CONF_B=$TK_DIR/tokend-b.conf
SOCK_B=$TK_DIR/run/socket-b
sed "s|^socket = .*|socket = $SOCK_B|" "$CONF_A" >"$CONF_B"
chmod 0644 "$CONF_B"
tk_faketime "2027-01-15 09:00:10"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"

tk_start || bail "host A did not start"
tk_tokend_env
env "${TK_TOKEND_ENV[@]}" "$TOKEND" -c "$CONF_B" -f >>"$TK_DIR/tokend-b.log" \
    2>&1 </dev/null &
B_PID=$!
for i in $(seq 1 100); do
	"$TOKENADM" -c "$CONF_B" status >/dev/null 2>&1 && break
	sleep 0.1
done

adm_b() {
	"$TOKENADM" -c "$CONF_B" "$@" </dev/null
}

tk_adm --json status
is "$(json_get "$ADM_OUT" .store 2>/dev/null || echo "$ADM_OUT")" \
    postgresql "STATUS on host A names the store postgresql" ||
    diag "$ADM_OUT"
out=$(adm_b status 2>&1)
like "$out" "postgresql" "host B answers and uses the same store"

# --- one code, two hosts, one success -----------------------------------
tk_enroll_active alice || bail "enroll failed: $ADM_ERR"
SECRET=$(uri_param "$URI" secret)
T0=$(( $(date -u -d "2027-01-15 09:01:00 UTC" +%s) ))
res=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" race "$TK_SOCK" "$SOCK_B" \
    alice "$SECRET" "$TK_FAKETIME_FILE" "$T0" "$ROUNDS" 2>"$TK_DIR/race.err")
diag "race: $res"
one=$(sed -n 's/.* one_ok=\([0-9]*\).*/\1/p' <<<"$res")
is "$one" "$ROUNDS" "$ROUNDS races of one code on two hosts: exactly one success each"
like "$res" "both_ok=0 " "never two successes for one code"
like "$res" "other=0" "the loser is always told: replayed"
is "$(pg_psql "SELECT last_step FROM credentials WHERE id = $CRED")" \
    "$(( (T0 + 30 * (ROUNDS - 1) + 10) / 30 ))" "the store holds the last step once"

# --- a lockout reached through A holds on B ------------------------------
tk_faketime "2027-02-01 10:00:10"
tk_enroll_active bob || bail "enroll bob failed: $ADM_ERR"
BOB_URI=$URI
bad=$(wrong_code "$BOB_URI")
for i in $(seq 1 10); do
	st=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" verify "$TK_SOCK" bob "$bad")
done
is "$st" 3 "ten wrong codes on host A lock bob (status locked)"
good=$(totp_code "$BOB_URI")
st=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" verify "$SOCK_B" bob "$good")
is "$st" 3 "the lockout holds on host B: a valid code is refused there"
adm_b unlock bob >/dev/null 2>&1
ok $? "host B unlocks bob"
st=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" verify "$TK_SOCK" bob "$good")
is "$st" 0 "after the unlock on B, the code passes on A"

# --- interleaved writes from both hosts ---------------------------------
tk_faketime "2027-03-01 08:00:10"
bad_a=$(wrong_code "$URI")
(
	for i in $(seq 1 40); do
		python3 "$HOSTS_PY" verify "$TK_SOCK" carol 123456 >/dev/null
		"$TOKENADM" -c "$CONF_A" list >/dev/null 2>&1
	done
) &
p1=$!
(
	for i in $(seq 1 40); do
		python3 "$HOSTS_PY" verify "$SOCK_B" dave 654321 >/dev/null
		adm_b status >/dev/null 2>&1
	done
) &
p2=$!
wait $p1 $p2
tk_adm audit verify
ok $ADM_RC "tokenadm audit verify is clean after interleaved writes (A)"
diag "$ADM_OUT"
out=$(adm_b audit verify 2>&1)
ok $? "and through host B"
gaps=$(pg_psql "SELECT count(*) - (max(seq) - min(seq) + 1) FROM audit")
is "$gaps" 0 "one chain: no gap, no duplicate sequence number"
hosts=$(pg_psql "SELECT count(*) FROM audit WHERE event = 'daemon_start'")
is "$hosts" 2 "both daemons wrote their start to the one chain"

done_testing
