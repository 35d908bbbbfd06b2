/*
 * test_store_pg.c -- the store contract of store.h, written against the
 * public interface only, so that one program checks every backend:
 * PostgreSQL when TK_TEST_STORE_URL names a server (tests/pg/store.sh
 * starts a real one), SQLite in a temporary directory otherwise.
 *
 * Covered: transactions (rollback, a failed step blocks the commit),
 * group commit (a batch's requests each a unit: one rolled back or
 * failed loses only its own changes and audit row, nothing is visible
 * before the batch commit nor after an abort, one step accepted once
 * by racing batches), credentials (insert, get, list order, states,
 * secrets, revocation, expiry, pages, the pending sweep), the replay
 * check, FIDO2 credentials (unique ids, the counter rule,
 * suspension), challenges (taken once), throttling, statistics, the
 * audit chain (append, verify, tampering, read filters, prune and
 * anchor), recovery codes, grants, and -- with several processes,
 * each with its own connection -- the decisions that must stay atomic
 * when several tokend hosts share one store: one step accepted once,
 * one challenge burnt once, one counter raised once, no failure lost,
 * one unforked audit chain.  Against PostgreSQL also: schema creation
 * and versions, a role that may not create the schema, a connection
 * killed between transactions (reconnect) and inside one (refused,
 * nothing stored), a batch whose COMMIT fails (refused by the server,
 * or the connection lost before it or between two requests, or a
 * failed read between requests: nothing stored), and a batch that
 * meets another host's lock while that host waits for the audit lock:
 * the request is refused at once instead of deadlocking (store_pg.c,
 * invariant 10).  Tampering is done with SQL directly, as an attacker
 * with write access to the database would.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "err.h"
#include "log.h"
#include "seal.h"
#include "store.h"
#include "../store/testdir.h"

#define T0		1700000000	/* a fixed "now", UNIX time */
#define RACERS		12	/* processes racing for one decision */
#define ROUNDS		10	/* races of each kind */
#define WRITERS		4	/* processes writing concurrently */
#define WRITES		25	/* writes of each */
#define PG_ONLY		5	/* cases at the end of main()'s list */

struct fx {
	char		 dir[TK_TESTDIR_PATH_MAX];
	char		 db[TK_TESTDIR_PATH_MAX];
	const char	*url;		/* PostgreSQL, or NULL: SQLite */
	unsigned char	 key[TK_AUDIT_KEY_BYTES];
	tk_store_t	*s;
};

static const char *store_url;	/* TK_TEST_STORE_URL */

/* ---------------------------------------------------------------- */
/* raw SQL on the backend, outside the store (the tests' "attacker") */

#ifdef HAVE_LIBPQ
static PGconn *
raw_pg(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		print_error("connect: %s", PQerrorMessage(c));
		fail();
	}
	return (c);
}
#endif

static void
raw_exec(struct fx *f, const char *sql)
{
	if (f->url != NULL) {
#ifdef HAVE_LIBPQ
		PGconn *c = raw_pg(f->url);
		PGresult *res = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(res);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			print_error("%s: %s", sql, PQresultErrorMessage(res));
			PQclear(res);
			PQfinish(c);
			fail();
		}
		PQclear(res);
		PQfinish(c);
		return;
#else
		fail();
#endif
	} else {
		sqlite3 *db = NULL;
		char *msg = NULL;

		assert_int_equal(sqlite3_open_v2(f->db, &db,
		    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			print_error("%s: %s\n", sql, msg != NULL ? msg : "?");
			sqlite3_free(msg);
			sqlite3_close(db);
			fail();
		}
		sqlite3_close(db);
	}
}

/* the integer in the first column of the first row of `sql' */
static long long
raw_int(struct fx *f, const char *sql)
{
	long long v = 0;

	if (f->url != NULL) {
#ifdef HAVE_LIBPQ
		PGconn *c = raw_pg(f->url);
		PGresult *res = PQexec(c, sql);

		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		assert_int_equal(PQntuples(res), 1);
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(c);
#else
		fail();
#endif
	} else {
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open_v2(f->db, &db,
		    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return (v);
}

/* ---------------------------------------------------------------- */

static int
open_store(struct fx *f, tk_store_t **sp)
{
	if (f->url != NULL) {
#ifdef HAVE_LIBPQ
		return (tk_store_open_pg(f->url, f->key, sizeof(f->key), sp));
#else
		return (TK_ERR_STORE);
#endif
	}
	return (tk_store_open_sqlite(f->db, f->key, sizeof(f->key), sp));
}

static void
open_ok(struct fx *f)
{
	tk_store_close(&f->s);
	assert_int_equal(open_store(f, &f->s), 0);
	assert_non_null(f->s);
}

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if (tk_testdir_make(f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return (-1);
	}
	tk_testdir_join(f->db, sizeof(f->db), f->dir, "tokend.db");
	f->url = store_url;
	randombytes_buf(f->key, sizeof(f->key));
	/* every case starts from an empty database */
	if (f->url != NULL)
		raw_exec(f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; "
		    "DROP ROLE IF EXISTS tk_weak");
	open_ok(f);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tk_store_close(&f->s);
	tk_testdir_remove(f->dir);
	free(f);
	return (0);
}

static struct tk_cred
cred(const char *user, int state, const char *secret)
{
	struct tk_cred c;

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.label, sizeof(c.label), "phone of %s", user);
	c.kind = TK_CRED_TOTP;
	c.state = state;
	c.created = T0;
	c.expires = state == TK_CRED_PENDING ? T0 + 900 : 0;
	c.digits = 6;
	c.algorithm = TK_TOTP_SHA1;
	c.period = 30;
	c.key_id = 0x01020304;
	/* the store treats the blob as opaque bytes */
	c.sealed = (unsigned char *)(uintptr_t)secret;
	c.sealed_len = secret != NULL ? strlen(secret) : 0;
	return (c);
}

static uint64_t
insert(struct fx *f, const char *user, int state, const char *secret)
{
	struct tk_cred c = cred(user, state, secret);

	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_true(c.id > 0);
	return (c.id);
}

static unsigned char fido_pub[65] = { 0x04, 1, 2, 3 };

static struct tk_cred
fido_cred(const char *user, const char *cred_id)
{
	struct tk_cred c;

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.label, sizeof(c.label), "key of %s", user);
	snprintf(c.fmt, sizeof(c.fmt), "packed");
	c.kind = TK_CRED_FIDO2;
	c.state = TK_CRED_ACTIVE;
	c.created = T0;
	c.algorithm = TK_FIDO2_ES256;
	c.cred_id = (unsigned char *)(uintptr_t)cred_id;
	c.cred_id_len = strlen(cred_id);
	c.pubkey = fido_pub;
	c.pubkey_len = sizeof(fido_pub);
	memset(c.aaguid, 0xaa, sizeof(c.aaguid));
	memset(c.user_handle, 0x55, sizeof(c.user_handle));
	c.flags = 0x05;
	return (c);
}

