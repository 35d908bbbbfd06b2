#!/bin/bash
# fido2_object.sh -- the FIDO2 object (tokend_fido2.so) that
# pam_tokend.so loads from its own directory only when a login tries a
# security key (pam_module/fido2_load.c, docs/integration.md):
#  - a TOTP login loads neither it nor libfido2, libcrypto or libudev
#    (the dynamic loader's own account, LD_DEBUG=files);
#  - a FIDO2 try loads it, unloads it after the login and leaks no
#    descriptor;
#  - an object of another ABI, package version or build (stand-ins
#    built from fido2_mock.c, whose run() would let anyone in), a
#    missing, world-writable or non-regular object and an unsafe
#    directory are refused before any code of the object runs, with a
#    syslog line that says why (pam_wrapper's log, PAM_WRAPPER_DEBUGLEVEL),
#    and the FIDO2 factor fails with a failure code, or, under
#    factors=fido2,totp, the TOTP prompt follows.
# fido2.sh tests the real object with soft keys, and a missing,
# group-writable, foreign-owned, linked and foreign object.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool
need_built

SK_DIR=$TOP_BUILDDIR/tests/softkey
SKCTL=$SK_DIR/softkey-ctl
SK_PRELOAD=$SK_DIR/.libs/softkey-preload.so
PTYRUN="python3 $TOP_SRCDIR/tests/pam/ptyrun.py"
MOCKS=$TOP_BUILDDIR/tests/pam/.libs
[ -x "$SKCTL" ] && [ -f "$SK_PRELOAD" ] || bail "not built: $SK_DIR"
for m in mock badabi badver badsize; do
	[ -f "$MOCKS/fido2_$m.so" ] || bail "not built: $MOCKS/fido2_$m.so"
done

tk_setup
tk_write_conf "
[pam]
fido2_wait = 1"
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start || bail "tokend did not start"
pam_services
# services MODULE: fido2only (factors=fido2) and both (fido2,totp)
services() {
	pam_service fido2only "auth required $1 config=@CONF@ factors=fido2"
	pam_service both "auth required $1 config=@CONF@ factors=fido2,totp"
}
services "$TK_MODULE"
pam_service totponly "auth required @MODULE@ config=@CONF@ factors=totp"
OBJ=$TK_DIR/tokend_fido2.so
cp "$OBJ" "$TK_DIR/fido2.good" || bail "no FIDO2 object in $TK_DIR"
K=$TK_DIR/keys
mkdir -m 0755 "$K"

# enroll USER: a soft key (PIN 1234) enrolled with tokenadm, then TOTP;
# sets URI (the soft key's shim goes into tokenadm alone)
enroll() {
	local user=$1
	"$SKCTL" init "$K/$user.state" --pin 1234 >/dev/null || return 1
	$PTYRUN 30 "PIN of the security key: =1234" -- \
	    env SOFTKEY_KEYS="$K/$user.state" LD_PRELOAD="$SK_PRELOAD" \
	    "$TOKENADM" -c "$TK_CONF" --json enroll fido2 "$user" \
	    >"$TK_DIR/out/enroll.out" 2>"$TK_DIR/out/enroll.err" || return 1
	tk_enroll_active "$user"
}

said() { printf '%s\n' "$PAM_ERR" | grep -Fq -- "$1"; }
# loaded NAME: the dynamic loader mapped a file whose name has NAME
loaded() { printf '%s\n' "$PAM_ERR" | grep -Eq "file=[^ ]*$1[^ ]* \[0\]; +(needed|dynamically loaded) by"; }
# syslog_is TEXT NAME: the module logged a line with TEXT (pam_wrapper
# prints the module's pam_syslog lines on stderr as "... SYSLOG(N):
# text"; without pam_wrapper a driver that defines pam_vsyslog prints
# them the same way, an older one lets them go to the system log)
syslog_is() {
	if [ "${TK_PAM_NO_WRAPPER:-0}" = 1 ] &&
	    ! grep -q PAMDRIVER_ "$TK_DRIVER" 2>/dev/null; then
		skip "$2" "no pam_wrapper: the lines go to the system log"
		return
	fi
	printf '%s\n' "$PAM_ERR" | grep -E 'SYSLOG\([0-9]+\)' | grep -Fq -- "$1"
	ok $? "$2"
}
LOADER_ENV="LD_DEBUG=files"
LOG_ENV="PAM_WRAPPER_DEBUGLEVEL=2"

tk_enroll_active tom || bail "enrolling tom failed: $ADM_ERR"
TOM_URI=$URI
enroll fay || bail "enrolling fay failed: $(cat "$TK_DIR/out/enroll.err")"
FAY_URI=$URI
enroll gil || bail "enrolling gil failed: $(cat "$TK_DIR/out/enroll.err")"
GIL_URI=$URI

# --- a TOTP login loads no FIDO2 code ---
wait_step_margin
PAM_EXTRA_ENV=$LOADER_ENV pam_run tokend tom -a "$(totp_code "$TOM_URI")"
is "$PAM_RESULT" PAM_SUCCESS "TOTP user, factors=fido2,totp: the code passes"
for lib in tokend_fido2 /proc/self/fd libfido2 libcrypto libudev; do
	loaded "$lib"
	ok $((! $?)) "... and $lib is not loaded"
done
loaded pam_tokend.so
ok $? "... (the loader's account is read: pam_tokend.so was loaded)"

