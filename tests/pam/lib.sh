# lib.sh -- helpers for the TAP integration tests of tests/pam/.
# Sourced by bash scripts run by the automake TAP driver with
# TOP_SRCDIR and TOP_BUILDDIR set (tests/tap.am).
#
# Each test script gets a private directory under /tmp with its own
# tokend.conf, master key, database and socket, a private tokend started
# in the foreground and stopped at exit, and pam_wrapper service files.
# pam_wrapper (and nss_wrapper when asked for) is preloaded into the
# driver only, never exported to the shell.

set -u
umask 022
export LC_ALL=C TZ=UTC
unset LANGUAGE LANG

: "${TOP_BUILDDIR:?TOP_BUILDDIR is not set (run through make check)}"
: "${TOP_SRCDIR:?TOP_SRCDIR is not set (run through make check)}"

TOKEND=$TOP_BUILDDIR/tokend/tokend
TOKENADM=$TOP_BUILDDIR/enroll/tokenadm
PAM_MODULE=$TOP_BUILDDIR/pam_module/.libs/pam_tokend.so
PAM_FIDO2_OBJECT=$TOP_BUILDDIR/pam_module/.libs/tokend_fido2.so
PAMDRIVER=$TOP_BUILDDIR/tests/pam/pamdriver
TK_PYWIRE=$TOP_SRCDIR/tests/pam/wire.py

# TK_SANITIZED: the programs were built with AddressSanitizer (the
# sanitizer pass of ./quickstart test, docs/testing.md).  Its runtime
# refuses any dlopen(RTLD_DEEPBIND): nss_wrapper is told not to use it,
# and pam_wrapper, which has no such switch, is left out
# (TK_PAM_NO_WRAPPER=1 unless set otherwise, see pam_driver_env).  Every
# report of a sanitizer in any program a script runs (tokend, tokenadm,
# the driver...) goes to a file in $TK_DIR/san, and tk_cleanup fails the
# script when there is one: tokend's, at its stop, is seen by no test
# point otherwise.
TK_SANITIZED=
grep -q __asan_init "$TOKEND" 2>/dev/null && TK_SANITIZED=1
if [ -n "$TK_SANITIZED" ]; then
	: "${TK_PAM_NO_WRAPPER:=1}"
	export NSS_WRAPPER_DISABLE_DEEPBIND=1
fi

# ---------------------------------------------------------------- TAP

TAP_N=0
TAP_FAILED=0

# ok STATUS NAME: one test point from a shell status (0 = pass)
ok() {
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# diag TEXT...: a TAP comment, one per line
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# is GOT EXPECTED NAME
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "  got:      '$1'" "  expected: '$2'"
	fi
}

# isnt GOT UNEXPECTED NAME
isnt() {
	if [ "$1" != "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "  got '$1', which it must not be"
	fi
}

# like TEXT EXTENDED-REGEX NAME
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "  '$1'" "  does not match /$2/"
	fi
}

# unlike TEXT EXTENDED-REGEX NAME
unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		diag "  '$1'" "  matches /$2/"
	else
		ok 0 "$3"
	fi
}

# skip NAME REASON: a test point that could not run
skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# skip_all REASON: the whole script cannot run here
skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# bail REASON: stop the script; the TAP driver reports an error
bail() {
	echo "Bail out! $1"
	exit 1
}

# done_testing: the plan, at the end (so a script that dies early is an
# error, not a pass).  Exits 0: failures are counted from the "not ok"
# lines, and a non-zero status would be counted once more as an error.
done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || diag "$TAP_FAILED of $TAP_N failed"
	exit 0
}

# ------------------------------------------------------ prerequisites

# need_built: the programs under test must exist (a missing one is a
# build failure, reported as such, never a skip)
need_built() {
	local f
	for f in "$TOKEND" "$TOKENADM" "$PAM_MODULE" "$PAM_FIDO2_OBJECT" \
	    "$PAMDRIVER"; do
		[ -x "$f" ] || [ -f "$f" ] || bail "not built: $f"
	done
}