static uint64_t
insert_fido(struct fx *f, const char *user, const char *cred_id,
    uint32_t count)
{
	struct tk_cred c = fido_cred(user, cred_id);

	c.sign_count = count;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	return (c.id);
}

static void
ev_init(struct tk_audit_event *ev, const char *user, int64_t t)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = t;
	ev->host = "host-a";
	ev->event = "totp_verify";
	ev->user = user;
	ev->service = "login";
	ev->rhost = "";
	ev->tty = "tty1";
	ev->uid = 0;
	ev->pid = 4242;
	ev->result = "ok";
	ev->reason = NULL;
}

static void
append(struct fx *f, tk_store_t *s, const char *user, int64_t t)
{
	struct tk_audit_event ev;

	(void)f;
	ev_init(&ev, user, t);
	assert_int_equal(tk_store_begin(s), 0);
	assert_int_equal(tk_store_audit_append(s, &ev), 0);
	assert_int_equal(tk_store_commit(s), 0);
}

static void
verify_ok(struct fx *f, uint64_t want)
{
	uint64_t count = 99, bad = 99;

	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad), 0);
	assert_int_equal(count, want);
	assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- */
/* opening and transactions */

static void
test_open_kind_reopen(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	assert_string_equal(tk_store_kind(f->s),
	    f->url != NULL ? "postgresql" : "sqlite");
	assert_int_equal(tk_store_ping(f->s), 0);
	id = insert(f, "alice", TK_CRED_ACTIVE, "sealed-bytes");
	open_ok(f);		/* a second open neither migrates nor loses */
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.id, id);
	assert_string_equal(c.label, "phone of alice");
	assert_int_equal(c.key_id, 0x01020304);
	assert_int_equal(c.created, T0);
	assert_int_equal(c.sealed_len, strlen("sealed-bytes"));
	assert_memory_equal(c.sealed, "sealed-bytes", c.sealed_len);
	tk_cred_clear(&c);
	if (f->url != NULL)
		assert_int_equal(raw_int(f, "SELECT max(version) FROM "
		    "tokend_schema"), 3);
	else
		assert_int_equal(raw_int(f, "PRAGMA user_version"), 3);
}

static void
test_changes_need_transaction(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "s");
	struct tk_throttle t = { .user = "alice", .failures = 1 };

	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	assert_int_equal(tk_store_throttle_put(f->s, &t), TK_ERR_INVAL);
	assert_int_equal(tk_store_totp_accept_step(f->s, 1, 5, T0),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), TK_ERR_INVAL);
	tk_store_rollback(f->s);
}

static void
test_rollback_discards(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "s");
	struct tk_cred *list = NULL;
	size_t n = 9;

	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	tk_store_rollback(f->s);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);
}

static void
test_failed_step_blocks_commit(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "s");
	struct tk_throttle t = { .user = "alice", .failures = 1 };
	struct tk_cred *list = NULL;
	size_t n = 9;

	raw_exec(f, "DROP TABLE throttle");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_not_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_not_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);
}

/* ---------------------------------------------------------------- */
/* group commit: one transaction, one savepoint per request */

static void
test_batch_units(void **state)
{
	struct fx *f = *state;
	struct tk_cred a = cred("alice", TK_CRED_ACTIVE, "s");
	struct tk_cred b = cred("bob", TK_CRED_ACTIVE, "t");
	struct tk_throttle t = { .user = "alice", .failures = 1 };
	struct tk_audit_event ev;
	struct tk_cred got;

	/* a step of request 3 will fail: no throttle table */
	raw_exec(f, "DROP TABLE throttle");
	assert_true(tk_store_can_batch(f->s));
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_true(tk_store_in_batch(f->s));
	/* request 1: kept */
	ev_init(&ev, "alice", T0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &a), 0);
	assert_int_equal(tk_store_audit_append(f->s, &ev), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	/* request 2: its handler rolls it back */
	ev_init(&ev, "bob", T0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &b), 0);
	assert_int_equal(tk_store_audit_append(f->s, &ev), 0);
	tk_store_rollback(f->s);
	/* request 3: a failed step; its commit fails and undoes it only */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, a.id, 10, T0), 0);
	assert_int_not_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_not_equal(tk_store_commit(f->s), 0);
	assert_true(tk_store_in_batch(f->s));
	/* a read between requests sees the kept ones */
	assert_int_equal(tk_store_cred_get(f->s, "alice", a.id, &got), 0);
	assert_int_equal(got.last_step, 0);
	tk_cred_clear(&got);
	/* request 4: sees request 1, not 2 nor 3; its row chains to 1's */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "bob", b.id, &got),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_totp_accept_step(f->s, a.id, 10, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	append(f, f->s, "alice", T0 + 1);
	/* nothing is visible to another connection before the commit */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 0);
	/* no batch in a batch */
	assert_int_equal(tk_store_batch_begin(f->s), TK_ERR_INVAL);
	assert_int_equal(tk_store_batch_commit(f->s), 0);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(tk_store_batch_commit(f->s), TK_ERR_INVAL);

	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 1);
	assert_int_equal(raw_int(f, "SELECT last_step FROM credentials"), 10);
	/* rows 1 and 2: the rolled-back request's row left no gap */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 2);
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit"), 2);
	verify_ok(f, 2);
	/* the replay check holds after the batch */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, a.id, 10, T0 + 2),
	    TK_ERR_REPLAY);
	tk_store_rollback(f->s);
}

