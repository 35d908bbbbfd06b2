/*
 * store_sqlite.c -- the embedded store: one SQLite database file in WAL
 * mode, for one tokend process (other processes, such as a second tokend
 * or tokenadm, may open it too: SQLite's locks and busy_timeout make them
 * take turns).  The connection is used from one thread only.
 *
 * MUST invariants:
 *  1. The database is opened only when its directory is a directory
 *     owned by the effective uid or root and not writable by group or
 *     others, and the file (if it exists) is a regular file, not a
 *     symbolic link, owned by the effective uid, with no group or other
 *     permission bits.  A new file is created with mode 0600.  Since no
 *     one else can write the directory, nothing can swap the file
 *     between the check and the open.
 *  2. journal_mode=WAL and synchronous=FULL hold before any data is
 *     read: a commit that returned is on disk, and a process killed
 *     before its commit leaves nothing of its transaction.
 *  3. Every write transaction is BEGIN IMMEDIATE, so the write lock is
 *     taken before anything is read that a decision depends on.
 *  4. A transaction in which any statement failed is never committed:
 *     tk_store_commit() rolls it back and returns the first error.
 *  5. The replay check is the single statement ST_TOTP_ACCEPT; its row
 *     count alone decides between accepted and replayed.
 *  5b. Likewise the FIDO2 clone check is the single statement
 *     ST_FIDO2_ACCEPT, and burning a challenge the single statement
 *     ST_CHALLENGE_USE: a second use can never succeed.
 *  6. Every value reaches SQL as a bound parameter; the only SQL built
 *     at run time is `PRAGMA user_version = N' with an integer N.
 *  7. A database with a schema newer than TK_SQLITE_SCHEMA is never
 *     read or written (TK_ERR_VERSION); migrations only go forward, one
 *     step at a time, inside one transaction.
 *  8. Rows are read back with every text and number checked against the
 *     limits of store.h; a row that does not fit is an error, not a
 *     truncated value.
 *  9. Group commit: inside tk_store_batch_begin() .. batch_commit the
 *     BEGIN IMMEDIATE is the batch's, and each tk_store_begin() ..
 *     commit/rollback is a SAVEPOINT of it (RELEASE keeps, ROLLBACK TO
 *     undoes only that request).  When SQLite drops the whole
 *     transaction on its own (full disk, I/O error, ...), batch_err is
 *     set: no further SAVEPOINT is opened (it would start a new,
 *     separately committed transaction), and the batch commit fails,
 *     so nothing of the batch is answered as stored.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "store_ops.h"

#define TK_SQLITE_BUSY_MS	5000	/* wait for another writer, ms */
#define TK_SQLITE_FILE_MODE	0600	/* mode of a new database file */
#define TK_SQLITE_LIST_FIRST	8	/* first allocation of a list */

/*
 * Forward migrations: step v takes the schema from user_version v to
 * v + 1.  Append new steps; never edit a released one.
 */
static const char *const tk_sqlite_migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE credentials ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"	/* ids never reused */
	" user TEXT NOT NULL,"
	" kind INTEGER NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
	" label TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" last_used INTEGER NOT NULL DEFAULT 0,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" digits INTEGER NOT NULL CHECK (digits IN (6, 8)),"
	" algorithm INTEGER NOT NULL CHECK (algorithm IN (1, 2, 3)),"
	" period INTEGER NOT NULL CHECK (period > 0),"
	" last_step INTEGER NOT NULL DEFAULT 0 CHECK (last_step >= 0),"
	" key_id INTEGER NOT NULL DEFAULT 0,"
	" sealed BLOB);"
	"CREATE INDEX credentials_user ON credentials (user);"
	"CREATE TABLE throttle ("
	" user TEXT PRIMARY KEY NOT NULL,"
	" failures INTEGER NOT NULL CHECK (failures >= 0),"
	" last_failure INTEGER NOT NULL,"
	" locked INTEGER NOT NULL CHECK (locked IN (0, 1)));"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" host TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" user TEXT NOT NULL,"
	" cred INTEGER NOT NULL,"
	" service TEXT NOT NULL,"
	" rhost TEXT NOT NULL,"
	" tty TEXT NOT NULL,"
	" uid INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" result TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" mac BLOB NOT NULL);",
	/* 1 -> 2: recovery codes (keyed hashes only) and emergency grants */
	"CREATE TABLE recovery_codes ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user TEXT NOT NULL,"
	" hash BLOB NOT NULL CHECK (length(hash) = 32),"
	" created INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),"
	" used_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX recovery_codes_user ON recovery_codes (user);"
	"CREATE TABLE grants ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL CHECK (expires > created),"
	" granted_by INTEGER NOT NULL,"
	" state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
	" reason TEXT NOT NULL);"
	/* at most one active grant a user */
	"CREATE UNIQUE INDEX grants_active ON grants (user) WHERE state = 1;",
	/*
	 * 2 -> 3: FIDO2.  SQLite cannot change a CHECK, so credentials is
	 * rebuilt: TOTP-only checks apply to kind 1 only, state 4
	 * (suspended) is allowed, and the FIDO2 columns are added.  The
	 * AUTOINCREMENT high-water mark is carried over so that no id is
	 * ever reused.  Then the challenges and the audit anchor.
	 */
	"CREATE TABLE credentials_v3 ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user TEXT NOT NULL,"
	" kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	" state INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4)),"
	" label TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" last_used INTEGER NOT NULL DEFAULT 0,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" digits INTEGER NOT NULL DEFAULT 0"
	"  CHECK (kind <> 1 OR digits IN (6, 8)),"
	" algorithm INTEGER NOT NULL CHECK (algorithm IN (1, 2, 3)),"
	" period INTEGER NOT NULL DEFAULT 0 CHECK (kind <> 1 OR period > 0),"
	" last_step INTEGER NOT NULL DEFAULT 0 CHECK (last_step >= 0),"
	" key_id INTEGER NOT NULL DEFAULT 0,"
	" sealed BLOB,"
	" cred_id BLOB,"
	" pubkey BLOB,"
	" aaguid BLOB,"
	" fmt TEXT NOT NULL DEFAULT '',"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" sign_count INTEGER NOT NULL DEFAULT 0"
	"  CHECK (sign_count BETWEEN 0 AND 4294967295),"
	" user_handle BLOB,"
	" CHECK (kind <> 2 OR (cred_id IS NOT NULL AND pubkey IS NOT NULL"
	"  AND length(aaguid) = 16 AND length(user_handle) = 32)),"
	" CHECK (state <> 4 OR kind = 2));"
	"INSERT INTO credentials_v3 (id, user, kind, state, label, created,"
	" last_used, expires, digits, algorithm, period, last_step, key_id,"
	" sealed) SELECT id, user, kind, state, label, created, last_used,"
	" expires, digits, algorithm, period, last_step, key_id, sealed"
	" FROM credentials;"
	"DELETE FROM sqlite_sequence WHERE name = 'credentials_v3';"
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'credentials_v3', seq"
	" FROM sqlite_sequence WHERE name = 'credentials';"
	"DROP TABLE credentials;"
	"ALTER TABLE credentials_v3 RENAME TO credentials;"
	"CREATE INDEX credentials_user ON credentials (user);"
	"CREATE UNIQUE INDEX credentials_fido2_id ON credentials (cred_id)"
	" WHERE kind = 2;"
	"CREATE TABLE challenges ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user TEXT NOT NULL,"
	" purpose INTEGER NOT NULL CHECK (purpose IN (1, 2)),"
	" challenge BLOB NOT NULL CHECK (length(challenge) = 32),"
	" user_handle BLOB NOT NULL CHECK (length(user_handle) = 32),"
	" uv INTEGER NOT NULL CHECK (uv IN (1, 2, 3)),"
	" label TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)));"
	"CREATE INDEX challenges_expires ON challenges (expires);"
	/* the pending sweep reads only pending rows, never all of them */
	"CREATE INDEX credentials_pending ON credentials (expires)"
	" WHERE state = 1;"
	/* the last pruned audit row: where the kept chain starts */
	"CREATE TABLE audit_anchor ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL CHECK (seq > 0),"
	" mac BLOB NOT NULL,"
	" pruned_at INTEGER NOT NULL);",
};

/* the schema version this program writes */
#define TK_SQLITE_SCHEMA \
	((int)(sizeof(tk_sqlite_migrations) / sizeof(tk_sqlite_migrations[0])))

#define CRED_COLUMNS \
	"id, user, kind, state, label, created, last_used, expires, " \
	"digits, algorithm, period, last_step, key_id, sealed, " \
	"cred_id, pubkey, aaguid, fmt, flags, sign_count, user_handle"

/* column numbers of CRED_COLUMNS */
enum {
	CC_ID, CC_USER, CC_KIND, CC_STATE, CC_LABEL, CC_CREATED,
	CC_LAST_USED, CC_EXPIRES, CC_DIGITS, CC_ALGORITHM, CC_PERIOD,
	CC_LAST_STEP, CC_KEY_ID, CC_SEALED, CC_CRED_ID, CC_PUBKEY,
	CC_AAGUID, CC_FMT, CC_FLAGS, CC_SIGN_COUNT, CC_USER_HANDLE
};

#define CHALLENGE_COLUMNS \
	"id, user, purpose, challenge, user_handle, uv, label, created, " \
	"expires"

/* column numbers of CHALLENGE_COLUMNS */
enum {
	HC_ID, HC_USER, HC_PURPOSE, HC_CHALLENGE, HC_USER_HANDLE, HC_UV,
	HC_LABEL, HC_CREATED, HC_EXPIRES
};

#define GRANT_COLUMNS \
	"id, user, created, expires, granted_by, state, reason"

/* column numbers of GRANT_COLUMNS */
enum {
	GC_ID, GC_USER, GC_CREATED, GC_EXPIRES, GC_GRANTED_BY, GC_STATE,
	GC_REASON
};

/* column numbers of ST_AUDIT_WALK, and parameter numbers - 1 of insert */
enum {
	AC_SEQ, AC_TIME, AC_HOST, AC_EVENT, AC_USER, AC_CRED, AC_SERVICE,
	AC_RHOST, AC_TTY, AC_UID, AC_PID, AC_RESULT, AC_REASON, AC_MAC
};