# find_lib NAME: path of a preloadable library, or nothing
find_lib() {
	local d multi
	multi=$(gcc -print-multiarch 2>/dev/null || true)
	for d in ${PKG_LIBDIR_HINT:-} /usr/lib/$multi /usr/lib64 /usr/lib \
	    /usr/local/lib /usr/lib/$multi/faketime /usr/lib/faketime \
	    /usr/lib64/faketime /usr/local/lib/faketime; do
		if [ -f "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

# need_wrappers: pam_wrapper is required to load the module at all
need_wrappers() {
	need_cmd flock
	if [ "${TK_PAM_NO_WRAPPER:-0}" = 1 ]; then
		PAM_WRAPPER_LIB=
	else
		PAM_WRAPPER_LIB=$(find_lib libpam_wrapper.so) ||
		    skip_all "pam_wrapper (libpam-wrapper) is not installed"
	fi
	NSS_WRAPPER_LIB=$(find_lib libnss_wrapper.so) || NSS_WRAPPER_LIB=
	PAM_MODDIR=
	local d multi
	multi=$(gcc -print-multiarch 2>/dev/null || true)
	for d in /lib/$multi/security /usr/lib/$multi/security \
	    /lib64/security /usr/lib64/security /lib/security \
	    /usr/lib/security; do
		if [ -f "$d/pam_permit.so" ]; then
			PAM_MODDIR=$d
			break
		fi
	done
	[ -n "$PAM_MODDIR" ] || skip_all "pam_permit.so not found"
}

# need_faketime: libfaketime for clock-dependent cases
need_faketime() {
	FAKETIME_LIB=$(find_lib libfaketime.so.1) ||
	    skip_all "libfaketime (faketime) is not installed"
}

# need_cmd CMD...: commands the script cannot do without
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
	done
}

# need_root: tokend's file checks and the role tests assume root
need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "must run as root"
}

# ------------------------------------------------------------- set-up

TK_DIR=
TK_CONF=
TK_SOCK=
TOKEND_PID=
TK_FAKETIME_FILE=
TK_NSS=0

