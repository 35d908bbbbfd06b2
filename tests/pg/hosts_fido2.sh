#!/bin/bash
# hosts_fido2.sh -- two tokend processes ("host A" and "host B") on one
# real PostgreSQL, as hosts.sh, for what FIDO2 and audit retention add:
#  - a login challenge issued by A (FIDO2_BEGIN) is finished exactly
#    once: the same FIDO2_FINISH (an assertion of a soft key, tests/softkey,
#    made by fido2sign through the real libfido2) written to A and B at
#    the same instant gets one `ok' and one `replay', HOSTS_FIDO2_ROUNDS
#    (50) times, and the store keeps the winner's signature counter;
#  - `audit verify' on B while A prunes the trail over and over never
#    reports a break that is not there (the anchor and the rows are read
#    in one snapshot, store_pg.c invariant 9);
#  - `tokenadm audit verify' is clean through both hosts afterwards.
. "$TOP_SRCDIR/tests/pam/lib.sh"
. "$TOP_SRCDIR/tests/pg/pglib.sh"

if ! grep -q '^#define HAVE_LIBPQ 1' "$TOP_BUILDDIR/config.h"; then
	skip_all "tokend built without libpq"
fi
need_root
need_cmd python3
pg_find_bin || skip_all "no PostgreSQL server binaries"
[ -x "$TOKEND" ] && [ -x "$TOKENADM" ] || bail "not built"
ROUNDS=${HOSTS_FIDO2_ROUNDS:-50}
RACE_SECS=${HOSTS_AUDIT_SECONDS:-6}
HOSTS_PY=$TOP_SRCDIR/tests/pg/hosts.py
SIGNER=$TOP_BUILDDIR/tests/pg/fido2sign
SK_DIR=$TOP_BUILDDIR/tests/softkey
SKCTL=$SK_DIR/softkey-ctl
SK_PRELOAD=$SK_DIR/.libs/softkey-preload.so
[ -x "$SIGNER" ] && [ -x "$SKCTL" ] && [ -f "$SK_PRELOAD" ] ||
    bail "not built: $SIGNER, $SK_DIR"

tk_setup
trap 'tk_stop_quiet; kill $B_PID 2>/dev/null; wait $B_PID 2>/dev/null; pg_stop; tk_cleanup' EXIT
pg_start "$TK_DIR/pg" || bail "cannot start PostgreSQL"

# one configuration each; the same master key and store.  The soft key
# has no PIN: logins ask for presence only.
tk_write_conf "[store]
url = $PG_URL

[fido2]
rp_id = tokend.test
user_verification = discouraged"
CONF_A=$TK_CONF
CONF_B=$TK_DIR/tokend-b.conf
SOCK_B=$TK_DIR/run/socket-b
sed "s|^socket = .*|socket = $SOCK_B|" "$CONF_A" >"$CONF_B"
chmod 0644 "$CONF_B"
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
out=$(adm_b status 2>&1)
like "$out" "postgresql" "host B answers and uses the same store"

# --- a FIDO2 challenge of A, finished on A and B at once ------------------
KEY=$TK_DIR/alice.key
"$SKCTL" init "$KEY" >/dev/null || bail "softkey-ctl init failed"
env LD_PRELOAD="$SK_PRELOAD" SOFTKEY_KEYS="$KEY" "$TOKENADM" -c "$CONF_A" \
    --json enroll fido2 alice --uv discouraged >"$TK_DIR/enroll.out" \
    2>"$TK_DIR/enroll.err" </dev/null
ok $? "tokenadm enroll fido2 alice with the soft key (no PIN)" ||
    diag "$(cat "$TK_DIR/enroll.err")"
FCRED=$(json_get "$(cat "$TK_DIR/enroll.out")" .credential)
[ -n "$FCRED" ] || bail "no credential enrolled"

res=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" fido2race "$TK_SOCK" \
    "$SOCK_B" alice "$SIGNER" "$KEY" tokend.test "$ROUNDS" \
    2>"$TK_DIR/fido2race.err")
diag "fido2 race: $res"
[ -s "$TK_DIR/fido2race.err" ] && diag "$(head -n 5 "$TK_DIR/fido2race.err")"
one=$(sed -n 's/.* one_ok=\([0-9]*\).*/\1/p' <<<"$res")
is "$one" "$ROUNDS" "$ROUNDS challenges of A finished on A and B at once: exactly one ok each"
like "$res" "both_ok=0 " "never two successes for one challenge"
like "$res" "other=0 " "the loser is always told: replay"
b_won=$(sed -n 's/.* b_won=\([0-9]*\).*/\1/p' <<<"$res")
[ "${b_won:-0}" -gt 0 ]
ok $? "challenges issued by A were finished on B ($b_won times)"
first=$(sed -n 's/.* first_count=\([0-9]*\).*/\1/p' <<<"$res")
last=$(sed -n 's/.* last_count=\([0-9]*\).*/\1/p' <<<"$res")
is "$(( ${last:-0} - ${first:-0} + 1 ))" "$ROUNDS" \
    "the signature counter was accepted once a round"
is "$(pg_psql "SELECT sign_count FROM credentials WHERE id = $FCRED")" \
    "$last" "the store holds the last accepted counter"
is "$(pg_psql "SELECT count(*) FROM challenges WHERE used = 0")" 0 \
    "every challenge is burnt"
is "$(pg_psql "SELECT count(*) FROM audit WHERE event = 'fido2_verify' AND result = 'ok'")" \
    "$ROUNDS" "one fido2_verify ok row a round in the one chain"
is "$(pg_psql "SELECT state FROM credentials WHERE id = $FCRED")" 2 \
    "the credential stays active (no false clone alarm)"

# --- prune on A while B verifies ----------------------------------------
res=$(TOP_SRCDIR=$TOP_SRCDIR python3 "$HOSTS_PY" auditrace "$TK_SOCK" \
    "$SOCK_B" "$RACE_SECS" 2>"$TK_DIR/auditrace.err")
diag "prune/verify race: $res"
[ -s "$TK_DIR/auditrace.err" ] && diag "$(head -n 5 "$TK_DIR/auditrace.err")"
like "$res" "broken=0 " "verify on B during prunes on A: no false break"
like "$res" "failed=0 " "... and no failed request"
like "$res" "prune_broken=0" "the prunes' own verifies saw no break either"
n=$(sed -n 's/^verifies=\([0-9]*\).*/\1/p' <<<"$res")
[ "${n:-0}" -ge 20 ]
ok $? "B verified the chain $n times during the prunes"
removed=$(sed -n 's/.* removed=\([0-9]*\).*/\1/p' <<<"$res")
[ "${removed:-0}" -gt 0 ]
ok $? "A removed rows meanwhile ($removed)"

tk_adm audit verify
ok $ADM_RC "tokenadm audit verify is clean afterwards (A)" || diag "$ADM_OUT"
out=$(adm_b audit verify 2>&1)
ok $? "and through host B" || diag "$out"
is "$(pg_psql "SELECT count(*) FROM audit_anchor")" 1 "the chain has an anchor"

done_testing