enum tk_sqlite_st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_USER_VERSION,
	ST_CRED_INSERT,
	ST_CRED_GET,
	ST_CRED_LIST_ALL,
	ST_CRED_LIST_USER,
	ST_CRED_ACTIVE,
	ST_CRED_ACTIVE_FIDO2,
	ST_CRED_STATE,
	ST_CRED_SET_STATE,
	ST_CRED_SET_SECRET,
	ST_CRED_REVOKE_ALL,
	ST_CRED_EXPIRE,
	ST_CRED_EXISTS,
	ST_TOTP_ACCEPT,
	ST_THROTTLE_GET,
	ST_THROTTLE_PUT,
	ST_STATS,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_AUDIT_WALK,
	ST_AUDIT_READ,
	ST_AUDIT_ANCHOR,
	ST_AUDIT_ANCHOR_PUT,
	ST_AUDIT_PRUNE_LAST,
	ST_AUDIT_PRUNE,
	ST_RECOVERY_DELETE,
	ST_RECOVERY_INSERT,
	ST_RECOVERY_UNUSED,
	ST_RECOVERY_USE,
	ST_RECOVERY_EXISTS,
	ST_RECOVERY_COUNT,
	ST_GRANT_END_USER,
	ST_GRANT_INSERT,
	ST_GRANT_ACTIVE,
	ST_GRANT_LIST,
	ST_GRANT_END,
	ST_FIDO2_FIND,
	ST_FIDO2_ACCEPT,
	ST_FIDO2_ACTIVE,
	ST_CHALLENGE_INSERT,
	ST_CHALLENGE_USE,
	ST_CHALLENGE_GET,
	ST_CHALLENGE_EXPIRE,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_CRED_PAGE_ALL,
	ST_CRED_PAGE_USER,
	ST_CRED_PENDING_DUE,
	ST_END
};

static const char *const tk_sqlite_sql[ST_END] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_USER_VERSION] = "PRAGMA user_version",
	[ST_CRED_INSERT] =
	    "INSERT INTO credentials (user, kind, state, label, created, "
	    "last_used, expires, digits, algorithm, period, last_step, "
	    "key_id, sealed, cred_id, pubkey, aaguid, fmt, flags, "
	    "sign_count, user_handle) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[ST_CRED_GET] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE id = ?1 AND user = ?2",
	[ST_CRED_LIST_ALL] =
	    "SELECT " CRED_COLUMNS " FROM credentials ORDER BY user, id",
	[ST_CRED_LIST_USER] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE user = ?1 ORDER BY id",
	/*
	 * kind is a literal, one statement a kind: a parameter compared
	 * with the column of a partial index's WHERE (credentials_fido2_id:
	 * kind = 2) makes SQLite re-prepare the statement at every new
	 * binding, which cost more than the rest of a TOTP verification
	 */
	[ST_CRED_ACTIVE] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE user = ?1 AND kind = 1 AND state = 2 ORDER BY id",
	[ST_CRED_ACTIVE_FIDO2] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE user = ?1 AND kind = 2 AND state = 2 ORDER BY id",
	[ST_CRED_STATE] =
	    "SELECT state, kind FROM credentials WHERE id = ?1 AND user = ?2",
	/* revoking (state 3) drops the secret; activating ends the expiry */
	[ST_CRED_SET_STATE] =
	    "UPDATE credentials SET state = ?1, "
	    "expires = CASE WHEN ?1 = 1 THEN expires ELSE 0 END, "
	    "key_id = CASE WHEN ?1 = 3 THEN 0 ELSE key_id END, "
	    "sealed = CASE WHEN ?1 = 3 THEN NULL ELSE sealed END "
	    "WHERE id = ?2 AND user = ?3",
	[ST_CRED_SET_SECRET] =
	    "UPDATE credentials SET key_id = ?1, sealed = ?2 "
	    "WHERE id = ?3 AND state <> 3",
	[ST_CRED_REVOKE_ALL] =
	    "UPDATE credentials SET state = 3, expires = 0, key_id = 0, "
	    "sealed = NULL WHERE user = ?1 AND state <> 3",
	[ST_CRED_EXPIRE] =
	    "DELETE FROM credentials WHERE state = 1 AND expires < ?1",
	[ST_CRED_EXISTS] = "SELECT 1 FROM credentials WHERE id = ?1",
	/* the replay check (invariant 5) */
	[ST_TOTP_ACCEPT] =
	    "UPDATE credentials SET last_step = ?1, last_used = ?2 "
	    "WHERE id = ?3 AND last_step < ?1",
	[ST_THROTTLE_GET] =
	    "SELECT failures, last_failure, locked FROM throttle "
	    "WHERE user = ?1",
	[ST_THROTTLE_PUT] =
	    "INSERT INTO throttle (user, failures, last_failure, locked) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user) DO UPDATE SET "
	    "failures = excluded.failures, "
	    "last_failure = excluded.last_failure, "
	    "locked = excluded.locked",
	[ST_STATS] =
	    "SELECT (SELECT COUNT(DISTINCT user) FROM credentials "
	    "WHERE state <> 3), "
	    "(SELECT COUNT(*) FROM credentials WHERE state <> 3), "
	    "(SELECT COUNT(*) FROM throttle WHERE locked <> 0)",
	[ST_AUDIT_LAST] =
	    "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1",
	[ST_AUDIT_INSERT] =
	    "INSERT INTO audit (seq, time, host, event, user, cred, service, "
	    "rhost, tty, uid, pid, result, reason, mac) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[ST_AUDIT_WALK] =
	    "SELECT seq, time, host, event, user, cred, service, rhost, tty, "
	    "uid, pid, result, reason, mac FROM audit ORDER BY seq",
	/* the same first 13 columns as ST_AUDIT_WALK */
	[ST_AUDIT_READ] =
	    "SELECT seq, time, host, event, user, cred, service, rhost, tty, "
	    "uid, pid, result, reason FROM audit WHERE seq > ?1 "
	    "AND (?2 = 0 OR time >= ?2) AND (?3 = 0 OR time < ?3) "
	    "AND (?4 IS NULL OR user = ?4) ORDER BY seq LIMIT ?5",
	[ST_AUDIT_ANCHOR] =
	    "SELECT seq, mac FROM audit_anchor WHERE id = 1",
	[ST_AUDIT_ANCHOR_PUT] =
	    "INSERT INTO audit_anchor (id, seq, mac, pruned_at) "
	    "VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET "
	    "seq = excluded.seq, mac = excluded.mac, "
	    "pruned_at = excluded.pruned_at",
	/*
	 * the last row of the oldest run of rows older than ?1: every row
	 * before the first one at or after ?1 (all rows when there is none)
	 */
	[ST_AUDIT_PRUNE_LAST] =
	    "SELECT seq, mac FROM audit WHERE seq < "
	    "coalesce((SELECT min(seq) FROM audit WHERE time >= ?1), "
	    "9223372036854775807) ORDER BY seq DESC LIMIT 1",
	[ST_AUDIT_PRUNE] = "DELETE FROM audit WHERE seq <= ?1",
	[ST_RECOVERY_DELETE] = "DELETE FROM recovery_codes WHERE user = ?1",
	[ST_RECOVERY_INSERT] =
	    "INSERT INTO recovery_codes (user, hash, created) "
	    "VALUES (?1, ?2, ?3)",
	[ST_RECOVERY_UNUSED] =
	    "SELECT id, hash FROM recovery_codes WHERE user = ?1 AND used = 0 "
	    "ORDER BY id",
	/* single use: its row count alone decides (like ST_TOTP_ACCEPT) */
	[ST_RECOVERY_USE] =
	    "UPDATE recovery_codes SET used = 1, used_at = ?1 "
	    "WHERE id = ?2 AND used = 0",
	[ST_RECOVERY_EXISTS] = "SELECT 1 FROM recovery_codes WHERE id = ?1",
	[ST_RECOVERY_COUNT] =
	    "SELECT count(*) FROM recovery_codes WHERE user = ?1 AND used = 0",
	[ST_GRANT_END_USER] =
	    "UPDATE grants SET state = 3 WHERE user = ?1 AND state = 1",
	[ST_GRANT_INSERT] =
	    "INSERT INTO grants (user, created, expires, granted_by, state, "
	    "reason) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
	[ST_GRANT_ACTIVE] =
	    "SELECT " GRANT_COLUMNS " FROM grants "
	    "WHERE user = ?1 AND state = 1",
	[ST_GRANT_LIST] =
	    "SELECT " GRANT_COLUMNS " FROM grants WHERE state = 1 "
	    "AND (?1 = 0 OR expires <= ?1) AND (?2 IS NULL OR user = ?2) "
	    "ORDER BY user, id",
	[ST_GRANT_END] =
	    "UPDATE grants SET state = ?1 WHERE id = ?2 AND state = 1",
	[ST_FIDO2_FIND] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE kind = 2 AND cred_id = ?1",
	/*
	 * the clone check (invariant 5b): a counter that grew, or 0 after
	 * 0 (a key without a counter); its row count alone decides
	 */
	[ST_FIDO2_ACCEPT] =
	    "UPDATE credentials SET sign_count = ?1, last_used = ?2 "
	    "WHERE id = ?3 AND kind = 2 AND state = 2 "
	    "AND (sign_count < ?1 OR (sign_count = 0 AND ?1 = 0))",
	[ST_FIDO2_ACTIVE] =
	    "SELECT 1 FROM credentials WHERE id = ?1 AND kind = 2 "
	    "AND state = 2",
	[ST_CHALLENGE_INSERT] =
	    "INSERT INTO challenges (user, purpose, challenge, user_handle, "
	    "uv, label, created, expires) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	/* single use: its row count alone decides (like ST_TOTP_ACCEPT) */
	[ST_CHALLENGE_USE] =
	    "UPDATE challenges SET used = 1 "
	    "WHERE id = ?1 AND purpose = ?2 AND used = 0",
	[ST_CHALLENGE_GET] =
	    "SELECT " CHALLENGE_COLUMNS ", used FROM challenges "
	    "WHERE id = ?1 AND purpose = ?2",
	[ST_CHALLENGE_EXPIRE] =
	    "DELETE FROM challenges WHERE expires <= ?1",
	/* one request of a group commit (invariant 9) */
	[ST_SAVEPOINT] = "SAVEPOINT tk_request",
	[ST_RELEASE] = "RELEASE tk_request",
	[ST_ROLLBACK_TO] = "ROLLBACK TO tk_request",
	/*
	 * One page of CRED_LIST in the order of ST_CRED_LIST_*: the
	 * credentials_user index walks (user, id), so the skipped rows are
	 * index entries only and no row beyond the page is loaded.
	 */
	[ST_CRED_PAGE_ALL] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "ORDER BY user, id LIMIT ?2 OFFSET ?3",
	[ST_CRED_PAGE_USER] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE user = ?1 ORDER BY id LIMIT ?2 OFFSET ?3",
	/*
	 * the rows ST_CRED_EXPIRE deletes, through credentials_pending (an
	 * ORDER BY id would make SQLite walk every row in id order instead)
	 */
	[ST_CRED_PENDING_DUE] =
	    "SELECT " CRED_COLUMNS " FROM credentials "
	    "WHERE state = 1 AND expires < ?1 LIMIT ?2",
};

