/*
 * store_pg.c -- the shared store: PostgreSQL through libpq, so that the
 * tokend processes of many terminals share one truth (credentials,
 * replay state, FIDO2 counters and challenges, throttling, the audit
 * chain).  PostgreSQL's own replication and failover give high
 * availability; tokend only has to reconnect.
 *
 * Concurrency: every transaction runs at READ COMMITTED and every
 * decision that several hosts could race on is made by a statement that
 * is atomic on its own, or under an explicit lock held to the commit:
 *  - accepting a TOTP step, burning a challenge, raising a FIDO2
 *    signature counter and using a recovery code are single conditional
 *    UPDATEs; a second host's UPDATE of the same row waits for the first
 *    to commit, re-reads the row and then matches nothing, so its row
 *    count says "replayed";
 *  - throttling is read with SELECT ... FOR UPDATE inside the verifying
 *    transaction, so a failure counted on host A is seen, not
 *    overwritten, by host B; a user with no throttle row yet is guarded
 *    by a transaction-scoped advisory lock on the user's name, taken
 *    before the row is read again;
 *  - the audit chain head is read under LOCK TABLE audit IN SHARE ROW
 *    EXCLUSIVE MODE (it conflicts with itself and with every insert and
 *    delete, not with readers), so two hosts never take the same
 *    sequence number nor fork the chain;
 *  - a credential's state is read FOR UPDATE before it is changed;
 *  - `audit verify' reads the anchor and walks the rows through one
 *    cursor (invariant 9): a cursor runs in the snapshot taken at its
 *    DECLARE, at any isolation level, so a prune committed by another
 *    host in the middle of a verify can no longer show it an anchor of
 *    one state and rows of another (a false "chain broken").  The
 *    cursor takes no lock beyond a reader's ACCESS SHARE, so logins
 *    (each appends to the audit chain) and prunes never wait for a
 *    verify, however long the chain.  The two other ways were worse:
 *    LOCK TABLE audit IN SHARE MODE for the walk would hold every
 *    host's audit append, and so every login's answer, for the whole
 *    walk (and two verifiers upgrading it to append their own audit
 *    row would deadlock); a REPEATABLE READ transaction cannot hold the
 *    verify, because its handler appends its own audit row in the same
 *    transaction and a snapshot taken before the lock would read a
 *    stale chain head.  Outside a transaction (migrate-store, tests)
 *    the cursor runs in a REPEATABLE READ READ ONLY transaction of its
 *    own.
 * SERIALIZABLE with retries would also work, but a retry must never
 * repeat an answer tokend has not given, and these few explicit locks
 * make every conflict a wait instead of a retry.  A deadlock between two
 * hosts is broken by the server: one transaction fails and its request
 * is refused (fail closed).
 *
 * Group commit (store.h, tk_store_batch_*; invariant 10): a batch is one
 * transaction, BEGIN ... COMMIT, and each request in it a SAVEPOINT,
 * kept (RELEASEd, together with the next request's SAVEPOINT, or by the
 * COMMIT) or rolled back to (ROLLBACK TO) to undo only that request.
 * The locks a kept request took (its user's throttle row or advisory
 * lock, credential and challenge rows, the audit lock) are then held
 * until the batch commits, across the requests after it, which breaks
 * the order the single-request path relies on (user locks first, the
 * audit lock last): host A's batch holding the audit lock and waiting
 * for user B's row, while host B's transaction holds that row and waits
 * for the audit lock, is a deadlock (two hosts batching users A,B and
 * B,A likewise).  The choice made here: a batch takes the audit lock
 * first, in the statement that begins it (waiting as long as any
 * transaction may, lock_timeout), and then waits for no other lock
 * longer than TK_PG_BATCH_LOCK_WAIT (SET LOCAL lock_timeout, for the
 * rest of the batch).  A request of the batch that needs a lock held
 * elsewhere fails at once (SQLSTATE 55P03), its savepoint alone is
 * rolled back, and it is refused (fail closed, an internal error at the
 * terminal; its user tries again) while the batch goes on; the other
 * transaction, waiting for the audit lock, gets it at the batch's
 * COMMIT.  A transaction that does not wait is no link of a wait
 * cycle, so batches add no deadlock: two batches are serialised by the
 * audit lock (the chain serialises every host's appends anyway), and
 * the single-request path keeps its order.  Ordering the users'
 * advisory locks would not do: a batch's users are known only request
 * by request, and credential and challenge rows are locked too.
 * Retrying the refused request alone after the commit would hide the
 * refusal from the user, but needs server.c to keep the request; a
 * conflict needs one user at two hosts at the same instant, so it is
 * rare (tests/pg/hosts_batch.sh provokes it on purpose).
 * statement_timeout stays per statement (5 s): a statement of a request
 * that exceeds it fails that request's savepoint only, like any failed
 * statement; a failure outside any request (the BEGIN, a SAVEPOINT, a
 * RELEASE, a read between requests) or a lost connection aborts the
 * whole transaction: batch_err is set, no later request starts, and the
 * batch commit fails, so every request of the batch is refused.
 *
 * Connection: one connection per tokend.  tokend serves one request at
 * a time (server.c), so a pool would hold idle connections and add no
 * throughput; several tokend hosts are the pool.  Each connection gets
 * statement_timeout, lock_timeout and idle_in_transaction_session_timeout,
 * must be read-write (target_session_attrs=read-write in a multi-host
 * URL picks the primary after a failover), and must hold this program's
 * schema version.  A lost connection is re-opened before the next
 * transaction (at most once a second); a transaction in which the
 * connection broke is never retried.
 *
 * MUST invariants:
 *  1. Every value reaches SQL as a bound parameter ($1...); the only SQL
 *     text built at run time is none: every statement is a constant.
 *  2. A transaction in which any statement failed is never committed:
 *     tk_store_commit() rolls it back and returns the first error.
 *  3. When COMMIT's outcome is unknown (the connection broke while it
 *     ran), tk_store_commit() returns TK_ERR_STORE: the change may or
 *     may not be stored, the request is refused, and nothing is retried
 *     (the next request reads the truth again).  So no "ok" is ever
 *     answered for a change that was not committed.
 *  4. The replay check is the single statement SQL_TOTP_ACCEPT; its row
 *     count alone decides between accepted and replayed.  Likewise the
 *     FIDO2 clone check (SQL_FIDO2_ACCEPT), burning a challenge
 *     (SQL_CHALLENGE_TAKE) and using a recovery code (SQL_RECOVERY_USE).
 *  5. The audit chain head is read only under the audit table lock.
 *  6. A database with a schema newer than TK_PG_SCHEMA is never read or
 *     written (TK_ERR_VERSION); migrations only go forward, under an
 *     advisory lock so that two hosts starting together do not both
 *     migrate.  A role that may not create tables gets a log line
 *     naming the DBA's SQL file (schema-pg.sql), and nothing changes.
 *  7. Rows are read back in binary and checked against the limits of
 *     store.h; a row that does not fit is an error, not a cut value.
 *  8. The connection string is never logged (it may hold a password);
 *     it is wiped when the store is closed.
 *  9. The anchor and the rows that `audit verify' checks come from one
 *     snapshot (SQL_AUDIT_VERIFY_CURSOR): ops->audit_anchor declares the
 *     cursor and ops->audit_walk reads the rest of it; the anchor is
 *     never read for a verify by a statement of its own while rows
 *     exist.
 * 10. A batch holds the audit lock from its first statement and waits
 *     for no other lock longer than TK_PG_BATCH_LOCK_WAIT.  Nothing of a
 *     batch is kept unless its one COMMIT succeeded; when that COMMIT's
 *     outcome is unknown the batch commit fails as in invariant 3, and
 *     a batch whose transaction was aborted or lost (batch_err) never
 *     opens another savepoint: it would run outside the transaction.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "err.h"
#include "log.h"
#include "store_ops.h"

/* the schema version this program writes: the same numbers as SQLite */
#define TK_PG_SCHEMA		3

#define TK_PG_CONNINFO_MAX	4096	/* bytes of [store] url */
#define TK_PG_PARAMS_MAX	24	/* parameters of one statement */
#define TK_PG_RETRY_MS		1000	/* between two reconnect attempts */
#define TK_PG_LOG_EVERY_MS	30000	/* repeated "still down" lines */
#define TK_PG_LIST_FIRST	8	/* first allocation of a list */
/* invariant 10: the longest lock wait of a request inside a batch */
#define TK_PG_BATCH_LOCK_WAIT	"20ms"

/* advisory lock keys (two int4 form): 'tkd' then a purpose */
#define TK_PG_LOCK_CLASS_SCHEMA	0x746b6400
#define TK_PG_LOCK_CLASS_USER	0x746b6401

/* type OIDs of the parameters (catalog/pg_type_d.h, stable) */
#define TK_PG_BYTEA		17
#define TK_PG_INT8		20
#define TK_PG_TEXT		25

/*
 * Schema steps.  PostgreSQL support begins at schema 3 (the SQLite
 * schema that added FIDO2 and the audit anchor): an empty database goes
 * straight to 3.  Append steps {N, N + 1}; never edit a released one.
 * Each step records its version itself.  tokend/schema-pg.sql is the
 * same text for a DBA (tests/pg checks that both give the same schema).
 * Both backends keep equal version numbers (store_migrate.c copies only
 * between equal ones), so a PostgreSQL-only change needs a step of the
 * SQLite schema too.  Schema 3 is not released yet: credentials_pending
 * went into it, as into SQLite's schema 3.
 */
struct tk_pg_step {
	int		 from;
	int		 to;
	const char	*sql;
};

static const struct tk_pg_step tk_pg_steps[] = {
	{ 0, 3,
	"CREATE TABLE tokend_schema ("
	" version bigint PRIMARY KEY CHECK (version > 0),"
	" applied bigint NOT NULL);"
	"CREATE TABLE credentials ("
	" id bigserial PRIMARY KEY,"
	" \"user\" text NOT NULL,"
	" kind bigint NOT NULL CHECK (kind IN (1, 2)),"
	" state bigint NOT NULL CHECK (state IN (1, 2, 3, 4)),"
	" label text NOT NULL,"
	" created bigint NOT NULL,"
	" last_used bigint NOT NULL DEFAULT 0,"
	" expires bigint NOT NULL DEFAULT 0,"
	" digits bigint NOT NULL DEFAULT 0"
	"  CHECK (kind <> 1 OR digits IN (6, 8)),"
	" algorithm bigint NOT NULL CHECK (algorithm IN (1, 2, 3)),"
	" period bigint NOT NULL DEFAULT 0 CHECK (kind <> 1 OR period > 0),"
	" last_step bigint NOT NULL DEFAULT 0 CHECK (last_step >= 0),"
	" key_id bigint NOT NULL DEFAULT 0,"
	" sealed bytea,"
	" cred_id bytea,"
	" pubkey bytea,"
	" aaguid bytea,"
	" fmt text NOT NULL DEFAULT '',"
	" flags bigint NOT NULL DEFAULT 0,"
	" sign_count bigint NOT NULL DEFAULT 0"
	"  CHECK (sign_count BETWEEN 0 AND 4294967295),"
	" user_handle bytea,"
	" CHECK (kind <> 2 OR (cred_id IS NOT NULL AND pubkey IS NOT NULL"
	"  AND length(aaguid) = 16 AND length(user_handle) = 32)),"
	" CHECK (state <> 4 OR kind = 2));"
	"CREATE INDEX credentials_user ON credentials (\"user\");"
	"CREATE UNIQUE INDEX credentials_fido2_id ON credentials (cred_id)"
	" WHERE kind = 2;"
	"CREATE INDEX credentials_pending ON credentials (expires)"
	" WHERE state = 1;"
	"CREATE TABLE throttle ("
	" \"user\" text PRIMARY KEY,"
	" failures bigint NOT NULL CHECK (failures >= 0),"
	" last_failure bigint NOT NULL,"
	" locked bigint NOT NULL CHECK (locked IN (0, 1)));"
	"CREATE TABLE audit ("
	" seq bigint PRIMARY KEY CHECK (seq > 0),"
	" time bigint NOT NULL,"
	" host text NOT NULL,"
	" event text NOT NULL,"
	" \"user\" text NOT NULL,"
	" cred bigint NOT NULL,"
	" service text NOT NULL,"
	" rhost text NOT NULL,"
	" tty text NOT NULL,"
	" uid bigint NOT NULL,"
	" pid bigint NOT NULL,"
	" result text NOT NULL,"
	" reason text NOT NULL,"
	" mac bytea NOT NULL);"
	"CREATE TABLE recovery_codes ("
	" id bigserial PRIMARY KEY,"
	" \"user\" text NOT NULL,"
	" hash bytea NOT NULL CHECK (length(hash) = 32),"
	" created bigint NOT NULL,"
	" used bigint NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),"
	" used_at bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX recovery_codes_user ON recovery_codes (\"user\");"
	"CREATE TABLE grants ("
	" id bigserial PRIMARY KEY,"
	" \"user\" text NOT NULL,"
	" created bigint NOT NULL,"
	" expires bigint NOT NULL CHECK (expires > created),"
	" granted_by bigint NOT NULL,"
	" state bigint NOT NULL CHECK (state IN (1, 2, 3)),"
	" reason text NOT NULL);"
	"CREATE UNIQUE INDEX grants_active ON grants (\"user\") WHERE state = 1;"
	"CREATE TABLE challenges ("
	" id bigserial PRIMARY KEY,"
	" \"user\" text NOT NULL,"
	" purpose bigint NOT NULL CHECK (purpose IN (1, 2)),"
	" challenge bytea NOT NULL CHECK (length(challenge) = 32),"
	" user_handle bytea NOT NULL CHECK (length(user_handle) = 32),"
	" uv bigint NOT NULL CHECK (uv IN (1, 2, 3)),"
	" label text NOT NULL DEFAULT '',"
	" created bigint NOT NULL,"
	" expires bigint NOT NULL,"
	" used bigint NOT NULL DEFAULT 0 CHECK (used IN (0, 1)));"
	"CREATE INDEX challenges_expires ON challenges (expires);"
	"CREATE TABLE audit_anchor ("
	" id bigint PRIMARY KEY CHECK (id = 1),"
	" seq bigint NOT NULL CHECK (seq > 0),"
	" mac bytea NOT NULL,"
	" pruned_at bigint NOT NULL);"
	"INSERT INTO tokend_schema (version, applied)"
	" VALUES (3, floor(extract(epoch FROM now()))::bigint);" },
};

