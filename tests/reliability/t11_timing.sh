#!/bin/bash
# t11_timing.sh -- T11: the time tokend takes to answer TOTP_VERIFY does
# not tell whether the user has a credential, nor where a wrong code
# differs from the right one.  300 requests of each case, interleaved;
# the median of every case must lie within 0.5..2.0 times the median of
# "enrolled user, wrong first digit" (a generous bound: the commit's
# fsync dominates and a real leak of an early exit, such as skipping the
# audit row or the transaction for an unknown user, shows as a factor
# well beyond it).  TK_LONG=1 sends 3000 of each.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_cmd python3 oathtool sqlite3
rel_built
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
tk_enroll_active tim || bail "enroll: $ADM_ERR"
uri=$URI
tk_enroll_active rev || bail "enroll: $ADM_ERR"
tk_adm revoke rev --all || bail "revoke: $ADM_ERR"

wait_step_margin
right=$(totp_code "$uri")
# wrong codes that differ from the right one in the first / last digit
# only, and match no step of the window
flip() { # CODE POSITION
	local c=$1 p=$2 d
	d=${c:$p:1}
	d=$(((d + 5) % 10))
	echo "${c:0:$p}$d${c:$((p + 1))}"
}
first=$(flip "$right" 0)
last=$(flip "$right" 5)
n=300
[ -n "${TK_LONG:-}" ] && n=3000
out=$(timeout 300 python3 "$REL_SRCDIR/timing.py" "$TK_SOCK" "$n" \
    "wrong_first=tim:$first" "wrong_last=tim:$last" \
    "no_credential=nobody_here:$first" "revoked=rev:$first" 2>&1)
diag "$out"
base=$(printf '%s\n' "$out" | awk '$1 == "wrong_first" { sub("median_us=", "", $2); print $2 }')
[ -n "$base" ] && [ "$base" -gt 0 ] || bail "no timing: $out"
for c in wrong_last no_credential revoked; do
	m=$(printf '%s\n' "$out" | awk -v c="$c" '$1 == c { sub("median_us=", "", $2); print $2 }')
	ratio=$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
	awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5 && r <= 2.0) }'
	ok $? "$c: median $m us is $ratio times wrong_first's $base us (0.5..2.0)"
done
is "$(sql "SELECT locked FROM throttle WHERE user = 'tim';")" 0 \
    "the timed user was never left locked (no lock changed the path)"

done_testing