struct tk_store_sqlite {
	struct tk_store	 base;		/* first: a tk_store_t * points here */
	sqlite3		*db;
	sqlite3_stmt	*st[ST_END];	/* prepared on first use */
	bool		 in_tx;
	int		 tx_err;	/* first error inside the transaction */
	bool		 batch;		/* a group commit is open */
	int		 batch_err;	/* the batch's transaction was lost */
};

static const struct tk_store_ops tk_sqlite_ops;

static struct tk_store_sqlite *
sq(tk_store_t *s)
{
	return ((struct tk_store_sqlite *)s);
}

/*
 * Logs a failed SQLite call and returns its TK_ERR_* code; inside a
 * transaction, remembers it so the transaction cannot commit.
 */
static int
sq_fail(struct tk_store_sqlite *q, int rc, const char *what)
{
	int r;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		r = TK_ERR_FULL;
		break;
	case SQLITE_NOMEM:
		r = TK_ERR_NOMEM;
		break;
	default:
		r = TK_ERR_STORE;
		break;
	}
	tk_log(LOG_ERR, "store: %s: %s (%d)", what,
	    q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc), rc);
	if (q->in_tx && q->tx_err == 0)
		q->tx_err = r;
	/* invariant 9: SQLite may have rolled the whole batch back */
	if (q->batch && q->batch_err == 0 && q->db != NULL &&
	    sqlite3_get_autocommit(q->db))
		q->batch_err = r;
	return (r);
}

/* a row that does not fit store.h's limits (invariant 8) */
static int
sq_corrupt(struct tk_store_sqlite *q, const char *table, const char *what)
{
	tk_log(LOG_ERR, "store: malformed %s row: %s", table, what);
	if (q->in_tx && q->tx_err == 0)
		q->tx_err = TK_ERR_STORE;
	return (TK_ERR_STORE);
}

/* the cached statement `id', reset and ready for binding */
static int
sq_stmt(struct tk_store_sqlite *q, enum tk_sqlite_st id, sqlite3_stmt **stp)
{
	int rc;

	*stp = NULL;
	if (q->st[id] == NULL) {
		rc = sqlite3_prepare_v3(q->db, tk_sqlite_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &q->st[id], NULL);
		if (rc != SQLITE_OK)
			return (sq_fail(q, rc, "prepare"));
	}
	*stp = q->st[id];
	return (0);
}

/* releases a statement's bindings and cursor; NULL-safe */
static void
sq_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	/* the step's error was reported already; this one repeats it */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return (sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC));
}

/* runs a statement that returns no row */
static int
sq_exec(struct tk_store_sqlite *q, sqlite3_stmt *st, const char *what)
{
	int rc;

	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return (sq_fail(q, rc, what));
	return (0);
}

/* ---------------------------------------------------------------- */
/* opening: safe path checks (invariant 1), pragmas, migrations */

/* the directory part of `path' into dir[dirlen] */
static int
dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash;
	size_t n;

	if ((slash = strrchr(path, '/')) == NULL) {
		n = 1;
		path = ".";
	} else if (slash == path)
		n = 1;		/* "/name": the root directory */
	else
		n = (size_t)(slash - path);
	if (n >= dirlen)
		return (TK_ERR_INVAL);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return (0);
}

static int
check_dir(const char *path)
{
	char dir[PATH_MAX];
	struct stat sb;

	if (dir_of(path, dir, sizeof(dir)) != 0) {
		tk_log(LOG_ERR, "store: database path too long");
		return (TK_ERR_INVAL);
	}
	if (stat(dir, &sb) == -1) {
		tk_log(LOG_ERR, "store: database directory %s: %s", dir,
		    strerror(errno));
		return (errno == EACCES ? TK_ERR_PERM : TK_ERR_STORE);
	}
	if (!S_ISDIR(sb.st_mode)) {
		tk_log(LOG_ERR, "store: %s is not a directory", dir);
		return (TK_ERR_PERM);
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		tk_log(LOG_ERR, "store: database directory %s is owned by "
		    "uid %lu, not by uid %lu or root", dir,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
		return (TK_ERR_PERM);
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		tk_log(LOG_ERR, "store: database directory %s is writable by "
		    "group or others (mode %04o)", dir,
		    (unsigned)(sb.st_mode & 07777));
		return (TK_ERR_PERM);
	}
	return (0);
}

/* creates `path' with TK_SQLITE_FILE_MODE unless it exists */
static int
create_file(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    TK_SQLITE_FILE_MODE);
	if (fd == -1) {
		if (errno == EEXIST)
			return (0);	/* created meanwhile; checked next */
		tk_log(LOG_ERR, "store: cannot create database %s: %s", path,
		    strerror(errno));
		return (errno == EACCES ? TK_ERR_PERM : TK_ERR_STORE);
	}
	if (close(fd) == -1) {
		tk_log(LOG_ERR, "store: cannot create database %s: %s", path,
		    strerror(errno));
		return (TK_ERR_STORE);
	}
	return (0);
}

static int
check_file(const char *path)
{
	struct stat sb;
	int r;

	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT) {
			tk_log(LOG_ERR, "store: database %s: %s", path,
			    strerror(errno));
			return (errno == EACCES ? TK_ERR_PERM : TK_ERR_STORE);
		}
		if ((r = create_file(path)) != 0)
			return (r);
		if (lstat(path, &sb) == -1) {
			tk_log(LOG_ERR, "store: database %s: %s", path,
			    strerror(errno));
			return (TK_ERR_STORE);
		}
	}
	if (S_ISLNK(sb.st_mode)) {
		tk_log(LOG_ERR, "store: database %s is a symbolic link", path);
		return (TK_ERR_PERM);
	}
	if (!S_ISREG(sb.st_mode)) {
		tk_log(LOG_ERR, "store: database %s is not a regular file",
		    path);
		return (TK_ERR_PERM);
	}
	if (sb.st_uid != geteuid()) {
		tk_log(LOG_ERR, "store: database %s is owned by uid %lu, not "
		    "by uid %lu", path, (unsigned long)sb.st_uid,
		    (unsigned long)geteuid());
		return (TK_ERR_PERM);
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		tk_log(LOG_ERR, "store: database %s is accessible by group or "
		    "others (mode %04o)", path,
		    (unsigned)(sb.st_mode & 07777));
		return (TK_ERR_PERM);
	}
	return (0);
}

/* runs constant SQL (no parameters, no rows wanted) */
static int
sq_exec_sql(struct tk_store_sqlite *q, const char *sql, const char *what)
{
	int rc;

	if ((rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return (sq_fail(q, rc, what));
	return (0);
}

static int
set_pragmas(struct tk_store_sqlite *q, const char *path)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, r;

	/* invariant 2; journal_mode answers with the mode it now has */
	rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL);
	if (rc != SQLITE_OK) {
		r = sq_fail(q, rc, "journal_mode");
		goto fail;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = sq_fail(q, rc, "journal_mode");
		goto fail;
	}
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		tk_log(LOG_ERR, "store: database %s cannot use WAL mode", path);
		r = TK_ERR_STORE;
		goto fail;
	}
	if ((r = sq_exec_sql(q, "PRAGMA synchronous = FULL; "
	    "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON",
	    "pragmas")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sqlite3_finalize(st);
	return (r);
}

/* the schema version stored in the database */
static int
user_version(struct tk_store_sqlite *q, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	*v = 0;
	if ((r = sq_stmt(q, ST_USER_VERSION, &st)) != 0)
		return (r);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = sq_fail(q, rc, "user_version");
		goto fail;
	}
	*v = sqlite3_column_int(st, 0);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* applies the steps from version v on; inside migrate()'s transaction */
static int
migrate_steps(struct tk_store_sqlite *q, int v, const char *path)
{
	char sql[64];
	int n, r;

	for (; v < TK_SQLITE_SCHEMA; v++) {
		if ((r = sq_exec_sql(q, tk_sqlite_migrations[v],
		    "migration")) != 0)
			return (r);
	}
	n = snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    TK_SQLITE_SCHEMA);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return (TK_ERR_STORE);
	if ((r = sq_exec_sql(q, sql, "user_version")) != 0)
		return (r);
	tk_log(LOG_INFO, "store: database %s now at schema version %d",
	    path, TK_SQLITE_SCHEMA);
	return (0);
}

/* invariant 7: from the stored version up to TK_SQLITE_SCHEMA */
static int
migrate(struct tk_store_sqlite *q, const char *path)
{
	int r, v;

	if ((r = sq_exec_sql(q, "BEGIN IMMEDIATE", "begin migration")) != 0)
		return (r);
	if ((r = user_version(q, &v)) != 0)
		goto fail;
	if (v > TK_SQLITE_SCHEMA) {
		tk_log(LOG_ERR, "store: database %s has schema version %d, "
		    "newer than this program's %d", path, v, TK_SQLITE_SCHEMA);
		r = TK_ERR_VERSION;
		goto fail;
	}
	if (v < 0) {
		tk_log(LOG_ERR, "store: database %s has schema version %d",
		    path, v);
		r = TK_ERR_STORE;
		goto fail;
	}
	if (v < TK_SQLITE_SCHEMA && (r = migrate_steps(q, v, path)) != 0)
		goto fail;
	if ((r = sq_exec_sql(q, "COMMIT", "commit migration")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	if (r != 0 && !sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return (r);
}

static void
sq_close(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	size_t i;

	if (q->db != NULL && !sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST_END; i++)
		sqlite3_finalize(q->st[i]);
	if (q->db != NULL && sqlite3_close(q->db) != SQLITE_OK)
		tk_log(LOG_ERR, "store: close: %s", sqlite3_errmsg(q->db));
	tk_store_base_clear(s);
	free(q);
}

int
tk_store_open_sqlite(const char *path, const unsigned char *audit_key,
    size_t audit_key_len, tk_store_t **sp)
{
	struct tk_store_sqlite *q = NULL;
	int flags, rc, r;

	if (sp != NULL)
		*sp = NULL;
	if (path == NULL || *path == '\0' || sp == NULL ||
	    strnlen(path, PATH_MAX) >= PATH_MAX)
		return (TK_ERR_INVAL);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (TK_ERR_NOMEM);
	if ((r = tk_store_base_init(&q->base, &tk_sqlite_ops, audit_key,
	    audit_key_len)) != 0)
		goto fail;
	if ((r = check_dir(path)) != 0 || (r = check_file(path)) != 0)
		goto fail;
	/* one thread per connection: no SQLite mutex (FULLMUTEX off) */
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
	if ((rc = sqlite3_open_v2(path, &q->db, flags, NULL)) != SQLITE_OK) {
		r = sq_fail(q, rc, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 1);
	/* no schema tricks, no SQL functions run from the schema */
	if (sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    NULL) != SQLITE_OK ||
	    sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    NULL) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "db_config");
		goto fail;
	}
	if ((rc = sqlite3_busy_timeout(q->db, TK_SQLITE_BUSY_MS)) !=
	    SQLITE_OK) {
		r = sq_fail(q, rc, "busy_timeout");
		goto fail;
	}
	if ((r = set_pragmas(q, path)) != 0 || (r = migrate(q, path)) != 0)
		goto fail;
	*sp = &q->base;
	q = NULL;

	r = 0; /* success */
 fail:
	if (q != NULL)
		sq_close(&q->base);
	return (r);
}

/* ---------------------------------------------------------------- */
/* transactions (invariants 3 and 4) */

static bool
sq_in_transaction(tk_store_t *s)
{
	return (sq(s)->in_tx);
}

/* runs cached statement `id' (no parameters, no rows) */
static int
sq_run(struct tk_store_sqlite *q, enum tk_sqlite_st id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, id, &st)) != 0)
		return (r);
	r = sq_exec(q, st, what);
	sq_done(st);
	return (r);
}