#define TK_PG_NSTEPS	(sizeof(tk_pg_steps) / sizeof(tk_pg_steps[0]))

#define CRED_COLUMNS \
	"id, \"user\", kind, state, label, created, last_used, expires, " \
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
	"id, \"user\", purpose, challenge, user_handle, uv, label, created, " \
	"expires"

enum {
	HC_ID, HC_USER, HC_PURPOSE, HC_CHALLENGE, HC_USER_HANDLE, HC_UV,
	HC_LABEL, HC_CREATED, HC_EXPIRES
};

#define GRANT_COLUMNS \
	"id, \"user\", created, expires, granted_by, state, reason"

enum {
	GC_ID, GC_USER, GC_CREATED, GC_EXPIRES, GC_GRANTED_BY, GC_STATE,
	GC_REASON
};

#define AUDIT_COLUMNS \
	"seq, time, host, event, \"user\", cred, service, rhost, tty, " \
	"uid, pid, result, reason"

/* column numbers of AUDIT_COLUMNS (+ mac) */
enum {
	AC_SEQ, AC_TIME, AC_HOST, AC_EVENT, AC_USER, AC_CRED, AC_SERVICE,
	AC_RHOST, AC_TTY, AC_UID, AC_PID, AC_RESULT, AC_REASON, AC_MAC,
	AC_ANCHOR_SEQ, AC_ANCHOR_MAC	/* SQL_AUDIT_VERIFY_CURSOR only */
};

/* ---------------------------------------------------------------- */
/* the statements (invariant 1: constants only) */

#define SQL_CRED_INSERT \
	"INSERT INTO credentials (\"user\", kind, state, label, created, " \
	"last_used, expires, digits, algorithm, period, last_step, key_id, " \
	"sealed, cred_id, pubkey, aaguid, fmt, flags, sign_count, " \
	"user_handle) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, " \
	"$12, $13, $14, $15, $16, $17, $18, $19, $20) " \
	"ON CONFLICT (cred_id) WHERE kind = 2 DO NOTHING RETURNING id"
#define SQL_CRED_GET \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE id = $1 AND \"user\" = $2"
/* COLLATE "C": the byte order SQLite uses, whatever the database's */
#define SQL_CRED_LIST_ALL \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"ORDER BY \"user\" COLLATE \"C\", id"
#define SQL_CRED_LIST_USER \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE \"user\" = $1 ORDER BY id"
/* one page: $2 is the page size + 1 (is there more?) */
#define SQL_CRED_PAGE_ALL \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"ORDER BY \"user\" COLLATE \"C\", id LIMIT $1 OFFSET $2"
#define SQL_CRED_PAGE_USER \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE \"user\" = $3 ORDER BY id LIMIT $1 OFFSET $2"
/* through credentials_pending, as the expiry sweep deletes them */
#define SQL_CRED_PENDING_DUE \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE state = 1 AND expires < $1 ORDER BY id"
#define SQL_CRED_ACTIVE \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE \"user\" = $1 AND kind = $2 AND state = 2 ORDER BY id"
#define SQL_CRED_STATE \
	"SELECT state, kind FROM credentials WHERE id = $1 AND \"user\" = $2 " \
	"FOR UPDATE"
/* revoking (state 3) drops the secret; activating ends the expiry */
#define SQL_CRED_SET_STATE \
	"UPDATE credentials SET state = $1, " \
	"expires = CASE WHEN $1 = 1 THEN expires ELSE 0 END, " \
	"key_id = CASE WHEN $1 = 3 THEN 0 ELSE key_id END, " \
	"sealed = CASE WHEN $1 = 3 THEN NULL ELSE sealed END " \
	"WHERE id = $2 AND \"user\" = $3"
#define SQL_CRED_SET_SECRET \
	"UPDATE credentials SET key_id = $1, sealed = $2 " \
	"WHERE id = $3 AND state <> 3"
#define SQL_CRED_REVOKE_ALL \
	"UPDATE credentials SET state = 3, expires = 0, key_id = 0, " \
	"sealed = NULL WHERE \"user\" = $1 AND state <> 3"
#define SQL_CRED_EXPIRE \
	"DELETE FROM credentials WHERE state = 1 AND expires < $1"
#define SQL_CRED_EXISTS "SELECT id FROM credentials WHERE id = $1"
/* the replay check (invariant 4) */
#define SQL_TOTP_ACCEPT \
	"UPDATE credentials SET last_step = $2, last_used = $3 " \
	"WHERE id = $1 AND last_step < $2"
#define SQL_THROTTLE_GET \
	"SELECT failures, last_failure, locked FROM throttle " \
	"WHERE \"user\" = $1"
#define SQL_THROTTLE_GET_LOCKED \
	"SELECT failures, last_failure, locked FROM throttle " \
	"WHERE \"user\" = $1 FOR UPDATE"
#define SQL_USER_LOCK \
	"SELECT pg_advisory_xact_lock($1::integer, $2::integer)"
#define SQL_THROTTLE_PUT \
	"INSERT INTO throttle (\"user\", failures, last_failure, locked) " \
	"VALUES ($1, $2, $3, $4) ON CONFLICT (\"user\") DO UPDATE SET " \
	"failures = excluded.failures, " \
	"last_failure = excluded.last_failure, locked = excluded.locked"
#define SQL_STATS \
	"SELECT (SELECT count(DISTINCT \"user\") FROM credentials " \
	"WHERE state <> 3), " \
	"(SELECT count(*) FROM credentials WHERE state <> 3), " \
	"(SELECT count(*) FROM throttle WHERE locked <> 0)"
#define SQL_SCHEMA_VERSION "SELECT max(version) FROM tokend_schema"
/* invariant 5: taken before the chain head is read */
#define SQL_AUDIT_LOCK "LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE"
/*
 * invariant 10: a batch takes the audit lock before anything else, then
 * waits for no other lock (SET LOCAL ends with the transaction; a
 * ROLLBACK TO a later savepoint keeps it)
 */
#define SQL_BATCH_BEGIN \
	"BEGIN ISOLATION LEVEL READ COMMITTED; " SQL_AUDIT_LOCK "; " \
	"SET LOCAL lock_timeout = '" TK_PG_BATCH_LOCK_WAIT "'"
#define SQL_UNIT_BEGIN "SAVEPOINT tk_request"
/* the previous request's savepoint, kept, is released with the next */
#define SQL_UNIT_NEXT \
	"RELEASE SAVEPOINT tk_request; SAVEPOINT tk_request"
/* ROLLBACK TO keeps the savepoint: RELEASE ends it, or they would nest */
#define SQL_UNIT_UNDO \
	"ROLLBACK TO SAVEPOINT tk_request; RELEASE SAVEPOINT tk_request"
#define SQL_AUDIT_LAST \
	"SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1"
#define SQL_AUDIT_ANCHOR \
	"SELECT seq, mac FROM audit_anchor WHERE id = 1"
#define SQL_AUDIT_INSERT \
	"INSERT INTO audit (" AUDIT_COLUMNS ", mac) VALUES ($1, $2, $3, $4, " \
	"$5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
#define SQL_AUDIT_WALK \
	"SELECT " AUDIT_COLUMNS ", mac FROM audit ORDER BY seq"
/*
 * invariant 9: the verify walk.  A cursor reads the whole query in the
 * snapshot of its DECLARE, so the anchor (two InitPlans, evaluated once)
 * and the rows are one state of the chain, at any isolation level.
 */
#define SQL_AUDIT_VERIFY_CURSOR \
	"DECLARE tk_audit_verify NO SCROLL BINARY CURSOR FOR " \
	"SELECT " AUDIT_COLUMNS ", mac, " \
	"(SELECT x.seq FROM audit_anchor x WHERE x.id = 1) AS anchor_seq, " \
	"(SELECT x.mac FROM audit_anchor x WHERE x.id = 1) AS anchor_mac " \
	"FROM audit ORDER BY seq"
#define SQL_AUDIT_VERIFY_FETCH "FETCH 256 FROM tk_audit_verify"
#define SQL_AUDIT_VERIFY_CLOSE "CLOSE tk_audit_verify"
#define SQL_AUDIT_VERIFY_BEGIN \
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
#define SQL_AUDIT_READ \
	"SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > $1 " \
	"AND ($2 = 0 OR time >= $2) AND ($3 = 0 OR time < $3) " \
	"AND ($4::text IS NULL OR \"user\" = $4) ORDER BY seq LIMIT $5"
/* the last row of the oldest run of rows older than $1 */
#define SQL_AUDIT_PRUNE_LAST \
	"SELECT seq, mac FROM audit WHERE seq < coalesce((SELECT min(seq) " \
	"FROM audit WHERE time >= $1), 9223372036854775807) " \
	"ORDER BY seq DESC LIMIT 1"
#define SQL_AUDIT_PRUNE_DELETE "DELETE FROM audit WHERE seq <= $1"
#define SQL_AUDIT_ANCHOR_PUT \
	"INSERT INTO audit_anchor (id, seq, mac, pruned_at) " \
	"VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET " \
	"seq = excluded.seq, mac = excluded.mac, " \
	"pruned_at = excluded.pruned_at"
#define SQL_RECOVERY_DELETE \
	"DELETE FROM recovery_codes WHERE \"user\" = $1"
#define SQL_RECOVERY_INSERT \
	"INSERT INTO recovery_codes (\"user\", hash, created) " \
	"VALUES ($1, $2, $3)"
#define SQL_RECOVERY_UNUSED \
	"SELECT id, hash FROM recovery_codes WHERE \"user\" = $1 " \
	"AND used = 0 ORDER BY id"
/* single use (invariant 4) */
#define SQL_RECOVERY_USE \
	"UPDATE recovery_codes SET used = 1, used_at = $1 " \
	"WHERE id = $2 AND used = 0"
#define SQL_RECOVERY_EXISTS "SELECT id FROM recovery_codes WHERE id = $1"
#define SQL_RECOVERY_COUNT \
	"SELECT count(*) FROM recovery_codes WHERE \"user\" = $1 AND used = 0"
#define SQL_GRANT_END_USER \
	"UPDATE grants SET state = 3 WHERE \"user\" = $1 AND state = 1"
#define SQL_GRANT_INSERT \
	"INSERT INTO grants (\"user\", created, expires, granted_by, state, " \
	"reason) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id"
#define SQL_GRANT_ACTIVE \
	"SELECT " GRANT_COLUMNS " FROM grants " \
	"WHERE \"user\" = $1 AND state = 1"
#define SQL_GRANT_LIST \
	"SELECT " GRANT_COLUMNS " FROM grants WHERE state = 1 " \
	"AND ($1 = 0 OR expires <= $1) " \
	"AND ($2::text IS NULL OR \"user\" = $2) " \
	"ORDER BY \"user\" COLLATE \"C\", id"
#define SQL_GRANT_END \
	"UPDATE grants SET state = $1 WHERE id = $2 AND state = 1"
#define SQL_FIDO2_FIND \
	"SELECT " CRED_COLUMNS " FROM credentials " \
	"WHERE kind = 2 AND cred_id = $1"
/*
 * the clone check (invariant 4): a counter that grew, or 0 after 0 (a
 * key without a counter)
 */
#define SQL_FIDO2_ACCEPT \
	"UPDATE credentials SET sign_count = $1, last_used = $2 " \
	"WHERE id = $3 AND kind = 2 AND state = 2 " \
	"AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))"
#define SQL_FIDO2_ACTIVE \
	"SELECT id FROM credentials WHERE id = $1 AND kind = 2 AND state = 2"
#define SQL_CHALLENGE_INSERT \
	"INSERT INTO challenges (\"user\", purpose, challenge, user_handle, " \
	"uv, label, created, expires) " \
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
/* single use (invariant 4): burns and reads in one statement */
#define SQL_CHALLENGE_TAKE \
	"UPDATE challenges SET used = 1 " \
	"WHERE id = $1 AND purpose = $2 AND used = 0 " \
	"RETURNING " CHALLENGE_COLUMNS
#define SQL_CHALLENGE_EXISTS \
	"SELECT id FROM challenges WHERE id = $1 AND purpose = $2"
