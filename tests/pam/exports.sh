#!/bin/bash
# exports.sh -- pam_tokend.so exports the pam_sm_* entry points and no
# other function: its internals (protocol, client, configuration) stay
# private, so no other module or program can call or override them.
# It does not link libfido2; the FIDO2 object it loads does, and
# exports one entry point.
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

# issue 7: libfido2 (and libcrypto, libudev) only in the FIDO2 object,
# which the module loads when a login tries a key (fido2_object.sh)
unlike "$needed" 'libfido2|libcrypto|libudev' \
    "the module does not link libfido2, libcrypto or libudev"
if command -v ldd >/dev/null 2>&1; then
	deps=$(ldd "$PAM_MODULE" 2>/dev/null | awk '{ print $1 }' | tr '\n' ' ')
	unlike "$deps" 'libfido2|libcrypto|libudev' \
	    "... not even indirectly (ldd)"
else
	skip "... not even indirectly (ldd)" "no ldd"
fi
[ -f "$PAM_FIDO2_OBJECT" ] || bail "not built: $PAM_FIDO2_OBJECT"
fneeded=$(readelf -d "$PAM_FIDO2_OBJECT" 2>/dev/null |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
like "$fneeded" 'libfido2\.so' "the FIDO2 object links libfido2"
fsyms=$(nm -D --defined-only "$PAM_FIDO2_OBJECT" |
    awk '$2 ~ /^[A-Za-z]$/ { print $3 }' | tr '\n' ' ')
is "$fsyms" "tk_pam_fido2_api " "the FIDO2 object exports its entry point alone"

done_testing