/* invariant 9: the batch's transaction is gone (SQLite rolled it back) */
static bool
sq_batch_lost(struct tk_store_sqlite *q)
{
	if (q->batch_err == 0 && sqlite3_get_autocommit(q->db)) {
		tk_log(LOG_ERR, "store: the group commit's transaction was "
		    "rolled back by SQLite");
		q->batch_err = TK_ERR_STORE;
	}
	return (q->batch_err != 0);
}

/* one request inside a batch: a savepoint */
static int
sq_unit_begin(struct tk_store_sqlite *q)
{
	int r;

	if (sq_batch_lost(q))
		return (q->batch_err);
	if ((r = sq_run(q, ST_SAVEPOINT, "savepoint")) != 0)
		return (r);
	q->in_tx = true;
	q->tx_err = 0;
	return (0);
}

/* undoes one request of a batch, keeping the batch's other requests */
static void
sq_unit_rollback(struct tk_store_sqlite *q)
{
	q->in_tx = false;
	q->tx_err = 0;
	if (sq_batch_lost(q))
		return;
	/* ROLLBACK TO keeps the savepoint open: RELEASE ends it */
	if (sq_run(q, ST_ROLLBACK_TO, "rollback to savepoint") != 0 ||
	    sq_run(q, ST_RELEASE, "release savepoint") != 0) {
		/* the batch cannot be trusted any more: fail all of it */
		if (q->batch_err == 0)
			q->batch_err = TK_ERR_STORE;
	}
	(void)sq_batch_lost(q);
}

/* keeps one request in the batch (durable only at the batch commit) */
static int
sq_unit_commit(struct tk_store_sqlite *q)
{
	int r;

	if (q->tx_err != 0) {
		r = q->tx_err;
		tk_log(LOG_ERR, "store: request with a failed step rolled "
		    "back");
		sq_unit_rollback(q);
		return (r);
	}
	if (sq_batch_lost(q)) {
		q->in_tx = false;
		q->tx_err = 0;
		return (q->batch_err);
	}
	if ((r = sq_run(q, ST_RELEASE, "release savepoint")) != 0) {
		sq_unit_rollback(q);
		return (r);
	}
	q->in_tx = false;
	q->tx_err = 0;
	if (sq_batch_lost(q))
		return (q->batch_err);
	return (0);
}

static void sq_rollback(tk_store_t *);

static int
sq_begin(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if (q->batch)
		return (sq_unit_begin(q));
	/*
	 * A ROLLBACK that failed (out of memory preparing it) leaves the
	 * last transaction open, holding the write lock: every BEGIN after
	 * it would fail until a restart.  End it here; its request failed.
	 */
	if (!sqlite3_get_autocommit(q->db)) {
		tk_log(LOG_WARNING, "store: rolling back a transaction a "
		    "failed rollback left open");
		sq_rollback(s);
	}
	if ((r = sq_stmt(q, ST_BEGIN, &st)) != 0)
		return (r);
	if ((r = sq_exec(q, st, "begin")) == 0) {
		q->in_tx = true;
		q->tx_err = 0;
	}
	sq_done(st);
	return (r);
}

static void
sq_rollback(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;

	if (q->batch) {
		sq_unit_rollback(q);
		return;
	}
	q->in_tx = false;
	q->tx_err = 0;
	/* SQLite may have rolled back on its own after an error */
	if (sqlite3_get_autocommit(q->db))
		return;
	if (sq_stmt(q, ST_ROLLBACK, &st) == 0)
		(void)sq_exec(q, st, "rollback");
	sq_done(st);
	/* a failed ROLLBACK statement leaves the exec fallback */
	if (!sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_commit(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if (q->batch)
		return (sq_unit_commit(q));
	if (q->tx_err != 0) {
		r = q->tx_err;
		tk_log(LOG_ERR, "store: transaction with a failed step "
		    "rolled back");
		goto fail;
	}
	if (sqlite3_get_autocommit(q->db)) {
		tk_log(LOG_ERR, "store: transaction was rolled back by SQLite");
		r = TK_ERR_STORE;
		goto fail;
	}
	if ((r = sq_stmt(q, ST_COMMIT, &st)) != 0)
		goto fail;
	if ((r = sq_exec(q, st, "commit")) != 0)
		goto fail;
	sq_done(st);
	st = NULL;
	q->in_tx = false;
	q->tx_err = 0;

	r = 0; /* success */
 fail:
	sq_done(st);
	if (r != 0)
		sq_rollback(s);
	return (r);
}

/* group commit (invariant 9) */

static bool
sq_in_batch(tk_store_t *s)
{
	return (sq(s)->batch);
}

static int
sq_batch_begin(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	int r;

	if ((r = sq_run(q, ST_BEGIN, "begin batch")) != 0)
		return (r);
	q->batch = true;
	q->batch_err = 0;
	return (0);
}

static void
sq_batch_rollback(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);

	q->batch = false;
	q->batch_err = 0;
	q->in_tx = false;
	q->tx_err = 0;
	if (sqlite3_get_autocommit(q->db))
		return;
	if (sq_run(q, ST_ROLLBACK, "rollback batch") != 0 &&
	    !sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_batch_commit(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	int r;

	if (sq_batch_lost(q)) {
		r = q->batch_err;
		goto fail;
	}
	if ((r = sq_run(q, ST_COMMIT, "commit batch")) != 0)
		goto fail;
	q->batch = false;
	q->batch_err = 0;
	return (0);
fail:
	sq_batch_rollback(s);
	return (r);
}

/* ---------------------------------------------------------------- */
/* credentials */

/* copies column `col' (0..max bytes, no NUL) into out[max + 1] */
static int
column_text(sqlite3_stmt *st, int col, char *out, size_t max)
{
	const unsigned char *t;
	int n;

	out[0] = '\0';
	t = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	if (t == NULL || n < 0 || (size_t)n > max ||
	    memchr(t, '\0', (size_t)n) != NULL)
		return (-1);
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return (0);
}

/*
 * copies blob column `col' of exactly `len' bytes (len > 0) into out, or
 * of 1..max bytes into a new buffer *outp (*lenp) when out is NULL.
 * A blob that does not fit is TK_ERR_STORE (not -1: that is
 * TK_ERR_NOMEM, which callers pass on as such instead of a bad row).
 */
static int
column_blob(sqlite3_stmt *st, int col, unsigned char *out, size_t len,
    unsigned char **outp, size_t *lenp, size_t max)
{
	const void *blob;
	int n;

	blob = sqlite3_column_blob(st, col);
	n = sqlite3_column_bytes(st, col);
	if (blob == NULL || n <= 0)
		return (TK_ERR_STORE);
	if (out != NULL) {
		if ((size_t)n != len)
			return (TK_ERR_STORE);
		memcpy(out, blob, len);
		return (0);
	}
	if ((size_t)n > max)
		return (TK_ERR_STORE);
	if ((*outp = malloc((size_t)n)) == NULL)
		return (TK_ERR_NOMEM);
	memcpy(*outp, blob, (size_t)n);
	*lenp = (size_t)n;
	return (0);
}

/* the FIDO2 columns of a CRED_COLUMNS row of kind 2 into *c */
static int
cred_fido2_from_row(struct tk_store_sqlite *q, sqlite3_stmt *st,
    struct tk_cred *c)
{
	int64_t flags, count;
	int r;

	flags = sqlite3_column_int64(st, CC_FLAGS);
	count = sqlite3_column_int64(st, CC_SIGN_COUNT);
	if (flags < 0 || flags > UINT32_MAX || count < 0 ||
	    count > UINT32_MAX)
		return (sq_corrupt(q, "credentials", "FIDO2 number out of "
		    "range"));
	c->flags = (uint32_t)flags;
	c->sign_count = (uint32_t)count;
	if (column_text(st, CC_FMT, c->fmt, TK_SHORT_TEXT_MAX) != 0 ||
	    column_blob(st, CC_AAGUID, c->aaguid, sizeof(c->aaguid), NULL,
	    NULL, 0) != 0 ||
	    column_blob(st, CC_USER_HANDLE, c->user_handle,
	    sizeof(c->user_handle), NULL, NULL, 0) != 0)
		return (sq_corrupt(q, "credentials", "bad FIDO2 format, "
		    "AAGUID or user handle"));
	if ((r = column_blob(st, CC_CRED_ID, NULL, 0, &c->cred_id,
	    &c->cred_id_len, TK_FIDO2_CRED_ID_MAX)) != 0 ||
	    (r = column_blob(st, CC_PUBKEY, NULL, 0, &c->pubkey,
	    &c->pubkey_len, TK_FIDO2_PUBKEY_MAX)) != 0)
		return (r == TK_ERR_NOMEM ? r : sq_corrupt(q, "credentials",
		    "bad FIDO2 credential id or public key"));
	return (0);
}

/* fills *c from the current row of a CRED_COLUMNS query */
static int
cred_from_row(struct tk_store_sqlite *q, sqlite3_stmt *st, struct tk_cred *c)
{
	const void *blob;
	int64_t id, key_id, last_step, digits, period, kind, state, alg;
	int n, r;

	memset(c, 0, sizeof(*c));
	id = sqlite3_column_int64(st, CC_ID);
	kind = sqlite3_column_int64(st, CC_KIND);
	state = sqlite3_column_int64(st, CC_STATE);
	alg = sqlite3_column_int64(st, CC_ALGORITHM);
	key_id = sqlite3_column_int64(st, CC_KEY_ID);
	last_step = sqlite3_column_int64(st, CC_LAST_STEP);
	digits = sqlite3_column_int64(st, CC_DIGITS);
	period = sqlite3_column_int64(st, CC_PERIOD);
	if (id <= 0 || key_id < 0 || key_id > UINT32_MAX || last_step < 0 ||
	    (kind != TK_CRED_TOTP && kind != TK_CRED_FIDO2) ||
	    state < TK_CRED_PENDING || state > TK_CRED_SUSPENDED ||
	    (state == TK_CRED_SUSPENDED && kind != TK_CRED_FIDO2) ||
	    (kind == TK_CRED_TOTP && ((digits != 6 && digits != 8) ||
	    period <= 0 || period > UINT_MAX ||
	    alg < TK_TOTP_SHA1 || alg > TK_TOTP_SHA512)) ||
	    (kind == TK_CRED_FIDO2 &&
	    (alg < TK_FIDO2_ES256 || alg > TK_FIDO2_RS256)))
		return (sq_corrupt(q, "credentials", "number out of range"));
	if (column_text(st, CC_USER, c->user, TK_USER_MAX) != 0 ||
	    c->user[0] == '\0' ||
	    column_text(st, CC_LABEL, c->label, TK_LABEL_MAX) != 0)
		return (sq_corrupt(q, "credentials", "bad user or label"));
	c->id = (uint64_t)id;
	c->kind = (int)kind;
	c->state = (int)state;
	c->created = sqlite3_column_int64(st, CC_CREATED);
	c->last_used = sqlite3_column_int64(st, CC_LAST_USED);
	c->expires = sqlite3_column_int64(st, CC_EXPIRES);
	c->algorithm = (int)alg;
	if (kind == TK_CRED_TOTP) {
		c->digits = (unsigned)digits;
		c->period = (unsigned)period;
		c->last_step = (uint64_t)last_step;
		c->key_id = (uint32_t)key_id;
	} else {
		if ((r = cred_fido2_from_row(q, st, c)) != 0) {
			tk_cred_clear(c);
			return (r);
		}
		return (0);	/* a FIDO2 credential holds no secret */
	}
	blob = sqlite3_column_blob(st, CC_SEALED);
	n = sqlite3_column_bytes(st, CC_SEALED);
	if (blob == NULL || n <= 0)
		return (0);
	if ((size_t)n > TK_STORE_SEALED_MAX) {
		memset(c, 0, sizeof(*c));
		return (sq_corrupt(q, "credentials", "sealed secret too long"));
	}
	if ((c->sealed = malloc((size_t)n)) == NULL) {
		memset(c, 0, sizeof(*c));
		return (TK_ERR_NOMEM);
	}
	memcpy(c->sealed, blob, (size_t)n);
	c->sealed_len = (size_t)n;
	return (0);
}

/* binds ?14..?20 of ST_CRED_INSERT: the FIDO2 columns, NULL for TOTP */
static int
cred_bind_fido2(sqlite3_stmt *st, const struct tk_cred *c)
{
	int rc;

	if (c->kind != TK_CRED_FIDO2) {
		if ((rc = sqlite3_bind_null(st, 14)) != SQLITE_OK ||
		    (rc = sqlite3_bind_null(st, 15)) != SQLITE_OK ||
		    (rc = sqlite3_bind_null(st, 16)) != SQLITE_OK ||
		    (rc = bind_text(st, 17, "")) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 18, 0)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 19, 0)) != SQLITE_OK)
			return (rc);
		return (sqlite3_bind_null(st, 20));
	}
	if ((rc = sqlite3_bind_blob(st, 14, c->cred_id, (int)c->cred_id_len,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 15, c->pubkey, (int)c->pubkey_len,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 16, c->aaguid, sizeof(c->aaguid),
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = bind_text(st, 17, c->fmt)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 18, c->flags)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 19, c->sign_count)) != SQLITE_OK)
		return (rc);
	return (sqlite3_bind_blob(st, 20, c->user_handle,
	    sizeof(c->user_handle), SQLITE_STATIC));
}