#define SQL_CHALLENGE_EXPIRE \
	"DELETE FROM challenges WHERE expires <= $1"

/* ---------------------------------------------------------------- */

struct tk_store_pg {
	struct tk_store	 base;		/* first: a tk_store_t * points here */
	PGconn		*conn;
	char		*conninfo;	/* for reconnects; wiped on close */
	bool		 in_tx;
	int		 tx_err;	/* first error inside the transaction */
	/* invariant 10: in a batch, in_tx is true inside a request only */
	bool		 batch;		/* a group commit is open */
	int		 batch_err;	/* its transaction was aborted or lost */
	bool		 unit_kept;	/* a kept request's savepoint is open */
	bool		 down;		/* the connection is known broken */
	int64_t		 retry_ms;	/* no reconnect before (monotonic) */
	int64_t		 logged_ms;	/* last "still unreachable" line */
	/* invariant 9: a verify between its anchor and its walk */
	bool		 walk_open;	/* tk_audit_verify is declared */
	bool		 walk_tx;	/* ... in a transaction of its own */
	PGresult	*walk_res;	/* the first batch, not yet walked */
};

/* the parameters of one statement */
struct pgp {
	int		 n;
	bool		 overflow;
	Oid		 types[TK_PG_PARAMS_MAX];
	const char	*values[TK_PG_PARAMS_MAX];
	int		 lengths[TK_PG_PARAMS_MAX];
	int		 formats[TK_PG_PARAMS_MAX];
	unsigned char	 ints[TK_PG_PARAMS_MAX][8];
};

static const struct tk_store_ops tk_pg_ops;
static int walk_end(struct tk_store_pg *);
static void walk_forget(struct tk_store_pg *);

static struct tk_store_pg *
pq(tk_store_t *s)
{
	return ((struct tk_store_pg *)s);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
pgp_init(struct pgp *p)
{
	memset(p, 0, sizeof(*p));
}

static bool
pgp_slot(struct pgp *p)
{
	if (p->n >= TK_PG_PARAMS_MAX) {
		p->overflow = true;
		return (false);
	}
	return (true);
}

static void
pgp_i64(struct pgp *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	if (!pgp_slot(p))
		return;
	for (i = 7; i >= 0; i--) {
		p->ints[p->n][i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
	p->types[p->n] = TK_PG_INT8;
	p->values[p->n] = (const char *)p->ints[p->n];
	p->lengths[p->n] = 8;
	p->formats[p->n] = 1;
	p->n++;
}

/* a text, or SQL NULL when s is NULL */
static void
pgp_text(struct pgp *p, const char *s)
{
	if (!pgp_slot(p))
		return;
	p->types[p->n] = TK_PG_TEXT;
	p->values[p->n] = s;
	p->formats[p->n] = 0;
	p->n++;
}

/* bytes, or SQL NULL when b is NULL */
static void
pgp_blob(struct pgp *p, const void *b, size_t len)
{
	if (!pgp_slot(p))
		return;
	if (len > INT_MAX) {
		p->overflow = true;
		return;
	}
	p->types[p->n] = TK_PG_BYTEA;
	p->values[p->n] = b;
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

/* a libpq message without its trailing newline, for one log line */
static void
log_pq(int prio, const char *what, const char *msg)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = "no message";
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	tk_log(prio, "store: %s: %.*s", what, (int)n, msg);
}

static void
pg_tx_error(struct tk_store_pg *q, int r)
{
	if (q->in_tx && q->tx_err == 0)
		q->tx_err = r;
}

/* invariant 10: the batch's transaction can no longer be committed */
static void
pg_batch_error(struct tk_store_pg *q, int r)
{
	if (q->batch && q->batch_err == 0)
		q->batch_err = r;
}

/* the connection broke: logged once, until it is back */
static void
pg_mark_down(struct tk_store_pg *q)
{
	pg_batch_error(q, TK_ERR_STORE);
	if (q->down)
		return;
	q->down = true;
	q->retry_ms = 0;	/* the first reconnect may come at once */
	q->logged_ms = now_ms();
	tk_log(LOG_ERR, "store: connection to PostgreSQL lost; every "
	    "verification is refused until it is back");
}

/*
 * Logs a failed statement and returns its TK_ERR_* code; inside a
 * transaction, remembers it so the transaction cannot commit.
 */
static int
pg_fail(struct tk_store_pg *q, const PGresult *res, const char *what)
{
	const char *state;
	int r = TK_ERR_STORE;

	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	if (state != NULL && strcmp(state, "53100") == 0)
		r = TK_ERR_FULL;		/* disk_full */
	else if (state != NULL && strcmp(state, "53200") == 0)
		r = TK_ERR_NOMEM;		/* out_of_memory */
	if (state != NULL && strcmp(state, "55P03") == 0 && q->batch &&
	    q->in_tx)
		tk_log(LOG_WARNING, "store: %s: a request of a group commit "
		    "needs a lock another transaction holds; it is refused "
		    "rather than waited for, which could deadlock two hosts",
		    what);
	else
		log_pq(LOG_ERR, what, res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(q->conn));
	if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK)
		pg_mark_down(q);
	pg_tx_error(q, r);
	/* outside a request's savepoint an error aborts the whole batch */
	if (!q->in_tx)
		pg_batch_error(q, r);
	return (r);
}

/* a row that does not fit store.h's limits (invariant 7) */
static int
pg_corrupt(struct tk_store_pg *q, const char *table, const char *what)
{
	tk_log(LOG_ERR, "store: malformed %s row: %s", table, what);
	pg_tx_error(q, TK_ERR_STORE);
	return (TK_ERR_STORE);
}

/* ---------------------------------------------------------------- */
/* connection */

/* runs constant SQL without parameters; 0 or the failed result's code */
static int
pg_exec_sql(struct tk_store_pg *q, const char *sql, const char *what)
{
	PGresult *res;
	ExecStatusType st;
	int r = 0;

	res = PQexec(q->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		r = pg_fail(q, res, what);
	PQclear(res);
	return (r);
}

/* the schema version in the database; 0 when there is none */
static int
schema_version(struct tk_store_pg *q, int *v, bool *has_table)
{
	PGresult *res;
	const char *t;
	long n;
	char *end;
	int r;

	*v = 0;
	*has_table = false;
	res = PQexec(q->conn, "SELECT to_regclass('tokend_schema') IS NOT NULL, "
	    "to_regclass('credentials') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		r = pg_fail(q, res, "schema lookup");
		PQclear(res);
		return (r);
	}
	*has_table = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return (0);
	}
	PQclear(res);
	res = PQexec(q->conn, SQL_SCHEMA_VERSION);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		r = pg_fail(q, res, "schema version");
		PQclear(res);
		return (r);
	}
	t = PQgetvalue(res, 0, 0);
	errno = 0;
	n = strtol(t, &end, 10);
	if (PQgetisnull(res, 0, 0) || errno != 0 || *end != '\0' || n <= 0 ||
	    n > INT_MAX) {
		PQclear(res);
		tk_log(LOG_ERR, "store: table tokend_schema holds no valid "
		    "version");
		return (TK_ERR_STORE);
	}
	*v = (int)n;
	PQclear(res);
	return (0);
}

/*
 * Invariant 6: brings the schema up to TK_PG_SCHEMA in one transaction,
 * under the schema advisory lock.
 */
static int
migrate(struct tk_store_pg *q)
{
	PGresult *res;
	const char *state;
	bool has_table;
	size_t i;
	int r, v;

	if ((r = pg_exec_sql(q, "BEGIN", "begin migration")) != 0)
		return (r);
	res = PQexec(q->conn, "SELECT pg_advisory_xact_lock(1953195008, 1)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = pg_fail(q, res, "schema lock");
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if ((r = schema_version(q, &v, &has_table)) != 0)
		goto fail;
	if (v == 0 && has_table) {
		tk_log(LOG_ERR, "store: the database has a table credentials "
		    "but no tokend_schema: not a tokend database, or made by "
		    "hand; refusing to touch it");
		r = TK_ERR_STORE;
		goto fail;
	}
	if (v > TK_PG_SCHEMA) {
		tk_log(LOG_ERR, "store: the PostgreSQL database has schema "
		    "version %d, newer than this program's %d", v,
		    TK_PG_SCHEMA);
		r = TK_ERR_VERSION;
		goto fail;
	}
	for (i = 0; i < TK_PG_NSTEPS && v < TK_PG_SCHEMA; i++) {
		if (tk_pg_steps[i].from != v)
			continue;
		res = PQexec(q->conn, tk_pg_steps[i].sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (state != NULL && strcmp(state, "42501") == 0) {
				tk_log(LOG_ERR, "store: the PostgreSQL role may "
				    "not create tokend's tables (schema "
				    "version %d wanted, %d there); have the "
				    "database administrator run schema-pg.sql "
				    "(installed with tokend's data files) and "
				    "grant this role its rights, as "
				    "deployment.md shows", TK_PG_SCHEMA, v);
				PQclear(res);
				r = TK_ERR_PERM;
				goto fail;
			}
			r = pg_fail(q, res, "migration");
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		tk_log(LOG_INFO, "store: PostgreSQL schema migrated from "
		    "version %d to %d", v, tk_pg_steps[i].to);
		v = tk_pg_steps[i].to;
		i = (size_t)-1;		/* look for the next step again */
	}
	if (v != TK_PG_SCHEMA) {
		tk_log(LOG_ERR, "store: no migration from PostgreSQL schema "
		    "version %d", v);
		r = TK_ERR_VERSION;
		goto fail;
	}
	if ((r = pg_exec_sql(q, "COMMIT", "commit migration")) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	if (r != 0 && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
		(void)pg_exec_sql(q, "ROLLBACK", "rollback migration");
	return (r);
}

/*
 * After every (re)connection: session settings, a read-write server,
 * and, unless `migrating' at open, this program's schema version.
 */
static int
session_setup(struct tk_store_pg *q, bool migrating)
{
	PGresult *res;
	bool has_table;
	int r, v;

	/* constant SQL (invariant 1) */
	if ((r = pg_exec_sql(q, "SET statement_timeout = '5s'; "
	    "SET lock_timeout = '5s'; "
	    "SET idle_in_transaction_session_timeout = '60s'; "
	    "SET default_transaction_isolation = 'read committed'; "
	    "SET TIME ZONE 'UTC'", "session settings")) != 0)
		return (r);
	res = PQexec(q->conn, "SHOW transaction_read_only");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		r = pg_fail(q, res, "read-only check");
		PQclear(res);
		return (r);
	}
	if (strcmp(PQgetvalue(res, 0, 0), "off") != 0) {
		PQclear(res);
		tk_log(LOG_ERR, "store: PostgreSQL server %s:%s is read-only "
		    "(a standby?); list every host and add "
		    "target_session_attrs=read-write to [store] url",
		    PQhost(q->conn), PQport(q->conn));
		return (TK_ERR_STORE);
	}
	PQclear(res);
	if (migrating)
		return (0);
	if ((r = schema_version(q, &v, &has_table)) != 0)
		return (r);
	if (v != TK_PG_SCHEMA) {
		tk_log(LOG_ERR, "store: PostgreSQL server %s:%s has schema "
		    "version %d, not %d", PQhost(q->conn), PQport(q->conn), v,
		    TK_PG_SCHEMA);
		return (TK_ERR_VERSION);
	}
	return (0);
}

/* opens q->conn from q->conninfo; logs why not */
static int
pg_connect(struct tk_store_pg *q, bool migrating)
{
	/* before dbname: defaults the URL may change; after: ours */
	const char *const keys[] = {
		"connect_timeout", "application_name", "dbname",
		"client_encoding", NULL
	};
	const char *vals[] = { "5", "tokend", q->conninfo, "UTF8", NULL };
	int r;

	if (q->conn != NULL) {
		PQfinish(q->conn);
		q->conn = NULL;
	}
	q->conn = PQconnectdbParams(keys, vals, 1);
	if (q->conn == NULL)
		return (TK_ERR_NOMEM);
	if (PQstatus(q->conn) != CONNECTION_OK) {
		log_pq(LOG_ERR, "cannot connect to PostgreSQL",
		    PQerrorMessage(q->conn));
		return (TK_ERR_STORE);
	}
	if ((r = session_setup(q, migrating)) != 0)
		return (r);
	tk_log(LOG_INFO, "store: connected to PostgreSQL %s:%s database %s",
	    PQhost(q->conn), PQport(q->conn), PQdb(q->conn));
	return (0);
}

/*
 * Makes sure the connection is usable before a transaction or a read
 * outside one: reconnects a broken one, at most once every
 * TK_PG_RETRY_MS.  Never called inside a transaction.
 */
static int
pg_ready(struct tk_store_pg *q)
{
	int64_t t;
	int r;

	if (q->walk_tx)
		(void)walk_end(q);	/* invariant 9: a verify that did not walk */
	if (q->conn != NULL && PQstatus(q->conn) == CONNECTION_OK &&
	    !q->down) {
		/*
		 * A BEGIN or ROLLBACK whose answer was lost (libpq out of
		 * memory) can leave the server in a transaction: the next
		 * one must not inherit it (nor commit a failed request's
		 * changes), nor a read see them: rolled back first (until
		 * that works, every call fails).
		 */
		if (PQtransactionStatus(q->conn) == PQTRANS_IDLE)
			return (0);
		return (pg_exec_sql(q, "ROLLBACK", "stale transaction"));
	}
	if (q->conn != NULL && PQstatus(q->conn) != CONNECTION_OK)
		pg_mark_down(q);
	t = now_ms();
	if (q->down && t < q->retry_ms) {
		tk_log(LOG_DEBUG, "store: PostgreSQL still unreachable; "
		    "request refused");
		return (TK_ERR_STORE);
	}
	q->retry_ms = t + TK_PG_RETRY_MS;
	if ((r = pg_connect(q, false)) != 0) {
		/* while it stays down: one line every 30 s */
		if (t - q->logged_ms >= TK_PG_LOG_EVERY_MS) {
			q->logged_ms = t;
			tk_log(LOG_ERR, "store: PostgreSQL still unreachable; "
			    "every verification is refused until it is back");
		}
		q->down = true;
		return (r == TK_ERR_NOMEM ? r : TK_ERR_STORE);
	}
	if (q->down)
		tk_log(LOG_NOTICE, "store: PostgreSQL is back; serving again");
	q->down = false;
	return (0);
}

static PGresult *
pg_exec_params(struct tk_store_pg *q, const char *sql, const struct pgp *p)
{
	return (PQexecParams(q->conn, sql, p != NULL ? p->n : 0,
	    p != NULL ? p->types : NULL, p != NULL ? p->values : NULL,
	    p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL, 1));
}

/*
 * Runs one statement with binary results.  Returns 0 and *resp (the
 * caller PQclear()s it), or an error (logged, remembered in the
 * transaction).  Outside a transaction a broken connection is re-opened
 * first.
 */
static int
pg_run(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what, PGresult **resp)
{
	PGresult *res;
	ExecStatusType st;
	int r;

	*resp = NULL;
	if (p != NULL && p->overflow) {
		tk_log(LOG_ERR, "store: %s: bad parameters", what);
		pg_tx_error(q, TK_ERR_INVAL);
		return (TK_ERR_INVAL);
	}
	if (q->in_tx || q->batch) {
		if (q->in_tx && q->tx_err != 0)
			return (q->tx_err);	/* the server refuses anyway */
		if (q->batch_err != 0)
			return (q->batch_err);
		if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK) {
			pg_mark_down(q);
			pg_tx_error(q, TK_ERR_STORE);
			return (TK_ERR_STORE);
		}
	} else if ((r = pg_ready(q)) != 0)
		return (r);
	res = pg_exec_params(q, sql, p);
	st = PQresultStatus(res);
	/*
	 * Outside a transaction every statement is a read (store_core.c
	 * refuses changes there), so after a restart or failover it is
	 * safe to reconnect and read again, once; not inside a batch,
	 * whose transaction the reconnection would silently end.
	 */
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !q->in_tx &&
	    !q->batch && PQstatus(q->conn) != CONNECTION_OK) {
		PQclear(res);
		pg_mark_down(q);
		q->retry_ms = 0;
		if ((r = pg_ready(q)) != 0)
			return (r);
		res = pg_exec_params(q, sql, p);
		st = PQresultStatus(res);
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = pg_fail(q, res, what);
		PQclear(res);
		return (r);
	}
	*resp = res;
	return (0);
}

/* runs a statement whose rows are not wanted; *changed = rows touched */
static int
pg_exec(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what, uint64_t *changed)
{
	PGresult *res;
	const char *t;
	int r;

	if (changed != NULL)
		*changed = 0;
	if ((r = pg_run(q, sql, p, what, &res)) != 0)
		return (r);
	if (changed != NULL) {
		t = PQcmdTuples(res);
		*changed = t != NULL && *t != '\0' ?
		    strtoull(t, NULL, 10) : 0;
	}
	PQclear(res);
	return (0);
}

/* ---------------------------------------------------------------- */
/* reading binary result columns (invariant 7) */

static int
col_i64(const PGresult *res, int row, int col, int64_t *v)
{
	const unsigned char *b;
	uint64_t u = 0;
	int i;

	*v = 0;
	if (PQgetisnull(res, row, col) || PQfformat(res, col) != 1 ||
	    PQftype(res, col) != TK_PG_INT8 ||
	    PQgetlength(res, row, col) != 8)
		return (-1);
	b = (const unsigned char *)PQgetvalue(res, row, col);
	for (i = 0; i < 8; i++)
		u = u << 8 | b[i];
	*v = (int64_t)u;
	return (0);
}

/* copies a text column (0..max bytes, no NUL) into out[max + 1] */
static int
col_text(const PGresult *res, int row, int col, char *out, size_t max)
{
	const char *t;
	int n;

	out[0] = '\0';
	if (PQgetisnull(res, row, col))
		return (-1);
	t = PQgetvalue(res, row, col);
	n = PQgetlength(res, row, col);
	if (n < 0 || (size_t)n > max || memchr(t, '\0', (size_t)n) != NULL)
		return (-1);
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return (0);
}

/*
 * copies a bytea column of exactly `len' bytes into out, or of 1..max
 * bytes into a new buffer *outp (*lenp) when out is NULL
 */
static int
col_blob(const PGresult *res, int row, int col, unsigned char *out,
    size_t len, unsigned char **outp, size_t *lenp, size_t max)
{
	const char *b;
	int n;

	if (PQgetisnull(res, row, col))
		return (-1);
	b = PQgetvalue(res, row, col);
	n = PQgetlength(res, row, col);
	if (n <= 0)
		return (-1);
	if (out != NULL) {
		if ((size_t)n != len)
			return (-1);
		memcpy(out, b, len);
		return (0);
	}
	if ((size_t)n > max)
		return (-1);
	if ((*outp = malloc((size_t)n)) == NULL)
		return (TK_ERR_NOMEM);
	memcpy(*outp, b, (size_t)n);
	*lenp = (size_t)n;
	return (0);
}

/* a column that holds a non-negative count */
static int
col_count(const PGresult *res, int row, int col, uint64_t *n)
{
	int64_t v;

	*n = 0;
	if (col_i64(res, row, col, &v) != 0 || v < 0)
		return (-1);
	*n = (uint64_t)v;
	return (0);
}

/* ---------------------------------------------------------------- */
/* opening and closing */

static void
pg_close(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);

	walk_forget(q);
	if (q->conn != NULL) {
		if (PQstatus(q->conn) == CONNECTION_OK &&
		    PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
			PGresult *res = PQexec(q->conn, "ROLLBACK");

			PQclear(res);
		}
		PQfinish(q->conn);
	}
	if (q->conninfo != NULL) {
		sodium_memzero(q->conninfo, strlen(q->conninfo));
		free(q->conninfo);
	}
	tk_store_base_clear(s);
	free(q);
}

int
tk_store_open_pg(const char *conninfo, const unsigned char *audit_key,
    size_t audit_key_len, tk_store_t **sp)
{
	struct tk_store_pg *q = NULL;
	int r;

	if (sp != NULL)
		*sp = NULL;
	if (conninfo == NULL || *conninfo == '\0' || sp == NULL ||
	    strnlen(conninfo, TK_PG_CONNINFO_MAX) >= TK_PG_CONNINFO_MAX)
		return (TK_ERR_INVAL);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (TK_ERR_NOMEM);
	if ((r = tk_store_base_init(&q->base, &tk_pg_ops, audit_key,
	    audit_key_len)) != 0)
		goto fail;
	if ((q->conninfo = strdup(conninfo)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = pg_connect(q, true)) != 0 || (r = migrate(q)) != 0 ||
	    (r = session_setup(q, false)) != 0)
		goto fail;
	*sp = &q->base;
	q = NULL;

	r = 0; /* success */
 fail:
	if (q != NULL)
		pg_close(&q->base);
	return (r);
}

/* ---------------------------------------------------------------- */
/* transactions (invariants 2 and 3) */

static bool
pg_in_transaction(tk_store_t *s)
{
	return (pq(s)->in_tx);
}

static int
pg_begin_once(struct tk_store_pg *q)
{
	PGresult *res;
	int r = 0;

	res = PQexec(q->conn, "BEGIN ISOLATION LEVEL READ COMMITTED");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_fail(q, res, "begin");
	PQclear(res);
	return (r);
}

/*
 * Invariant 10: true (and batch_err set, logged once) when the batch's
 * transaction can no longer be committed: an earlier failure said so,
 * the connection broke, or the server no longer holds the transaction
 * open and healthy (an error outside any savepoint aborted it).  Called
 * between requests only: inside one, a failed statement leaves the
 * transaction aborted until ROLLBACK TO, as it should.
 */
static bool
pg_batch_lost(struct tk_store_pg *q)
{
	if (q->batch_err != 0)
		return (true);
	if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK)
		pg_mark_down(q);
	else if (PQtransactionStatus(q->conn) != PQTRANS_INTRANS)
		pg_batch_error(q, TK_ERR_STORE);
	if (q->batch_err != 0)
		tk_log(LOG_ERR, "store: the group commit's transaction was "
		    "aborted; none of its requests will be kept");
	return (q->batch_err != 0);
}

