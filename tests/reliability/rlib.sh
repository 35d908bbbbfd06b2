# rlib.sh -- helpers of the reliability tests, on top of tests/pam/lib.sh
# (TAP, the private tokend, tokenadm, pam_wrapper, TOTP codes).
. "$TOP_SRCDIR/tests/pam/lib.sh"

REL_BUILDDIR=$TOP_BUILDDIR/tests/reliability
REL_SRCDIR=$TOP_SRCDIR/tests/reliability
PAMDRIVER=$REL_BUILDDIR/rel_pamdriver
FAULTINJ_LIB=$REL_BUILDDIR/.libs/faultinj.so
PEERCRED_LIB=$REL_BUILDDIR/.libs/peercred.so
FAKED=$REL_SRCDIR/fakedaemon.py
ABUSE=$REL_SRCDIR/abuse.py

# REL_SANITIZED: the programs were built with AddressSanitizer.  Its
# runtime sits in each executable, whose symbols come before any
# preloaded library, so faultinj.so cannot interpose malloc, recv,
# poll... there: the fault-injection sweeps skip themselves (they run
# in the ordinary build).
REL_SANITIZED=
grep -q __asan_init "$TOKEND" 2>/dev/null && REL_SANITIZED=1

# REL_COVERAGE: pam_tokend.so was built with --enable-coverage.  gcov's
# runtime inside the module allocates while it writes its counters when
# libpam unloads the module, so a failed malloc there crashes gcov, not
# the module: the malloc sweeps skip themselves (they run in the
# ordinary build).
REL_COVERAGE=
grep -q __gcov_ "$PAM_MODULE" 2>/dev/null && REL_COVERAGE=1

# need_interposable: skip the whole script in a sanitizer build
need_interposable() {
	[ -z "$REL_SANITIZED" ] ||
	    skip_all "fault injection cannot interpose under AddressSanitizer"
}

# In that build pam_wrapper cannot be used either (ASan refuses the
# RTLD_DEEPBIND it loads libpam with): the driver then reads the
# services of $TK_DIR/pam.d through pam_start_confdir() (REL_CONFDIR,
# see rel_pamdriver.c) and nothing is preloaded into it.
if [ -n "$REL_SANITIZED" ]; then
	# nss_wrapper can do without it
	export NSS_WRAPPER_DISABLE_DEEPBIND=1
	eval "rel_orig_need_wrappers() $(declare -f need_wrappers | tail -n +2)"
	need_wrappers() {
		rel_orig_need_wrappers
		PAM_WRAPPER_LIB=
	}
	eval "rel_orig_tk_setup() $(declare -f tk_setup | tail -n +2)"
	tk_setup() {
		rel_orig_tk_setup
		export REL_CONFDIR=$TK_DIR/pam.d
	}
fi

# rel_built: our preload libraries and driver exist (a build failure
# otherwise, never a skip)
rel_built() {
	local f
	need_built
	for f in "$FAULTINJ_LIB" "$PEERCRED_LIB"; do
		[ -f "$f" ] || bail "not built: $f"
	done
}

# tk_step_next: move tokend's faked clock one TOTP step (30 s) ahead,
# so that the code of the new step is fresh
TK_T=
tk_step_next() {
	[ -n "$TK_T" ] || TK_T=$(tk_now)
	TK_T=$((TK_T + 30))
	tk_faketime "$(date -u -d "@$TK_T" '+%Y-%m-%d %H:%M:%S')"
}

# fi_run SERVICE USER FUNC NTH [DRIVER-ARGS]: run the driver under
# pam_wrapper with the fault library preloaded before it, failing the
# NTH call of FUNC (extra TK_FAULT_* variables may be set by the
# caller through FI_ENV=(...)).  Sets PAM_RESULT, PAM_ERR, FI_HIT
# (1 when the fault fired), FI_CALLER (the object that made the failing
# call) and FI_CALLS (calls of FUNC in scope).
FI_ENV=()
fi_run() {
	local service=$1 user=$2 func=$3 nth=$4 rc log
	shift 4
	log=$TK_DIR/out/fault.log
	rm -f "$log"
	# only the driver is preloaded, not timeout(1) or env(1)
	timeout 30 env LD_PRELOAD="$FAULTINJ_LIB:$PAM_WRAPPER_LIB" \
	    PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$TK_DIR/pam.d" \
	    TK_FAULT_FUNC="$func" TK_FAULT_NTH="$nth" TK_FAULT_LOG="$log" \
	    "${FI_ENV[@]}" "$TK_DRIVER" -s "$service" -u "$user" "$@" \
	    >"$TK_DIR/out/pam.out" 2>"$TK_DIR/out/pam.err" </dev/null
	rc=$?
	PAM_OUT=$(cat "$TK_DIR/out/pam.out")
	PAM_ERR=$(cat "$TK_DIR/out/pam.err")
	PAM_RESULT=$(printf '%s\n' "$PAM_OUT" | awk 'NR == 1 { print $2 }')
	# 3: pam_start itself failed (the fault hit libpam's own set-up)
	if [ $rc -eq 3 ] && [ -n "$PAM_RESULT" ] &&
	    [ "$PAM_RESULT" != PAM_SUCCESS ]; then
		PAM_RESULT="pam_start:$PAM_RESULT"
	elif [ $rc -ne 0 ] || [ -z "$PAM_RESULT" ]; then
		PAM_RESULT="DRIVER_FAILED($rc)"
	fi
	FI_HIT=0
	FI_CALLER=$(awk '$1 == "hit" { print $4; exit }' "$log" 2>/dev/null)
	[ -n "$FI_CALLER" ] && FI_HIT=1
	FI_CALLS=$(awk '$1 == "calls" { print $3 }' "$log" 2>/dev/null)
	[ -n "$FI_CALLS" ] || FI_CALLS=0
	return 0
}

# is_failure RESULT: a result that lets nobody in
is_failure() {
	case $1 in
	PAM_SUCCESS | PAM_IGNORE | PAM_UNKNOWN_CODE | DRIVER_FAILED* | "")
		return 1 ;;
	esac
	return 0
}

# tally NAME: count one result in the associative array TALLY
declare -A TALLY
tally() {
	TALLY[$1]=$(( ${TALLY[$1]:-0} + 1 ))
}
tally_text() {
	local k
	for k in "${!TALLY[@]}"; do
		printf '%s=%s ' "$k" "${TALLY[$k]}"
	done | tr ' ' '\n' | sort | tr '\n' ' '
}

# rss_kb PID: resident set size of a process, kB
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# sql QUERY: run QUERY on the test database (read-only)
sql() {
	sqlite3 -readonly "$TK_DB" "$1" 2>&1
}