static void
test_batch_rolled_back(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("carol", TK_CRED_ACTIVE, "s");
	struct tk_cred d = cred("dave", TK_CRED_ACTIVE, "s");
	struct tk_cred *list = NULL;
	size_t n = 9;

	/* an aborted batch leaves nothing, kept requests included */
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	append(f, f->s, "carol", T0);
	tk_store_batch_abort(f->s);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);
	verify_ok(f, 0);
	/* no batch inside a transaction */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_batch_begin(f->s), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	/* a batch commit with a request still open fails and keeps none */
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	append(f, f->s, "dave", T0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &d), 0);
	assert_int_equal(tk_store_batch_commit(f->s), TK_ERR_INVAL);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);
	verify_ok(f, 0);
	/* the store goes on as before */
	(void)insert(f, "erin", TK_CRED_ACTIVE, "s");
	append(f, f->s, "erin", T0);
	verify_ok(f, 1);
}

/* ---------------------------------------------------------------- */
/* credentials */

static void
test_cred_list_order_and_active(void **state)
{
	struct fx *f = *state;
	struct tk_cred *list = NULL;
	size_t n = 0;
	uint64_t a1, a2, b, p;

	a1 = insert(f, "alice", TK_CRED_ACTIVE, "1");
	b = insert(f, "Bob", TK_CRED_ACTIVE, "2");
	a2 = insert(f, "alice", TK_CRED_REVOKED, NULL);
	p = insert(f, "alice", TK_CRED_PENDING, "3");
	/* by user in byte order ("B" < "a"), then id */
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(list[0].id, b);
	assert_int_equal(list[1].id, a1);
	assert_int_equal(list[2].id, a2);
	assert_int_equal(list[3].id, p);
	assert_null(list[2].sealed);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_list(f->s, "alice", &list, &n), 0);
	assert_int_equal(n, 3);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_active(f->s, "alice", TK_CRED_TOTP,
	    &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, a1);
	assert_memory_equal(list[0].sealed, "1", 1);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_get(f->s, "bob", b, &(struct tk_cred){
	    0 }), TK_ERR_NOTFOUND);
}

static void
test_cred_states(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t p, a, fi;

	p = insert(f, "alice", TK_CRED_PENDING, "s");
	a = insert(f, "alice", TK_CRED_ACTIVE, "s");
	fi = insert_fido(f, "alice", "cred-1", 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", p,
	    TK_CRED_ACTIVE), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", p,
	    TK_CRED_ACTIVE), 0);	/* same state: a no-op */
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", a,
	    TK_CRED_PENDING), TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", a,
	    TK_CRED_SUSPENDED), TK_ERR_INVAL);	/* TOTP: never */
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", fi,
	    TK_CRED_SUSPENDED), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", a,
	    TK_CRED_REVOKED), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", a,
	    TK_CRED_ACTIVE), TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_set_state(f->s, "bob", p,
	    TK_CRED_REVOKED), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", p, &c), 0);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_int_equal(c.expires, 0);
	tk_cred_clear(&c);
	assert_int_equal(tk_store_cred_get(f->s, "alice", a, &c), 0);
	assert_int_equal(c.state, TK_CRED_REVOKED);
	assert_null(c.sealed);		/* revoking drops the secret */
	tk_cred_clear(&c);
	assert_int_equal(tk_store_cred_get(f->s, "alice", fi, &c), 0);
	assert_int_equal(c.state, TK_CRED_SUSPENDED);
	tk_cred_clear(&c);
	/* suspended -> active (reinstate) */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", fi,
	    TK_CRED_ACTIVE), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
}