/* one request inside a batch: a savepoint */
static int
pg_unit_begin(struct tk_store_pg *q)
{
	int r;

	if (pg_batch_lost(q))
		return (q->batch_err);
	/*
	 * One round trip: the last kept request's savepoint is released
	 * here rather than at its commit.  A failed SAVEPOINT or RELEASE
	 * aborts the batch: pg_fail() records it.
	 */
	r = pg_exec_sql(q, q->unit_kept ? SQL_UNIT_NEXT : SQL_UNIT_BEGIN,
	    "savepoint");
	q->unit_kept = false;
	if (r != 0)
		return (r);
	q->in_tx = true;
	q->tx_err = 0;
	return (0);
}

/* undoes one request of a batch and only it */
static void
pg_unit_rollback(struct tk_store_pg *q)
{
	walk_forget(q);		/* ROLLBACK TO closes the request's cursor */
	q->in_tx = false;
	q->tx_err = 0;
	if (q->batch_err != 0 || q->conn == NULL ||
	    PQstatus(q->conn) != CONNECTION_OK) {
		(void)pg_batch_lost(q);
		return;
	}
	/* outside the request now: a failure here aborts the batch */
	(void)pg_exec_sql(q, SQL_UNIT_UNDO, "rollback to savepoint");
	(void)pg_batch_lost(q);
}

/* keeps one request in the batch: durable only at the batch's COMMIT */
static int
pg_unit_commit(struct tk_store_pg *q)
{
	int r;

	if (q->walk_open)
		(void)walk_end(q);	/* a cursor would outlive the request */
	if (q->tx_err != 0) {
		r = q->tx_err;
		tk_log(LOG_ERR, "store: request with a failed step rolled "
		    "back");
		pg_unit_rollback(q);
		return (r);
	}
	q->in_tx = false;
	if (pg_batch_lost(q))
		return (q->batch_err);
	/*
	 * Kept: its savepoint is released by the next request's SAVEPOINT
	 * or by the batch's COMMIT, which commits it with the rest.  A
	 * read between requests runs inside it meanwhile; one that fails
	 * aborts the batch, as any failure outside a request does.
	 */
	q->unit_kept = true;
	return (0);
}

static int
pg_begin(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	int r;

	if (q->batch)
		return (pg_unit_begin(q));
	if ((r = pg_ready(q)) != 0)
		return (r);
	walk_forget(q);
	r = pg_begin_once(q);
	/*
	 * A server restart is noticed here first: nothing has been done
	 * in this transaction yet, so reconnecting and beginning again is
	 * safe.
	 */
	if (r != 0 && PQstatus(q->conn) != CONNECTION_OK) {
		q->retry_ms = 0;
		if ((r = pg_ready(q)) != 0)
			return (r);
		r = pg_begin_once(q);
	}
	if (r != 0)
		return (r);
	q->in_tx = true;
	q->tx_err = 0;
	return (0);
}

static void
pg_rollback(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	PGresult *res;

	if (q->batch) {
		pg_unit_rollback(q);
		return;
	}
	walk_forget(q);		/* the cursor ends with the transaction */
	q->in_tx = false;
	q->tx_err = 0;
	if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK ||
	    PQtransactionStatus(q->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(q->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		(void)pg_fail(q, res, "rollback");
	PQclear(res);
}

static int
pg_commit(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	PGresult *res;
	const char *tag;
	int r;

	if (q->batch)
		return (pg_unit_commit(q));
	walk_forget(q);		/* the cursor ends with the transaction */
	if (q->tx_err != 0) {
		r = q->tx_err;
		tk_log(LOG_ERR, "store: transaction with a failed step "
		    "rolled back");
		pg_rollback(s);
		return (r);
	}
	if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK) {
		pg_mark_down(q);
		pg_rollback(s);
		return (TK_ERR_STORE);
	}
	res = PQexec(q->conn, "COMMIT");
	tag = PQcmdStatus(res);
	if (PQresultStatus(res) == PGRES_COMMAND_OK && tag != NULL &&
	    strcmp(tag, "COMMIT") == 0) {
		PQclear(res);
		q->in_tx = false;
		return (0);
	}
	if (PQstatus(q->conn) != CONNECTION_OK) {
		/* invariant 3: maybe stored, maybe not; never retried */
		log_pq(LOG_ERR, "commit outcome unknown (connection lost); "
		    "the request is refused", PQerrorMessage(q->conn));
		pg_mark_down(q);
		r = TK_ERR_STORE;
	} else if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		tk_log(LOG_ERR, "store: the server rolled the transaction "
		    "back (%s)", tag != NULL ? tag : "?");
		r = TK_ERR_STORE;
	} else if (res == NULL ||
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL) {
		/*
		 * libpq's own error, not the server's (which always has a
		 * SQLSTATE): out of memory while sending COMMIT or reading
		 * its answer.  Invariant 3 again: maybe stored, maybe not.
		 */
		log_pq(LOG_ERR, "commit outcome unknown (no answer); the "
		    "request is refused", res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(q->conn));
		r = TK_ERR_STORE;
	} else
		r = pg_fail(q, res, "commit");
	PQclear(res);
	pg_rollback(s);
	return (r);
}