static int
sq_cred_insert(tk_store_t *s, struct tk_cred *c)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_CRED_INSERT, &st)) != 0)
		return (r);
	if (bind_text(st, 1, c->user) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, c->kind) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, c->state) != SQLITE_OK ||
	    bind_text(st, 4, c->label) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, c->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, c->last_used) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, c->expires) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, c->digits) != SQLITE_OK ||
	    sqlite3_bind_int(st, 9, c->algorithm) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 10, c->period) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 11, (int64_t)c->last_step) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 12, c->key_id) != SQLITE_OK ||
	    (c->sealed != NULL ? sqlite3_bind_blob(st, 13, c->sealed,
	    (int)c->sealed_len, SQLITE_STATIC) :
	    sqlite3_bind_null(st, 13)) != SQLITE_OK ||
	    (r = cred_bind_fido2(st, c)) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	/* the unique index on FIDO2 credential ids (store.h) */
	if ((rc = sqlite3_step(st)) == SQLITE_CONSTRAINT_UNIQUE &&
	    c->kind == TK_CRED_FIDO2) {
		tk_log(LOG_NOTICE, "store: FIDO2 credential id already "
		    "registered");
		r = TK_ERR_EXISTS;
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "credential insert");
		goto fail;
	}
	c->id = (uint64_t)sqlite3_last_insert_rowid(q->db);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_cred_get(tk_store_t *s, const char *user, uint64_t id, struct tk_cred *c)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_CRED_GET, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK ||
	    bind_text(st, 2, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "credential get");
		goto fail;
	}
	if ((r = cred_from_row(q, st, c)) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_cred_list(tk_store_t *s, const char *user, int kind, bool active_only,
    struct tk_cred **listp, size_t *np)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	struct tk_cred *list = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, r;

	if (active_only && kind != TK_CRED_TOTP && kind != TK_CRED_FIDO2)
		return (0);	/* no credential of another kind */
	if (active_only)
		r = sq_stmt(q, kind == TK_CRED_TOTP ? ST_CRED_ACTIVE :
		    ST_CRED_ACTIVE_FIDO2, &st);
	else
		r = sq_stmt(q, user != NULL ? ST_CRED_LIST_USER :
		    ST_CRED_LIST_ALL, &st);
	if (r != 0)
		return (r);
	if (user != NULL && bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			cap = cap == 0 ? TK_SQLITE_LIST_FIRST : cap * 2;
			grown = reallocarray(list, cap, sizeof(*list));
			if (grown == NULL) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			list = grown;
		}
		if ((r = cred_from_row(q, st, &list[n])) != 0)
			goto fail;
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "credential list");
		goto fail;
	}
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;

	r = 0; /* success */
 fail:
	sq_done(st);
	tk_cred_list_free(&list, n);
	return (r);
}

static int
sq_cred_page(tk_store_t *s, const char *user, uint64_t offset, size_t max,
    struct tk_cred *page, size_t *np, bool *more)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int rc, r;

	if ((r = sq_stmt(q, user != NULL ? ST_CRED_PAGE_USER :
	    ST_CRED_PAGE_ALL, &st)) != 0)
		return (r);
	/* one row more than the page says whether more follow */
	if ((user != NULL && bind_text(st, 1, user) != SQLITE_OK) ||
	    sqlite3_bind_int64(st, 2, (int64_t)max + 1) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)offset) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == max) {
			*more = true;
			break;
		}
		if ((r = cred_from_row(q, st, &page[n])) != 0)
			goto fail;
		tk_cred_clear_secret(&page[n]);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "credential page");
		goto fail;
	}
	*np = n;
	n = 0;

	r = 0; /* success */
 fail:
	sq_done(st);
	while (n > 0)
		tk_cred_clear(&page[--n]);
	return (r);
}

static int
sq_cred_pending_due(tk_store_t *s, int64_t now, struct tk_cred **listp,
    size_t *np)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	struct tk_cred *list = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, r;

	if ((r = sq_stmt(q, ST_CRED_PENDING_DUE, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, -1) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			cap = cap == 0 ? TK_SQLITE_LIST_FIRST : cap * 2;
			grown = reallocarray(list, cap, sizeof(*list));
			if (grown == NULL) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			list = grown;
		}
		if ((r = cred_from_row(q, st, &list[n])) != 0)
			goto fail;
		tk_cred_clear_secret(&list[n]);
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "pending credentials");
		goto fail;
	}
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;

	r = 0; /* success */
 fail:
	sq_done(st);
	tk_cred_list_free(&list, n);
	return (r);
}

/* state changes store.h allows; suspended is for FIDO2 only */
static bool
transition_ok(int kind, int from, int to)
{
	return (from == to ||
	    (from == TK_CRED_PENDING && to == TK_CRED_ACTIVE) ||
	    (from != TK_CRED_REVOKED && to == TK_CRED_REVOKED) ||
	    (kind == TK_CRED_FIDO2 && from == TK_CRED_ACTIVE &&
	    to == TK_CRED_SUSPENDED) ||
	    (kind == TK_CRED_FIDO2 && from == TK_CRED_SUSPENDED &&
	    to == TK_CRED_ACTIVE));
}

/* the state and kind of credential `id' of `user' */
static int
cred_state_read(struct tk_store_sqlite *q, const char *user, uint64_t id,
    int *cur, int *kind)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	*cur = 0;
	*kind = 0;
	if ((r = sq_stmt(q, ST_CRED_STATE, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK ||
	    bind_text(st, 2, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "credential state");
		goto fail;
	}
	*cur = sqlite3_column_int(st, 0);
	*kind = sqlite3_column_int(st, 1);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
cred_state_write(struct tk_store_sqlite *q, const char *user, uint64_t id,
    int state)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_CRED_SET_STATE, &st)) != 0)
		return (r);
	if (sqlite3_bind_int(st, 1, state) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)id) != SQLITE_OK ||
	    bind_text(st, 3, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "credential state change")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_cred_set_state(tk_store_t *s, const char *user, uint64_t id, int state)
{
	struct tk_store_sqlite *q = sq(s);
	int cur, kind, r;

	/* under BEGIN IMMEDIATE nobody can change the row in between */
	if ((r = cred_state_read(q, user, id, &cur, &kind)) != 0)
		return (r);
	if (cur == state)
		return (0);
	if (!transition_ok(kind, cur, state)) {
		tk_log(LOG_ERR, "store: credential %llu: state %d cannot "
		    "become %d", (unsigned long long)id, cur, state);
		return (TK_ERR_INVAL);
	}
	return (cred_state_write(q, user, id, state));
}