static void
test_cred_secret_revoke_expire(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t p1, p2, a, n = 9;

	p1 = insert(f, "alice", TK_CRED_PENDING, NULL);
	a = insert(f, "alice", TK_CRED_ACTIVE, "s");
	p2 = insert(f, "bob", TK_CRED_PENDING, "x");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_secret(f->s, p1, 7,
	    (const unsigned char *)"sealed", 6), 0);
	assert_int_equal(tk_store_cred_set_secret(f->s, 999999, 7,
	    (const unsigned char *)"sealed", 6), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", p1, &c), 0);
	assert_int_equal(c.key_id, 7);
	assert_memory_equal(c.sealed, "sealed", 6);
	tk_cred_clear(&c);
	/* expiry: pending ones whose time is before now */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_expire(f->s, T0 + 900, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tk_store_cred_expire(f->s, T0 + 901, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "bob", p2, &c),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "alice", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "alice", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tk_store_cred_set_secret(f->s, a, 7,
	    (const unsigned char *)"sealed", 6), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* paging (CRED_LIST) and the pending sweep, without secrets */
static void
test_cred_page_and_pending(void **state)
{
	struct fx *f = *state;
	struct tk_cred page[3], *list = NULL;
	uint64_t id[7];
	size_t n = 9, i;
	bool more = false;

	id[0] = insert(f, "alice", TK_CRED_ACTIVE, "1");
	id[1] = insert(f, "Bob", TK_CRED_ACTIVE, "2");
	id[2] = insert(f, "alice", TK_CRED_PENDING, "3");
	id[3] = insert(f, "alice", TK_CRED_REVOKED, NULL);
	id[4] = insert(f, "carol", TK_CRED_PENDING, "5");
	id[5] = insert(f, "alice", TK_CRED_ACTIVE, "6");
	id[6] = insert(f, "Bob", TK_CRED_PENDING, "7");
	/* all users: Bob (2), alice (4), carol (1), in pages of 3 */
	assert_int_equal(tk_store_cred_page(f->s, NULL, 0, page, 3, &n,
	    &more), 0);
	assert_int_equal(n, 3);
	assert_true(more);
	assert_int_equal(page[0].id, id[1]);
	assert_int_equal(page[1].id, id[6]);
	assert_int_equal(page[2].id, id[0]);
	for (i = 0; i < n; i++) {
		assert_null(page[i].sealed);
		tk_cred_clear(&page[i]);
	}
	assert_int_equal(tk_store_cred_page(f->s, NULL, 6, page, 3, &n,
	    &more), 0);
	assert_int_equal(n, 1);
	assert_false(more);
	assert_int_equal(page[0].id, id[4]);
	tk_cred_clear(&page[0]);
	/* one user, exactly one page long: no more */
	assert_int_equal(tk_store_cred_page(f->s, "alice", 1, page, 3, &n,
	    &more), 0);
	assert_int_equal(n, 3);
	assert_false(more);
	assert_int_equal(page[0].id, id[2]);
	assert_int_equal(page[2].id, id[5]);
	for (i = 0; i < n; i++)
		tk_cred_clear(&page[i]);
	assert_int_equal(tk_store_cred_page(f->s, "nobody", 0, page, 3, &n,
	    &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	/* pending due: before their expiry none, after it the three */
	assert_int_equal(tk_store_cred_pending_due(f->s, T0 + 900, &list,
	    &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_pending_due(f->s, T0 + 901, &list,
	    &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].id, id[2]);
	assert_int_equal(list[1].id, id[4]);
	assert_int_equal(list[2].id, id[6]);
	for (i = 0; i < n; i++) {
		assert_int_equal(list[i].state, TK_CRED_PENDING);
		assert_null(list[i].sealed);
	}
	tk_cred_list_free(&list, n);
	/* PostgreSQL: the sweep can use the partial index */
	if (f->url != NULL)
		assert_int_equal(raw_int(f, "SELECT count(*) FROM pg_indexes "
		    "WHERE indexname = 'credentials_pending' AND indexdef LIKE "
		    "'%(expires) WHERE (state = 1)%'"), 1);
}

static void
test_accept_step(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 100, T0), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 100, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 99, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, 424242, 5, T0),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 101, T0 + 30),
	    0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.last_step, 101);
	assert_int_equal(c.last_used, T0 + 30);
	tk_cred_clear(&c);
	/* a rolled-back acceptance is not kept */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 200, T0), 0);
	tk_store_rollback(f->s);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 200, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* ---------------------------------------------------------------- */
/* FIDO2 credentials and challenges */

static void
test_fido2_find_unique(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = fido_cred("bob", "cred-1"), got;
	struct tk_audit_event ev;
	uint64_t id;

	id = insert_fido(f, "alice", "cred-1", 7);
	assert_int_equal(tk_store_fido2_find(f->s,
	    (const unsigned char *)"cred-1", 6, &got), 0);
	assert_int_equal(got.id, id);
	assert_string_equal(got.user, "alice");
	assert_int_equal(got.kind, TK_CRED_FIDO2);
	assert_int_equal(got.sign_count, 7);
	assert_int_equal(got.flags, 0x05);
	assert_string_equal(got.fmt, "packed");
	assert_int_equal(got.pubkey_len, sizeof(fido_pub));
	assert_memory_equal(got.pubkey, fido_pub, sizeof(fido_pub));
	assert_int_equal(got.aaguid[15], 0xaa);
	assert_int_equal(got.user_handle[0], 0x55);
	assert_null(got.sealed);
	tk_cred_clear(&got);
	assert_int_equal(tk_store_fido2_find(f->s,
	    (const unsigned char *)"cred-2", 6, &got), TK_ERR_NOTFOUND);
	/* a taken id: TK_ERR_EXISTS, and the transaction goes on */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_EXISTS);
	ev_init(&ev, "bob", T0);
	ev.event = "fido2_enroll";
	ev.result = "exists";
	assert_int_equal(tk_store_audit_append(f->s, &ev), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	verify_ok(f, 1);
}

static void
test_fido2_accept_count(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id, zero;

	id = insert_fido(f, "alice", "cred-1", 10);
	zero = insert_fido(f, "alice", "cred-0", 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, 11, T0), 0);
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, 11, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, 3, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, 0, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, UINT32_MAX,
	    T0 + 1), 0);
	/* a key without a counter: 0 after 0 */
	assert_int_equal(tk_store_fido2_accept_count(f->s, zero, 0, T0), 0);
	assert_int_equal(tk_store_fido2_accept_count(f->s, zero, 0, T0), 0);
	assert_int_equal(tk_store_fido2_accept_count(f->s, 987654, 5, T0),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.sign_count, UINT32_MAX);
	assert_int_equal(c.last_used, T0 + 1);
	tk_cred_clear(&c);
}

static uint64_t
challenge(struct fx *f, tk_store_t *s, int purpose, int64_t expires)
{
	struct tk_challenge ch;

	(void)f;
	memset(&ch, 0, sizeof(ch));
	snprintf(ch.user, sizeof(ch.user), "alice");
	ch.purpose = purpose;
	randombytes_buf(ch.challenge, sizeof(ch.challenge));
	memset(ch.user_handle, 0x11, sizeof(ch.user_handle));
	ch.uv = TK_UV_REQUIRED;
	snprintf(ch.label, sizeof(ch.label), "yubikey");
	ch.created = T0;
	ch.expires = expires;
	assert_int_equal(tk_store_begin(s), 0);
	assert_int_equal(tk_store_challenge_insert(s, &ch), 0);
	assert_int_equal(tk_store_commit(s), 0);
	assert_true(ch.id > 0);
	return (ch.id);
}