/* group commit (invariant 10) */

static bool
pg_in_batch(tk_store_t *s)
{
	return (pq(s)->batch);
}

static int
pg_batch_begin_once(struct tk_store_pg *q)
{
	PGresult *res;
	int r = 0;

	res = PQexec(q->conn, SQL_BATCH_BEGIN);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = pg_fail(q, res, "begin batch");
		if (PQstatus(q->conn) == CONNECTION_OK &&
		    PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
			PQclear(res);
			res = PQexec(q->conn, "ROLLBACK");
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				(void)pg_fail(q, res, "rollback batch");
		}
	}
	PQclear(res);
	return (r);
}

static int
pg_batch_begin(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	int r;

	if ((r = pg_ready(q)) != 0)
		return (r);
	walk_forget(q);
	r = pg_batch_begin_once(q);
	/* as in pg_begin(): nothing done yet, so a reconnect is safe */
	if (r != 0 && PQstatus(q->conn) != CONNECTION_OK) {
		q->retry_ms = 0;
		if ((r = pg_ready(q)) != 0)
			return (r);
		r = pg_batch_begin_once(q);
	}
	if (r != 0)
		return (r);
	q->batch = true;
	q->batch_err = 0;
	q->unit_kept = false;
	q->in_tx = false;
	q->tx_err = 0;
	return (0);
}

static void
pg_batch_rollback(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);

	q->batch = false;
	q->batch_err = 0;
	q->unit_kept = false;
	q->in_tx = false;
	q->tx_err = 0;
	pg_rollback(s);		/* the whole transaction, if still open */
}

static int
pg_batch_commit(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	int r;

	if (pg_batch_lost(q)) {
		r = q->batch_err;
		pg_batch_rollback(s);
		return (r);
	}
	/*
	 * From here the batch is one plain transaction, committed by the
	 * very COMMIT of a single request: an unknown outcome fails it
	 * (invariant 3), and the server refuses every request of it.
	 */
	q->batch = false;
	q->batch_err = 0;
	q->unit_kept = false;
	q->in_tx = true;
	q->tx_err = 0;
	return (pg_commit(s));
}

/* ---------------------------------------------------------------- */
/* credentials */

static int
cred_fido2_from_row(struct tk_store_pg *q, const PGresult *res, int row,
    struct tk_cred *c)
{
	int64_t flags, count;
	int r;

	if (col_i64(res, row, CC_FLAGS, &flags) != 0 ||
	    col_i64(res, row, CC_SIGN_COUNT, &count) != 0 ||
	    flags < 0 || flags > UINT32_MAX || count < 0 ||
	    count > UINT32_MAX)
		return (pg_corrupt(q, "credentials", "FIDO2 number out of "
		    "range"));
	c->flags = (uint32_t)flags;
	c->sign_count = (uint32_t)count;
	if (col_text(res, row, CC_FMT, c->fmt, TK_SHORT_TEXT_MAX) != 0 ||
	    col_blob(res, row, CC_AAGUID, c->aaguid, sizeof(c->aaguid),
	    NULL, NULL, 0) != 0 ||
	    col_blob(res, row, CC_USER_HANDLE, c->user_handle,
	    sizeof(c->user_handle), NULL, NULL, 0) != 0)
		return (pg_corrupt(q, "credentials", "bad FIDO2 format, "
		    "AAGUID or user handle"));
	if ((r = col_blob(res, row, CC_CRED_ID, NULL, 0, &c->cred_id,
	    &c->cred_id_len, TK_FIDO2_CRED_ID_MAX)) != 0 ||
	    (r = col_blob(res, row, CC_PUBKEY, NULL, 0, &c->pubkey,
	    &c->pubkey_len, TK_FIDO2_PUBKEY_MAX)) != 0)
		return (r == TK_ERR_NOMEM ? r : pg_corrupt(q, "credentials",
		    "bad FIDO2 credential id or public key"));
	return (0);
}

/* fills *c from row `row' of a CRED_COLUMNS result */
static int
cred_from_row(struct tk_store_pg *q, const PGresult *res, int row,
    struct tk_cred *c)
{
	int64_t id, kind, state, alg, key_id, last_step, digits, period;
	int r;

	memset(c, 0, sizeof(*c));
	if (col_i64(res, row, CC_ID, &id) != 0 ||
	    col_i64(res, row, CC_KIND, &kind) != 0 ||
	    col_i64(res, row, CC_STATE, &state) != 0 ||
	    col_i64(res, row, CC_ALGORITHM, &alg) != 0 ||
	    col_i64(res, row, CC_KEY_ID, &key_id) != 0 ||
	    col_i64(res, row, CC_LAST_STEP, &last_step) != 0 ||
	    col_i64(res, row, CC_DIGITS, &digits) != 0 ||
	    col_i64(res, row, CC_PERIOD, &period) != 0 ||
	    col_i64(res, row, CC_CREATED, &c->created) != 0 ||
	    col_i64(res, row, CC_LAST_USED, &c->last_used) != 0 ||
	    col_i64(res, row, CC_EXPIRES, &c->expires) != 0)
		return (pg_corrupt(q, "credentials", "missing number"));
	if (id <= 0 || key_id < 0 || key_id > UINT32_MAX || last_step < 0 ||
	    (kind != TK_CRED_TOTP && kind != TK_CRED_FIDO2) ||
	    state < TK_CRED_PENDING || state > TK_CRED_SUSPENDED ||
	    (state == TK_CRED_SUSPENDED && kind != TK_CRED_FIDO2) ||
	    (kind == TK_CRED_TOTP && ((digits != 6 && digits != 8) ||
	    period <= 0 || period > UINT_MAX ||
	    alg < TK_TOTP_SHA1 || alg > TK_TOTP_SHA512)) ||
	    (kind == TK_CRED_FIDO2 &&
	    (alg < TK_FIDO2_ES256 || alg > TK_FIDO2_RS256))) {
		memset(c, 0, sizeof(*c));
		return (pg_corrupt(q, "credentials", "number out of range"));
	}
	if (col_text(res, row, CC_USER, c->user, TK_USER_MAX) != 0 ||
	    c->user[0] == '\0' ||
	    col_text(res, row, CC_LABEL, c->label, TK_LABEL_MAX) != 0) {
		memset(c, 0, sizeof(*c));
		return (pg_corrupt(q, "credentials", "bad user or label"));
	}
	c->id = (uint64_t)id;
	c->kind = (int)kind;
	c->state = (int)state;
	c->algorithm = (int)alg;
	if (kind == TK_CRED_FIDO2) {
		if ((r = cred_fido2_from_row(q, res, row, c)) != 0) {
			tk_cred_clear(c);
			return (r);
		}
		return (0);	/* a FIDO2 credential holds no secret */
	}
	c->digits = (unsigned)digits;
	c->period = (unsigned)period;
	c->last_step = (uint64_t)last_step;
	c->key_id = (uint32_t)key_id;
	if (PQgetisnull(res, row, CC_SEALED) ||
	    PQgetlength(res, row, CC_SEALED) <= 0)
		return (0);
	if ((r = col_blob(res, row, CC_SEALED, NULL, 0, &c->sealed,
	    &c->sealed_len, TK_STORE_SEALED_MAX)) != 0) {
		memset(c, 0, sizeof(*c));
		return (r == TK_ERR_NOMEM ? r : pg_corrupt(q, "credentials",
		    "sealed secret too long"));
	}
	return (0);
}

static int
pg_cred_insert(tk_store_t *s, struct tk_cred *c)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int64_t id;
	bool fido2 = c->kind == TK_CRED_FIDO2;
	int r;

	pgp_init(&p);
	pgp_text(&p, c->user);
	pgp_i64(&p, c->kind);
	pgp_i64(&p, c->state);
	pgp_text(&p, c->label);
	pgp_i64(&p, c->created);
	pgp_i64(&p, c->last_used);
	pgp_i64(&p, c->expires);
	pgp_i64(&p, c->digits);
	pgp_i64(&p, c->algorithm);
	pgp_i64(&p, c->period);
	pgp_i64(&p, (int64_t)c->last_step);
	pgp_i64(&p, c->key_id);
	pgp_blob(&p, c->sealed, c->sealed_len);
	pgp_blob(&p, fido2 ? c->cred_id : NULL, fido2 ? c->cred_id_len : 0);
	pgp_blob(&p, fido2 ? c->pubkey : NULL, fido2 ? c->pubkey_len : 0);
	pgp_blob(&p, fido2 ? c->aaguid : NULL, sizeof(c->aaguid));
	pgp_text(&p, fido2 ? c->fmt : "");
	pgp_i64(&p, fido2 ? c->flags : 0);
	pgp_i64(&p, fido2 ? c->sign_count : 0);
	pgp_blob(&p, fido2 ? c->user_handle : NULL, sizeof(c->user_handle));
	if ((r = pg_run(q, SQL_CRED_INSERT, &p, "credential insert",
	    &res)) != 0)
		return (r);
	/* the unique index on FIDO2 credential ids (store.h) */
	if (PQntuples(res) == 0 && fido2) {
		PQclear(res);
		tk_log(LOG_NOTICE, "store: FIDO2 credential id already "
		    "registered");
		return (TK_ERR_EXISTS);
	}
	if (PQntuples(res) != 1 || col_i64(res, 0, 0, &id) != 0 || id <= 0) {
		PQclear(res);
		return (pg_corrupt(q, "credentials", "no id assigned"));
	}
	PQclear(res);
	c->id = (uint64_t)id;
	return (0);
}

/* runs a CRED_COLUMNS query and returns its rows as a list */
static int
cred_query(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what, struct tk_cred **listp, size_t *np)
{
	struct tk_cred *list = NULL;
	PGresult *res;
	size_t n = 0;
	int i, rows, r;

	if ((r = pg_run(q, sql, p, what, &res)) != 0)
		return (r);
	rows = PQntuples(res);
	if (rows > 0 && (list = calloc((size_t)rows, sizeof(*list))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < rows; i++) {
		if ((r = cred_from_row(q, res, i, &list[n])) != 0)
			goto fail;
		n++;
	}
	*listp = list;
	*np = n;
	list = NULL;
	n = 0;

	r = 0; /* success */
 fail:
	PQclear(res);
	tk_cred_list_free(&list, n);
	return (r);
}

/* one credential, or TK_ERR_NOTFOUND */
static int
cred_one(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what, struct tk_cred *c)
{
	struct tk_cred *list = NULL;
	size_t n = 0;
	int r;

	if ((r = cred_query(q, sql, p, what, &list, &n)) != 0)
		return (r);
	if (n == 0) {
		free(list);
		return (TK_ERR_NOTFOUND);
	}
	/* ids and FIDO2 credential ids are unique: n is 1 */
	*c = list[0];
	memset(&list[0], 0, sizeof(list[0]));
	tk_cred_list_free(&list, n);
	return (0);
}

static int
pg_cred_get(tk_store_t *s, const char *user, uint64_t id, struct tk_cred *c)
{
	struct pgp p;

	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	pgp_text(&p, user);
	return (cred_one(pq(s), SQL_CRED_GET, &p, "credential get", c));
}

static int
pg_cred_list(tk_store_t *s, const char *user, int kind, bool active_only,
    struct tk_cred **listp, size_t *np)
{
	struct pgp p;
	const char *sql;

	pgp_init(&p);
	if (active_only) {
		sql = SQL_CRED_ACTIVE;
		pgp_text(&p, user);
		pgp_i64(&p, kind);
	} else if (user != NULL) {
		sql = SQL_CRED_LIST_USER;
		pgp_text(&p, user);
	} else
		sql = SQL_CRED_LIST_ALL;
	return (cred_query(pq(s), sql, &p, "credential list", listp, np));
}

static int
pg_cred_page(tk_store_t *s, const char *user, uint64_t offset, size_t max,
    struct tk_cred *page, size_t *np, bool *more)
{
	struct tk_cred *list = NULL;
	struct pgp p;
	size_t i, n = 0;
	int r;

	*np = 0;
	*more = false;
	if (max == 0 || max > INT64_MAX - 1 || offset > INT64_MAX)
		return (TK_ERR_INVAL);
	pgp_init(&p);
	pgp_i64(&p, (int64_t)max + 1);
	pgp_i64(&p, (int64_t)offset);
	if (user != NULL)
		pgp_text(&p, user);
	if ((r = cred_query(pq(s), user != NULL ? SQL_CRED_PAGE_USER :
	    SQL_CRED_PAGE_ALL, &p, "credential page", &list, &n)) != 0)
		return (r);
	/* one row more than the page says whether more follow */
	*more = n > max;
	for (i = 0; i < n && i < max; i++) {
		page[i] = list[i];
		memset(&list[i], 0, sizeof(list[i]));
		tk_cred_clear_secret(&page[i]);
	}
	*np = i;
	tk_cred_list_free(&list, n);
	return (0);
}

static int
pg_cred_pending_due(tk_store_t *s, int64_t now, struct tk_cred **listp,
    size_t *np)
{
	struct pgp p;
	size_t i;
	int r;

	pgp_init(&p);
	pgp_i64(&p, now);
	if ((r = cred_query(pq(s), SQL_CRED_PENDING_DUE, &p,
	    "pending credentials", listp, np)) != 0)
		return (r);
	for (i = 0; i < *np; i++)
		tk_cred_clear_secret(&(*listp)[i]);
	return (0);
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

static int
pg_cred_set_state(tk_store_t *s, const char *user, uint64_t id, int state)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int64_t cur, kind;
	int r;

	/* FOR UPDATE: no other host changes the row until we commit */
	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	pgp_text(&p, user);
	if ((r = pg_run(q, SQL_CRED_STATE, &p, "credential state",
	    &res)) != 0)
		return (r);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (TK_ERR_NOTFOUND);
	}
	if (col_i64(res, 0, 0, &cur) != 0 || col_i64(res, 0, 1, &kind) != 0) {
		PQclear(res);
		return (pg_corrupt(q, "credentials", "bad state"));
	}
	PQclear(res);
	if (cur == state)
		return (0);
	if (!transition_ok((int)kind, (int)cur, state)) {
		tk_log(LOG_ERR, "store: credential %llu: state %lld cannot "
		    "become %d", (unsigned long long)id, (long long)cur, state);
		return (TK_ERR_INVAL);
	}
	pgp_init(&p);
	pgp_i64(&p, state);
	pgp_i64(&p, (int64_t)id);
	pgp_text(&p, user);
	return (pg_exec(q, SQL_CRED_SET_STATE, &p, "credential state change",
	    NULL));
}