static int
sq_cred_set_secret(tk_store_t *s, uint64_t id, uint32_t key_id,
    const unsigned char *sealed, size_t sealed_len)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_CRED_SET_SECRET, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, key_id) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, sealed, (int)sealed_len,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)id) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "credential secret update")) != 0)
		goto fail;
	if (sqlite3_changes(q->db) != 1) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_cred_revoke_all(tk_store_t *s, const char *user, uint64_t *count)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_CRED_REVOKE_ALL, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "credential revocation")) != 0)
		goto fail;
	*count = (uint64_t)sqlite3_changes(q->db);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/*
 * Runs statement `id', whose one parameter is the time `now', and
 * counts the rows it changed: the expiry sweeps.
 */
static int
sq_exec_at(struct tk_store_sqlite *q, enum tk_sqlite_st id, int64_t now,
    const char *what, uint64_t *count)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, id, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, what)) != 0)
		goto fail;
	*count = (uint64_t)sqlite3_changes(q->db);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_cred_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	return (sq_exec_at(sq(s), ST_CRED_EXPIRE, now, "credential expiry",
	    count));
}

/* after a replay check that changed nothing: which of the two it was */
static int
replay_or_missing(struct tk_store_sqlite *q, uint64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_CRED_EXISTS, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK)
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = TK_ERR_REPLAY;
	else if (rc == SQLITE_DONE)
		r = TK_ERR_NOTFOUND;
	else
		r = sq_fail(q, rc, "credential lookup");
	sq_done(st);
	return (r);
}

/* invariant 5 */
static int
sq_totp_accept_step(tk_store_t *s, uint64_t id, uint64_t step, int64_t now)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_TOTP_ACCEPT, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, (int64_t)step) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)id) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "TOTP step update")) != 0)
		goto fail;
	/* nothing changed: replayed, or no such credential */
	if (sqlite3_changes(q->db) != 1) {
		r = replay_or_missing(q, id);
		goto fail;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* ---------------------------------------------------------------- */
/* throttling, statistics, health */

static int
sq_throttle_get(tk_store_t *s, const char *user, struct tk_throttle *t)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int64_t failures;
	int rc, r;

	if ((r = sq_stmt(q, ST_THROTTLE_GET, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	/* user_ok() in store_core.c bounds the length */
	memcpy(t->user, user, strlen(user) + 1);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "throttle get");
		goto fail;
	}
	if (rc == SQLITE_ROW) {		/* else: no row, no failures */
		failures = sqlite3_column_int64(st, 0);
		if (failures < 0 || failures > UINT32_MAX) {
			r = sq_corrupt(q, "throttle", "failures out of range");
			goto fail;
		}
		t->failures = (uint32_t)failures;
		t->last_failure = sqlite3_column_int64(st, 1);
		t->locked = sqlite3_column_int(st, 2) != 0;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_throttle_put(tk_store_t *s, const struct tk_throttle *t)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_THROTTLE_PUT, &st)) != 0)
		return (r);
	if (bind_text(st, 1, t->user) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, t->failures) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, t->last_failure) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, t->locked ? 1 : 0) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "throttle update")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_stats(tk_store_t *s, struct tk_store_stats *out)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_STATS, &st)) != 0)
		return (r);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = sq_fail(q, rc, "stats");
		goto fail;
	}
	/* COUNT() is never negative */
	out->users = (uint64_t)sqlite3_column_int64(st, 0);
	out->creds = (uint64_t)sqlite3_column_int64(st, 1);
	out->locked_users = (uint64_t)sqlite3_column_int64(st, 2);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* reads the database header: the file is there and still our schema */
static int
sq_ping(tk_store_t *s)
{
	struct tk_store_sqlite *q = sq(s);
	int r, v;

	if ((r = user_version(q, &v)) != 0)
		return (r);
	if (v != TK_SQLITE_SCHEMA) {
		tk_log(LOG_ERR, "store: schema version changed to %d", v);
		return (TK_ERR_VERSION);
	}
	return (0);
}

/* ---------------------------------------------------------------- */
/* audit rows (the chain itself is store_audit.c) */

/* seq and MAC of the current row of `st' (columns 0 and 1) */
static int
audit_seq_mac(struct tk_store_sqlite *q, sqlite3_stmt *st, const char *table,
    uint64_t *seq, unsigned char mac[TK_STORE_MAC_BYTES])
{
	const void *blob;
	int64_t v;

	v = sqlite3_column_int64(st, 0);
	blob = sqlite3_column_blob(st, 1);
	if (v <= 0 || blob == NULL ||
	    sqlite3_column_bytes(st, 1) != TK_STORE_MAC_BYTES)
		return (sq_corrupt(q, table, "bad seq or MAC"));
	*seq = (uint64_t)v;
	memcpy(mac, blob, TK_STORE_MAC_BYTES);
	return (0);
}

/* the anchor left by the last prune; *seq = 0 (zero MAC) when none */
static int
sq_audit_anchor(tk_store_t *s, uint64_t *seq,
    unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	if ((r = sq_stmt(q, ST_AUDIT_ANCHOR, &st)) != 0)
		return (r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "audit anchor");
		goto fail;
	}
	if (rc == SQLITE_ROW &&		/* else: never pruned */
	    (r = audit_seq_mac(q, st, "audit_anchor", seq, mac)) != 0) {
		*seq = 0;
		memset(mac, 0, TK_STORE_MAC_BYTES);
		goto fail;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* the newest row, or the anchor when every row was pruned */
static int
sq_audit_last(tk_store_t *s, uint64_t *seq,
    unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	if ((r = sq_stmt(q, ST_AUDIT_LAST, &st)) != 0)
		return (r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "audit last row");
		goto fail;
	}
	if (rc == SQLITE_DONE) {	/* no row: the anchor, if any */
		sq_done(st);
		return (sq_audit_anchor(s, seq, mac));
	}
	if ((r = audit_seq_mac(q, st, "audit", seq, mac)) != 0) {
		*seq = 0;
		memset(mac, 0, TK_STORE_MAC_BYTES);
		goto fail;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_audit_insert(tk_store_t *s, uint64_t seq, const struct tk_audit_event *ev,
    const unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_AUDIT_INSERT, &st)) != 0)
		return (r);
	/* texts are non-NULL here (store_audit.c, invariant 2 there) */
	if (sqlite3_bind_int64(st, AC_SEQ + 1, (int64_t)seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, AC_TIME + 1, ev->time) != SQLITE_OK ||
	    bind_text(st, AC_HOST + 1, ev->host) != SQLITE_OK ||
	    bind_text(st, AC_EVENT + 1, ev->event) != SQLITE_OK ||
	    bind_text(st, AC_USER + 1, ev->user) != SQLITE_OK ||
	    sqlite3_bind_int64(st, AC_CRED + 1,
	    (int64_t)ev->cred) != SQLITE_OK ||
	    bind_text(st, AC_SERVICE + 1, ev->service) != SQLITE_OK ||
	    bind_text(st, AC_RHOST + 1, ev->rhost) != SQLITE_OK ||
	    bind_text(st, AC_TTY + 1, ev->tty) != SQLITE_OK ||
	    sqlite3_bind_int64(st, AC_UID + 1, ev->uid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, AC_PID + 1, ev->pid) != SQLITE_OK ||
	    bind_text(st, AC_RESULT + 1, ev->result) != SQLITE_OK ||
	    bind_text(st, AC_REASON + 1, ev->reason) != SQLITE_OK ||
	    sqlite3_bind_blob(st, AC_MAC + 1, mac, TK_STORE_MAC_BYTES,
	    SQLITE_STATIC) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "audit insert")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* a text column exactly as stored; false if it holds a NUL or no text */
static bool
walk_text(sqlite3_stmt *st, int col, const char **out)
{
	const unsigned char *t;
	int n;

	t = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	*out = t != NULL ? (const char *)t : "";
	return (t != NULL && n >= 0 && strlen(*out) == (size_t)n);
}