static void
test_challenge_once(void **state)
{
	struct fx *f = *state;
	struct tk_challenge ch;
	uint64_t id, old, n = 9;

	id = challenge(f, f->s, TK_CHALLENGE_LOGIN, T0 + 60);
	old = challenge(f, f->s, TK_CHALLENGE_ENROLL, T0 + 10);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_take(f->s, id,
	    TK_CHALLENGE_ENROLL, &ch), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_challenge_take(f->s, id,
	    TK_CHALLENGE_LOGIN, &ch), 0);
	assert_int_equal(ch.id, id);
	assert_string_equal(ch.user, "alice");
	assert_string_equal(ch.label, "yubikey");
	assert_int_equal(ch.expires, T0 + 60);
	assert_int_equal(ch.uv, TK_UV_REQUIRED);
	assert_int_equal(ch.user_handle[31], 0x11);
	assert_int_equal(tk_store_challenge_take(f->s, id,
	    TK_CHALLENGE_LOGIN, &ch), TK_ERR_REPLAY);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_take(f->s, id,
	    TK_CHALLENGE_LOGIN, &ch), TK_ERR_REPLAY);
	assert_int_equal(tk_store_challenge_expire(f->s, T0 + 10, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tk_store_challenge_take(f->s, old,
	    TK_CHALLENGE_ENROLL, &ch), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_challenge_expire(f->s, T0 + 60, &n), 0);
	assert_int_equal(n, 1);	/* used or not */
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* ---------------------------------------------------------------- */
/* throttling and statistics */

static void
test_throttle_stats(void **state)
{
	struct fx *f = *state;
	struct tk_throttle t;
	struct tk_store_stats st;

	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_string_equal(t.user, "alice");
	assert_int_equal(t.failures, 0);
	assert_false(t.locked);
	t.failures = 10;
	t.last_failure = T0;
	t.locked = true;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(t.failures, 10);
	assert_int_equal(t.last_failure, T0);
	assert_true(t.locked);
	insert(f, "alice", TK_CRED_ACTIVE, "s");
	insert(f, "alice", TK_CRED_PENDING, "s");
	insert(f, "bob", TK_CRED_ACTIVE, "s");
	insert(f, "carol", TK_CRED_REVOKED, NULL);
	assert_int_equal(tk_store_stats(f->s, &st), 0);
	assert_int_equal(st.users, 2);
	assert_int_equal(st.creds, 3);
	assert_int_equal(st.locked_users, 1);
}

/* ---------------------------------------------------------------- */
/* the audit chain */

static void
test_audit_chain_tamper(void **state)
{
	struct fx *f = *state;
	struct tk_audit_event ev;
	uint64_t count, bad;
	int i;

	verify_ok(f, 0);
	for (i = 0; i < 5; i++)
		append(f, f->s, "alice", T0 + i);
	/* a rolled-back row is absent and takes no number */
	ev_init(&ev, "mallory", T0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_append(f->s, &ev), 0);
	tk_store_rollback(f->s);
	append(f, f->s, "alice", T0 + 5);
	verify_ok(f, 6);
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit"), 6);
	raw_exec(f, "UPDATE audit SET result = 'wrong' WHERE seq = 3");
	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad),
	    TK_ERR_CRYPTO);
	assert_int_equal(bad, 3);
	assert_int_equal(count, 3);
	raw_exec(f, "UPDATE audit SET result = 'ok' WHERE seq = 3");
	verify_ok(f, 6);
	raw_exec(f, "DELETE FROM audit WHERE seq = 4");
	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad),
	    TK_ERR_CRYPTO);
	assert_int_equal(bad, 5);
}

static void
test_audit_read(void **state)
{
	struct fx *f = *state;
	struct tk_audit_row rows[4];
	struct tk_audit_filter flt = { 0 };
	size_t n;
	bool more;
	int i;

	for (i = 0; i < 6; i++)
		append(f, f->s, i % 2 ? "bob" : "alice", T0 + i * 10);
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 4, &n, &more),
	    0);
	assert_int_equal(n, 4);
	assert_true(more);
	assert_int_equal(rows[0].seq, 1);
	assert_string_equal(rows[1].user, "bob");
	assert_string_equal(rows[0].host, "host-a");
	assert_string_equal(rows[0].tty, "tty1");
	assert_int_equal(rows[0].pid, 4242);
	flt.after = 4;
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 4, &n, &more),
	    0);
	assert_int_equal(n, 2);
	assert_false(more);
	flt.after = 0;
	flt.user = "alice";
	flt.since = T0 + 10;
	flt.until = T0 + 40;
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 4, &n, &more),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].seq, 3);
}

static void
test_audit_prune_anchor(void **state)
{
	struct fx *f = *state;
	uint64_t count = 9, anchor = 9;
	int i;

	for (i = 0; i < 6; i++)
		append(f, f->s, "alice", T0 + i * 10);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_prune(f->s, T0, &count, &anchor), 0);
	assert_int_equal(count, 0);
	assert_int_equal(anchor, 0);
	assert_int_equal(tk_store_audit_prune(f->s, T0 + 25, &count,
	    &anchor), 0);
	assert_int_equal(count, 3);
	assert_int_equal(anchor, 3);
	assert_int_equal(tk_store_commit(f->s), 0);
	verify_ok(f, 3);
	append(f, f->s, "alice", T0 + 100);
	verify_ok(f, 4);
	/* every row: the chain goes on from the anchor */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_prune(f->s, T0 + 1000, &count,
	    &anchor), 0);
	assert_int_equal(count, 4);
	assert_int_equal(anchor, 7);
	assert_int_equal(tk_store_commit(f->s), 0);
	verify_ok(f, 0);
	append(f, f->s, "alice", T0 + 2000);
	verify_ok(f, 1);
	assert_int_equal(raw_int(f, "SELECT min(seq) FROM audit"), 8);
	/* a forged anchor breaks the first kept row */
	raw_exec(f, "UPDATE audit_anchor SET seq = 6");
	assert_int_equal(tk_store_audit_verify(f->s, &count, &anchor),
	    TK_ERR_CRYPTO);
}

