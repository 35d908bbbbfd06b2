/*
 * store_migrate.c -- tokend -m: moves a single-host installation's
 * SQLite store into PostgreSQL (tokenadm migrate-store runs it, as the
 * tokend account, with tokend stopped).
 *
 * The rows are copied as they are: ids (a sealed secret is bound to its
 * user and credential id), sealed secrets (the same master key opens
 * them), the audit rows with their MACs and the anchor (the chain goes
 * on unchanged), throttling, recovery code hashes, grants and
 * challenges.  The copy reads SQLite directly, read-only, because the
 * store interface hands out no raw rows (no MAC, no throttle list); the
 * checks before and after go through the store interface, as tokend
 * will read the data.
 *
 * MUST invariants:
 *  1. Nothing is written unless the source's audit chain verifies and
 *     every sealed secret of the source opens with the master key given
 *     (the right key, an intact store).
 *  2. The target must be empty; the emptiness check and the whole copy
 *     are one PostgreSQL transaction holding every table's lock, so a
 *     tokend started meanwhile cannot interleave, and a failed copy
 *     leaves the target as it was.
 *  3. Success is reported only after the target verifies: the same row
 *     count in every table, an intact chain of the same length, every
 *     sealed secret opening.
 *  4. Every value is a bound parameter; the SQL texts are constants.
 *  5. The source and target schema versions are equal (both are this
 *     program's), so every column has a place.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit.h"
#include "err.h"
#include "log.h"
#include "seal.h"
#include "store.h"
#include "store_migrate.h"

#define MIG_COLS_MAX	24

/* one table: its SQLite SELECT, its PostgreSQL INSERT, column types */
struct mig_table {
	const char	*name;
	const char	*select;	/* SQLite, in a stable order */
	const char	*insert;	/* PostgreSQL, $1.. in the same order */
	const char	*types;		/* i: integer, t: text, b: bytes */
	const char	*count;		/* SELECT count(*) on both sides */
	const char	*serial;	/* PG: setval for the ids, or NULL */
	size_t		 report;	/* offset in struct tk_migrate_report */
};

#define AT(m)	offsetof(struct tk_migrate_report, m)