static int
sq_audit_walk(tk_store_t *s, tk_store_audit_fn_t *fn, void *arg)
{
	struct tk_store_sqlite *q = sq(s);
	struct tk_audit_event ev;
	sqlite3_stmt *st = NULL;
	const unsigned char *mac;
	int64_t seq, cred;
	size_t mac_len;
	bool exact;
	int mac_bytes, rc, r;

	if ((r = sq_stmt(q, ST_AUDIT_WALK, &st)) != 0)
		return (r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		seq = sqlite3_column_int64(st, AC_SEQ);
		cred = sqlite3_column_int64(st, AC_CRED);
		ev.time = sqlite3_column_int64(st, AC_TIME);
		ev.cred = (uint64_t)cred;
		ev.uid = sqlite3_column_int64(st, AC_UID);
		ev.pid = sqlite3_column_int64(st, AC_PID);
		/* all eight texts are read, whatever the first ones hold */
		exact = walk_text(st, AC_HOST, &ev.host);
		exact = walk_text(st, AC_EVENT, &ev.event) && exact;
		exact = walk_text(st, AC_USER, &ev.user) && exact;
		exact = walk_text(st, AC_SERVICE, &ev.service) && exact;
		exact = walk_text(st, AC_RHOST, &ev.rhost) && exact;
		exact = walk_text(st, AC_TTY, &ev.tty) && exact;
		exact = walk_text(st, AC_RESULT, &ev.result) && exact;
		exact = walk_text(st, AC_REASON, &ev.reason) && exact;
		mac = sqlite3_column_blob(st, AC_MAC);
		mac_bytes = sqlite3_column_bytes(st, AC_MAC);
		mac_len = mac != NULL && mac_bytes > 0 ? (size_t)mac_bytes : 0;
		/* a row that cannot be read exactly cannot verify */
		if (!exact || seq <= 0 || cred < 0)
			mac_len = 0;
		if ((r = fn(arg, seq > 0 ? (uint64_t)seq : 0, &ev, mac,
		    mac_len)) != 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "audit walk");
		goto fail;
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* copies a text column into out[max + 1], cut at max bytes or a NUL */
static void
row_text(sqlite3_stmt *st, int col, char *out, size_t max)
{
	const unsigned char *t;
	int n;
	size_t len;

	out[0] = '\0';
	t = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	if (t == NULL || n <= 0)
		return;
	len = (size_t)n < max ? (size_t)n : max;
	len = strnlen((const char *)t, len);
	memcpy(out, t, len);
	out[len] = '\0';
}

static int
sq_audit_read(tk_store_t *s, const struct tk_audit_filter *f,
    struct tk_audit_row *rows, size_t max, size_t *np, bool *more)
{
	struct tk_store_sqlite *q = sq(s);
	struct tk_audit_row *w;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int64_t seq, cred;
	int rc, r;

	if ((r = sq_stmt(q, ST_AUDIT_READ, &st)) != 0)
		return (r);
	/* one row more than asked for says whether more follow */
	if (sqlite3_bind_int64(st, 1, (int64_t)f->after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, f->since) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, f->until) != SQLITE_OK ||
	    (f->user != NULL ? bind_text(st, 4, f->user) :
	    sqlite3_bind_null(st, 4)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, (int64_t)max + 1) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == max) {
			*more = true;
			break;
		}
		w = &rows[n];
		memset(w, 0, sizeof(*w));
		seq = sqlite3_column_int64(st, AC_SEQ);
		cred = sqlite3_column_int64(st, AC_CRED);
		w->seq = seq > 0 ? (uint64_t)seq : 0;
		w->time = sqlite3_column_int64(st, AC_TIME);
		w->cred = cred > 0 ? (uint64_t)cred : 0;
		w->uid = sqlite3_column_int64(st, AC_UID);
		w->pid = sqlite3_column_int64(st, AC_PID);
		row_text(st, AC_HOST, w->host, sizeof(w->host) - 1);
		row_text(st, AC_EVENT, w->event, sizeof(w->event) - 1);
		row_text(st, AC_USER, w->user, sizeof(w->user) - 1);
		row_text(st, AC_SERVICE, w->service, sizeof(w->service) - 1);
		row_text(st, AC_RHOST, w->rhost, sizeof(w->rhost) - 1);
		row_text(st, AC_TTY, w->tty, sizeof(w->tty) - 1);
		row_text(st, AC_RESULT, w->result, sizeof(w->result) - 1);
		row_text(st, AC_REASON, w->reason, sizeof(w->reason) - 1);
		n++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "audit read");
		goto fail;
	}
	*np = n;

	r = 0; /* success */
 fail:
	if (r != 0)
		*more = false;
	sq_done(st);
	return (r);
}

/*
 * Removes the oldest rows older than `before' (store.h) and keeps the
 * last one's seq and MAC as the anchor; *anchor_seq is the anchor after
 * the call (an earlier prune's when nothing is removed, 0 when none).
 */
static int
sq_audit_prune(tk_store_t *s, int64_t before, uint64_t *count,
    uint64_t *anchor_seq)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	unsigned char mac[TK_STORE_MAC_BYTES];
	uint64_t last = 0;
	int rc, r;

	*count = 0;
	*anchor_seq = 0;
	if ((r = sq_stmt(q, ST_AUDIT_PRUNE_LAST, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, before) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "audit prune");
		goto fail;
	}
	if (rc == SQLITE_DONE) {	/* nothing to remove */
		sq_done(st);
		return (sq_audit_anchor(s, anchor_seq, mac));
	}
	if ((r = audit_seq_mac(q, st, "audit", &last, mac)) != 0)
		goto fail;
	sq_done(st);
	st = NULL;

	/* the anchor first: the MAC it keeps is read above */
	if ((r = sq_stmt(q, ST_AUDIT_ANCHOR_PUT, &st)) != 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, (int64_t)last) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, mac, TK_STORE_MAC_BYTES,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)time(NULL)) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "audit anchor")) != 0)
		goto fail;
	sq_done(st);
	st = NULL;

	if ((r = sq_stmt(q, ST_AUDIT_PRUNE, &st)) != 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, (int64_t)last) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "audit prune")) != 0)
		goto fail;
	/* sqlite3_changes64() is newer than the SQLite 3.31 required */
	*count = (uint64_t)sqlite3_changes(q->db);
	*anchor_seq = last;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* ---------------------------------------------------------------- */
/* recovery codes */

static int
sq_recovery_replace(tk_store_t *s, const char *user,
    const unsigned char (*hashes)[TK_RECOVERY_HASH_BYTES], size_t n,
    int64_t now)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	size_t i;
	int r;

	if ((r = sq_stmt(q, ST_RECOVERY_DELETE, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "recovery code delete")) != 0)
		goto fail;
	sq_done(st);
	st = NULL;
	if ((r = sq_stmt(q, ST_RECOVERY_INSERT, &st)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (bind_text(st, 1, user) != SQLITE_OK ||
		    sqlite3_bind_blob(st, 2, hashes[i], TK_RECOVERY_HASH_BYTES,
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 3, now) != SQLITE_OK) {
			r = sq_fail(q, sqlite3_errcode(q->db), "bind");
			goto fail;
		}
		if ((r = sq_exec(q, st, "recovery code insert")) != 0)
			goto fail;
		sq_done(st);
	}

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_recovery_unused(tk_store_t *s, const char *user,
    struct tk_recovery **listp, size_t *np)
{
	struct tk_store_sqlite *q = sq(s);
	struct tk_recovery *list = NULL, *grown;
	sqlite3_stmt *st = NULL;
	const void *blob;
	size_t n = 0, cap = 0;
	int64_t id;
	int rc, r;

	if ((r = sq_stmt(q, ST_RECOVERY_UNUSED, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			cap = cap == 0 ? TK_SQLITE_LIST_FIRST : cap * 2;
			if ((grown = reallocarray(list, cap,
			    sizeof(*list))) == NULL) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			list = grown;
		}
		id = sqlite3_column_int64(st, 0);
		blob = sqlite3_column_blob(st, 1);
		if (id <= 0 || blob == NULL || sqlite3_column_bytes(st, 1) !=
		    TK_RECOVERY_HASH_BYTES) {
			r = sq_corrupt(q, "recovery_codes", "bad id or hash");
			goto fail;
		}
		list[n].id = (uint64_t)id;
		memcpy(list[n].hash, blob, TK_RECOVERY_HASH_BYTES);
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "recovery code list");
		goto fail;
	}
	*listp = list;
	*np = n;
	list = NULL;

	r = 0; /* success */
 fail:
	sq_done(st);
	free(list);
	return (r);
}

static int
sq_recovery_use(tk_store_t *s, uint64_t id, int64_t now)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_RECOVERY_USE, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)id) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "recovery code use")) != 0)
		goto fail;
	if (sqlite3_changes(q->db) == 1)
		goto fail;	/* r == 0: used now */
	sq_done(st);
	st = NULL;
	/* nothing changed: used before, or no such code */
	if ((r = sq_stmt(q, ST_RECOVERY_EXISTS, &st)) != 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK)
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = TK_ERR_REPLAY;
	else if (rc == SQLITE_DONE)
		r = TK_ERR_NOTFOUND;
	else
		r = sq_fail(q, rc, "recovery code lookup");
 fail:
	sq_done(st);
	return (r);
}

static int
sq_recovery_count(tk_store_t *s, const char *user, uint64_t *n)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_RECOVERY_COUNT, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = sq_fail(q, rc, "recovery code count");
		goto fail;
	}
	/* COUNT() is never negative */
	*n = (uint64_t)sqlite3_column_int64(st, 0);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* ---------------------------------------------------------------- */
/* emergency grants */

static int
grant_from_row(struct tk_store_sqlite *q, sqlite3_stmt *st, struct tk_grant *g)
{
	int64_t id, state;

	memset(g, 0, sizeof(*g));
	id = sqlite3_column_int64(st, GC_ID);
	state = sqlite3_column_int64(st, GC_STATE);
	if (id <= 0 || state < TK_GRANT_ACTIVE || state > TK_GRANT_REVOKED)
		return (sq_corrupt(q, "grants", "number out of range"));
	if (column_text(st, GC_USER, g->user, TK_USER_MAX) != 0 ||
	    g->user[0] == '\0' ||
	    column_text(st, GC_REASON, g->reason, TK_REASON_MAX) != 0)
		return (sq_corrupt(q, "grants", "bad user or reason"));
	g->id = (uint64_t)id;
	g->state = (int)state;
	g->created = sqlite3_column_int64(st, GC_CREATED);
	g->expires = sqlite3_column_int64(st, GC_EXPIRES);
	g->granted_by = sqlite3_column_int64(st, GC_GRANTED_BY);
	return (0);
}

static int
sq_grant_insert(tk_store_t *s, struct tk_grant *g)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	/* a new grant replaces the active one (grants_active index) */
	if ((r = sq_stmt(q, ST_GRANT_END_USER, &st)) != 0)
		return (r);
	if (bind_text(st, 1, g->user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "grant replace")) != 0)
		goto fail;
	sq_done(st);
	st = NULL;
	if ((r = sq_stmt(q, ST_GRANT_INSERT, &st)) != 0)
		goto fail;
	if (bind_text(st, 1, g->user) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, g->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, g->expires) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, g->granted_by) != SQLITE_OK ||
	    bind_text(st, 5, g->reason) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "grant insert")) != 0)
		goto fail;
	g->id = (uint64_t)sqlite3_last_insert_rowid(q->db);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_grant_active(tk_store_t *s, const char *user, struct tk_grant *g)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_GRANT_ACTIVE, &st)) != 0)
		return (r);
	if (bind_text(st, 1, user) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "grant get");
		goto fail;
	}
	if ((r = grant_from_row(q, st, g)) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_grant_list(tk_store_t *s, const char *user, int64_t due_before,
    struct tk_grant **listp, size_t *np)
{
	struct tk_store_sqlite *q = sq(s);
	struct tk_grant *list = NULL, *grown;
	sqlite3_stmt *st = NULL;
	size_t n = 0, cap = 0;
	int rc, r;

	if ((r = sq_stmt(q, ST_GRANT_LIST, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, due_before) != SQLITE_OK ||
	    (user != NULL ? bind_text(st, 2, user) :
	    sqlite3_bind_null(st, 2)) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			cap = cap == 0 ? TK_SQLITE_LIST_FIRST : cap * 2;
			if ((grown = reallocarray(list, cap,
			    sizeof(*list))) == NULL) {
				r = TK_ERR_NOMEM;
				goto fail;
			}
			list = grown;
		}
		if ((r = grant_from_row(q, st, &list[n])) != 0)
			goto fail;
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(q, rc, "grant list");
		goto fail;
	}
	*listp = list;
	*np = n;
	list = NULL;

	r = 0; /* success */
 fail:
	sq_done(st);
	free(list);
	return (r);
}

static int
sq_grant_end(tk_store_t *s, uint64_t id, int state)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_GRANT_END, &st)) != 0)
		return (r);
	if (sqlite3_bind_int(st, 1, state) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)id) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "grant end")) != 0)
		goto fail;
	if (sqlite3_changes(q->db) != 1)
		r = TK_ERR_NOTFOUND;
 fail:
	sq_done(st);
	return (r);
}