/* ---------------------------------------------------------------- */
/* recovery codes and grants */

static void
test_recovery(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][TK_RECOVERY_HASH_BYTES];
	struct tk_recovery *list = NULL;
	size_t n = 0;
	uint64_t count;

	memset(h[0], 1, sizeof(h[0]));
	memset(h[1], 2, sizeof(h[1]));
	memset(h[2], 3, sizeof(h[2]));
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "alice",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 3, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_unused(f->s, "alice", &list, &n),
	    0);
	assert_int_equal(n, 3);
	assert_memory_equal(list[1].hash, h[1], TK_RECOVERY_HASH_BYTES);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_use(f->s, list[1].id, T0), 0);
	assert_int_equal(tk_store_recovery_use(f->s, list[1].id, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_recovery_use(f->s, 777777, T0),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	free(list);
	assert_int_equal(tk_store_recovery_count(f->s, "alice", &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "alice", NULL, 0,
	    T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_count(f->s, "alice", &count), 0);
	assert_int_equal(count, 0);
}

static void
test_grants(void **state)
{
	struct fx *f = *state;
	struct tk_grant g, got, *list = NULL;
	size_t n = 0;
	uint64_t first;

	memset(&g, 0, sizeof(g));
	snprintf(g.user, sizeof(g.user), "alice");
	snprintf(g.reason, sizeof(g.reason), "lost key");
	g.created = T0;
	g.expires = T0 + 3600;
	g.granted_by = 0;
	g.state = TK_GRANT_ACTIVE;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	first = g.id;
	g.expires = T0 + 7200;		/* replaces the first */
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	assert_true(g.id != first);
	snprintf(g.user, sizeof(g.user), "Bob");
	g.expires = T0 + 60;
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_grant_active(f->s, "alice", &got), 0);
	assert_int_equal(got.expires, T0 + 7200);
	assert_string_equal(got.reason, "lost key");
	assert_int_equal(tk_store_grant_active(f->s, "carol", &got),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_grant_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].user, "Bob");	/* byte order */
	free(list);
	assert_int_equal(tk_store_grant_due(f->s, T0 + 60, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_grant_end(f->s, list[0].id,
	    TK_GRANT_EXPIRED), 0);
	assert_int_equal(tk_store_grant_end(f->s, list[0].id,
	    TK_GRANT_REVOKED), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_grant_end(f->s, first, TK_GRANT_REVOKED),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	free(list);
}

static void
test_backup(void **state)
{
	struct fx *f = *state;
	char path[TK_TESTDIR_PATH_MAX];

	tk_testdir_join(path, sizeof(path), f->dir, "copy.db");
	if (f->url != NULL)	/* pg_dump's job */
		assert_int_equal(tk_store_backup(f->s, path), TK_ERR_STORE);
	else
		assert_int_equal(tk_store_backup(f->s, path), 0);
}

/* ---------------------------------------------------------------- */
/* several processes, each with its own connection: several hosts */

enum race { RACE_STEP, RACE_CHALLENGE, RACE_COUNTER, RACE_STEP_BATCH };

/* in a child: one attempt; exit 0 accepted, 1 refused as used, 2 else */
static void
race_child(struct fx *f, int go, enum race kind, uint64_t id, uint64_t v)
{
	struct tk_challenge ch;
	tk_store_t *s = NULL;
	char b;
	int r;

	if (open_store(f, &s) != 0)
		_exit(2);
	if (read(go, &b, 1) != 1)
		_exit(2);
	/* a batch: the step in one request of it, committed with it */
	if (kind == RACE_STEP_BATCH && tk_store_batch_begin(s) != 0)
		_exit(2);
	if (tk_store_begin(s) != 0)
		_exit(2);
	switch (kind) {
	case RACE_STEP:
	case RACE_STEP_BATCH:
		r = tk_store_totp_accept_step(s, id, v, T0);
		break;
	case RACE_CHALLENGE:
		r = tk_store_challenge_take(s, id, TK_CHALLENGE_LOGIN, &ch);
		break;
	default:
		r = tk_store_fido2_accept_count(s, id, (uint32_t)v, T0);
		break;
	}
	if (r == 0 && tk_store_commit(s) != 0)
		r = TK_ERR_STORE;
	if (r != 0)
		tk_store_rollback(s);
	if (kind == RACE_STEP_BATCH && tk_store_batch_commit(s) != 0)
		r = TK_ERR_STORE;
	tk_store_close(&s);
	_exit(r == 0 ? 0 : r == TK_ERR_REPLAY ? 1 : 2);
}

/* RACERS processes at once; returns how many were accepted */
static int
race(struct fx *f, enum race kind, uint64_t id, uint64_t v)
{
	pid_t pids[RACERS];
	int go[2], i, st, ok = 0, used = 0;

	assert_int_equal(pipe(go), 0);
	for (i = 0; i < RACERS; i++) {
		assert_true((pids[i] = fork()) >= 0);
		if (pids[i] == 0) {
			close(go[1]);
			race_child(f, go[0], kind, id, v);
		}
	}
	close(go[0]);
	usleep(200000);		/* let every child connect */
	for (i = 0; i < RACERS; i++)
		assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			ok++;
		else if (WEXITSTATUS(st) == 1)
			used++;
	}
	assert_int_equal(ok + used, RACERS);
	return (ok);
}

static void
test_race_step_once(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int i;

	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	for (i = 0; i < ROUNDS; i++)
		assert_int_equal(race(f, RACE_STEP, id, 1000 + i), 1);
}

/* the same, each racer committing its step in a group commit */
static void
test_race_step_once_batched(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int i;

	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	for (i = 0; i < ROUNDS; i++)
		assert_int_equal(race(f, RACE_STEP_BATCH, id, 1000 + i), 1);
	assert_int_equal(raw_int(f, "SELECT last_step FROM credentials"),
	    1000 + ROUNDS - 1);
}

static void
test_race_challenge_once(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		id = challenge(f, f->s, TK_CHALLENGE_LOGIN, T0 + 60);
		assert_int_equal(race(f, RACE_CHALLENGE, id, 0), 1);
	}
}