static const struct mig_table mig_tables[] = {
	{ "credentials",
	  "SELECT id, user, kind, state, label, created, last_used, expires, "
	  "digits, algorithm, period, last_step, key_id, sealed, cred_id, "
	  "pubkey, aaguid, fmt, flags, sign_count, user_handle "
	  "FROM credentials ORDER BY id",
	  "INSERT INTO credentials (id, \"user\", kind, state, label, "
	  "created, last_used, expires, digits, algorithm, period, last_step, "
	  "key_id, sealed, cred_id, pubkey, aaguid, fmt, flags, sign_count, "
	  "user_handle) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	  "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
	  "itiitiiiiiiiibbbbtiib",
	  "SELECT count(*) FROM credentials",
	  "SELECT setval(pg_get_serial_sequence('credentials', 'id'), "
	  "greatest($1, (SELECT coalesce(max(id), 0) FROM credentials), 1))",
	  AT(credentials) },
	{ "throttle",
	  "SELECT user, failures, last_failure, locked FROM throttle "
	  "ORDER BY user",
	  "INSERT INTO throttle (\"user\", failures, last_failure, locked) "
	  "VALUES ($1, $2, $3, $4)",
	  "tiii", "SELECT count(*) FROM throttle", NULL, AT(throttle) },
	{ "audit",
	  "SELECT seq, time, host, event, user, cred, service, rhost, tty, "
	  "uid, pid, result, reason, mac FROM audit ORDER BY seq",
	  "INSERT INTO audit (seq, time, host, event, \"user\", cred, "
	  "service, rhost, tty, uid, pid, result, reason, mac) VALUES ($1, "
	  "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
	  "iitttitttiittb", "SELECT count(*) FROM audit", NULL, AT(audit) },
	{ "recovery_codes",
	  "SELECT id, user, hash, created, used, used_at FROM recovery_codes "
	  "ORDER BY id",
	  "INSERT INTO recovery_codes (id, \"user\", hash, created, used, "
	  "used_at) VALUES ($1, $2, $3, $4, $5, $6)",
	  "itbiii", "SELECT count(*) FROM recovery_codes",
	  "SELECT setval(pg_get_serial_sequence('recovery_codes', 'id'), "
	  "greatest($1, (SELECT coalesce(max(id), 0) FROM recovery_codes), "
	  "1))",
	  AT(recovery_codes) },
	{ "grants",
	  "SELECT id, user, created, expires, granted_by, state, reason "
	  "FROM grants ORDER BY id",
	  "INSERT INTO grants (id, \"user\", created, expires, granted_by, "
	  "state, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	  "itiiiit", "SELECT count(*) FROM grants",
	  "SELECT setval(pg_get_serial_sequence('grants', 'id'), "
	  "greatest($1, (SELECT coalesce(max(id), 0) FROM grants), 1))",
	  AT(grants) },
	{ "challenges",
	  "SELECT id, user, purpose, challenge, user_handle, uv, label, "
	  "created, expires, used FROM challenges ORDER BY id",
	  "INSERT INTO challenges (id, \"user\", purpose, challenge, "
	  "user_handle, uv, label, created, expires, used) VALUES ($1, $2, "
	  "$3, $4, $5, $6, $7, $8, $9, $10)",
	  "itibbitiii", "SELECT count(*) FROM challenges",
	  "SELECT setval(pg_get_serial_sequence('challenges', 'id'), "
	  "greatest($1, (SELECT coalesce(max(id), 0) FROM challenges), 1))",
	  AT(challenges) },
	{ "audit_anchor",
	  "SELECT id, seq, mac, pruned_at FROM audit_anchor ORDER BY id",
	  "INSERT INTO audit_anchor (id, seq, mac, pruned_at) "
	  "VALUES ($1, $2, $3, $4)",
	  "iibi", "SELECT count(*) FROM audit_anchor", NULL, AT(anchor) },
};

#define MIG_NTABLES	(sizeof(mig_tables) / sizeof(mig_tables[0]))

/* invariant 2: taken before the emptiness check, held to the commit */
#define MIG_LOCK \
	"LOCK TABLE credentials, throttle, audit, recovery_codes, grants, " \
	"challenges, audit_anchor IN EXCLUSIVE MODE"

static uint64_t *
report_field(struct tk_migrate_report *rep, const struct mig_table *t)
{
	return ((uint64_t *)(void *)((unsigned char *)rep + t->report));
}

static void
log_pg(const char *what, const char *msg)
{
	size_t n = msg != NULL ? strlen(msg) : 0;

	while (n > 0 && msg[n - 1] == '\n')
		n--;
	tk_log(LOG_ERR, "migrate: %s: %.*s", what, (int)n,
	    msg != NULL ? msg : "");
}

