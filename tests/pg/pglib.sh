# pglib.sh -- sourced by the tests/pg scripts: a real, throwaway
# PostgreSQL server (Debian's postgresql package), started with initdb in
# a temporary directory, listening on a UNIX socket directory only
# (listen_addresses = ''), and stopped by pg_stop (the scripts' trap).
#
# The server cannot run as root: under root it runs as `nobody' (runuser)
# in a directory nobody owns; the tests connect as the database superuser
# "postgres" through the socket (trust authentication: only the socket's
# directory, mode 0755 in a 0700-or-nobody tree, reaches it).
#
# After pg_start DIR:
#   PG_URL     libpq conninfo of database "tokend"
#   PG_SOCK    the socket directory
#   PG_DATA    the data directory
# pg_psql SQL...       runs SQL in database tokend (psql -X -q -A -t)
# pg_restart           stops and starts the server again (fast mode)
# pg_stop              stops it (idempotent)
# pg_skip_unless_available  exits 77 (SKIP) when there is no server

pg_find_bin() {
	local d
	if [ -n "${PG_BIN:-}" ]; then
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			PG_BIN=$d
			return 0
		fi
	done
	d=$(command -v initdb 2>/dev/null) || return 1
	PG_BIN=$(dirname "$d")
}

pg_skip_unless_available() {
	if ! pg_find_bin; then
		echo "1..0 # SKIP no PostgreSQL server binaries (initdb, pg_ctl)"
		exit 77
	fi
	if [ "$(id -u)" = 0 ] && ! command -v runuser >/dev/null 2>&1; then
		echo "1..0 # SKIP root without runuser cannot start PostgreSQL"
		exit 77
	fi
}

# runs a server command as the server's owner
pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local top=$1
	pg_find_bin || return 1
	PG_TOP=$top
	PG_DATA=$top/data
	PG_SOCK=$top/sock
	PG_LOG=$top/server.log
	mkdir -p "$PG_SOCK" || return 1
	if [ "$(id -u)" = 0 ]; then
		chmod 0755 "$top"
		chown nobody "$top" "$PG_SOCK" || return 1
	fi
	pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres \
	    -E UTF8 --locale=C --no-sync >"$top/initdb.log" 2>&1 || {
		cat "$top/initdb.log" >&2
		return 1
	}
	cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_SOCK'
fsync = off
full_page_writes = off
max_connections = 60
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
	pg_as_owner touch "$PG_LOG"
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
	    start >/dev/null || { cat "$PG_LOG" >&2; return 1; }
	PG_STARTED=1
	"$PG_BIN/psql" -X -q -h "$PG_SOCK" -U postgres -d postgres \
	    -c 'CREATE DATABASE tokend' >/dev/null || return 1
	PG_URL="host=$PG_SOCK user=postgres dbname=tokend"
	# the tests' own SQL: no NOTICE lines in the TAP output
	PGOPTIONS='-c client_min_messages=warning'
	export PG_URL PG_SOCK PG_DATA PG_BIN PGOPTIONS
}

pg_psql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCK" \
	    -U postgres -d "${PG_DB:-tokend}" -c "$*"
}

pg_restart() {
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
	    -m fast restart >/dev/null
}

pg_stop() {
	if [ -n "${PG_STARTED:-}" ]; then
		pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast \
		    stop >/dev/null 2>&1
		PG_STARTED=
	fi
}
