#!/bin/sh
# check-man.sh -- every option, command and configuration key the code
# knows is documented in a man page, and every page is mandoc-lint clean.
# The names are read from the sources themselves (the option tables of
# tokenadm, pam_tokend.so and tokend, the key table of tokend.conf), so
# adding an option without documenting it fails `make check'.  TAP output.
set -u
src=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
docs=$src/docs
n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

# has PAGE REGEX: the page has a line matching REGEX
has() {
	grep -Eq -- "$2" "$docs/$1"
}

checks=$(mktemp)
trap 'rm -f "$checks"' EXIT

# tokenadm: commands (the command table) and long options (every
# getopt_long table in enroll/)
sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", tk_cmd_.*/\1/p' \
    "$src/enroll/tokenadm.c" | while read -r c; do
	printf 'tokenadm.8\t%s\t%s\n' "^\\.It Ic ([a-z-]+ )?$c( |\$)" \
	    "tokenadm command $c"
done >>"$checks"
cat "$src"/enroll/*.c "$src"/enroll/*.h |
    sed -n 's/.*{ "\([a-z0-9-]*\)", \(required\|no\|optional\)_argument,.*/\1/p' |
    sort -u | while read -r o; do
	printf 'tokenadm.8\t%s\t%s\n' "Fl -$o( |\$)" "tokenadm option --$o"
done >>"$checks"

# pam_tokend.so: value options, flag options and config=
{
	sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", "[a-z]*", "[a-z_]*" },/\1/p' \
	    "$src/pam_module/args.c"
	sed -n 's/.*flag_opts\[\] = {\(.*\)};/\1/p' "$src/pam_module/args.c" |
	    tr -d '" ' | tr ',' '\n'
	sed -n 's/^#define CONFIG_PREFIX[[:space:]]*"\([a-z]*\)=".*/\1/p' \
	    "$src/pam_module/args.c"
} | while read -r o; do
	printf 'pam_tokend.8\t%s\t%s\n' "^\\.It Cm $o( |\$)" \
	    "pam_tokend option $o"
done >>"$checks"

# tokend: the getopt string of main.c
sed -n 's/.*getopt(argc, argv, "\([a-zA-Z:]*\)").*/\1/p' \
    "$src/tokend/main.c" | tr -d ':' | fold -w1 | while read -r f; do
	[ "$f" = h ] && continue	# -h prints usage, like every tool
	printf 'tokend.8\t%s\t%s\n' "^\\.It Fl $f( |\$)" "tokend option -$f"
done >>"$checks"

# tokend.conf: every [section] key of the key table
sed -n 's/^[[:space:]]*{ "\([a-z]*\)", "\([a-z_]*\)", K_.*/\1 \2/p' \
    "$src/common/conf.c" | while read -r s k; do
	printf 'tokend.conf.5\t%s\t%s\n' "^\\.It Cm $k( |\$)" \
	    "tokend.conf key [$s] $k"
	printf 'tokend.conf.5\t%s\t%s\n' "^\\.Ss \\[$s\\]" \
	    "tokend.conf section [$s]"
done | sort -u >>"$checks"

total=$(wc -l <"$checks")
echo "1..$((total + 5))"
# the extraction itself must find something in each table
for what in "tokenadm command" "tokenadm option" "pam_tokend option" \
    "tokend option"; do
	grep -q "	$what " "$checks"
	ok $? "names found in the sources: $what"
done
tab=$(printf '\t')
while IFS=$tab read -r page re what; do
	has "$page" "$re"
	ok $? "$page documents $what"
done <"$checks"

lint=0
if command -v mandoc >/dev/null 2>&1; then
	for m in pam_tokend.8 tokend.8 tokenadm.8 tokend.conf.5; do
		mandoc -T lint -W warning "$docs/$m" || lint=1
	done
	ok $lint "mandoc -T lint -W warning is clean on every page"
else
	echo "ok $((n + 1)) # SKIP mandoc not installed"
	n=$((n + 1))
fi
exit 0
