#!/bin/bash
# run-all.sh -- reproduces the table of docs/performance.md.
#
#   tests/bench/run-all.sh BUILDDIR [OUTDIR]
#
# BUILDDIR is a configured and built tree (make); OUTDIR (default: a new
# /tmp/tokend-bench.XXXXXX) receives every store, log and result.  Runs
# as root (tokend's file checks, like tests/pam).  Bounded to about 15
# minutes on 2 cores; the 1,000,000-user steps are included.
#
# Environment:
#   BENCH_BASELINE=PATH  a tokend binary to measure the same way first
#                        (the "before" column of docs/performance.md)
#   BENCH_QUICK=1        populations 1, 1000, 100000 only (no 1M)
#   BENCH_CLIENTS=64     concurrent clients of tokend-bench
#   BENCH_SECONDS=10     length of a tokend-bench run
#   BENCH_LOGINS=200     timed logins a PAM point
#
# Every tokend-bench and pam-bench run verifies its own answers (every
# valid code accepted once, every wrong or replayed one refused); a VOID
# run makes this script exit 1 after the table.
set -u
export LC_ALL=C TZ=UTC

B=${1:?usage: run-all.sh BUILDDIR [OUTDIR]}
B=$(cd "$B" && pwd)
OUT=${2:-$(mktemp -d /tmp/tokend-bench.XXXXXX)}
mkdir -p "$OUT" && chmod 0755 "$OUT"
CLIENTS=${BENCH_CLIENTS:-64}
SECONDS_RUN=${BENCH_SECONDS:-10}
LOGINS=${BENCH_LOGINS:-200}
POPS="1 1000 100000 1000000"
[ -n "${BENCH_QUICK:-}" ] && POPS="1 1000 100000"

TOKEND=$B/tokend/tokend
POP=$B/tools/make-population
TBENCH=$B/tests/bench/tokend-bench
PBENCH=$B/tests/bench/pam-bench
MODULE=$B/pam_module/.libs/pam_tokend.so
TABLE=$OUT/table.md
VOID=0

die() { echo "run-all.sh: $*" >&2; exit 2; }
note() { echo "# $*" >&2; }
for f in "$TOKEND" "$POP" "$TBENCH" "$PBENCH" "$MODULE"; do
	[ -e "$f" ] || die "not built: $f (run make in $B)"
done
[ "$(id -u)" -eq 0 ] || die "must run as root"
multi=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PWRAP=/usr/lib/$multi/libpam_wrapper.so
FAKETIME_LIB=/usr/lib/$multi/faketime/libfaketime.so.1
MODDIR=/usr/lib/$multi/security
[ -f "$PWRAP" ] || die "pam_wrapper not installed (libpam-wrapper)"
[ -f "$FAKETIME_LIB" ] || die "libfaketime not installed (faketime)"
PWRAP_LOCK=/tmp/tokend-tests.pam_wrapper.lock

# result KEY LINE: the value of key=value in a RESULT line
result() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# ---------------------------------------------------------------- stores

# store M: a private tokend directory $OUT/pM with M users (secrets in
# $OUT/pM/secrets), made once
store() {
	local m=$1 d=$OUT/p$1
	if [ ! -f "$d/secrets" ]; then
		mkdir -p "$d" && chmod 0755 "$d"
		mkdir -m 0700 -p "$d/etc" "$d/lib"
		mkdir -m 0755 -p "$d/run"
		head -c 32 /dev/urandom >"$d/etc/master.key"
		chmod 0400 "$d/etc/master.key"
		cat >"$d/tokend.conf" <<EOF
[tokend]
socket = $d/run/socket
database = $d/lib/tokend.db
master_key = $d/etc/master.key
user = root
max_connections = 1024
EOF
		chmod 0644 "$d/tokend.conf"
		local t0=$(date +%s.%N)
		"$POP" -q -c "$d/tokend.conf" -n "$m" -o "$d/secrets" \
		    2>>"$d/population.log" || die "make-population $m failed"
		local t1=$(date +%s.%N)
		echo "$m $(echo "$t1 - $t0" | bc)" >>"$OUT/population-times"
	fi
	D=$d
}

# start BINARY [faketime]: tokend of $D in the background, timed to its
# first answer; sets PID and READY_MS
start() {
	local bin=$1 line
	local -a env=()
	if [ "${2:-}" = faketime ]; then
		env=(env LD_PRELOAD="$FAKETIME_LIB"
		    FAKETIME_TIMESTAMP_FILE="$D/faketime" FAKETIME_NO_CACHE=1
		    FAKETIME_DONT_FAKE_MONOTONIC=1)
		date -u -d "@$(( $(date +%s) + 60 ))" '+%Y-%m-%d %H:%M:%S' \
		    >"$D/faketime"
		# tokend-bench execs the binary itself: preload through a wrapper
		cat >"$D/tokend-faketime" <<EOF
#!/bin/sh
exec ${env[*]} $bin "\$@"
EOF
		chmod 0755 "$D/tokend-faketime"
		bin=$D/tokend-faketime
	fi
	line=$("$TBENCH" -S "$D/run/socket" -Y "$bin" -C "$D/tokend.conf" \
	    -L "$D/tokend.log" | grep '^RESULT') || die "tokend did not start"
	PID=$(result pid "$line")
	READY_MS=$(result ready_ms "$line")
	# the sh wrapper exec'd tokend: same pid
}

