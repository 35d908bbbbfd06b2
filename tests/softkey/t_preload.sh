#!/bin/bash
# t_preload.sh -- softkey-ctl and softkey-preload.so from the outside: a
# program linked only against libfido2 (preload_client) finds the keys
# of SOFTKEY_KEYS, makes a credential and signs with it; the state file
# carries PIN, retries, counter and credentials between processes.
# TAP output.
set -u

B=${TOP_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/softkey
CTL=$B/softkey-ctl
CLIENT=$B/preload_client
PRELOAD=$B/.libs/softkey-preload.so
T=$(mktemp -d "${TMPDIR:-/tmp}/t_preload.XXXXXX")
trap 'rm -rf "$T"' EXIT

n=0
fails=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
check() {	# check DESCRIPTION COMMAND...: ok if the command succeeds
	local d=$1
	shift
	"$@" >"$T/out" 2>&1
	local rc=$?
	ok $rc "$d"
	[ $rc = 0 ] || sed 's/^/# /' "$T/out"
}
client() {
	SOFTKEY_KEYS="$KEYS" LD_PRELOAD="$PRELOAD" "$CLIENT" "$@"
}

echo "1..22"

check "softkey-ctl init, basic attestation" \
	"$CTL" init "$T/a.state" --attestation basic --aaguid \
	01020304-0506-0708-090a-0b0c0d0e0f10 --product "key A"
check "softkey-ctl init with a PIN" "$CTL" init "$T/b.state" --pin 1234
"$CTL" init "$T/x.state" --bogus >/dev/null 2>&1
ok $(( $? == 2 ? 0 : 1 )) "softkey-ctl init refuses an unknown option"
"$CTL" set "$T/a.state" nosuchkey=1 >/dev/null 2>&1
ok $(( $? != 0 ? 0 : 1 )) "softkey-ctl set refuses an unknown key"
"$CTL" show "$T/a.state" >"$T/show"
grep -qx "aaguid = 01020304-0506-0708-090a-0b0c0d0e0f10" "$T/show" &&
	grep -qx "attestation = basic" "$T/show" &&
	grep -qx "credentials = 0" "$T/show"
ok $? "softkey-ctl show"
[ "$("$CTL" get "$T/b.state" pin_set)" = 1 ] &&
	[ "$("$CTL" get "$T/b.state" pin_retries)" = 8 ]
ok $? "softkey-ctl get"

KEYS="$T/a.state:$T/b.state:$T/missing.state"
client list >"$T/list"
[ "$(head -1 "$T/list")" = 2 ] &&
	grep -q "^softkey:$T/a.state	tokend tests	key A\$" "$T/list" &&
	grep -q "^softkey:$T/b.state	" "$T/list"
ok $? "the manifest lists the existing keys"
sed 's/^/# /' "$T/list"

"$CTL" set "$T/b.state" removed=1
[ "$(client list | head -1)" = 1 ]
ok $? "a removed key is not listed"
KEYS="$T/a.state"
check "credential and assertion through fido_dev_open(path)" client run
[ "$("$CTL" get "$T/a.state" credentials)" = 1 ] &&
	[ "$("$CTL" get "$T/a.state" counter)" = 1 ]
ok $? "the state file has the credential and the counter"
check "the same through fido_dev_new_with_info (transport functions)" \
	client -i run
[ "$("$CTL" get "$T/a.state" counter)" = 2 ]
ok $? "the counter went on in the next process"
! SOFTKEY_KEYS="$KEYS" "$CLIENT" list | grep -q "^softkey:"
ok $? "without the preload no soft key is seen"

"$CTL" set "$T/b.state" removed=0
KEYS="$T/b.state"
client run >"$T/out" 2>&1
grep -q "make_cred: FIDO_ERR_PIN_REQUIRED" "$T/out"
ok $? "a key with a PIN wants it"
check "with the PIN" client -p 1234 run
grep -q "flags=0x05" "$T/out"
ok $? "... and the assertion has UP and UV"
client -p 9999 run >"$T/out" 2>&1
grep -q "FIDO_ERR_PIN_INVALID" "$T/out" &&
	[ "$("$CTL" get "$T/b.state" pin_retries)" = 7 ]
ok $? "a wrong PIN costs a retry, kept in the file"
"$CTL" set "$T/b.state" pin_retries=1
client -p 9999 run >"$T/out" 2>&1
client -p 1234 run >"$T/out" 2>&1
grep -q "FIDO_ERR_PIN_BLOCKED" "$T/out"
ok $? "no retries left: blocked"

"$CTL" init "$T/c.state" --builtin-uv
KEYS="$T/c.state"
check "built-in UV without a PIN" client -u run
grep -q "flags=0x05" "$T/out"
ok $? "... UV flag set"

"$CTL" set "$T/c.state" touch=0 touch_timeout_ms=60000
start=$(date +%s%N)
client -T 500 run >"$T/out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc != 0 ] && [ $ms -lt 3000 ]
ok $? "no touch: the client's timeout ends it (${ms} ms)"
"$CTL" set "$T/c.state" touch_timeout_ms=300
client run >"$T/out" 2>&1
grep -q "FIDO_ERR_USER_ACTION_TIMEOUT" "$T/out"
ok $? "no touch: the key's own timeout ends it"

[ $fails = 0 ]