static int
pg_cred_set_secret(tk_store_t *s, uint64_t id, uint32_t key_id,
    const unsigned char *sealed, size_t sealed_len)
{
	struct pgp p;
	uint64_t n;
	int r;

	pgp_init(&p);
	pgp_i64(&p, key_id);
	pgp_blob(&p, sealed, sealed_len);
	pgp_i64(&p, (int64_t)id);
	if ((r = pg_exec(pq(s), SQL_CRED_SET_SECRET, &p,
	    "credential secret update", &n)) != 0)
		return (r);
	return (n == 1 ? 0 : TK_ERR_NOTFOUND);
}

static int
pg_cred_revoke_all(tk_store_t *s, const char *user, uint64_t *count)
{
	struct pgp p;

	pgp_init(&p);
	pgp_text(&p, user);
	return (pg_exec(pq(s), SQL_CRED_REVOKE_ALL, &p,
	    "credential revocation", count));
}

static int
pg_cred_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	struct pgp p;

	pgp_init(&p);
	pgp_i64(&p, now);
	return (pg_exec(pq(s), SQL_CRED_EXPIRE, &p, "credential expiry",
	    count));
}

/* 1 when `sql' with p returns a row, 0 when not, or an error */
static int
pg_exists(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what)
{
	PGresult *res;
	int r;

	if ((r = pg_run(q, sql, p, what, &res)) != 0)
		return (r);
	r = PQntuples(res) > 0 ? 1 : 0;
	PQclear(res);
	return (r);
}

/* after a single-use UPDATE that changed nothing: used, or missing */
static int
replay_or_missing(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what)
{
	int r;

	if ((r = pg_exists(q, sql, p, what)) < 0)
		return (r);
	return (r == 1 ? TK_ERR_REPLAY : TK_ERR_NOTFOUND);
}

/* invariant 4 */
static int
pg_totp_accept_step(tk_store_t *s, uint64_t id, uint64_t step, int64_t now)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	uint64_t n;
	int r;

	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	pgp_i64(&p, (int64_t)step);
	pgp_i64(&p, now);
	if ((r = pg_exec(q, SQL_TOTP_ACCEPT, &p, "TOTP step update",
	    &n)) != 0)
		return (r);
	if (n == 1)
		return (0);
	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	return (replay_or_missing(q, SQL_CRED_EXISTS, &p,
	    "credential lookup"));
}

/* ---------------------------------------------------------------- */
/* throttling, statistics, health */

/* FNV-1a: spreads user names over the advisory lock space */
static int32_t
user_lock_key(const char *user)
{
	uint32_t h = 2166136261u;

	for (; *user != '\0'; user++) {
		h ^= (unsigned char)*user;
		h *= 16777619u;
	}
	return ((int32_t)h);
}

static int
throttle_read(struct tk_store_pg *q, const char *sql, const char *user,
    struct tk_throttle *t, bool *found)
{
	struct pgp p;
	PGresult *res;
	int64_t failures, locked;
	int r;

	*found = false;
	pgp_init(&p);
	pgp_text(&p, user);
	if ((r = pg_run(q, sql, &p, "throttle get", &res)) != 0)
		return (r);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (0);
	}
	if (col_i64(res, 0, 0, &failures) != 0 ||
	    col_i64(res, 0, 1, &t->last_failure) != 0 ||
	    col_i64(res, 0, 2, &locked) != 0 ||
	    failures < 0 || failures > UINT32_MAX) {
		PQclear(res);
		return (pg_corrupt(q, "throttle", "failures out of range"));
	}
	PQclear(res);
	t->failures = (uint32_t)failures;
	t->locked = locked != 0;
	*found = true;
	return (0);
}

/*
 * Inside a transaction the row is locked until the commit, so another
 * host's failure count waits instead of being overwritten; a user with
 * no row yet is guarded by an advisory lock on the name first.
 */
static int
pg_throttle_get(tk_store_t *s, const char *user, struct tk_throttle *t)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	bool found;
	int r;

	/* user_ok() in store_core.c bounds the length */
	memcpy(t->user, user, strlen(user) + 1);
	if (!q->in_tx)
		return (throttle_read(q, SQL_THROTTLE_GET, user, t, &found));
	if ((r = throttle_read(q, SQL_THROTTLE_GET_LOCKED, user, t,
	    &found)) != 0 || found)
		return (r);
	pgp_init(&p);
	pgp_i64(&p, TK_PG_LOCK_CLASS_USER);
	pgp_i64(&p, user_lock_key(user));
	if ((r = pg_exec(q, SQL_USER_LOCK, &p, "throttle lock", NULL)) != 0)
		return (r);
	/* a host that held the lock may have inserted the row meanwhile */
	return (throttle_read(q, SQL_THROTTLE_GET_LOCKED, user, t, &found));
}

static int
pg_throttle_put(tk_store_t *s, const struct tk_throttle *t)
{
	struct pgp p;

	pgp_init(&p);
	pgp_text(&p, t->user);
	pgp_i64(&p, t->failures);
	pgp_i64(&p, t->last_failure);
	pgp_i64(&p, t->locked ? 1 : 0);
	return (pg_exec(pq(s), SQL_THROTTLE_PUT, &p, "throttle update",
	    NULL));
}

