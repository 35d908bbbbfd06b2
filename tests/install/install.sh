#!/bin/bash
# install.sh -- make install into a DESTDIR from the build tree: the
# files a deployment needs are all there (module, programs, man pages,
# Japanese catalogue, configuration, guides, systemd units, sysusers
# file) with the right modes and nothing else; the installed module
# loads and exports only pam_sm_*; the installed programs do not point
# into the build tree; the example configuration is valid, also with
# every commented default switched on; an existing tokend.conf is never
# overwritten; and make uninstall removes everything it installed.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_cmd nm readelf python3 cmp find
: "${INST_PREFIX:?run through make check}"
[ -x "$TOKEND" ] && [ -x "$TOKENADM" ] || bail "not built: $TOKEND $TOKENADM"

tmp=$(mktemp -d /tmp/tokend-install.XXXXXX) || bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# make in the build tree, on its own (not as part of the calling make's
# job server), output kept for the diagnostics
top_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$TOP_BUILDDIR" \
	    "$@" >"$tmp/make.out" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || diag "$(tail -n 20 "$tmp/make.out")"
	return $rc
}

files_in() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
}

top_make install DESTDIR="$dest"
ok $? "make install DESTDIR=... succeeds"

# ---- the file list
want_755="$INST_SBINDIR/tokend $INST_SBINDIR/tokenadm"
want_644="$INST_MANDIR/man8/pam_tokend.8 $INST_MANDIR/man8/tokend.8
$INST_MANDIR/man8/tokenadm.8 $INST_MANDIR/man5/tokend.conf.5
$INST_LOCALEDIR/ja/LC_MESSAGES/tokend.mo
$INST_SYSCONFDIR/tokend/tokend.conf
$INST_DOCDIR/tokend.conf.example $INST_DOCDIR/pam-configs/tokend
$INST_DOCDIR/pam-configs/second-factor
$INST_DOCDIR/integration.md $INST_DOCDIR/integration.ja.md
$INST_DOCDIR/admin.md $INST_DOCDIR/admin.ja.md
$INST_DOCDIR/deployment.md $INST_DOCDIR/deployment.ja.md
$INST_PKGDATADIR/schema-pg.sql"
dirs="$INST_SBINDIR $INST_PAMMODDIR $INST_MANDIR $INST_LOCALEDIR $INST_DOCDIR
$INST_SYSCONFDIR/tokend $INST_PKGDATADIR"
if [ "$INST_UNITDIR" != no ]; then
	want_644="$want_644 $INST_UNITDIR/tokend.service $INST_UNITDIR/tokend.socket"
	dirs="$dirs $INST_UNITDIR"
fi
if [ "$INST_SYSUSERSDIR" != no ]; then
	want_644="$want_644 $INST_SYSUSERSDIR/tokend.conf"
	dirs="$dirs $INST_SYSUSERSDIR"
fi
diag "systemd units: $INST_UNITDIR; sysusers: $INST_SYSUSERSDIR"

mode_of() { stat -c %a "$dest$1" 2>/dev/null || echo missing; }
for f in $want_755; do
	is "$(mode_of "$f")" 755 "$f is installed with mode 0755"
done
for mod in $INST_PAMMODDIR/pam_tokend.so $INST_PAMMODDIR/tokend_fido2.so; do
	like "$(mode_of "$mod")" '^(755|644)$' \
	    "$mod is installed with mode 0755 or 0644"
done
mod=$INST_PAMMODDIR/pam_tokend.so
fobj=$INST_PAMMODDIR/tokend_fido2.so
# the FIDO2 object is loaded from the module's own directory
is "$(readelf -d "$dest$INST_PAMMODDIR/pam_tokend.so" 2>/dev/null |
    grep -c 'NEEDED.*libfido2')" 0 "pam_tokend.so does not link libfido2"
for f in $want_644; do
	is "$(mode_of "$f")" 644 "$f is installed with mode 0644"
done

installed=$(files_in "$dest")
diag "installed:" $installed
is "$(printf '%s\n' "$installed" | grep -E '\.(la|a)$')" "" \
    "no libtool archive or static library is installed"
