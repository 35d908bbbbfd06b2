#!/bin/bash
# exports.sh -- pam_tokend.so exports the pam_sm_* entry points and no
# other function: its internals (protocol, client, configuration) stay
# private, so no other module or program can call or override them.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_cmd nm
[ -f "$PAM_MODULE" ] || bail "not built: $PAM_MODULE"

syms=$(nm -D --defined-only "$PAM_MODULE") || bail "nm -D failed"
funcs=$(printf '%s\n' "$syms" | awk '$2 ~ /^[TtWiI]$/ { print $3 }' | sort)
diag "exported functions:" $funcs

printf '%s\n' "$funcs" | grep -qx pam_sm_authenticate
ok $? "pam_sm_authenticate is exported"

printf '%s\n' "$funcs" | grep -qx pam_sm_setcred
ok $? "pam_sm_setcred is exported"

others=$(printf '%s\n' "$funcs" | grep -v '^pam_sm_' | grep -v '^$')
is "$others" "" "no exported function other than pam_sm_*"

# data symbols are no better than functions
data=$(printf '%s\n' "$syms" |
    awk '$2 ~ /^[DdBbRrGgSsVvu]$/ { print $3 }' | sort | tr '\n' ' ')
is "$data" "" "no exported data symbol"

needed=$(readelf -d "$PAM_MODULE" 2>/dev/null |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
diag "NEEDED: $needed"
like "$needed" 'libpam\.so' "the module is linked with libpam"

done_testing
