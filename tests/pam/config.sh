#!/bin/bash
# config.sh -- tokend refuses to start with a bad configuration file
# (each error named FILE:LINE), with an unsafe master key (group- or
# world-readable, a symbolic link, the wrong size) or an unsafe database
# directory; the PAM module and tokenadm refuse a bad file too.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 stat
need_built
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"

"$TOKEND" -c "$TK_CONF" -t >"$TK_DIR/out/t.out" 2>&1
rc=$?
is $rc 0 "tokend -t accepts the good configuration"
[ $rc -eq 0 ] || diag "$(cat "$TK_DIR/out/t.out")"

# conf_variant NAME TEXT: a configuration file named NAME
conf_variant() {
	printf '%s\n' "$2" >"$TK_DIR/$1"
	chmod 0644 "$TK_DIR/$1"
}

# refuses NAME CONF-FILE PATTERN: tokend -t exits 1 with a message
# matching PATTERN; tokend -f refuses as well without opening a socket
refuses() {
	local name=$1 conf=$2 pat=$3 out
	"$TOKEND" -c "$conf" -t >"$TK_DIR/out/t.out" 2>&1
	is $? 1 "$name: tokend -t exits 1"
	out=$(cat "$TK_DIR/out/t.out")
	like "$out" "$pat" "$name: the message names the problem"
}

base="[tokend]
socket = $TK_SOCK
database = $TK_DB
master_key = $TK_KEY
user = root"

# ---- configuration errors, each with FILE:LINE
conf_variant unknown-key.conf "$base
colour = blue"
refuses "unknown key" "$TK_DIR/unknown-key.conf" "unknown-key\.conf:6"

conf_variant unknown-section.conf "$base
[frobnicate]
x = 1"
refuses "unknown section" "$TK_DIR/unknown-section.conf" \
    "unknown-section\.conf:(6|7)"

conf_variant range.conf "$base
[totp]
window = 11"
refuses "window out of range" "$TK_DIR/range.conf" "range\.conf:7"

conf_variant notnum.conf "$base
[throttle]
max_failures = many"
refuses "max_failures not a number" "$TK_DIR/notnum.conf" "notnum\.conf:7"

conf_variant zero.conf "$base
[throttle]
max_failures = 0"
refuses "max_failures = 0" "$TK_DIR/zero.conf" "zero\.conf:7"

conf_variant dup.conf "$base
socket = $TK_DIR/run/other"
refuses "duplicate key" "$TK_DIR/dup.conf" "dup\.conf:6"

conf_variant nosection.conf "socket = $TK_SOCK
$base"
refuses "key before any section" "$TK_DIR/nosection.conf" "nosection\.conf:1"

conf_variant relpath.conf "[tokend]
socket = run/socket
database = $TK_DB
master_key = $TK_KEY
user = root"
refuses "relative socket path" "$TK_DIR/relpath.conf" "relpath\.conf:2"

conf_variant badbool.conf "$base
[pam]
nullok = perhaps"
refuses "bad boolean" "$TK_DIR/badbool.conf" "badbool\.conf:7"

# ---- the file itself must be safe
conf_variant groupw.conf "$base"
chmod 0664 "$TK_DIR/groupw.conf"
refuses "group-writable configuration" "$TK_DIR/groupw.conf" "groupw\.conf"

conf_variant target.conf "$base"
ln -s "$TK_DIR/target.conf" "$TK_DIR/link.conf"
refuses "configuration through a symbolic link" "$TK_DIR/link.conf" \
    "link\.conf"

"$TOKEND" -c "$TK_DIR/missing.conf" -t >"$TK_DIR/out/t.out" 2>&1
is $? 1 "a missing -c file: tokend -t exits 1"

# ---- the master key must be safe
# key_variant NAME: a copy of the key in its own 0700 directory and a
# configuration naming it; sets KV_KEY and KV_CONF
key_variant() {
	mkdir -m 0700 "$TK_DIR/k-$1"
	KV_KEY=$TK_DIR/k-$1/master.key
	cp -p "$TK_KEY" "$KV_KEY"
	KV_CONF=$TK_DIR/k-$1.conf
	conf_variant "k-$1.conf" "[tokend]
socket = $TK_SOCK
database = $TK_DB
master_key = $KV_KEY
user = root"
}

key_variant ok
"$TOKEND" -c "$KV_CONF" -t >"$TK_DIR/out/t.out" 2>&1
is $? 0 "a copy of the key with mode 0400 is accepted"

key_variant groupr
chmod 0440 "$KV_KEY"
refuses "group-readable master key" "$KV_CONF" "master\.key|master key"

key_variant worldr
chmod 0404 "$KV_KEY"
refuses "world-readable master key" "$KV_CONF" "master\.key|master key"

key_variant link
rm -f "$KV_KEY"
ln -s "$TK_KEY" "$KV_KEY"
refuses "master key through a symbolic link" "$KV_CONF" \
    "master\.key|master key"

key_variant short
chmod 0600 "$KV_KEY"
head -c 31 "$TK_KEY" >"$KV_KEY"
chmod 0400 "$KV_KEY"
refuses "a 31-byte master key" "$KV_CONF" "master\.key|master key"

key_variant owner
chown 65534:65534 "$KV_KEY"
refuses "master key owned by another user" "$KV_CONF" \
    "master\.key|master key"

key_variant missing
rm -f "$KV_KEY"
refuses "missing master key" "$KV_CONF" "master\.key|master key"

# ---- the database directory must be safe
mkdir -m 0777 "$TK_DIR/db777"
conf_variant db777.conf "[tokend]
socket = $TK_SOCK
database = $TK_DIR/db777/tokend.db
master_key = $TK_KEY
user = root"
refuses "world-writable database directory" "$TK_DIR/db777.conf" "db777"

# ---- tokend -f with a bad file never opens its socket
"$TOKEND" -c "$TK_DIR/unknown-key.conf" -f >"$TK_DIR/out/f.out" 2>&1 &
fpid=$!
tk_wait_pid $fpid 10
is "$TK_WAIT_RC" 1 "tokend -f with a bad file exits 1"
[ ! -e "$TK_SOCK" ]
ok $? "... without creating its socket"

# ---- the other programs refuse the bad file too
"$TOKENADM" -c "$TK_DIR/unknown-key.conf" status >"$TK_DIR/out/a.out" 2>&1
rc=$?
isnt $rc 0 "tokenadm refuses a bad file"
like "$(cat "$TK_DIR/out/a.out")" "unknown-key\.conf:6" \
    "... naming FILE:LINE"

pam_service badconf "auth required @MODULE@ config=$TK_DIR/unknown-key.conf nullok
auth required @MODDIR@/pam_permit.so"
pam_is badconf alice PAM_SERVICE_ERR \
    "the PAM module refuses a bad file: PAM_SERVICE_ERR" -a 123456
pam_service groupwconf "auth required @MODULE@ config=$TK_DIR/groupw.conf nullok
auth required @MODDIR@/pam_permit.so"
pam_run groupwconf alice -a 123456
pam_refused "the PAM module refuses a group-writable file (the stack fails)"

done_testing