static void
test_race_counter_once(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int i;

	id = insert_fido(f, "alice", "cred-race", 1);
	for (i = 0; i < ROUNDS; i++)
		assert_int_equal(race(f, RACE_COUNTER, id, 10 + i), 1);
}

/* WRITERS processes each run fn WRITES times, all at once */
static void
writers(struct fx *f, void (*fn)(struct fx *, tk_store_t *, int))
{
	pid_t pids[WRITERS];
	int go[2], i, j, st;
	char b;

	assert_int_equal(pipe(go), 0);
	for (i = 0; i < WRITERS; i++) {
		assert_true((pids[i] = fork()) >= 0);
		if (pids[i] == 0) {
			tk_store_t *s = NULL;

			close(go[1]);
			if (open_store(f, &s) != 0 || read(go[0], &b, 1) != 1)
				_exit(2);
			for (j = 0; j < WRITES; j++)
				fn(f, s, i);
			tk_store_close(&s);
			_exit(0);
		}
	}
	close(go[0]);
	usleep(200000);
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

/* one failure counted the way tokend does: read, add one, write */
static void
count_failure(struct fx *f, tk_store_t *s, int who)
{
	struct tk_throttle t;
	struct tk_audit_event ev;

	(void)f;
	ev_init(&ev, "alice", T0 + who);
	ev.result = "wrong";
	if (tk_store_begin(s) != 0 ||
	    tk_store_throttle_get(s, "alice", &t) != 0)
		_exit(3);
	t.failures++;
	t.last_failure = T0;
	if (tk_store_throttle_put(s, &t) != 0 ||
	    tk_store_audit_append(s, &ev) != 0 || tk_store_commit(s) != 0)
		_exit(4);
}

static void
test_concurrent_failures_and_chain(void **state)
{
	struct fx *f = *state;
	struct tk_throttle t;

	writers(f, count_failure);
	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_int_equal(t.failures, WRITERS * WRITES);
	/* one chain, no fork, no gap */
	verify_ok(f, WRITERS * WRITES);
	assert_int_equal(raw_int(f, "SELECT count(DISTINCT seq) FROM audit"),
	    WRITERS * WRITES);
}

/* ---------------------------------------------------------------- */
/* PostgreSQL only: schema, privileges, connections */

static void
test_pg_versions(void **state)
{
	struct fx *f = *state;
	tk_store_t *s = NULL;

	if (f->url == NULL)
		skip();
	tk_store_close(&f->s);
	raw_exec(f, "INSERT INTO tokend_schema VALUES (4, 0)");
	assert_int_equal(open_store(f, &s), TK_ERR_VERSION);
	assert_null(s);
	raw_exec(f, "DELETE FROM tokend_schema WHERE version = 4");
	open_ok(f);
	raw_exec(f, "INSERT INTO tokend_schema VALUES (4, 0)");
	assert_int_equal(tk_store_ping(f->s), TK_ERR_VERSION);
	tk_store_close(&f->s);
	/* not ours: a credentials table without tokend_schema */
	raw_exec(f, "DROP TABLE tokend_schema");
	assert_int_equal(open_store(f, &s), TK_ERR_STORE);
	assert_null(s);
}

static void
test_pg_role_may_not_create(void **state)
{
	struct fx *f = *state;
	char url[1024];
	tk_store_t *s = NULL;

	if (f->url == NULL)
		skip();
	tk_store_close(&f->s);
	raw_exec(f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; "
	    "REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
	    "CREATE ROLE tk_weak LOGIN; "
	    "GRANT USAGE ON SCHEMA public TO tk_weak");
	snprintf(url, sizeof(url), "%s user=tk_weak", f->url);
	assert_int_equal(tk_store_open_pg(url, f->key, sizeof(f->key), &s),
	    TK_ERR_PERM);
	assert_null(s);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM pg_tables WHERE "
	    "schemaname = 'public'"), 0);
	raw_exec(f, "DROP OWNED BY tk_weak; DROP ROLE tk_weak");
}

