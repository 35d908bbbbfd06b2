#!/bin/bash
# t7_crash.sh -- T7: crash consistency.  crash.py kills tokend with
# SIGKILL at random points of a load of verifications, wrong codes and
# enrollments (500 kills here, 5000 with TK_LONG=1), restarts
# it each time and checks that no code accepted before a kill is
# accepted again, that no code is accepted twice, that the throttle
# counter covers every answered failure and never goes back, that every
# answered enrollment is stored, and that PRAGMA integrity_check is ok.
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_root
need_wrappers
need_faketime
need_cmd python3 oathtool sqlite3 timeout
rel_built
tk_setup
tk_write_conf "max_failures = 100"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_faketime "2026-03-01 09:00:10"
tk_start || bail "tokend did not start"
users=
for u in c1 c2 c3; do
	tk_enroll_active "$u" || bail "enroll $u: $ADM_ERR"
	users="$users $u:$(uri_param "$URI" secret)"
done
tk_enroll_active cw || bail "enroll cw: $ADM_ERR"
wrong="cw:$(uri_param "$URI" secret)"
t0=$(tk_now)
tk_stop

kills=500
budget=150
if [ -n "${TK_LONG:-}" ]; then
	kills=5000
	budget=1500
fi
out=$(CRASH_TOKEND=$TOKEND CRASH_CONF=$TK_CONF CRASH_SOCK=$TK_SOCK \
    CRASH_DB=$TK_DB CRASH_LOG=$TK_LOG CRASH_PRELOAD=$FAKETIME_LIB \
    CRASH_FAKEFILE=$TK_FAKETIME_FILE CRASH_T0=$((t0 + 60)) \
    CRASH_KILLS=$kills CRASH_BUDGET=$budget CRASH_USERS="$users" \
    CRASH_WRONG="$wrong" CRASH_SEED="${TK_SEED:-}" \
    timeout $((budget + 60)) python3 "$REL_SRCDIR/crash.py" 2>&1)
rc=$?
diag "$out"
is "$rc" 0 "crash loop: no violation"
like "$out" "kills=$kills " "crash loop: $kills kills done within ${budget} s"
like "$out" 'acked_ok=[1-9]' "... with codes accepted before kills"
like "$out" 'unanswered_codes=[1-9]' "... and codes cut off by kills"

tk_start || bail "tokend did not start after the loop"
is "$(sql 'PRAGMA integrity_check;')" ok "integrity_check ok at the end"
tk_adm audit verify
is "$ADM_RC" 0 "the audit chain verifies after $kills kills"
[ "$ADM_RC" -eq 0 ] || diag "$ADM_OUT" "$ADM_ERR"

done_testing