/* runs constant SQL (or with one bigint $1); 0 or TK_ERR_STORE */
static int
pg_sql(PGconn *c, const char *sql, const int64_t *arg, const char *what,
    PGresult **out)
{
	char num[32];
	const char *vals[1];
	Oid types[1] = { 20 };
	PGresult *res;
	ExecStatusType st;

	if (out != NULL)
		*out = NULL;
	if (arg != NULL) {
		snprintf(num, sizeof(num), "%" PRId64, *arg);
		vals[0] = num;
		res = PQexecParams(c, sql, 1, types, vals, NULL, NULL, 0);
	} else
		res = PQexec(c, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_pg(what, PQresultErrorMessage(res));
		PQclear(res);
		return (TK_ERR_STORE);
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return (0);
}

/* the integer answer of a one-row, one-column query */
static int
pg_count(PGconn *c, const char *sql, uint64_t *n)
{
	PGresult *res;
	int r;

	*n = 0;
	if ((r = pg_sql(c, sql, NULL, sql, &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return (TK_ERR_STORE);
	}
	*n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return (0);
}

static int
sq_count(sqlite3 *db, const char *sql, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = TK_ERR_STORE;

	*n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else
		tk_log(LOG_ERR, "migrate: %s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return (r);
}

/* the AUTOINCREMENT high-water mark of `table' (0 when none) */
static int64_t
sq_high_water(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence "
	    "WHERE name = ?1", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/* copies every row of one table; *n = rows copied */
static int
copy_table(sqlite3 *db, PGconn *c, const struct mig_table *t, uint64_t *n)
{
	char nums[MIG_COLS_MAX][32];
	const char *vals[MIG_COLS_MAX];
	void *own[MIG_COLS_MAX];	/* copies: SQLite's pointers move */
	int lens[MIG_COLS_MAX], fmts[MIG_COLS_MAX];
	Oid types[MIG_COLS_MAX];
	sqlite3_stmt *st = NULL;
	PGresult *res;
	int i, ncols, rc, r;

	*n = 0;
	ncols = (int)strlen(t->types);
	if (ncols > MIG_COLS_MAX)
		return (TK_ERR_INVAL);
	if (sqlite3_prepare_v2(db, t->select, -1, &st, NULL) != SQLITE_OK) {
		tk_log(LOG_ERR, "migrate: read %s: %s", t->name,
		    sqlite3_errmsg(db));
		return (TK_ERR_STORE);
	}
	memset(own, 0, sizeof(own));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			const void *v;

			free(own[i]);
			own[i] = NULL;
			lens[i] = 0;
			fmts[i] = 0;
			vals[i] = NULL;
			switch (t->types[i]) {
			case 'i':
				types[i] = 20;		/* bigint */
				if (sqlite3_column_type(st, i) == SQLITE_NULL)
					break;
				snprintf(nums[i], sizeof(nums[i]), "%" PRId64,
				    (int64_t)sqlite3_column_int64(st, i));
				vals[i] = nums[i];
				break;
			case 't':
				types[i] = 25;		/* text */
				if ((v = sqlite3_column_text(st, i)) == NULL)
					break;
				if ((own[i] = strdup(v)) == NULL) {
					r = TK_ERR_NOMEM;
					goto fail;
				}
				vals[i] = own[i];
				break;
			default:
				types[i] = 17;		/* bytea, binary */
				fmts[i] = 1;
				if (sqlite3_column_type(st, i) == SQLITE_NULL)
					break;
				v = sqlite3_column_blob(st, i);
				lens[i] = sqlite3_column_bytes(st, i);
				if ((own[i] = malloc((size_t)lens[i] + 1)) ==
				    NULL) {
					r = TK_ERR_NOMEM;
					goto fail;
				}
				if (v != NULL && lens[i] > 0)
					memcpy(own[i], v, (size_t)lens[i]);
				vals[i] = own[i];
				break;
			}
		}
		res = PQexecParams(c, t->insert, ncols, types, vals, lens,
		    fmts, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_pg(t->name, PQresultErrorMessage(res));
			PQclear(res);
			r = TK_ERR_STORE;
			goto fail;
		}
		PQclear(res);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		tk_log(LOG_ERR, "migrate: read %s: %s", t->name,
		    sqlite3_errmsg(db));
		r = TK_ERR_STORE;
		goto fail;
	}
	r = 0;
	if (t->serial != NULL) {
		int64_t hw = sq_high_water(db, t->name);

		r = pg_sql(c, t->serial, &hw, "id sequence", NULL);
	}
 fail:
	for (i = 0; i < ncols && i < MIG_COLS_MAX; i++)
		free(own[i]);
	sqlite3_finalize(st);
	return (r);
}

/* invariant 1 and 3: every sealed secret opens; *opened = how many */
static int
check_secrets(tk_store_t *s, const tk_master_key_t *key, const char *which,
    uint64_t *opened)
{
	struct tk_cred *list = NULL;
	unsigned char *plain = NULL;
	size_t i, n = 0, plain_len = 0;
	int r;

	*opened = 0;
	if ((r = tk_store_cred_list(s, NULL, &list, &n)) != 0)
		return (r);
	for (i = 0; i < n; i++) {
		if (list[i].kind != TK_CRED_TOTP || list[i].sealed == NULL)
			continue;
		if ((r = tk_unseal(key, list[i].key_id, list[i].user,
		    list[i].id, list[i].sealed, list[i].sealed_len, &plain,
		    &plain_len)) != 0) {
			tk_log(LOG_ERR, "migrate: %s: the secret of credential "
			    "%" PRIu64 " of %s does not open with this master "
			    "key", which, list[i].id, list[i].user);
			goto fail;
		}
		tk_unseal_free(plain, plain_len);
		(*opened)++;
	}
	r = 0;
 fail:
	tk_cred_list_free(&list, n);
	return (r);
}

/* invariant 1 and 3: the chain verifies; *rows = its length */
static int
check_chain(tk_store_t *s, const char *which, uint64_t *rows)
{
	uint64_t bad = 0;
	int r;

	if ((r = tk_store_audit_verify(s, rows, &bad)) != 0)
		tk_log(LOG_ERR, "migrate: the %s audit chain does not verify "
		    "(first bad row %" PRIu64 "): %s", which, bad,
		    tk_strerr(r));
	return (r);
}

/* invariant 2: one transaction, the target empty inside it */
static int
copy_all(sqlite3 *db, PGconn *c, struct tk_migrate_report *rep)
{
	uint64_t n;
	size_t i;
	int r;

	if ((r = pg_sql(c, "BEGIN ISOLATION LEVEL READ COMMITTED", NULL,
	    "begin", NULL)) != 0)
		return (r);
	if ((r = pg_sql(c, MIG_LOCK, NULL, "lock", NULL)) != 0)
		goto fail;
	for (i = 0; i < MIG_NTABLES; i++) {
		if ((r = pg_count(c, mig_tables[i].count, &n)) != 0)
			goto fail;
		if (n != 0) {
			tk_log(LOG_ERR, "migrate: the target is not empty "
			    "(table %s has %" PRIu64 " rows); nothing was "
			    "copied", mig_tables[i].name, n);
			r = TK_ERR_EXISTS;
			goto fail;
		}
	}
	for (i = 0; i < MIG_NTABLES; i++) {
		if ((r = copy_table(db, c, &mig_tables[i],
		    report_field(rep, &mig_tables[i]))) != 0)
			goto fail;
		tk_log(LOG_INFO, "migrate: %s: %" PRIu64 " rows",
		    mig_tables[i].name, *report_field(rep, &mig_tables[i]));
	}
	if ((r = pg_sql(c, "COMMIT", NULL, "commit", NULL)) != 0)
		return (r);
	return (0);
 fail:
	(void)pg_sql(c, "ROLLBACK", NULL, "rollback", NULL);
	return (r);
}

/* invariant 3: the same count in every table, on both sides */
static int
check_counts(sqlite3 *db, PGconn *c)
{
	uint64_t a, b;
	size_t i;
	int r;

	for (i = 0; i < MIG_NTABLES; i++) {
		if ((r = sq_count(db, mig_tables[i].count, &a)) != 0 ||
		    (r = pg_count(c, mig_tables[i].count, &b)) != 0)
			return (r);
		if (a != b) {
			tk_log(LOG_ERR, "migrate: table %s: %" PRIu64 " rows "
			    "in SQLite, %" PRIu64 " in PostgreSQL",
			    mig_tables[i].name, a, b);
			return (TK_ERR_STORE);
		}
	}
	return (0);
}

static int
schema_versions(sqlite3 *db, PGconn *c)
{
	uint64_t a, b;
	int r;

	if ((r = sq_count(db, "PRAGMA user_version", &a)) != 0 ||
	    (r = pg_count(c, "SELECT max(version) FROM tokend_schema",
	    &b)) != 0)
		return (r);
	if (a != b) {
		tk_log(LOG_ERR, "migrate: schema versions differ: SQLite %"
		    PRIu64 ", PostgreSQL %" PRIu64, a, b);
		return (TK_ERR_VERSION);
	}
	return (0);
}

int
tk_store_migrate(const char *sqlite_path, const char *pg_url,
    const tk_master_key_t *key, struct tk_migrate_report *rep)
{
	unsigned char ak[TK_AUDIT_KEY_BYTES];
	tk_store_t *src = NULL, *dst = NULL;
	sqlite3 *db = NULL;
	PGconn *c = NULL;
	uint64_t rows = 0, secrets = 0;
	bool committed = false;
	int r;

	memset(rep, 0, sizeof(*rep));
	if ((r = tk_master_key_derive(key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, ak)) != 0)
		return (r);
	/* the source, opened as tokend would (safety checks, migrations) */
	if ((r = tk_store_open_sqlite(sqlite_path, ak, sizeof(ak),
	    &src)) != 0) {
		tk_log(LOG_ERR, "migrate: cannot open the SQLite store %s: %s",
		    sqlite_path, tk_strerr(r));
		goto fail;
	}
	if ((r = check_chain(src, "source", &rows)) != 0 ||
	    (r = check_secrets(src, key, "source", &secrets)) != 0)
		goto fail;
	/* the target: created or migrated to this program's schema */
	if ((r = tk_store_open_pg(pg_url, ak, sizeof(ak), &dst)) != 0) {
		tk_log(LOG_ERR, "migrate: cannot open the PostgreSQL store: "
		    "%s", tk_strerr(r));
		goto fail;
	}
	if (sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		tk_log(LOG_ERR, "migrate: %s: %s", sqlite_path,
		    db != NULL ? sqlite3_errmsg(db) : "cannot open");
		r = TK_ERR_STORE;
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	c = PQconnectdb(pg_url);
	if (PQstatus(c) != CONNECTION_OK) {
		log_pg("connect", PQerrorMessage(c));
		r = TK_ERR_STORE;
		goto fail;
	}
	if ((r = pg_sql(c, "SET client_encoding = 'UTF8'", NULL,
	    "client encoding", NULL)) != 0 ||
	    (r = schema_versions(db, c)) != 0 ||
	    (r = copy_all(db, c, rep)) != 0)
		goto fail;
	/* invariant 3: read back through the store, as tokend will */
	committed = true;
	if ((r = check_counts(db, c)) != 0 ||
	    (r = check_chain(dst, "target", &rep->audit)) != 0)
		goto fail;
	if (rep->audit != rows) {
		tk_log(LOG_ERR, "migrate: the target chain has %" PRIu64
		    " rows, the source %" PRIu64, rep->audit, rows);
		r = TK_ERR_STORE;
		goto fail;
	}
	if ((r = check_secrets(dst, key, "target", &rep->secrets)) != 0)
		goto fail;
	if (rep->secrets != secrets) {
		tk_log(LOG_ERR, "migrate: %" PRIu64 " secrets open on the "
		    "target, %" PRIu64 " on the source", rep->secrets, secrets);
		r = TK_ERR_STORE;
		goto fail;
	}

	r = 0; /* success */
 fail:
	if (r != 0 && committed)
		tk_log(LOG_ERR, "migrate: the copy in PostgreSQL does not "
		    "verify: do not start tokend on it; empty the target "
		    "(drop the tables schema-pg.sql creates) and migrate "
		    "again");
	sodium_memzero(ak, sizeof(ak));
	if (c != NULL)
		PQfinish(c);
	if (db != NULL)
		sqlite3_close(db);
	tk_store_close(&src);
	tk_store_close(&dst);
	return (r);
}
