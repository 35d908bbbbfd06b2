#!/bin/bash
# t12_hardening.sh -- T12, the hardening gate: the programs as built
# carry the compiler and linker hardening (full RELRO, immediate
# binding, PIE, non-executable stack, stack protector, FORTIFY, no
# RPATH/RUNPATH, no text relocations), and tokend.service keeps its
# sandbox: every hardening directive is present and
# `systemd-analyze security --offline' rates the unit at most
# T12_MAX_EXPOSURE (default 2.0, "OK").  The exported symbols of
# pam_tokend.so are checked by tests/pam/exports.sh; the refusals of
# unsafe files and directories at start by t9_files.sh.
# In a sanitizer or coverage build the compiler checks are reported
# and skipped (those builds are not what is shipped).
. "$TOP_SRCDIR/tests/reliability/rlib.sh"

need_cmd readelf
need_built
ENROLL=$TOKENADM
bins="$TOKEND $ENROLL $PAM_MODULE $PAM_FIDO2_OBJECT"
for b in $bins; do
	[ -f "$b" ] || bail "not built: $b"
done

instrumented=
if grep -q -e __asan_init -e __gcov_ -e __llvm_gcov "$TOKEND" 2>/dev/null; then
	instrumented=1
fi

# the real ELF file behind a libtool wrapper script
elf() {
	local f=$1 d b
	if head -c 4 "$f" | grep -q ELF; then
		echo "$f"
		return
	fi
	d=$(dirname "$f") b=$(basename "$f")
	if [ -f "$d/.libs/$b" ]; then
		echo "$d/.libs/$b"
	elif [ -f "$d/.libs/lt-$b" ]; then
		echo "$d/.libs/lt-$b"
	else
		echo "$f"
	fi
}

for b in $bins; do
	f=$(elf "$b")
	name=$(basename "$b")
	hdr=$(readelf -h -W "$f" 2>/dev/null)
	ph=$(readelf -l -W "$f" 2>/dev/null)
	dyn=$(readelf -d -W "$f" 2>/dev/null)
	syms=$(readelf --dyn-syms -W "$f" 2>/dev/null)

	printf '%s\n' "$ph" | grep -q GNU_RELRO
	ok $? "$name: RELRO segment"
	printf '%s\n' "$dyn" | grep -Eq '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'
	ok $? "$name: immediate binding (full RELRO, -z now)"
	stack=$(printf '%s\n' "$ph" | awk '$1 == "GNU_STACK" { print $(NF - 1) }')
	is "$stack" "RW" "$name: non-executable stack (GNU_STACK $stack)"
	! printf '%s\n' "$ph" | awk '$1 == "LOAD"' | grep -q 'RWE'
	ok $? "$name: no segment both writable and executable"
	! printf '%s\n' "$dyn" | grep -Eq '\((RPATH|RUNPATH)\)'
	ok $? "$name: no RPATH or RUNPATH"
	! printf '%s\n' "$dyn" | grep -q '(TEXTREL)'
	ok $? "$name: no text relocations"
	case $name in
	*.so)
		printf '%s\n' "$hdr" | grep -q 'DYN'
		ok $? "$name: a shared object (position-independent)" ;;
	*)
		printf '%s\n' "$hdr" | grep -q 'DYN' &&
		    printf '%s\n' "$dyn" | grep -q 'FLAGS_1.*PIE'
		ok $? "$name: PIE (ET_DYN with DF_1_PIE)" ;;
	esac
	if [ -n "$instrumented" ]; then
		skip "$name: stack protector" "instrumented build"
		skip "$name: FORTIFY" "instrumented build"
		continue
	fi
	printf '%s\n' "$syms" | grep -q '__stack_chk_fail'
	ok $? "$name: stack protector (__stack_chk_fail referenced)"
	n=$(printf '%s\n' "$syms" | grep -Eo '__[a-z_]+_chk(@|$| )' | sort -u | wc -l)
	ok "$([ "$n" -ge 1 ]; echo $?)" "$name: FORTIFY_SOURCE ($n checked functions)"
done

# ---- the unit's sandbox
unit=$TOP_BUILDDIR/systemd/tokend.service
[ -f "$unit" ] || bail "not built: $unit"
for d in NoNewPrivileges=yes CapabilityBoundingSet= ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes PrivateNetwork=yes \
    IPAddressDeny=any RestrictAddressFamilies=AF_UNIX \
    ProtectKernelTunables=yes ProtectKernelModules=yes \
    ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes \
    RestrictNamespaces=yes RestrictSUIDSGID=yes LockPersonality=yes \
    MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
    SystemCallFilter=@system-service UMask=0077 User=tokend; do
	grep -qx "$d" "$unit"
	ok $? "tokend.service: $d"
done

max=${T12_MAX_EXPOSURE:-2.0}
if command -v systemd-analyze >/dev/null 2>&1 &&
    systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	# --offline reads the unit file; a copy named tokend.service
	d=$(mktemp -d)
	cp "$unit" "$d/tokend.service"
	out=$(cd "$d" && systemd-analyze security --offline=true \
	    --threshold=100 tokend.service 2>&1)
	rm -rf "$d"
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for tokend.service: \([0-9.]*\).*/\1/p')
	diag "systemd-analyze security: exposure $score (at most $max)"
	[ -n "$score" ] || diag "$out"
	ok "$(awk -v s="${score:-99}" -v m="$max" 'BEGIN { exit !(s <= m) }'; echo $?)" \
	    "systemd-analyze security rates tokend.service ${score:-?} <= $max"
else
	skip "systemd-analyze security" "--offline is not available"
fi

done_testing