static int
pg_stats(tk_store_t *s, struct tk_store_stats *out)
{
	struct tk_store_pg *q = pq(s);
	PGresult *res;
	int r;

	if ((r = pg_run(q, SQL_STATS, NULL, "stats", &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || col_count(res, 0, 0, &out->users) != 0 ||
	    col_count(res, 0, 1, &out->creds) != 0 ||
	    col_count(res, 0, 2, &out->locked_users) != 0) {
		PQclear(res);
		memset(out, 0, sizeof(*out));
		return (pg_corrupt(q, "stats", "bad count"));
	}
	PQclear(res);
	return (0);
}

/* the server answers, is writable, and still holds our schema */
static int
pg_ping(tk_store_t *s)
{
	struct tk_store_pg *q = pq(s);
	PGresult *res;
	int64_t v;
	int r;

	if ((r = pg_run(q, SQL_SCHEMA_VERSION, NULL, "ping", &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || col_i64(res, 0, 0, &v) != 0) {
		PQclear(res);
		return (pg_corrupt(q, "tokend_schema", "no version"));
	}
	PQclear(res);
	if (v != TK_PG_SCHEMA) {
		tk_log(LOG_ERR, "store: schema version changed to %lld",
		    (long long)v);
		return (TK_ERR_VERSION);
	}
	return (0);
}

/* ---------------------------------------------------------------- */
/* audit rows (the chain itself is store_audit.c) */

/*
 * seq and MAC from columns `cseq' and `cseq' + 1 of `row'; both NULL
 * (a scalar subquery that found no row) reads as *seq = 0
 */
static int
row_seq_mac(struct tk_store_pg *q, const PGresult *res, int row, int cseq,
    const char *table, uint64_t *seq, unsigned char mac[TK_STORE_MAC_BYTES])
{
	int64_t v;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	if (PQgetisnull(res, row, cseq) && PQgetisnull(res, row, cseq + 1))
		return (0);
	if (col_i64(res, row, cseq, &v) != 0 || v <= 0 ||
	    col_blob(res, row, cseq + 1, mac, TK_STORE_MAC_BYTES, NULL, NULL,
	    0) != 0) {
		memset(mac, 0, TK_STORE_MAC_BYTES);
		return (pg_corrupt(q, table, "bad seq or MAC"));
	}
	*seq = (uint64_t)v;
	return (0);
}

/* seq and MAC of the first row of `sql''s result; *seq = 0: no row */
static int
seq_mac(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *table, uint64_t *seq, unsigned char mac[TK_STORE_MAC_BYTES])
{
	PGresult *res;
	int r;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	if ((r = pg_run(q, sql, p, table, &res)) != 0)
		return (r);
	r = PQntuples(res) == 0 ? 0 :
	    row_seq_mac(q, res, 0, 0, table, seq, mac);
	PQclear(res);
	return (r);
}

/* the anchor as the prune and the chain head read it (under the lock) */
static int
pg_audit_anchor(tk_store_t *s, uint64_t *seq,
    unsigned char mac[TK_STORE_MAC_BYTES])
{
	return (seq_mac(pq(s), SQL_AUDIT_ANCHOR, NULL, "audit_anchor", seq,
	    mac));
}

/*
 * Invariant 9: the verify's anchor and walk, through one cursor.
 *
 * walk_sql runs one statement of the verify (binary results) without
 * pg_run()'s reconnect, which would end the walk's own transaction.
 */
static int
walk_sql(struct tk_store_pg *q, const char *sql, const char *what,
    PGresult **resp)
{
	PGresult *res;
	ExecStatusType st;
	int r;

	if (resp != NULL)
		*resp = NULL;
	if (q->conn == NULL || PQstatus(q->conn) != CONNECTION_OK) {
		pg_mark_down(q);
		pg_tx_error(q, TK_ERR_STORE);
		return (TK_ERR_STORE);
	}
	res = pg_exec_params(q, sql, NULL);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = pg_fail(q, res, what);
		PQclear(res);
		return (r);
	}
	if (resp != NULL)
		*resp = res;
	else
		PQclear(res);
	return (0);
}

/* the end of a transaction closed the cursor: only the state goes */
static void
walk_forget(struct tk_store_pg *q)
{
	PQclear(q->walk_res);
	q->walk_res = NULL;
	q->walk_open = false;
	q->walk_tx = false;
}

/* closes the cursor, or ends the walk's own read-only transaction */
static int
walk_end(struct tk_store_pg *q)
{
	PGresult *res;
	bool open = q->walk_open, own = q->walk_tx;
	int r = 0;

	walk_forget(q);
	if (own) {
		if (q->conn != NULL && PQstatus(q->conn) == CONNECTION_OK &&
		    PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
			res = PQexec(q->conn, "ROLLBACK");
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				r = pg_fail(q, res, "audit verify end");
			PQclear(res);
		}
	} else if (open && q->in_tx && q->tx_err == 0)
		r = walk_sql(q, SQL_AUDIT_VERIFY_CLOSE, "audit verify end",
		    NULL);
	return (r);
}

/*
 * ops->audit_anchor (store_audit.c's verify reads it, then walks):
 * declares the verify cursor, whose snapshot holds both, and reads the
 * anchor from its first batch, which pg_audit_walk() then walks first.
 * Outside a transaction the cursor lives in a REPEATABLE READ READ ONLY
 * transaction of its own, ended by the walk (or by the next use of the
 * connection: pg_ready()).
 */
static int
pg_audit_verify_anchor(tk_store_t *s, uint64_t *seq,
    unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct tk_store_pg *q = pq(s);
	PGresult *res = NULL;
	int r;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	if (q->batch && !q->in_tx) {
		/* its own transaction would end the batch's */
		tk_log(LOG_ERR, "store: audit verify inside a batch refused");
		return (TK_ERR_INVAL);
	}
	if (q->walk_open || q->walk_tx)
		(void)walk_end(q);	/* a verify that did not walk */
	if (q->in_tx) {
		if (q->tx_err != 0)
			return (q->tx_err);
	} else {
		if ((r = pg_ready(q)) != 0)
			return (r);
		if ((r = walk_sql(q, SQL_AUDIT_VERIFY_BEGIN,
		    "audit verify begin", NULL)) != 0)
			return (r);
		q->walk_tx = true;
	}
	if ((r = walk_sql(q, SQL_AUDIT_VERIFY_CURSOR, "audit verify",
	    NULL)) != 0)
		goto fail;
	q->walk_open = true;
	if ((r = walk_sql(q, SQL_AUDIT_VERIFY_FETCH, "audit verify",
	    &res)) != 0)
		goto fail;
	if (PQntuples(res) == 0) {
		/* no row to verify: the anchor only has to be readable */
		PQclear(res);
		res = NULL;
		if ((r = walk_sql(q, SQL_AUDIT_ANCHOR, "audit_anchor",
		    &res)) != 0)
			goto fail;
		r = PQntuples(res) == 0 ? 0 :
		    row_seq_mac(q, res, 0, 0, "audit_anchor", seq, mac);
		PQclear(res);
		if (r != 0)
			goto fail;
		return (0);	/* the walk finds the cursor at its end */
	}
	if (PQnfields(res) != AC_ANCHOR_MAC + 1) {
		r = pg_corrupt(q, "audit", "unexpected columns");
		goto fail;
	}
	if ((r = row_seq_mac(q, res, 0, AC_ANCHOR_SEQ, "audit_anchor", seq,
	    mac)) != 0)
		goto fail;
	q->walk_res = res;
	return (0);
fail:
	PQclear(res);
	(void)walk_end(q);
	return (r);
}

/* invariant 5: the head is read under the audit lock (in a transaction) */
static int
pg_audit_last(tk_store_t *s, uint64_t *seq,
    unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct tk_store_pg *q = pq(s);
	int r;

	*seq = 0;
	memset(mac, 0, TK_STORE_MAC_BYTES);
	/* a batch holds the lock since its BEGIN (invariant 10) */
	if (q->in_tx && !q->batch && (r = pg_exec(q, SQL_AUDIT_LOCK, NULL,
	    "audit lock", NULL)) != 0)
		return (r);
	if ((r = seq_mac(q, SQL_AUDIT_LAST, NULL, "audit", seq, mac)) != 0)
		return (r);
	if (*seq != 0)
		return (0);
	/* no row left after a prune: the chain goes on from the anchor */
	return (pg_audit_anchor(s, seq, mac));
}

static int
pg_audit_insert(tk_store_t *s, uint64_t seq, const struct tk_audit_event *ev,
    const unsigned char mac[TK_STORE_MAC_BYTES])
{
	struct pgp p;

	/* texts are non-NULL here (store_audit.c, invariant 2 there) */
	pgp_init(&p);
	pgp_i64(&p, (int64_t)seq);
	pgp_i64(&p, ev->time);
	pgp_text(&p, ev->host);
	pgp_text(&p, ev->event);
	pgp_text(&p, ev->user);
	pgp_i64(&p, (int64_t)ev->cred);
	pgp_text(&p, ev->service);
	pgp_text(&p, ev->rhost);
	pgp_text(&p, ev->tty);
	pgp_i64(&p, ev->uid);
	pgp_i64(&p, ev->pid);
	pgp_text(&p, ev->result);
	pgp_text(&p, ev->reason);
	pgp_blob(&p, mac, TK_STORE_MAC_BYTES);
	return (pg_exec(pq(s), SQL_AUDIT_INSERT, &p, "audit insert", NULL));
}

/* a text column exactly as stored; false if it holds a NUL or is NULL */
static bool
walk_text(const PGresult *res, int row, int col, const char **out)
{
	const char *t;
	int n;

	*out = "";
	if (PQgetisnull(res, row, col))
		return (false);
	t = PQgetvalue(res, row, col);
	n = PQgetlength(res, row, col);
	*out = t;
	return (n >= 0 && strlen(t) == (size_t)n);
}

/* one row of SQL_AUDIT_WALK (or of the verify cursor) to the callback */
static int
walk_row(const PGresult *res, int row, tk_store_audit_fn_t *fn, void *arg)
{
	struct tk_audit_event ev;
	const unsigned char *mac;
	int64_t seq, cred;
	size_t mac_len;
	bool exact;

	memset(&ev, 0, sizeof(ev));
	exact = col_i64(res, row, AC_SEQ, &seq) == 0;
	exact = col_i64(res, row, AC_CRED, &cred) == 0 && exact;
	exact = col_i64(res, row, AC_TIME, &ev.time) == 0 && exact;
	exact = col_i64(res, row, AC_UID, &ev.uid) == 0 && exact;
	exact = col_i64(res, row, AC_PID, &ev.pid) == 0 && exact;
	ev.cred = (uint64_t)cred;
	/* all eight texts are read, whatever the first ones hold */
	exact = walk_text(res, row, AC_HOST, &ev.host) && exact;
	exact = walk_text(res, row, AC_EVENT, &ev.event) && exact;
	exact = walk_text(res, row, AC_USER, &ev.user) && exact;
	exact = walk_text(res, row, AC_SERVICE, &ev.service) && exact;
	exact = walk_text(res, row, AC_RHOST, &ev.rhost) && exact;
	exact = walk_text(res, row, AC_TTY, &ev.tty) && exact;
	exact = walk_text(res, row, AC_RESULT, &ev.result) && exact;
	exact = walk_text(res, row, AC_REASON, &ev.reason) && exact;
	mac = (const unsigned char *)PQgetvalue(res, row, AC_MAC);
	mac_len = PQgetisnull(res, row, AC_MAC) ? 0 :
	    (size_t)PQgetlength(res, row, AC_MAC);
	/* a row that cannot be read exactly cannot verify */
	if (!exact || seq <= 0 || cred < 0)
		mac_len = 0;
	return (fn(arg, seq > 0 ? (uint64_t)seq : 0, &ev, mac, mac_len));
}

/*
 * Streams the chain in sequence order (single-row mode: a long chain is
 * never held in memory at once).  One statement: one consistent
 * snapshot.  After pg_audit_verify_anchor(): the rest of its cursor, in
 * batches, in the anchor's snapshot (invariant 9).
 */
static int
pg_audit_walk(tk_store_t *s, tk_store_audit_fn_t *fn, void *arg)
{
	struct tk_store_pg *q = pq(s);
	PGresult *res;
	ExecStatusType st;
	int r = 0, rf, i, n;

	if (q->walk_open) {
		res = q->walk_res;
		q->walk_res = NULL;
		for (;;) {
			if (res == NULL && (r = walk_sql(q,
			    SQL_AUDIT_VERIFY_FETCH, "audit walk", &res)) != 0)
				break;
			n = PQntuples(res);
			for (i = 0; i < n && r == 0; i++)
				r = walk_row(res, i, fn, arg);
			PQclear(res);
			res = NULL;
			if (r != 0 || n == 0)
				break;
		}
		rf = walk_end(q);
		return (r != 0 ? r : rf);
	}
	if (q->batch && !q->in_tx) {
		tk_log(LOG_ERR, "store: audit walk inside a batch refused");
		return (TK_ERR_INVAL);
	}
	if (q->in_tx) {
		if (q->tx_err != 0)
			return (q->tx_err);
	} else if ((r = pg_ready(q)) != 0)
		return (r);
	if (!PQsendQueryParams(q->conn, SQL_AUDIT_WALK, 0, NULL, NULL, NULL,
	    NULL, 1) || !PQsetSingleRowMode(q->conn))
		return (pg_fail(q, NULL, "audit walk"));
	/* every result is read, even after an error, to free the line */
	while ((res = PQgetResult(q->conn)) != NULL) {
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			if (r == 0 && (rf = walk_row(res, 0, fn, arg)) != 0)
				r = rf;
		} else if (st != PGRES_TUPLES_OK && r == 0)
			r = pg_fail(q, res, "audit walk");
		PQclear(res);
	}
	return (r);
}

/* copies a text column into out[max + 1], cut at max bytes or a NUL */
static void
row_text(const PGresult *res, int row, int col, char *out, size_t max)
{
	const char *t;
	size_t len;
	int n;

	out[0] = '\0';
	if (PQgetisnull(res, row, col))
		return;
	t = PQgetvalue(res, row, col);
	n = PQgetlength(res, row, col);
	if (n <= 0)
		return;
	len = (size_t)n < max ? (size_t)n : max;
	len = strnlen(t, len);
	memcpy(out, t, len);
	out[len] = '\0';
}

static int
pg_audit_read(tk_store_t *s, const struct tk_audit_filter *f,
    struct tk_audit_row *rows, size_t max, size_t *np, bool *more)
{
	struct tk_store_pg *q = pq(s);
	struct tk_audit_row *w;
	struct pgp p;
	PGresult *res;
	int64_t seq, cred;
	int i, n, r;

	/* one row more than asked for says whether more follow */
	pgp_init(&p);
	pgp_i64(&p, (int64_t)f->after);
	pgp_i64(&p, f->since);
	pgp_i64(&p, f->until);
	pgp_text(&p, f->user);
	pgp_i64(&p, (int64_t)max + 1);
	if ((r = pg_run(q, SQL_AUDIT_READ, &p, "audit read", &res)) != 0)
		return (r);
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if ((size_t)i == max) {
			*more = true;
			break;
		}
		w = &rows[i];
		memset(w, 0, sizeof(*w));
		(void)col_i64(res, i, AC_SEQ, &seq);
		(void)col_i64(res, i, AC_CRED, &cred);
		(void)col_i64(res, i, AC_TIME, &w->time);
		(void)col_i64(res, i, AC_UID, &w->uid);
		(void)col_i64(res, i, AC_PID, &w->pid);
		w->seq = seq > 0 ? (uint64_t)seq : 0;
		w->cred = cred > 0 ? (uint64_t)cred : 0;
		row_text(res, i, AC_HOST, w->host, sizeof(w->host) - 1);
		row_text(res, i, AC_EVENT, w->event, sizeof(w->event) - 1);
		row_text(res, i, AC_USER, w->user, sizeof(w->user) - 1);
		row_text(res, i, AC_SERVICE, w->service,
		    sizeof(w->service) - 1);
		row_text(res, i, AC_RHOST, w->rhost, sizeof(w->rhost) - 1);
		row_text(res, i, AC_TTY, w->tty, sizeof(w->tty) - 1);
		row_text(res, i, AC_RESULT, w->result, sizeof(w->result) - 1);
		row_text(res, i, AC_REASON, w->reason, sizeof(w->reason) - 1);
	}
	*np = (size_t)i;
	PQclear(res);
	return (0);
}

/*
 * Retention: under the audit lock, removes the oldest run of rows older
 * than `before' and keeps the last removed row as the anchor.
 */
static int
pg_audit_prune(tk_store_t *s, int64_t before, uint64_t *count,
    uint64_t *anchor_seq)
{
	struct tk_store_pg *q = pq(s);
	unsigned char mac[TK_STORE_MAC_BYTES];
	struct pgp p;
	uint64_t last, n;
	int r;

	*count = 0;
	*anchor_seq = 0;
	if ((r = pg_exec(q, SQL_AUDIT_LOCK, NULL, "audit lock", NULL)) != 0)
		return (r);
	pgp_init(&p);
	pgp_i64(&p, before);
	if ((r = seq_mac(q, SQL_AUDIT_PRUNE_LAST, &p, "audit", &last,
	    mac)) != 0)
		return (r);
	if (last == 0)		/* nothing to remove: the anchor stays */
		return (pg_audit_anchor(s, anchor_seq, mac));
	pgp_init(&p);
	pgp_i64(&p, (int64_t)last);
	if ((r = pg_exec(q, SQL_AUDIT_PRUNE_DELETE, &p, "audit prune",
	    &n)) != 0)
		return (r);
	pgp_init(&p);
	pgp_i64(&p, (int64_t)last);
	pgp_blob(&p, mac, sizeof(mac));
	pgp_i64(&p, (int64_t)time(NULL));
	if ((r = pg_exec(q, SQL_AUDIT_ANCHOR_PUT, &p, "audit anchor",
	    NULL)) != 0)
		return (r);
	*count = n;
	*anchor_seq = last;
	return (0);
}

/* ---------------------------------------------------------------- */
/* recovery codes */

static int
pg_recovery_replace(tk_store_t *s, const char *user,
    const unsigned char (*hashes)[TK_RECOVERY_HASH_BYTES], size_t n,
    int64_t now)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	size_t i;
	int r;

	pgp_init(&p);
	pgp_text(&p, user);
	if ((r = pg_exec(q, SQL_RECOVERY_DELETE, &p, "recovery code delete",
	    NULL)) != 0)
		return (r);
	for (i = 0; i < n; i++) {
		pgp_init(&p);
		pgp_text(&p, user);
		pgp_blob(&p, hashes[i], TK_RECOVERY_HASH_BYTES);
		pgp_i64(&p, now);
		if ((r = pg_exec(q, SQL_RECOVERY_INSERT, &p,
		    "recovery code insert", NULL)) != 0)
			return (r);
	}
	return (0);
}

static int
pg_recovery_unused(tk_store_t *s, const char *user,
    struct tk_recovery **listp, size_t *np)
{
	struct tk_store_pg *q = pq(s);
	struct tk_recovery *list = NULL;
	struct pgp p;
	PGresult *res;
	int64_t id;
	int i, rows, r;

