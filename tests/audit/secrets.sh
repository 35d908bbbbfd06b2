#!/bin/bash
# secrets.sh -- no secret material in the audit trail or the log: run a
# TOTP flow (enroll, confirm, good, replayed, wrong and older codes) and
# a recovery flow (issue, use, reuse, wrong) with tokend in debug mode,
# then scan the audit table (sqlite3 .dump), tokend's log (its syslog
# lines, captured from tokend -f -d) and the module's output for every
# TOTP secret (base32 from the otpauth URI, and as hex), every code typed
# and every recovery code issued: none may appear.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_root
need_wrappers
need_cmd python3 oathtool sqlite3
need_built
tk_setup
tk_write_conf
tk_init || bail "tokenadm init failed: $(cat "$TK_DIR/init.out")"
tk_start -d || bail "tokend did not start"
pam_services
pam_service debug "auth required @MODULE@ config=@CONF@ debug"

secrets=()
typed=()
: >"$TK_DIR/pam.all"
# pam_is, keeping everything the module showed for the scan
pam_is() {
	local service=$1 user=$2 want=$3 name=$4
	shift 4
	pam_run "$service" "$user" "$@"
	printf '%s\n%s\n' "$PAM_OUT" "$PAM_ERR" >>"$TK_DIR/pam.all"
	is "$PAM_RESULT" "$want" "$name"
}

# ---- TOTP
for u in alice bob; do
	tk_enroll "$u" --label "phone of $u" || bail "enroll $u"
	secrets+=("$(uri_param "$URI" secret)")
	wait_step_margin
	c=$(totp_code "$URI" -30)
	typed+=("$c")
	tk_adm confirm "$u" "$CRED" "$c"
	is "$ADM_RC" 0 "confirm $u"
	c=$(totp_code "$URI")
	typed+=("$c")
	pam_is debug "$u" PAM_SUCCESS "$u logs in with a code" -a "$c"
	pam_is debug "$u" PAM_AUTH_ERR "$u: the same code is refused" -a "$c"
	c=$(wrong_code "$URI")
	typed+=("$c")
	pam_is debug "$u" PAM_AUTH_ERR "$u: a wrong code is refused" -a "$c"
	tk_adm unlock "$u" >/dev/null
done
tk_adm --json enroll totp carol --digits 8 --algorithm sha512
secrets+=("$(json_get "$ADM_OUT" .otpauth_uri | sed 's/.*secret=\([A-Z2-7]*\).*/\1/')")

# ---- recovery
tk_adm --json recovery alice --count 5
mapfile -t rc < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["codes"]))' "$ADM_OUT")
is "${#rc[@]}" 5 "5 recovery codes issued"
pam_is debug alice PAM_SUCCESS "alice logs in with a recovery code" -a "${rc[0]}"
pam_is debug alice PAM_AUTH_ERR "... not twice" -a "${rc[0]}"
up=$(printf '%s' "${rc[1]}" | tr -d - | tr a-z A-Z)
pam_is debug alice PAM_SUCCESS "... another one in capitals" -a "$up"
typed+=("$up")
pam_is debug alice PAM_AUTH_ERR "a wrong recovery code is refused" \
    -a "zzzz-zzzz-zzzz"
tk_adm audit verify
tk_adm --json recovery alice --count 2		# voids the rest
mapfile -t rc2 < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["codes"]))' "$ADM_OUT")
tk_adm audit export --format csv
tk_adm audit export --format jsonl
tk_stop

# ---- the scan
sqlite3 "$TK_DB" .dump >"$TK_DIR/dump.sql" 2>&1
[ -s "$TK_DIR/dump.sql" ]
ok $? "the audit table dumped ($(grep -c 'INSERT INTO audit' "$TK_DIR/dump.sql") rows)"
[ -s "$TK_LOG" ]
ok $? "tokend's log captured ($(wc -l <"$TK_LOG") lines, debug on)"
grep -q 'event=recovery_use' "$TK_LOG"
ok $? "... and it holds the audit lines (event=recovery_use)"
grep -q 'Recovery code used' "$TK_DIR/pam.all"
ok $? "the module's messages were captured"

needles=()
for s in "${secrets[@]}"; do
	needles+=("$s")
	# the raw secret as hex too (a careless log would print bytes)
	needles+=("$(python3 -c 'import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + "=" * (-len(s) % 8)).hex())' "$s")")
done
for c in "${rc[@]}" "${rc2[@]}"; do
	needles+=("$c" "${c//-/}" "$(printf '%s' "$c" | tr a-z A-Z)")
done
found=0
for n in "${needles[@]}"; do
	[ -n "$n" ] || continue
	for f in "$TK_DIR/dump.sql" "$TK_LOG" "$TK_DIR/pam.all"; do
		if grep -qiF -- "$n" "$f"; then
			diag "found a secret in $(basename "$f")"
			found=$((found + 1))
		fi
	done
done
is "$found" 0 "no TOTP secret and no recovery code (${#needles[@]} forms) in the dump, the log or the module's output"
# typed TOTP codes: as whole words (6 or 8 digits could hide inside a
# longer number such as a time)
found=0
for c in "${typed[@]}"; do
	for f in "$TK_DIR/dump.sql" "$TK_LOG" "$TK_DIR/pam.all"; do
		if grep -qw -- "$c" "$f"; then
			diag "found a typed code in $(basename "$f")"
			found=$((found + 1))
		fi
	done
done
is "$found" 0 "no typed code (${#typed[@]}) in the dump, the log or the module's output"
grep -q 'otpauth://' "$TK_DIR/dump.sql" "$TK_LOG"
isnt "$?" 0 "no otpauth URI in the dump or the log"

done_testing
