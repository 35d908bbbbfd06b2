#!/bin/bash
# po.sh -- the Japanese catalogue is complete: po/ja.po has no
# untranslated and no fuzzy entry, its format strings agree with the
# English ones (msgfmt --check), it covers every message the sources
# have today (a catalogue extracted afresh from the files in
# po/POTFILES.in and merged with ja.po leaves nothing untranslated), and
# every source file that marks messages is listed in po/POTFILES.in.
. "$TOP_SRCDIR/tests/pam/lib.sh"

need_cmd msgfmt msgattrib msgmerge xgettext
PO=$TOP_SRCDIR/po/ja.po
[ -f "$PO" ] || bail "missing $PO"
tmp=$(mktemp -d /tmp/tokend-po.XXXXXX) || bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

# entries FILE: the entries of a catalogue, the header excluded.  An
# empty selection leaves no file behind (msgattrib -o writes nothing).
entries() {
	[ -f "$1" ] || { echo 0; return; }
	awk '/^msgid / { n++ } END { print (n > 0 ? n - 1 : 0) }' "$1"
}

# select NAME OPTION INPUT: msgattrib OPTION INPUT into $tmp/NAME.po;
# a failing msgattrib is a failed test, never an empty selection
select_po() {
	rm -f "$tmp/$1.po"
	msgattrib "$2" --no-obsolete -o "$tmp/$1.po" "$3" 2>"$tmp/$1.err" ||
	    bail "msgattrib $2 $3 failed: $(cat "$tmp/$1.err")"
}

msgfmt --check --statistics -o "$tmp/ja.mo" "$PO" 2>"$tmp/stat"
ok $? "msgfmt --check accepts ja.po (format strings, header)"
diag "$(cat "$tmp/stat")"

select_po untranslated --untranslated "$PO"
is "$(entries "$tmp/untranslated.po")" 0 "ja.po has no untranslated entry"
[ -s "$tmp/untranslated.po" ] && diag "$(grep '^msgid' "$tmp/untranslated.po")"

select_po fuzzy --only-fuzzy "$PO"
is "$(entries "$tmp/fuzzy.po")" 0 "ja.po has no fuzzy entry"
[ -s "$tmp/fuzzy.po" ] && diag "$(grep '^msgid' "$tmp/fuzzy.po")"

# the messages of the sources as they are now
opts=$(sed -n 's/^XGETTEXT_OPTIONS *= *//p' "$TOP_SRCDIR/po/Makevars")
files=$(grep -v '^#' "$TOP_SRCDIR/po/POTFILES.in" | grep -v '^ *$')
# shellcheck disable=SC2086
(cd "$TOP_SRCDIR" && xgettext $opts --language=C -o "$tmp/fresh.pot" $files)
ok $? "xgettext extracts the messages of po/POTFILES.in"
total=$(entries "$tmp/fresh.pot")
diag "$total messages in the sources"
isnt "$total" 0 "... and finds messages"
msgmerge --quiet -o "$tmp/merged.po" "$PO" "$tmp/fresh.pot"
ok $? "msgmerge ja.po with the fresh template"
select_po new --untranslated "$tmp/merged.po"
is "$(entries "$tmp/new.po")" 0 \
    "every message of the sources has a Japanese translation"
[ -s "$tmp/new.po" ] && diag "$(grep '^msgid' "$tmp/new.po")"
select_po changed --only-fuzzy "$tmp/merged.po"
is "$(entries "$tmp/changed.po")" 0 \
    "no English message changed since it was translated"
[ -s "$tmp/changed.po" ] && diag "$(grep '^msgid' "$tmp/changed.po")"

# a source file that marks messages but is not in POTFILES.in
missing=
for f in $(cd "$TOP_SRCDIR" && grep -lE '\b(N?_|ngettext)\("' \
    pam_module/*.c enroll/*.c common/*.c tokend/*.c 2>/dev/null); do
	printf '%s\n' "$files" | grep -qx "$f" || missing="$missing $f"
done
is "$missing" "" "every source file with translatable messages is in POTFILES.in"

done_testing