	pgp_init(&p);
	pgp_text(&p, user);
	if ((r = pg_run(q, SQL_RECOVERY_UNUSED, &p, "recovery code list",
	    &res)) != 0)
		return (r);
	rows = PQntuples(res);
	if (rows > 0 && (list = calloc((size_t)rows, sizeof(*list))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < rows; i++) {
		if (col_i64(res, i, 0, &id) != 0 || id <= 0 ||
		    col_blob(res, i, 1, list[i].hash, TK_RECOVERY_HASH_BYTES,
		    NULL, NULL, 0) != 0) {
			r = pg_corrupt(q, "recovery_codes", "bad id or hash");
			goto fail;
		}
		list[i].id = (uint64_t)id;
	}
	*listp = list;
	*np = (size_t)rows;
	list = NULL;

	r = 0; /* success */
 fail:
	PQclear(res);
	free(list);
	return (r);
}

static int
pg_recovery_use(tk_store_t *s, uint64_t id, int64_t now)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	uint64_t n;
	int r;

	pgp_init(&p);
	pgp_i64(&p, now);
	pgp_i64(&p, (int64_t)id);
	if ((r = pg_exec(q, SQL_RECOVERY_USE, &p, "recovery code use",
	    &n)) != 0)
		return (r);
	if (n == 1)
		return (0);
	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	return (replay_or_missing(q, SQL_RECOVERY_EXISTS, &p,
	    "recovery code lookup"));
}

static int
pg_recovery_count(tk_store_t *s, const char *user, uint64_t *n)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int r;

	pgp_init(&p);
	pgp_text(&p, user);
	if ((r = pg_run(q, SQL_RECOVERY_COUNT, &p, "recovery code count",
	    &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || col_count(res, 0, 0, n) != 0)
		r = pg_corrupt(q, "recovery_codes", "bad count");
	PQclear(res);
	return (r);
}

/* ---------------------------------------------------------------- */
/* emergency grants */

static int
grant_from_row(struct tk_store_pg *q, const PGresult *res, int row,
    struct tk_grant *g)
{
	int64_t id, state;

	memset(g, 0, sizeof(*g));
	if (col_i64(res, row, GC_ID, &id) != 0 ||
	    col_i64(res, row, GC_STATE, &state) != 0 ||
	    col_i64(res, row, GC_CREATED, &g->created) != 0 ||
	    col_i64(res, row, GC_EXPIRES, &g->expires) != 0 ||
	    col_i64(res, row, GC_GRANTED_BY, &g->granted_by) != 0 ||
	    id <= 0 || state < TK_GRANT_ACTIVE || state > TK_GRANT_REVOKED)
		return (pg_corrupt(q, "grants", "number out of range"));
	if (col_text(res, row, GC_USER, g->user, TK_USER_MAX) != 0 ||
	    g->user[0] == '\0' ||
	    col_text(res, row, GC_REASON, g->reason, TK_REASON_MAX) != 0)
		return (pg_corrupt(q, "grants", "bad user or reason"));
	g->id = (uint64_t)id;
	g->state = (int)state;
	return (0);
}

static int
pg_grant_insert(tk_store_t *s, struct tk_grant *g)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int64_t id;
	int r;

	/* a new grant replaces the active one (grants_active index) */
	pgp_init(&p);
	pgp_text(&p, g->user);
	if ((r = pg_exec(q, SQL_GRANT_END_USER, &p, "grant replace",
	    NULL)) != 0)
		return (r);
	pgp_init(&p);
	pgp_text(&p, g->user);
	pgp_i64(&p, g->created);
	pgp_i64(&p, g->expires);
	pgp_i64(&p, g->granted_by);
	pgp_text(&p, g->reason);
	if ((r = pg_run(q, SQL_GRANT_INSERT, &p, "grant insert", &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || col_i64(res, 0, 0, &id) != 0 || id <= 0) {
		PQclear(res);
		return (pg_corrupt(q, "grants", "no id assigned"));
	}
	PQclear(res);
	g->id = (uint64_t)id;
	return (0);
}

static int
grant_query(struct tk_store_pg *q, const char *sql, const struct pgp *p,
    const char *what, struct tk_grant **listp, size_t *np)
{
	struct tk_grant *list = NULL;
	PGresult *res;
	int i, rows, r;

	if ((r = pg_run(q, sql, p, what, &res)) != 0)
		return (r);
	rows = PQntuples(res);
	if (rows > 0 && (list = calloc((size_t)rows, sizeof(*list))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < rows; i++)
		if ((r = grant_from_row(q, res, i, &list[i])) != 0)
			goto fail;
	*listp = list;
	*np = (size_t)rows;
	list = NULL;

	r = 0; /* success */
 fail:
	PQclear(res);
	free(list);
	return (r);
}

static int
pg_grant_active(tk_store_t *s, const char *user, struct tk_grant *g)
{
	struct tk_grant *list = NULL;
	struct pgp p;
	size_t n = 0;
	int r;

	pgp_init(&p);
	pgp_text(&p, user);
	if ((r = grant_query(pq(s), SQL_GRANT_ACTIVE, &p, "grant get", &list,
	    &n)) != 0)
		return (r);
	if (n == 0)
		r = TK_ERR_NOTFOUND;
	else
		*g = list[0];	/* grants_active: at most one */
	free(list);
	return (r);
}

static int
pg_grant_list(tk_store_t *s, const char *user, int64_t due_before,
    struct tk_grant **listp, size_t *np)
{
	struct pgp p;

	pgp_init(&p);
	pgp_i64(&p, due_before);
	pgp_text(&p, user);
	return (grant_query(pq(s), SQL_GRANT_LIST, &p, "grant list", listp,
	    np));
}

static int
pg_grant_end(tk_store_t *s, uint64_t id, int state)
{
	struct pgp p;
	uint64_t n;
	int r;

	pgp_init(&p);
	pgp_i64(&p, state);
	pgp_i64(&p, (int64_t)id);
	if ((r = pg_exec(pq(s), SQL_GRANT_END, &p, "grant end", &n)) != 0)
		return (r);
	return (n == 1 ? 0 : TK_ERR_NOTFOUND);
}

/* ---------------------------------------------------------------- */
/* backup: PostgreSQL's own tools do it */

static int
pg_backup(tk_store_t *s, const char *path)
{
	(void)s;
	(void)path;
	tk_log(LOG_ERR, "store: tokenadm backup copies only a SQLite store; "
	    "back up a PostgreSQL store with pg_dump or continuous "
	    "archiving (see deployment.md)");
	return (TK_ERR_STORE);
}

/* ---------------------------------------------------------------- */
/* FIDO2 */

static int
pg_fido2_find(tk_store_t *s, const unsigned char *cred_id,
    size_t cred_id_len, struct tk_cred *c)
{
	struct pgp p;

	pgp_init(&p);
	pgp_blob(&p, cred_id, cred_id_len);
	return (cred_one(pq(s), SQL_FIDO2_FIND, &p, "FIDO2 credential find",
	    c));
}

/* invariant 4 */
static int
pg_fido2_accept_count(tk_store_t *s, uint64_t id, uint32_t count,
    int64_t now)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	uint64_t n;
	int r;

	pgp_init(&p);
	pgp_i64(&p, count);
	pgp_i64(&p, now);
	pgp_i64(&p, (int64_t)id);
	if ((r = pg_exec(q, SQL_FIDO2_ACCEPT, &p, "FIDO2 counter update",
	    &n)) != 0)
		return (r);
	if (n == 1)
		return (0);
	/* nothing changed: a counter that did not grow, or no such key */
	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	return (replay_or_missing(q, SQL_FIDO2_ACTIVE, &p,
	    "FIDO2 credential lookup"));
}

static int
pg_challenge_insert(tk_store_t *s, struct tk_challenge *ch)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int64_t id;
	int r;

	pgp_init(&p);
	pgp_text(&p, ch->user);
	pgp_i64(&p, ch->purpose);
	pgp_blob(&p, ch->challenge, sizeof(ch->challenge));
	pgp_blob(&p, ch->user_handle, sizeof(ch->user_handle));
	pgp_i64(&p, ch->uv);
	pgp_text(&p, ch->label);
	pgp_i64(&p, ch->created);
	pgp_i64(&p, ch->expires);
	if ((r = pg_run(q, SQL_CHALLENGE_INSERT, &p, "challenge insert",
	    &res)) != 0)
		return (r);
	if (PQntuples(res) != 1 || col_i64(res, 0, 0, &id) != 0 || id <= 0) {
		PQclear(res);
		return (pg_corrupt(q, "challenges", "no id assigned"));
	}
	PQclear(res);
	ch->id = (uint64_t)id;
	return (0);
}

static int
challenge_from_row(struct tk_store_pg *q, const PGresult *res,
    struct tk_challenge *ch)
{
	int64_t id, purpose, uv;

	memset(ch, 0, sizeof(*ch));
	if (col_i64(res, 0, HC_ID, &id) != 0 ||
	    col_i64(res, 0, HC_PURPOSE, &purpose) != 0 ||
	    col_i64(res, 0, HC_UV, &uv) != 0 ||
	    col_i64(res, 0, HC_CREATED, &ch->created) != 0 ||
	    col_i64(res, 0, HC_EXPIRES, &ch->expires) != 0 || id <= 0 ||
	    (purpose != TK_CHALLENGE_LOGIN && purpose != TK_CHALLENGE_ENROLL) ||
	    uv < TK_UV_REQUIRED || uv > TK_UV_DISCOURAGED)
		return (pg_corrupt(q, "challenges", "number out of range"));
	if (col_text(res, 0, HC_USER, ch->user, TK_USER_MAX) != 0 ||
	    ch->user[0] == '\0' ||
	    col_text(res, 0, HC_LABEL, ch->label, TK_LABEL_MAX) != 0 ||
	    col_blob(res, 0, HC_CHALLENGE, ch->challenge,
	    sizeof(ch->challenge), NULL, NULL, 0) != 0 ||
	    col_blob(res, 0, HC_USER_HANDLE, ch->user_handle,
	    sizeof(ch->user_handle), NULL, NULL, 0) != 0) {
		memset(ch, 0, sizeof(*ch));
		return (pg_corrupt(q, "challenges", "bad text or bytes"));
	}
	ch->id = (uint64_t)id;
	ch->purpose = (int)purpose;
	ch->uv = (int)uv;
	return (0);
}

/* invariant 4: burnt and read back by one statement */
static int
pg_challenge_take(tk_store_t *s, uint64_t id, int purpose,
    struct tk_challenge *ch)
{
	struct tk_store_pg *q = pq(s);
	struct pgp p;
	PGresult *res;
	int r;

	pgp_init(&p);
	pgp_i64(&p, (int64_t)id);
	pgp_i64(&p, purpose);
	if ((r = pg_run(q, SQL_CHALLENGE_TAKE, &p, "challenge take",
	    &res)) != 0)
		return (r);
	if (PQntuples(res) == 1) {
		r = challenge_from_row(q, res, ch);
		PQclear(res);
		return (r);
	}
	PQclear(res);
	return (replay_or_missing(q, SQL_CHALLENGE_EXISTS, &p,
	    "challenge lookup"));
}

static int
pg_challenge_expire(tk_store_t *s, int64_t now, uint64_t *count)
{
	struct pgp p;

	pgp_init(&p);
	pgp_i64(&p, now);
	return (pg_exec(pq(s), SQL_CHALLENGE_EXPIRE, &p, "challenge expiry",
	    count));
}

static const struct tk_store_ops tk_pg_ops = {
	.kind = "postgresql",
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.cred_insert = pg_cred_insert,
	.cred_get = pg_cred_get,
	.cred_list = pg_cred_list,
	.cred_set_state = pg_cred_set_state,
	.cred_set_secret = pg_cred_set_secret,
	.cred_revoke_all = pg_cred_revoke_all,
	.cred_expire = pg_cred_expire,
	.totp_accept_step = pg_totp_accept_step,
	.throttle_get = pg_throttle_get,
	.throttle_put = pg_throttle_put,
	.stats = pg_stats,
	.ping = pg_ping,
	.in_transaction = pg_in_transaction,
	.audit_last = pg_audit_last,
	.audit_insert = pg_audit_insert,
	.audit_walk = pg_audit_walk,
	.audit_read = pg_audit_read,
	.recovery_replace = pg_recovery_replace,
	.recovery_unused = pg_recovery_unused,
	.recovery_use = pg_recovery_use,
	.recovery_count = pg_recovery_count,
	.grant_insert = pg_grant_insert,
	.grant_active = pg_grant_active,
	.grant_list = pg_grant_list,
	.grant_end = pg_grant_end,
	.backup = pg_backup,
	.fido2_find = pg_fido2_find,
	.fido2_accept_count = pg_fido2_accept_count,
	.challenge_insert = pg_challenge_insert,
	.challenge_take = pg_challenge_take,
	.challenge_expire = pg_challenge_expire,
	.audit_anchor = pg_audit_verify_anchor,
	.audit_prune = pg_audit_prune,
	.batch_begin = pg_batch_begin,
	.batch_commit = pg_batch_commit,
	.batch_rollback = pg_batch_rollback,
	.in_batch = pg_in_batch,
	.cred_page = pg_cred_page,
	.cred_pending_due = pg_cred_pending_due,
};