stop() {
	[ -n "${PID:-}" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PID" 2>/dev/null
	PID=
}
trap stop EXIT

rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' \
    "/proc/$1/status"; }

# ---------------------------------------------------------------- machine

{
	echo "## Machine"
	echo
	echo '```'
	lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU max MHz)'
	uname -srm
	free -m | head -2
	df -hT "$OUT" | tail -1
	lsblk -d -o NAME,ROTA,SIZE,MODEL 2>/dev/null | head -5
	echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo '```'
	echo
} >"$TABLE"

# ------------------------------------------------- tokend: 64 clients, 1M

BIG=1000000
[ -n "${BENCH_QUICK:-}" ] && BIG=100000
store $BIG
note "populations: $(cat "$OUT/population-times" 2>/dev/null | tr '\n' ';')"

# tokend_run LABEL BINARY FIRST: start-to-ready, throughput, RSS
tokend_run() {
	local label=$1 bin=$2 first=$3 line r0 r1
	start "$bin"
	r0=$(rss "$PID")
	line=$("$TBENCH" -S "$D/run/socket" -f "$D/secrets" -c "$CLIENTS" \
	    -t "$SECONDS_RUN" -s "$first" -n 400000 -P "$PID" |
	    tee -a "$OUT/tokend-bench.txt" | grep '^RESULT')
	[ "$(result verified "$line")" = yes ] || VOID=1
	r1=$(rss "$PID")
	echo "| $label | $BIG | $CLIENTS | $(result rate "$line") |" \
	    "$(result median_us "$line") | $(result p99_us "$line") |" \
	    "$(result max_us "$line") | ${r0% *} | ${r1#* } | $READY_MS |" \
	    "$(result verified "$line") |" >>"$OUT/tokend-rows"
	stop
}

rm -f "$OUT/tokend-rows"
if [ -n "${BENCH_BASELINE:-}" ]; then
	note "tokend (baseline $BENCH_BASELINE)"
	tokend_run "before" "$BENCH_BASELINE" 500000
fi
note "tokend ($TOKEND)"
tokend_run "after" "$TOKEND" 0

{
	echo "## tokend: durable TOTP verifications, $CLIENTS clients"
	echo
	echo "| build | users | clients | verif./s | median us | p99 us |" \
	    "max us | RSS at start kB | VmHWM after kB | start-to-ready ms |" \
	    "verified |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	cat "$OUT/tokend-rows"
	echo
} >>"$TABLE"

# ------------------------------------------ tokend: FIDO2 assertions

# fido2_run LABEL BINARY: FIDO2 logins only (-F 1; the bench enrolls its
# own soft-key users), on the big store
fido2_run() {
	local label=$1 bin=$2 line mem
	start "$bin"
	line=$("$TBENCH" -S "$D/run/socket" -c "$CLIENTS" -t "$SECONDS_RUN" \
	    -F 1 -P "$PID" | tee -a "$OUT/tokend-bench-fido2.txt" |
	    grep '^RESULT_FIDO2')
	[ "$(result verified "$line")" = yes ] || VOID=1
	# tokend's memory after the run (the FIDO2 key cache full of the
	# bench's users): VmRSS / VmHWM, kB
	mem=$(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 }
	    END { print r " / " h }' "/proc/$PID/status")
	echo "| $label | $CLIENTS | $(result rate "$line") |" \
	    "$(result median_us "$line") | $(result p99_us "$line") |" \
	    "$(result login_median_us "$line") | $(result login_p99_us "$line") |" \
	    "$(result replays_refused "$line")/$(result replays "$line") |" \
	    "$mem | $(result verified "$line") |" >>"$OUT/fido2-rows"
	stop
}

rm -f "$OUT/fido2-rows"
if [ -n "${BENCH_BASELINE:-}" ]; then
	note "tokend FIDO2 (baseline $BENCH_BASELINE)"
	fido2_run "before" "$BENCH_BASELINE"
fi
note "tokend FIDO2 ($TOKEND)"
fido2_run "after" "$TOKEND"
{
	echo "## tokend: FIDO2 assertion verifications, $CLIENTS clients"
	echo
	echo "| build | clients | assertions/s | FINISH median us |" \
	    "FINISH p99 us | login median us | login p99 us |" \
	    "replays refused | VmRSS / VmHWM kB after | verified |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	cat "$OUT/fido2-rows"
	echo
} >>"$TABLE"