/* ---------------------------------------------------------------- */
/* FIDO2: credential lookup, the clone check, challenges */

static int
sq_fido2_find(tk_store_t *s, const unsigned char *cred_id, size_t len,
    struct tk_cred *c)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_FIDO2_FIND, &st)) != 0)
		return (r);
	if (sqlite3_bind_blob(st, 1, cred_id, (int)len,
	    SQLITE_STATIC) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TK_ERR_NOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "FIDO2 credential find");
		goto fail;
	}
	if ((r = cred_from_row(q, st, c)) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* invariant 5b */
static int
sq_fido2_accept_count(tk_store_t *s, uint64_t id, uint32_t count,
    int64_t now)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = sq_stmt(q, ST_FIDO2_ACCEPT, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, count) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)id) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "FIDO2 counter update")) != 0)
		goto fail;
	if (sqlite3_changes(q->db) == 1)
		goto fail;	/* r == 0: accepted */
	sq_done(st);
	st = NULL;
	/* nothing changed: a counter that did not grow, or no such active
	   FIDO2 credential */
	if ((r = sq_stmt(q, ST_FIDO2_ACTIVE, &st)) != 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK)
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = TK_ERR_REPLAY;
	else if (rc == SQLITE_DONE)
		r = TK_ERR_NOTFOUND;
	else
		r = sq_fail(q, rc, "FIDO2 credential lookup");
 fail:
	sq_done(st);
	return (r);
}

static int
sq_challenge_insert(tk_store_t *s, struct tk_challenge *ch)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sq_stmt(q, ST_CHALLENGE_INSERT, &st)) != 0)
		return (r);
	if (bind_text(st, 1, ch->user) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, ch->purpose) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, ch->challenge, sizeof(ch->challenge),
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, ch->user_handle, sizeof(ch->user_handle),
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 5, ch->uv) != SQLITE_OK ||
	    bind_text(st, 6, ch->label) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, ch->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, ch->expires) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "challenge insert")) != 0)
		goto fail;
	ch->id = (uint64_t)sqlite3_last_insert_rowid(q->db);

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

/* fills *ch from the current row of ST_CHALLENGE_GET */
static int
challenge_from_row(struct tk_store_sqlite *q, sqlite3_stmt *st,
    struct tk_challenge *ch)
{
	int64_t id, purpose, uv;

	memset(ch, 0, sizeof(*ch));
	id = sqlite3_column_int64(st, HC_ID);
	purpose = sqlite3_column_int64(st, HC_PURPOSE);
	uv = sqlite3_column_int64(st, HC_UV);
	if (id <= 0 || (purpose != TK_CHALLENGE_LOGIN &&
	    purpose != TK_CHALLENGE_ENROLL) ||
	    uv < TK_UV_REQUIRED || uv > TK_UV_DISCOURAGED)
		return (sq_corrupt(q, "challenges", "number out of range"));
	if (column_text(st, HC_USER, ch->user, TK_USER_MAX) != 0 ||
	    ch->user[0] == '\0' ||
	    column_text(st, HC_LABEL, ch->label, TK_LABEL_MAX) != 0 ||
	    column_blob(st, HC_CHALLENGE, ch->challenge,
	    sizeof(ch->challenge), NULL, NULL, 0) != 0 ||
	    column_blob(st, HC_USER_HANDLE, ch->user_handle,
	    sizeof(ch->user_handle), NULL, NULL, 0) != 0) {
		memset(ch, 0, sizeof(*ch));
		return (sq_corrupt(q, "challenges", "bad user, label or "
		    "bytes"));
	}
	ch->id = (uint64_t)id;
	ch->purpose = (int)purpose;
	ch->uv = (int)uv;
	ch->created = sqlite3_column_int64(st, HC_CREATED);
	ch->expires = sqlite3_column_int64(st, HC_EXPIRES);
	return (0);
}

/* invariant 5b: burnt by one conditional update, then read back */
static int
sq_challenge_take(tk_store_t *s, uint64_t id, int purpose,
    struct tk_challenge *ch)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3_stmt *st = NULL;
	bool burnt;
	int rc, r;

	if ((r = sq_stmt(q, ST_CHALLENGE_USE, &st)) != 0)
		return (r);
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, purpose) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	if ((r = sq_exec(q, st, "challenge use")) != 0)
		goto fail;
	burnt = sqlite3_changes(q->db) == 1;
	sq_done(st);
	st = NULL;
	if ((r = sq_stmt(q, ST_CHALLENGE_GET, &st)) != 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, (int64_t)id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, purpose) != SQLITE_OK) {
		r = sq_fail(q, sqlite3_errcode(q->db), "bind");
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = burnt ? sq_corrupt(q, "challenges", "vanished") :
		    TK_ERR_NOTFOUND;
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		r = sq_fail(q, rc, "challenge get");
		goto fail;
	}
	if (!burnt) {
		r = TK_ERR_REPLAY;	/* used before: *ch stays cleared */
		goto fail;
	}
	if ((r = challenge_from_row(q, st, ch)) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sq_done(st);
	return (r);
}

static int
sq_challenge_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	return (sq_exec_at(sq(s), ST_CHALLENGE_EXPIRE, now,
	    "challenge expiry", count));
}

/* ---------------------------------------------------------------- */
/* online backup (SQLite backup API) into a file created here */

static int
sq_backup(tk_store_t *s, const char *path)
{
	struct tk_store_sqlite *q = sq(s);
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	struct stat fsb, psb;
	int fd = -1, rc, rf, r;
	bool created = false;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    TK_SQLITE_FILE_MODE);
	if (fd == -1) {
		tk_log(LOG_ERR, "store: backup %s: %s", path, strerror(errno));
		r = errno == EEXIST ? TK_ERR_EXISTS :
		    errno == EACCES || errno == EPERM || errno == EROFS ?
		    TK_ERR_PERM : errno == ENOSPC || errno == EDQUOT ?
		    TK_ERR_FULL : TK_ERR_IO;
		goto fail;
	}
	created = true;
	if (fstat(fd, &fsb) == -1) {
		tk_log(LOG_ERR, "store: backup %s: %s", path, strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		tk_log(LOG_ERR, "store: backup %s: %s", path,
		    dst != NULL ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		r = TK_ERR_STORE;
		goto fail;
	}
	/* the file SQLite opened is the one created above */
	if (lstat(path, &psb) == -1 || psb.st_dev != fsb.st_dev ||
	    psb.st_ino != fsb.st_ino) {
		tk_log(LOG_ERR, "store: backup %s was replaced while opening",
		    path);
		created = false;	/* not ours any more: leave it */
		r = TK_ERR_PERM;
		goto fail;
	}
	if ((bk = sqlite3_backup_init(dst, "main", q->db, "main")) == NULL) {
		tk_log(LOG_ERR, "store: backup %s: %s", path,
		    sqlite3_errmsg(dst));
		r = TK_ERR_STORE;
		goto fail;
	}
	/* one step: the copy is one consistent read of the store */
	rc = sqlite3_backup_step(bk, -1);
	rf = sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_DONE || rf != SQLITE_OK) {
		rc = rc != SQLITE_DONE ? rc : rf;
		tk_log(LOG_ERR, "store: backup %s: %s", path,
		    sqlite3_errstr(rc));
		r = (rc & 0xff) == SQLITE_FULL ? TK_ERR_FULL : TK_ERR_STORE;
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		r = TK_ERR_STORE;
		goto fail;
	}
	dst = NULL;
	if (fsync(fd) == -1) {
		tk_log(LOG_ERR, "store: backup %s: %s", path, strerror(errno));
		r = errno == ENOSPC || errno == EDQUOT ? TK_ERR_FULL :
		    TK_ERR_IO;
		goto fail;
	}
	created = false;	/* keep it */

	r = 0; /* success */
 fail:
	if (bk != NULL)
		(void)sqlite3_backup_finish(bk);
	if (dst != NULL)
		(void)sqlite3_close(dst);
	if (fd != -1)
		(void)close(fd);
	if (created)
		(void)unlink(path);
	return (r);
}

static const struct tk_store_ops tk_sqlite_ops = {
	.kind = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.cred_insert = sq_cred_insert,
	.cred_get = sq_cred_get,
	.cred_list = sq_cred_list,
	.cred_set_state = sq_cred_set_state,
	.cred_set_secret = sq_cred_set_secret,
	.cred_revoke_all = sq_cred_revoke_all,
	.cred_expire = sq_cred_expire,
	.totp_accept_step = sq_totp_accept_step,
	.throttle_get = sq_throttle_get,
	.throttle_put = sq_throttle_put,
	.stats = sq_stats,
	.ping = sq_ping,
	.in_transaction = sq_in_transaction,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.audit_walk = sq_audit_walk,
	.audit_read = sq_audit_read,
	.audit_anchor = sq_audit_anchor,
	.audit_prune = sq_audit_prune,
	.recovery_replace = sq_recovery_replace,
	.recovery_unused = sq_recovery_unused,
	.recovery_use = sq_recovery_use,
	.recovery_count = sq_recovery_count,
	.grant_insert = sq_grant_insert,
	.grant_active = sq_grant_active,
	.grant_list = sq_grant_list,
	.grant_end = sq_grant_end,
	.backup = sq_backup,
	.fido2_find = sq_fido2_find,
	.fido2_accept_count = sq_fido2_accept_count,
	.challenge_insert = sq_challenge_insert,
	.challenge_take = sq_challenge_take,
	.challenge_expire = sq_challenge_expire,
	.batch_begin = sq_batch_begin,
	.batch_commit = sq_batch_commit,
	.batch_rollback = sq_batch_rollback,
	.in_batch = sq_in_batch,
	.cred_page = sq_cred_page,
	.cred_pending_due = sq_cred_pending_due,
};