PAM_EXTRA_ENV=$LOADER_ENV pam_run totponly fay -a "$(totp_code "$FAY_URI")"
is "$PAM_RESULT" PAM_SUCCESS "a user with a key, factors=totp (sshd): the code passes"
loaded libfido2
ok $((! $?)) "... and libfido2 is not loaded"
loaded tokend_fido2
ok $((! $?)) "... nor the FIDO2 object"

# --- a FIDO2 try loads the object, and unloads it ---
# no key is plugged in (no soft key): the factor fails before any
# assertion, and the TOTP code follows
PAM_EXTRA_ENV=$LOADER_ENV pam_run tokend gil -D -a "$(totp_code "$GIL_URI")"
is "$PAM_RESULT" PAM_SUCCESS "a user with a key, no key present: the code passes"
said "PROMPT_ECHO_OFF: Verification code: "
ok $? "... after the TOTP prompt"
printf '%s\n' "$PAM_ERR" | grep -Eq 'file=libfido2[^ ]* \[0\]; +needed by /proc/self/fd/[0-9]+'
ok $? "... the FIDO2 object was loaded (through its descriptor), with libfido2"
printf '%s\n' "$PAM_ERR" | grep -Eq 'file=/proc/self/fd/[0-9]+ \[0\]; +destroying link map'
ok $? "... and unloaded again"
like "$(printf '%s\n' "$PAM_ERR" | grep '^fds:')" \
    '^fds: before=([0-9]+) after=\1$' "... and no descriptor is left open"

# --- the control: an object of this build is trusted ---
# (fido2_mock.so lets anyone in: the refusals below are the loader's)
cp "$MOCKS/fido2_mock.so" "$OBJ"
pam_is fido2only fay PAM_SUCCESS \
    "control: a stand-in of this ABI, version and build is run"

# --- objects of another ABI, version or build ---
# refused WHAT WANT-FIDO2ONLY SYSLOG-TEXT: the checks of one refusal
refused() {
	local what=$1 want=$2 text=$3
	PAM_EXTRA_ENV=$LOG_ENV pam_run fido2only fay -D
	is "$PAM_RESULT" "$want" "$what: factors=fido2 fails ($want)"
	said "ERROR_MSG: Security keys cannot be used on this computer; ask your administrator."
	ok $? "$what: the person is told"
	diag "$(printf '%s\n' "$PAM_ERR" | grep -F 'SYSLOG' | grep -F 'fido2:' |
	    sed 's/.*SYSLOG/SYSLOG/')"
	syslog_is "$text" "$what: syslog says \"$text\""
	like "$(printf '%s\n' "$PAM_ERR" | grep '^fds:')" \
	    '^fds: before=([0-9]+) after=\1$' "$what: no descriptor left open"
	# the fallback: the prompt is shown; no code is typed (no failure
	# is counted against fay)
	pam_run both fay
	is "$PAM_RESULT" PAM_CONV_ERR \
	    "$what: factors=fido2,totp asks the code (none typed: PAM_CONV_ERR)"
	said "PROMPT_ECHO_OFF: Verification code: "
	ok $? "$what: the TOTP prompt is offered"
}
cp "$MOCKS/fido2_badabi.so" "$OBJ"
refused "another ABI" PAM_AUTHINFO_UNAVAIL "another ABI"
cp "$MOCKS/fido2_badver.so" "$OBJ"
refused "another version" PAM_AUTHINFO_UNAVAIL "another version"
cp "$MOCKS/fido2_badsize.so" "$OBJ"
refused "another build (structure sizes)" PAM_AUTHINFO_UNAVAIL "another build"

# --- unsafe or missing files ---
cp "$MOCKS/fido2_mock.so" "$OBJ" && chmod 0757 "$OBJ"
refused "world-writable" PAM_SERVICE_ERR "fido2: refusing $OBJ: not a regular file"
chmod 0755 "$OBJ"
rm -f "$OBJ"
refused "missing" PAM_AUTHINFO_UNAVAIL "fido2: cannot open $OBJ: No such file or directory"
mkfifo -m 0644 "$OBJ"
t0=$(date +%s)
refused "a FIFO" PAM_SERVICE_ERR "fido2: refusing $OBJ: not a regular file"
[ $(($(date +%s) - t0)) -lt 20 ]
ok $? "a FIFO: the login does not hang on it"
rm -f "$OBJ"
mkdir -m 0755 "$OBJ"
refused "a directory" PAM_SERVICE_ERR "fido2: refusing $OBJ: not a regular file"
rmdir "$OBJ"

# the directory of pam_tokend.so: the module and a stand-in in a
# directory of their own
D=$TK_DIR/moddir
mkdir -m 0755 "$D"
cp "$TK_MODULE" "$D/pam_tokend.so"
cp "$MOCKS/fido2_mock.so" "$D/tokend_fido2.so"
services "$D/pam_tokend.so"
pam_is fido2only fay PAM_SUCCESS "a module directory of its own: the stand-in is run"
chmod 0775 "$D"
refused "group-writable module directory" PAM_SERVICE_ERR \
    "fido2: refusing $D/tokend_fido2.so: its directory is not owned by root"
chmod 0755 "$D" && chown nobody "$D"
refused "module directory not owned by root" PAM_SERVICE_ERR \
    "its directory is not owned by root"
chown root "$D"
pam_is fido2only fay PAM_SUCCESS "the directory safe again: the stand-in is run"

# --- the real object back: the factor runs again ---
services "$TK_MODULE"
cp "$TK_DIR/fido2.good" "$OBJ"
pam_run fido2only fay
is "$PAM_RESULT" PAM_AUTH_ERR "the real object, no key present: PAM_AUTH_ERR"
said "Security keys cannot be used"
ok $((! $?)) "... from the key search, not from loading"

done_testing