stray=
for f in $installed; do
	inside=no
	for d in $dirs; do
		case $f in "$d"/*) inside=yes ;; esac
	done
	[ $inside = yes ] || stray="$stray $f"
done
is "$stray" "" "every installed file lies in an installation directory"
is "$(find "$dest" -perm -o+w ! -type l | wc -l)" 0 \
    "nothing installed is writable by others"

# ---- the installed module
# In an AddressSanitizer build (TK_SANITIZED, tests/pam/lib.sh) the
# module and the FIDO2 object need the runtime that the programs link
# statically: python3 gets clang's shared one preloaded.
pydl=(python3)
if [ -n "$TK_SANITIZED" ]; then
	pydl=(env LD_PRELOAD="$(clang -print-file-name="libclang_rt.asan-$(uname -m).so")"
	    ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 python3)
fi
if [ -f "$dest$mod" ]; then
	"${pydl[@]}" - "$dest$mod" <<'PYEOF' >"$tmp/dl.out" 2>&1
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
for name in ("pam_sm_authenticate", "pam_sm_setcred"):
    getattr(lib, name)
PYEOF
	rc=$?
	ok $rc "the installed module loads with every symbol resolved (dlopen RTLD_NOW) and has pam_sm_authenticate, pam_sm_setcred"
	[ $rc -eq 0 ] || diag "$(cat "$tmp/dl.out")"
	syms=$(nm -D --defined-only "$dest$mod" | awk '$2 ~ /^[A-Za-z]$/ { print $3 }' | sort)
	is "$(printf '%s\n' "$syms" | grep -v '^pam_sm_' | tr '\n' ' ')" "" \
	    "the installed module exports nothing but pam_sm_*"
	"${pydl[@]}" -c 'import ctypes, os, sys
ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL).tk_pam_fido2_api' \
	    "$dest$fobj" >"$tmp/dl.out" 2>&1
	ok $? "the installed FIDO2 object loads with every symbol resolved"
	is "$(nm -D --defined-only "$dest$fobj" |
	    awk '$2 ~ /^[A-Za-z]$/ { print $3 }' | tr '\n' ' ')" \
	    "tk_pam_fido2_api " "the FIDO2 object exports its entry point alone"
else
	skip "the installed module loads" "not installed"
	skip "the installed module exports only pam_sm_*" "not installed"
	skip "the installed FIDO2 object loads" "not installed"
	skip "the FIDO2 object exports its entry point alone" "not installed"
fi

# ---- nothing installed refers to the build tree
refs=
for f in "$dest$INST_SBINDIR/tokend" "$dest$INST_SBINDIR/tokenadm" "$dest$mod" \
    "$dest$fobj"; do
	[ -f "$f" ] || continue
	if readelf -d "$f" 2>/dev/null | grep -E 'R(UN)?PATH' |
	    grep -qF "$TOP_BUILDDIR"; then
		refs="$refs $f"
	fi
done
is "$refs" "" "installed programs have no RPATH into the build tree"
out=$("$dest$INST_SBINDIR/tokenadm" --help 2>&1)
is "$?" 0 "the installed tokenadm runs (--help)"

# ---- the installed units name the installed paths
if [ "$INST_UNITDIR" != no ]; then
	like "$(grep '^ExecStart=' "$dest$INST_UNITDIR/tokend.service")" \
	    "^ExecStart=$INST_SBINDIR/tokend -c $INST_SYSCONFDIR/tokend/tokend.conf\$" \
	    "tokend.service starts the installed tokend with the installed tokend.conf"
fi

# ---- the example configuration is valid, also with every default on
conf=$dest$INST_SYSCONFDIR/tokend/tokend.conf
cmp -s "$conf" "$TOP_SRCDIR/tokend.conf.example"
ok $? "tokend.conf is installed from tokend.conf.example"
mkdir -m 0755 "$tmp/inst" && chmod 0755 "$tmp"
for variant in as-shipped all-defaults; do
	c=$tmp/inst/$variant.conf
	if [ $variant = all-defaults ]; then
		sed 's/^;\([a-z_]* = \)/\1/' "$conf" >"$c.in"
	else
		cp "$conf" "$c.in"
	fi
	# point the paths into the temporary directory, run as this user
	python3 - "$c.in" "$tmp/inst/$variant" "$(id -un)" >"$c" <<'PYEOF'
import re, sys
src, base, user = sys.argv[1:]
paths = {"socket": base + "/run/socket", "database": base + "/lib/tokend.db",
         "master_key": base + "/etc/master.key", "user": user}
seen, out, section = set(), [], None
for line in open(src, encoding="utf-8"):
    m = re.match(r"\[(\w+)\]", line)
    if m:
        if section == "tokend":
            out += ["%s = %s\n" % (k, v) for k, v in paths.items() if k not in seen]
        section = m.group(1)
    m = re.match(r"(\w+) = ", line)
    if section == "tokend" and m and m.group(1) in paths:
        seen.add(m.group(1))
        line = "%s = %s\n" % (m.group(1), paths[m.group(1)])
    out.append(line)
sys.stdout.write("".join(out))
PYEOF
	chmod 0644 "$c"
	"$TOKENADM" -c "$c" init --daemon "$TOKEND" >"$tmp/init.out" 2>&1 &&
	    "$TOKEND" -t -c "$c" >"$tmp/t.out" 2>&1
	rc=$?
	ok $rc "tokend.conf $variant: tokenadm init and tokend -t accept it"
	[ $rc -eq 0 ] || diag "$(cat "$tmp/init.out" "$tmp/t.out" 2>/dev/null)"
done
n_on=$(grep -c '^;[a-z_]* = ' "$conf")
diag "$n_on commented defaults switched on"
isnt "$n_on" 0 "... and the example shows the defaults"

# ---- an existing tokend.conf is kept, by install and by uninstall
echo "# changed by the administrator" >>"$conf"
top_make install DESTDIR="$dest"
ok $? "make install over an existing installation succeeds"
is "$(tail -n 1 "$conf")" "# changed by the administrator" \
    "make install leaves an existing tokend.conf as it is"
top_make uninstall DESTDIR="$dest"
ok $? "make uninstall succeeds"
is "$(files_in "$dest" | tr '\n' ' ')" "$INST_SYSCONFDIR/tokend/tokend.conf " \
    "make uninstall leaves only the changed tokend.conf behind"

rm -f "$conf"
top_make install DESTDIR="$dest" && top_make uninstall DESTDIR="$dest"
ok $? "install and uninstall again"
left=$(files_in "$dest")
is "$left" "" "make uninstall removes every file it installed"

done_testing