/* kills the store's server process (as a restart or failover would) */
static void
kill_backends(struct fx *f)
{
	raw_exec(f, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE application_name = 'tokend' AND pid <> pg_backend_pid()");
	usleep(100000);
}

static void
test_pg_reconnect(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	if (f->url == NULL)
		skip();
	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	/* between transactions: the next one reconnects by itself */
	kill_backends(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 50, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	/* inside one: refused, nothing of it stored, then back */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 51, T0), 0);
	kill_backends(f);
	assert_int_not_equal(tk_store_commit(f->s), 0);
	/* reads outside a transaction reconnect too (after the pause) */
	usleep(1100000);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.last_step, 50);
	tk_cred_clear(&c);
	assert_int_equal(tk_store_ping(f->s), 0);
	/* a read outside a transaction right after a kill */
	kill_backends(f);
	usleep(1100000);
	assert_int_equal(tk_store_ping(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 51, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* a batch of one kept request (credential + audit row), left open */
static void
batch_one(struct fx *f, const char *user)
{
	struct tk_cred c = cred(user, TK_CRED_ACTIVE, "s");

	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	append(f, f->s, user, T0);
}

static void
test_pg_batch_commit_fails(void **state)
{
	struct fx *f = *state;
	struct tk_grant g;

	if (f->url == NULL)
		skip();
	/* the server refuses the COMMIT itself (a deferred constraint) */
	raw_exec(f, "CREATE FUNCTION tk_no_mallory() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN IF NEW.\"user\" = 'mallory' THEN "
	    "RAISE EXCEPTION 'no mallory'; END IF; RETURN NULL; END $$; "
	    "CREATE CONSTRAINT TRIGGER tk_no_mallory AFTER INSERT ON "
	    "credentials DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
	    "EXECUTE FUNCTION tk_no_mallory()");
	batch_one(f, "alice");
	(void)insert(f, "mallory", TK_CRED_ACTIVE, "s");	/* kept, so far */
	assert_int_not_equal(tk_store_batch_commit(f->s), 0);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit"), 0);
	raw_exec(f, "DROP TRIGGER tk_no_mallory ON credentials");

	/* the connection lost just before the COMMIT: refused, none kept */
	batch_one(f, "bob");
	kill_backends(f);
	assert_int_not_equal(tk_store_batch_commit(f->s), 0);
	assert_false(tk_store_in_batch(f->s));
	usleep(1100000);	/* the reconnect pause */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);

	/* lost between two requests: the next one cannot start */
	batch_one(f, "carol");
	kill_backends(f);
	assert_int_not_equal(tk_store_begin(f->s), 0);
	assert_int_not_equal(tk_store_batch_commit(f->s), 0);
	usleep(1100000);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);

	/* a failed read between requests aborts the batch's transaction */
	raw_exec(f, "DROP TABLE grants");
	batch_one(f, "dave");
	assert_int_not_equal(tk_store_grant_active(f->s, "dave", &g), 0);
	assert_int_not_equal(tk_store_begin(f->s), 0);
	assert_int_not_equal(tk_store_batch_commit(f->s), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM credentials"), 0);

	/* and after all that the store works */
	(void)insert(f, "erin", TK_CRED_ACTIVE, "s");
	append(f, f->s, "erin", T0);
	verify_ok(f, 1);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Invariant 10 of store_pg.c: host B's transaction holds alice's
 * throttle lock and waits for the audit lock, which host A's batch
 * holds; A's next request needs alice's lock.  Waiting would be a
 * deadlock (the server aborts one of them after deadlock_timeout, 1 s):
 * A's request is refused at once instead, A's batch commits its other
 * requests, then B goes on and commits.
 */
static void
test_pg_batch_no_deadlock(void **state)
{
	struct fx *f = *state;
	struct tk_throttle t = { .user = "alice", .failures = 2 };
	struct tk_audit_event ev;
	int go[2], ready[2], st;
	int64_t t0, waited;
	pid_t pid;
	char b;

	if (f->url == NULL)
		skip();
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		tk_store_t *s = NULL;

		close(go[1]);
		close(ready[0]);
		ev_init(&ev, "alice", T0);
		ev.result = "wrong";
		if (open_store(f, &s) != 0 || read(go[0], &b, 1) != 1 ||
		    tk_store_begin(s) != 0 ||
		    tk_store_throttle_get(s, "alice", &t) != 0 ||
		    write(ready[1], "r", 1) != 1)
			_exit(2);
		t.failures++;
		if (tk_store_throttle_put(s, &t) != 0 ||
		    tk_store_audit_append(s, &ev) != 0 ||
		    tk_store_commit(s) != 0)
			_exit(3);
		tk_store_close(&s);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	/* A: the batch takes the audit lock first */
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(ready[0], &b, 1), 1);
	usleep(200000);		/* B now waits for the audit lock */
	/* A's request for alice: refused at once, not a deadlock */
	t0 = mono_ms();
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_not_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	tk_store_rollback(f->s);
	waited = mono_ms() - t0;
	assert_true(waited < 500);
	/* A's request for bob is kept, and the batch commits */
	append(f, f->s, "bob", T0);
	assert_int_equal(tk_store_batch_commit(f->s), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(go[1]);
	close(ready[0]);
	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_int_equal(t.failures, 3);
	verify_ok(f, 2);
}

static void
quiet(void *arg, int prio, const char *fmt, va_list ap)
{
	(void)arg;
	(void)prio;
	if (getenv("TK_TEST_VERBOSE") != NULL) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_open_kind_reopen),
		T(test_changes_need_transaction),
		T(test_rollback_discards),
		T(test_failed_step_blocks_commit),
		T(test_batch_units),
		T(test_batch_rolled_back),
		T(test_cred_list_order_and_active),
		T(test_cred_states),
		T(test_cred_secret_revoke_expire),
		T(test_cred_page_and_pending),
		T(test_accept_step),
		T(test_fido2_find_unique),
		T(test_fido2_accept_count),
		T(test_challenge_once),
		T(test_throttle_stats),
		T(test_audit_chain_tamper),
		T(test_audit_read),
		T(test_audit_prune_anchor),
		T(test_recovery),
		T(test_grants),
		T(test_backup),
		T(test_race_step_once),
		T(test_race_step_once_batched),
		T(test_race_challenge_once),
		T(test_race_counter_once),
		T(test_concurrent_failures_and_chain),
		/* PG_ONLY: PostgreSQL only, last */
		T(test_pg_versions),
		T(test_pg_role_may_not_create),
		T(test_pg_reconnect),
		T(test_pg_batch_commit_fails),
		T(test_pg_batch_no_deadlock),
#undef T
	};
	const char *url;

	if (sodium_init() < 0)
		return (1);
	url = getenv("TK_TEST_STORE_URL");
	store_url = url != NULL && *url != '\0' ? url : NULL;
	tk_log_to_function(quiet, NULL);
	/* store.sh: only create the schema, as tokend's first start does */
	if (store_url != NULL && getenv("TK_TEST_ONLY_OPEN") != NULL) {
		struct fx f;

		memset(&f, 0, sizeof(f));
		f.url = store_url;
		randombytes_buf(f.key, sizeof(f.key));
		if (open_store(&f, &f.s) != 0)
			return (1);
		tk_store_close(&f.s);
		return (0);
	}
	/* the last PG_ONLY cases are not run (nor listed) for SQLite */
	return (_cmocka_run_group_tests(store_url != NULL ?
	    "store contract (postgresql)" : "store contract (sqlite)", tests,
	    sizeof(tests) / sizeof(tests[0]) - (store_url != NULL ? 0 :
	    PG_ONLY), NULL, NULL));
}
