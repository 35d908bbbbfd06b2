#!/bin/bash
# ja.sh -- Japanese, end to end, from an installed build.  The module and
# tokenadm find their messages in the LOCALEDIR they were configured
# with (never in a directory named by the environment: the module runs
# inside setuid programs), so a DESTDIR copy cannot show them.  This
# script configures a second build of the same sources with the same
# options and --prefix in a temporary directory, installs pam_module/,
# enroll/ and po/ there, and then, under LANG=ja_JP.UTF-8:
#   - the installed pam_tokend.so asks "確認コード: " and reports a wrong
#     code in Japanese; under LANG=C the same module speaks English;
#   - the installed tokenadm --help is in Japanese.
# pamdriver gets setlocale.so preloaded (setlocale(LC_ALL, "")), as
# login, sudo and the display managers call setlocale themselves.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool locale
need_built
JA=ja_JP.UTF-8
SETLOCALE=$TOP_BUILDDIR/tests/install/.libs/setlocale.so
[ -f "$SETLOCALE" ] || bail "not built: $SETLOCALE"

tk_setup
# Without a system-wide ja_JP.UTF-8, compile one into the test directory
# (the "locales" package's sources) and point glibc at it with LOCPATH:
# nothing under /etc or /usr changes.
if ! locale -a 2>/dev/null | grep -qix 'ja_JP\.utf-\?8'; then
	command -v localedef >/dev/null ||
	    skip_all "no locale $JA and no localedef (package locales)"
	mkdir -p "$TK_DIR/locale"
	localedef -i ja_JP -f UTF-8 "$TK_DIR/locale/$JA" 2>/dev/null ||
	    skip_all "localedef cannot build $JA (package locales)"
	export LOCPATH=$TK_DIR/locale
fi
pfx=$TK_DIR/prefix
mkdir "$TK_DIR/build"

# ---- a second build, installed under $pfx
# the options this build was configured with, less --srcdir (distcheck's
# is relative to its own build directory; ours is given by the path)
eval "set -- $("$TOP_BUILDDIR/config.status" --config)"
for a in "$@"; do
	shift
	case $a in --srcdir=*) ;; *) set -- "$@" "$a" ;; esac
done
(
	cd "$TK_DIR/build" &&
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    "$TOP_SRCDIR/configure" -q "$@" --prefix="$pfx" \
	    --exec-prefix="$pfx" --datarootdir="$pfx/share" \
	    --localedir="$pfx/share/locale" --with-pammoddir="$pfx/lib/security" \
	    --with-systemdsystemunitdir=no --with-sysusersdir=no &&
	    for d in common pam_module enroll po; do
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$d" \
		    || exit 1
	    done &&
	    for d in pam_module enroll po; do
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$d" \
		    install || exit 1
	    done
) >"$TK_DIR/build.log" 2>&1
rc=$?
ok $rc "a build configured with --prefix=$pfx installs the module, tokenadm and the catalogues"
[ $rc -eq 0 ] || bail "second build failed: $(tail -n 30 "$TK_DIR/build.log")"
[ -f "$pfx/share/locale/ja/LC_MESSAGES/tokend.mo" ]
ok $? "... with ja/LC_MESSAGES/tokend.mo"
TK_MODULE=$pfx/lib/security/pam_tokend.so
[ -f "$TK_MODULE" ] || bail "not installed: $TK_MODULE"
chmod -R a+rX "$pfx"

# ---- the PAM prompt
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
tk_enroll_active yamada || bail "enrolling failed: $ADM_ERR"
pam_services
# (PAM_PRELOAD: also without pam_wrapper, in the sanitizer pass)
PAM_PRELOAD=$SETLOCALE

wait_step_margin
LC_ALL=$JA LANG=$JA pam_run tokend yamada -a "$(totp_code "$URI")"
is "$PAM_RESULT" PAM_SUCCESS "LANG=$JA: the right code logs in"
like "$PAM_ERR" '^PROMPT_ECHO_OFF: 確認コード: $' \
    "LANG=$JA: the prompt is \"確認コード: \""

LC_ALL=$JA LANG=$JA pam_run tokend yamada -a "$(wrong_code "$URI")"
is "$PAM_RESULT" PAM_AUTH_ERR "LANG=$JA: a wrong code is refused"
like "$PAM_ERR" '^ERROR_MSG: コードが違うか、すでに使用されています。$' \
    "LANG=$JA: ... with the Japanese message"

LC_ALL=C LANG=C pam_run tokend yamada -a "$(wrong_code "$URI")"
like "$PAM_ERR" '^PROMPT_ECHO_OFF: Verification code: $' \
    "LANG=C: the same module asks \"Verification code: \""

# ---- tokenadm
ja_help=$(LC_ALL=$JA LANG=$JA "$pfx/sbin/tokenadm" --help 2>&1)
is "$?" 0 "LANG=$JA: tokenadm --help exits 0"
like "$ja_help" 'コマンド:' "LANG=$JA: tokenadm --help is in Japanese"
c_help=$(LC_ALL=C LANG=C "$pfx/sbin/tokenadm" --help 2>&1)
like "$c_help" '^Commands:' "LANG=C: tokenadm --help is in English"

done_testing