tk_cleanup() {
	local san_rc=0 f
	tk_stop_quiet
	# a sanitizer report of any program of the script fails it (after
	# its plan: the TAP driver reports the Bail out! as an error)
	if [ -n "$TK_SANITIZED" ] && [ -n "$TK_DIR" ] &&
	    [ -n "$(ls -A "$TK_DIR/san" 2>/dev/null)" ]; then
		for f in "$TK_DIR"/san/*; do
			diag "$f:" "$(head -n 40 "$f")"
		done
		echo "Bail out! sanitizer report(s): $(cd "$TK_DIR/san" && echo *)"
		san_rc=1
	fi
	if [ -n "$TK_DIR" ] && [ -d "$TK_DIR" ]; then
		if [ -n "${TK_KEEP:-}" ]; then
			echo "# kept $TK_DIR" >&2
		else
			rm -rf "$TK_DIR"
		fi
	fi
	# only ever run as (the end of) the EXIT trap
	[ "$san_rc" -eq 0 ] || exit 1
}

# tk_setup: a private directory (readable by everyone, so that a
# driver run as another uid can read the module, the config and reach
# the socket), trap to clean it up.
tk_setup() {
	TK_DIR=$(mktemp -d /tmp/tokend-test.XXXXXX) || bail "mktemp failed"
	chmod 0755 "$TK_DIR"
	trap tk_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -m 0755 "$TK_DIR/run" "$TK_DIR/pam.d" "$TK_DIR/out"
	if [ -n "$TK_SANITIZED" ]; then
		# sanitizer reports, of every uid (see TK_SANITIZED)
		mkdir -m 1777 "$TK_DIR/san"
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TK_DIR/san/report"
		export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TK_DIR/san/report"
	fi
	TK_CONF=$TK_DIR/tokend.conf
	TK_SOCK=$TK_DIR/run/socket
	TK_DB=$TK_DIR/lib/tokend.db
	TK_KEY=$TK_DIR/etc/master.key
	TK_LOG=$TK_DIR/tokend.log
	TK_FAKETIME_FILE=$TK_DIR/faketime
	# the module (with the FIDO2 object it loads from its own directory)
	# and the driver, copied where any uid can read them
	cp "$PAM_MODULE" "$TK_DIR/pam_tokend.so"
	cp "$PAM_FIDO2_OBJECT" "$TK_DIR/tokend_fido2.so"
	cp "$PAMDRIVER" "$TK_DIR/pamdriver"
	chmod 0755 "$TK_DIR/pam_tokend.so" "$TK_DIR/tokend_fido2.so" \
	    "$TK_DIR/pamdriver"
	TK_MODULE=$TK_DIR/pam_tokend.so
	TK_DRIVER=$TK_DIR/pamdriver
	# libpam falls back to "other" for a service without a file
	printf 'auth required pam_deny.so\n' >"$TK_DIR/pam.d/other"
	chmod 0644 "$TK_DIR/pam.d/other"
}

# tk_write_conf [EXTRA-LINES]: tokend.conf for this directory.  Extra
# lines are appended as given (they may add sections).  The daemon runs
# as root in the tests, so user = root.
tk_write_conf() {
	local store=
	# TK_TEST_STORE_URL (tests/pg/suites.sh): the PostgreSQL store
	[ -n "${TK_TEST_STORE_URL:-}" ] &&
	    store="[store]
url = $TK_TEST_STORE_URL
"
	cat >"$TK_CONF" <<EOF
# tokend.conf written by tests/pam/lib.sh
[tokend]
socket = $TK_SOCK
database = $TK_DB
master_key = $TK_KEY
user = root
idle_timeout = 5

${store}[throttle]
delay_base = 0
${1:-}
EOF
	chmod 0644 "$TK_CONF"
}

# tk_sql SQL: runs SQL on the test's store and prints the rows, columns
# separated by '|': sqlite3 on $TK_DB, or psql on TK_TEST_STORE_URL
# (TK_TEST_PSQL, set by tests/pg/suites.sh).  For PostgreSQL the column
# name user is quoted (a reserved word there) and zeroblob(N) becomes N
# zero bytes.
tk_sql() {
	if [ -z "${TK_TEST_STORE_URL:-}" ]; then
		sqlite3 -cmd '.timeout 5000' "$TK_DB" "$1"
		return
	fi
	"${TK_TEST_PSQL:-psql}" -X -q -A -t -v ON_ERROR_STOP=1 \
	    -d "$TK_TEST_STORE_URL" -c "$(printf '%s' "$1" | sed -E \
	    -e 's/(^|[^"A-Za-z_])user([^"A-Za-z_]|$)/\1"user"\2/g' \
	    -e "s/zeroblob\(([0-9]+)\)/decode(repeat('00', \1), 'hex')/g")"
}

# tk_init: tokenadm init (master key, directories, database)
tk_init() {
	"$TOKENADM" -c "$TK_CONF" init --daemon "$TOKEND" \
	    >"$TK_DIR/init.out" 2>&1
}

# tk_tokend_env: the environment tokend runs with (faketime, nss_wrapper)
tk_tokend_env() {
	TK_TOKEND_ENV=()
	local pre=
	if [ -n "${TK_FAKETIME_ON:-}" ]; then
		pre=$FAKETIME_LIB
		TK_TOKEND_ENV+=(FAKETIME_TIMESTAMP_FILE="$TK_FAKETIME_FILE"
		    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1)
	fi
	if [ "$TK_NSS" = 1 ]; then
		pre=${pre:+$pre:}$NSS_WRAPPER_LIB
		TK_TOKEND_ENV+=(NSS_WRAPPER_PASSWD="$TK_DIR/passwd"
		    NSS_WRAPPER_GROUP="$TK_DIR/group")
	fi
	[ -n "$pre" ] && TK_TOKEND_ENV+=(LD_PRELOAD="$pre")
	return 0
}

# tk_faketime "YYYY-MM-DD hh:mm:ss": freeze tokend's clock there (UTC);
# takes effect at once, also for a running daemon.  Call before tk_start
# to start tokend with a faked clock.
tk_faketime() {
	TK_FAKETIME_ON=1
	TK_FAKE_NOW=$1
	printf '%s\n' "$1" >"$TK_FAKETIME_FILE"
}

# tk_start [TOKEND-ARGS]: start tokend in the foreground, wait (at most
# 10 s) until it answers on its socket
tk_start() {
	local i
	tk_tokend_env
	env "${TK_TOKEND_ENV[@]}" "$TOKEND" -c "$TK_CONF" -f "$@" \
	    >>"$TK_LOG" 2>&1 </dev/null &
	TOKEND_PID=$!
	for i in $(seq 1 100); do
		if [ -S "$TK_SOCK" ] && tk_adm status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$TOKEND_PID" 2>/dev/null; then
			wait "$TOKEND_PID" 2>/dev/null
			TOKEND_PID=
			diag "tokend exited at start:" "$(tail -n 20 "$TK_LOG")"
			return 1
		fi
		sleep 0.1
	done
	diag "tokend did not answer within 10 s:" "$(tail -n 20 "$TK_LOG")"
	return 1
}

# tk_wait_pid PID SECONDS: wait for a child, at most SECONDS; sets
# TK_WAIT_RC (the exit status, or 255 on timeout)
tk_wait_pid() {
	local pid=$1 i
	for i in $(seq 1 $(($2 * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			TK_WAIT_RC=$?
			return 0
		fi
		sleep 0.1
	done
	TK_WAIT_RC=255
	return 1
}

# tk_stop: SIGTERM, wait (at most 10 s); returns tokend's exit status
tk_stop() {
	local pid=$TOKEND_PID
	[ -n "$pid" ] || return 0
	TOKEND_PID=
	kill -TERM "$pid" 2>/dev/null
	if ! tk_wait_pid "$pid" 10; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 255
	fi
	return "$TK_WAIT_RC"
}

tk_stop_quiet() {
	tk_stop >/dev/null 2>&1 || true
}

# tk_kill9: SIGKILL, as a crash would
tk_kill9() {
	local pid=$TOKEND_PID
	[ -n "$pid" ] || return 0
	TOKEND_PID=
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ------------------------------------------------------------ tokenadm

# tk_adm ARGS...: tokenadm -c CONF ARGS; output in ADM_OUT/ADM_ERR, exit
# status in ADM_RC (and as the return value)
tk_adm() {
	local rc
	local -a pre=() as=()
	if [ "$TK_NSS" = 1 ]; then
		pre=(env LD_PRELOAD="$NSS_WRAPPER_LIB"
		    NSS_WRAPPER_PASSWD="$TK_DIR/passwd"
		    NSS_WRAPPER_GROUP="$TK_DIR/group")
	fi
	# ADM_AS="UID[:GID]": run as that uid and gid
	if [ -n "${ADM_AS:-}" ]; then
		as=(setpriv --reuid="${ADM_AS%%:*}" --regid="${ADM_AS##*:}"
		    --clear-groups)
	fi
	"${as[@]}" "${pre[@]}" "$TOKENADM" -c "$TK_CONF" "$@" \
	    >"$TK_DIR/out/adm.out" 2>"$TK_DIR/out/adm.err" </dev/null
	rc=$?
	ADM_RC=$rc
	ADM_OUT=$(cat "$TK_DIR/out/adm.out")
	ADM_ERR=$(cat "$TK_DIR/out/adm.err")
	return $rc
}

# json_get JSON PATH: a value from JSON text (python3), PATH like
# ".user" or ".credentials[0].state"; prints nothing and fails if
# absent or if the text is not JSON
json_get() {
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
try:
    v = json.loads(sys.argv[1])
except ValueError:
    sys.exit(2)
for part in re.findall(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]', sys.argv[2]):
    try:
        v = v[part[0]] if part[0] else v[int(part[1])]
    except (KeyError, IndexError, TypeError):
        sys.exit(1)
if isinstance(v, bool):
    print("true" if v else "false")
elif v is None:
    print("null")
elif isinstance(v, (dict, list)):
    print(json.dumps(v, sort_keys=True))
else:
    print(v)
EOF
}

# json_ok TEXT: true when TEXT is one JSON value
json_ok() {
	python3 -c 'import json,sys; json.loads(sys.argv[1])' "$1" 2>/dev/null
}

# tk_enroll USER [ARGS]: enroll a pending TOTP credential; sets CRED and
# URI (fails when tokenadm did)
tk_enroll() {
	local user=$1 fields
	shift
	CRED=
	URI=
	tk_adm --json enroll totp "$user" "$@" || return 1
	fields=$(python3 -c '
import json, sys
v = json.loads(sys.argv[1])
print(v["credential"]); print(v["otpauth_uri"])' "$ADM_OUT" 2>/dev/null) ||
	    return 1
	CRED=${fields%%$'\n'*}
	URI=${fields#*$'\n'}
	return 0
}

# tk_enroll_active USER [ARGS]: enroll and confirm with the code of the
# previous time step (inside the default window of 1), so that the code
# of the current step is still unused; sets CRED, URI
tk_enroll_active() {
	local user=$1 code
	tk_enroll "$@" || return 1
	code=$(totp_code "$URI" -30) || return 1
	tk_adm confirm "$user" "$CRED" "$code"
}

# ---------------------------------------------------------------- TOTP

# uri_param URI NAME: a query parameter of an otpauth URI (decoded;
# plain bash, because the tests call it often)
uri_param() {
	local query=${1#*\?} kv v
	[ "$query" != "$1" ] || return 1
	local IFS='&'
	for kv in $query; do
		if [ "${kv%%=*}" = "$2" ] && [ "$kv" != "${kv%%=*}" ]; then
			v=${kv#*=}
			v=${v//+/ }
			printf '%b\n' "${v//%/\\x}"
			return 0
		fi
	done
	return 1
}

# tk_now: the time the daemon sees, in seconds since the epoch
tk_now() {
	if [ -n "${TK_FAKETIME_ON:-}" ]; then
		date -u -d "$TK_FAKE_NOW UTC" +%s
	else
		date -u +%s
	fi
}

# totp_code URI [OFFSET-SECONDS]: the code an authenticator app would
# show for URI at the daemon's time plus OFFSET, computed by oathtool
totp_code() {
	local uri=$1 off=${2:-0} secret alg digits period t mode
	secret=$(uri_param "$uri" secret) || return 1
	alg=$(uri_param "$uri" algorithm) || alg=SHA1
	digits=$(uri_param "$uri" digits) || digits=6
	period=$(uri_param "$uri" period) || period=30
	case $alg in
	SHA1 | sha1) mode=--totp ;;
	SHA256 | sha256) mode=--totp=sha256 ;;
	SHA512 | sha512) mode=--totp=sha512 ;;
	*) return 1 ;;
	esac
	t=$(($(tk_now) + off))
	oathtool "$mode" -d "$digits" -s "${period}s" -b "$secret" --now="@$t"
}

# wrong_code URI: a code of the right length that matches no step in
# [-2, +2] around now
wrong_code() {
	local uri=$1 digits c i bad taken
	digits=$(uri_param "$uri" digits) || digits=6
	taken=" "
	for i in -60 -30 0 30 60; do
		taken="$taken$(totp_code "$uri" "$i") "
	done
	c=1
	while :; do
		bad=$(printf "%0${digits}d" "$c")
		case $taken in
		*" $bad "*) c=$((c + 1)) ;;
		*) break ;;
		esac
	done
	echo "$bad"
}

# wait_step_margin: with the real clock, wait until at least 3 s remain
# in the current 30 s step, so a code computed now is checked in the
# same step
wait_step_margin() {
	[ -n "${TK_FAKETIME_ON:-}" ] && return 0
	while [ $(($(date +%s) % 30)) -ge 27 ]; do
		sleep 0.5
	done
}

# ----------------------------------------------------------------- PAM

# pam_service NAME LINES: a pam_wrapper service file; LINES may use
# @MODULE@ and @CONF@
pam_service() {
	printf '%s\n' "$2" | sed -e "s|@MODULE@|$TK_MODULE|g" \
	    -e "s|@CONF@|$TK_CONF|g" -e "s|@MODDIR@|$PAM_MODDIR|g" \
	    >"$TK_DIR/pam.d/$1"
	chmod 0644 "$TK_DIR/pam.d/$1"
}

# pam_services: the usual services of the tests
#   tokend       auth required pam_tokend.so config=CONF
#   nullok       ... nullok, then pam_permit (the stack result)
#   strict       ... (no nullok), then pam_permit
#   onlyignore   succeeds only when pam_tokend returns exactly PAM_IGNORE
pam_services() {
	pam_service tokend "auth required @MODULE@ config=@CONF@"
	pam_service nullok "auth required @MODULE@ config=@CONF@ nullok
auth required @MODDIR@/pam_permit.so"
	pam_service strict "auth required @MODULE@ config=@CONF@
auth required @MODDIR@/pam_permit.so"
	pam_service onlyignore \
	    "auth [ignore=ignore default=die] @MODULE@ config=@CONF@ nullok
auth required @MODDIR@/pam_permit.so"
}

# pam_wrapper's start-up code picks a free directory /tmp/pam.X and
# fills it, with no lock: two wrapped programs starting at the same
# instant may share one directory and so read each other's service
# files.  Every driver therefore starts holding this lock (descriptor 9)
# and closes it (-L 9) once in main(), after pam_wrapper is set up.
PWRAP_LOCK=/tmp/tokend-tests.pam_wrapper.lock

# pam_driver_env [PRELOAD]: sets PAM_ENV, the env(1) arguments that
# run the driver on the services of $TK_DIR/pam.d, with PRELOAD (':'
# separated) and nss_wrapper (TK_NSS=1) preloaded too.  Normally that
# is pam_wrapper; with TK_PAM_NO_WRAPPER=1 (the sanitizer pass:
# AddressSanitizer refuses the RTLD_DEEPBIND with which pam_wrapper
# loads libpam) the driver reads the directory itself through
# pam_start_confdir() (TK_PAM_CONFDIR, see pamdriver.c).
pam_driver_env() {
	local pre=${1:-}
	if [ "${TK_PAM_NO_WRAPPER:-0}" = 1 ]; then
		PAM_ENV=(TK_PAM_CONFDIR="$TK_DIR/pam.d")
	else
		pre=$PAM_WRAPPER_LIB${pre:+:$pre}
		PAM_ENV=(PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d")
	fi
	if [ "$TK_NSS" = 1 ]; then
		pre=${pre:+$pre:}$NSS_WRAPPER_LIB
		PAM_ENV+=(NSS_WRAPPER_PASSWD="$TK_DIR/passwd"
		    NSS_WRAPPER_GROUP="$TK_DIR/group")
	fi
	PAM_ENV=(LD_PRELOAD="$pre" "${PAM_ENV[@]}")
}

# pam_run SERVICE USER [DRIVER-ARGS]: run the driver under pam_wrapper
# (preloaded into the driver only).  Sets PAM_RESULT (the name, e.g.
# PAM_SUCCESS), PAM_OUT and PAM_ERR (the driver's stderr: prompts and
# messages).  With PAM_AS="UID" the driver runs as that uid and gid.
# PAM_PRELOAD: more libraries to preload into the driver (fido2.sh: the
# soft key's shim).  PAM_EXTRA_ENV: more NAME=VALUE words for the
# driver's environment (fido2_object.sh: LD_DEBUG, pam_wrapper's log).
pam_run() {
	local service=$1 user=$2 rc
	shift 2
	pam_driver_env "${PAM_PRELOAD:-}"
	# PAM_AS="UID[:GID]": run the driver as that uid and gid
	local -a as=()
	if [ -n "${PAM_AS:-}" ]; then
		as=(setpriv --reuid="${PAM_AS%%:*}" --regid="${PAM_AS##*:}"
		    --clear-groups)
	fi
	(
		flock 9 || exit 99
		# shellcheck disable=SC2086 # NAME=VALUE words
		exec "${as[@]}" env "${PAM_ENV[@]}" ${PAM_EXTRA_ENV:-} \
		    "$TK_DRIVER" -L 9 -T 30 -s "$service" -u "$user" "$@"
	) 9>"$PWRAP_LOCK" >"$TK_DIR/out/pam.out" 2>"$TK_DIR/out/pam.err" \
	    </dev/null
	rc=$?
	PAM_OUT=$(cat "$TK_DIR/out/pam.out")
	PAM_ERR=$(cat "$TK_DIR/out/pam.err")
	PAM_RESULT=$(printf '%s\n' "$PAM_OUT" | awk 'NR == 1 { print $2 }')
	if [ $rc -ne 0 ] || [ -z "$PAM_RESULT" ]; then
		PAM_RESULT="DRIVER_FAILED($rc)"
		diag "driver exit $rc" "$PAM_ERR"
	fi
	return 0
}

# pam_refused NAME: the last pam_run ended in a real PAM failure code
# (not PAM_SUCCESS, not PAM_IGNORE, and not a driver that never ran)
pam_refused() {
	case $PAM_RESULT in
	PAM_SUCCESS | PAM_IGNORE | PAM_UNKNOWN_CODE | DRIVER_FAILED*)
		ok 1 "$1"
		diag "  got: $PAM_RESULT" ;;
	PAM_*) ok 0 "$1" ;;
	*)
		ok 1 "$1"
		diag "  got: $PAM_RESULT" ;;
	esac
}

# pam_is SERVICE USER EXPECTED NAME [DRIVER-ARGS]
pam_is() {
	local service=$1 user=$2 want=$3 name=$4
	shift 4
	pam_run "$service" "$user" "$@"
	is "$PAM_RESULT" "$want" "$name"
}

# ---------------------------------------------------------- nss_wrapper

# tk_nss_users "NAME:UID:GID" ...: passwd and group files for
# nss_wrapper with root, nobody and the given users; groups are
# "root", "nogroup" and "tokend-admin" (members from TK_ADMINS)
tk_nss_setup() {
	local u name uid gid
	[ -n "$NSS_WRAPPER_LIB" ] || return 1
	{
		echo "root:x:0:0:root:/root:/bin/sh"
		echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/false"
		for u in "$@"; do
			IFS=: read -r name uid gid <<<"$u"
			echo "$name:x:$uid:$gid:$name:/nonexistent:/bin/false"
		done
	} >"$TK_DIR/passwd"
	{
		echo "root:x:0:"
		echo "nogroup:x:65534:"
		echo "tokend-admin:x:990:${TK_ADMINS:-}"
		for u in "$@"; do
			IFS=: read -r name uid gid <<<"$u"
			echo "$name:x:$gid:"
		done
	} >"$TK_DIR/group"
	chmod 0644 "$TK_DIR/passwd" "$TK_DIR/group"
	TK_NSS=1
}

# ---------------------------------------------------------- wire (raw)

# wire ARGS: tests/pam/wire.py against this daemon's socket
# (as WIRE_AS="UID[:GID]" when set)
wire() {
	local -a as=()
	if [ -n "${WIRE_AS:-}" ]; then
		as=(setpriv --reuid="${WIRE_AS%%:*}" --regid="${WIRE_AS##*:}"
		    --clear-groups)
	fi
	"${as[@]}" timeout 30 python3 "$TK_PYWIRE" "$TK_SOCK" "$@"
}

# json_cred JSON CRED FIELD: FIELD of the credential record whose
# "credential" is CRED, searched anywhere in JSON (list output)
json_cred() {
	python3 - "$1" "$2" "$3" <<'PYEOF'
import json, sys
try:
    v = json.loads(sys.argv[1])
except ValueError:
    sys.exit(2)
def walk(x):
    if isinstance(x, dict):
        if str(x.get("credential")) == sys.argv[2]:
            yield x
        for y in x.values():
            yield from walk(y)
    elif isinstance(x, list):
        for y in x:
            yield from walk(y)
for rec in walk(v):
    if sys.argv[3] in rec:
        f = rec[sys.argv[3]]
        if isinstance(f, bool):
            f = "true" if f else "false"
        print("null" if f is None else f)
        sys.exit(0)
sys.exit(1)
PYEOF
}