# ---------------------------------------------------------------- PAM

# pam_point LABEL SERVICE-LINE M LOGINS: pam-bench on the frozen clock
pam_point() {
	local label=$1 svc=$2 m=$3 n=$4 line
	mkdir -p "$OUT/pam.d"
	printf 'auth required pam_deny.so\n' >"$OUT/pam.d/other"
	printf '%s\n' "$svc" >"$OUT/pam.d/bench-$label"
	line=$( (
		flock 9 || exit 99
		exec env LD_PRELOAD="$PWRAP:$FAKETIME_LIB" PAM_WRAPPER=1 \
		    PAM_WRAPPER_SERVICE_DIR="$OUT/pam.d" \
		    FAKETIME_TIMESTAMP_FILE="$D/faketime" FAKETIME_NO_CACHE=1 \
		    FAKETIME_DONT_FAKE_MONOTONIC=1 \
		    "$PBENCH" -L 9 -s "bench-$label" -l "$label" \
		    -f "$D/secrets" -n "$n" -F "$D/faketime"
	) 9>"$PWRAP_LOCK" 2>>"$OUT/pam-bench.err" |
	    tee -a "$OUT/pam-bench.txt" | grep '^RESULT')
	[ "$(result verified "$line")" = yes ] || VOID=1
	echo "| $label | $m | $(result logins "$line") |" \
	    "$(result median_us "$line") | $(result p99_us "$line") |" \
	    "$(result max_us "$line") | $(result verified "$line") |" \
	    >>"$OUT/pam-rows"
	MEDIAN=$(result median_us "$line")
}

# the peers' files from the same secrets
oath_file() {
	awk '{ printf "HOTP/T30/%s\t%s\t-\t%s\n", $5, $1, $3 }' \
	    "$D/secrets" >"$D/users.oath"
	chmod 0600 "$D/users.oath"
}
ga_files() {
	mkdir -m 0700 -p "$D/ga"
	python3 - "$D/secrets" "$D/ga" <<'EOF'
import base64, os, sys
with open(sys.argv[1]) as f:
    for line in f:
        user, cred, hexs = line.split()[:3]
        b32 = base64.b32encode(bytes.fromhex(hexs)).decode().rstrip('=')
        p = os.path.join(sys.argv[2], user)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (b32 + '\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 3\n'
                      '" DISALLOW_REUSE\n" TOTP_AUTH\n').encode())
        os.close(fd)
EOF
}

rm -f "$OUT/pam-rows"
declare -A MED
for m in $POPS; do
	store "$m"
	n=$LOGINS
	note "PAM: pam_tokend, $m users"
	start "$TOKEND" faketime
	pam_point "pam_tokend" \
	    "auth required $MODULE config=$D/tokend.conf" "$m" "$n"
	MED[tokend.$m]=$MEDIAN
	stop
	# pam_oath rewrites its whole file per login: fewer logins at 1M
	[ "$m" -ge 1000000 ] && n=10
	note "PAM: pam_oath, $m users"
	oath_file
	pam_point "pam_oath" \
	    "auth required $MODDIR/pam_oath.so usersfile=$D/users.oath window=1 digits=6" \
	    "$m" "$n"
	MED[oath.$m]=$MEDIAN
	# google-authenticator: one file a user; 1M files are not made
	if [ "$m" -le 100000 ]; then
		note "PAM: google-authenticator, $m users"
		ga_files
		pam_point "google-authenticator" \
		    "auth required $MODDIR/pam_google_authenticator.so secret=$D/ga/\${USER} user=root" \
		    "$m" "$LOGINS"
		MED[ga.$m]=$MEDIAN
		rm -rf "$D/ga"
	fi
done

{
	echo "## PAM level: pam_authenticate, frozen clock one step a login"
	echo
	echo "| module | users | logins | median us | p99 us | max us | verified |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	cat "$OUT/pam-rows"
	echo
	echo "## Ratios (medians, same run)"
	echo
	one=${MED[tokend.1]:-0}
	for m in $POPS; do
		t=${MED[tokend.$m]:-0}
		o=${MED[oath.$m]:-0}
		g=${MED[ga.$m]:-}
		printf '%s users: pam_tokend / pam_tokend@1 = %s; pam_oath / pam_tokend = %s' \
		    "$m" "$(echo "scale=2; $t / $one" | bc)" \
		    "$(echo "scale=1; $o / $t" | bc)"
		[ -n "$g" ] && printf '; google-authenticator / pam_tokend = %s' \
		    "$(echo "scale=1; $g / $t" | bc)"
		printf '\n\n'
	done
	echo "Populations (users, seconds to create): $(tr '\n' ';' <"$OUT/population-times")"
} >>"$TABLE"

cat "$TABLE"
echo "run-all.sh: results in $OUT" >&2
[ "$VOID" -eq 0 ] || { echo "run-all.sh: a run was VOID" >&2; exit 1; }
exit 0
