/*
 * test_batch.c -- group commit in the SQLite store (store.h,
 * tk_store_batch_*) and the paged credential queries behind CRED_LIST
 * and the pending sweep.
 *
 * What must hold:
 *  - a request (unit) rolled back inside a batch loses only its own
 *    changes and audit row; the others of the batch are kept and
 *    durable after the batch commit, and the audit chain verifies
 *    (each row chains to the previous kept row);
 *  - nothing of a batch is visible to another connection before the
 *    batch commit, and an aborted batch leaves nothing;
 *  - no batch inside a transaction, no backup inside a batch;
 *  - tk_store_cred_page() returns exactly the pages of the full list,
 *    without secrets; tk_store_cred_pending_due() returns exactly what
 *    tk_store_cred_expire() removes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "err.h"
#include "store.h"
#include "testdir.h"

struct fx {
	char		 dir[TK_TESTDIR_PATH_MAX];
	char		 db[TK_TESTDIR_PATH_MAX];
	unsigned char	 key[32];
	tk_store_t	*s;
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    tk_testdir_make(f->dir, sizeof(f->dir)) != 0)
		return (-1);
	tk_testdir_join(f->db, sizeof(f->db), f->dir, "tokend.db");
	memset(f->key, 0x5a, sizeof(f->key));
	if (tk_store_open_sqlite(f->db, f->key, sizeof(f->key), &f->s) != 0)
		return (-1);
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

static uint64_t
add_cred(tk_store_t *s, const char *user, int state, int64_t expires)
{
	struct tk_cred c;
	unsigned char blob[40];

	memset(&c, 0, sizeof(c));
	memset(blob, 0xab, sizeof(blob));
	snprintf(c.user, sizeof(c.user), "%s", user);
	c.kind = TK_CRED_TOTP;
	c.state = state;
	c.created = 1800000000;
	c.expires = expires;
	c.digits = 6;
	c.algorithm = TK_TOTP_SHA1;
	c.period = 30;
	c.key_id = 7;
	c.sealed = blob;
	c.sealed_len = sizeof(blob);
	assert_int_equal(tk_store_cred_insert(s, &c), 0);
	return (c.id);
}

static void
audit(tk_store_t *s, const char *user)
{
	struct tk_audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time = 1800000000;
	ev.event = "totp_verify";
	ev.user = user;
	ev.result = "ok";
	ev.uid = ev.pid = -1;
	assert_int_equal(tk_store_audit_append(s, &ev), 0);
}

/* rows in `sql' seen by a second connection (what a crash would keep) */
static int
other_count(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return (n);
}

static void
test_batch_keeps_others(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t a, b, count, bad;

	assert_true(tk_store_can_batch(f->s));
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_true(tk_store_in_batch(f->s));
	/* request 1: kept */
	assert_int_equal(tk_store_begin(f->s), 0);
	a = add_cred(f->s, "alice", TK_CRED_ACTIVE, 0);
	audit(f->s, "alice");
	assert_int_equal(tk_store_commit(f->s), 0);
	/* request 2: its handler fails and rolls back */
	assert_int_equal(tk_store_begin(f->s), 0);
	b = add_cred(f->s, "bob", TK_CRED_ACTIVE, 0);
	audit(f->s, "bob");
	tk_store_rollback(f->s);
	/* request 3: kept, sees request 1, not request 2 */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", a, &c), 0);
	tk_cred_clear(&c);
	assert_int_equal(tk_store_cred_get(f->s, "bob", b, &c),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_totp_accept_step(f->s, a, 100, 1), 0);
	audit(f->s, "alice");
	assert_int_equal(tk_store_commit(f->s), 0);
	/* not durable yet: another connection sees nothing */
	assert_int_equal(other_count(f->db,
	    "SELECT count(*) FROM credentials"), 0);
	assert_int_equal(other_count(f->db, "SELECT count(*) FROM audit"), 0);
	/* a backup or a nested batch is refused meanwhile */
	assert_int_equal(tk_store_batch_begin(f->s), TK_ERR_INVAL);
	assert_int_equal(tk_store_backup(f->s, "/nonexistent/x.db"),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_batch_commit(f->s), 0);
	assert_false(tk_store_in_batch(f->s));

	assert_int_equal(other_count(f->db,
	    "SELECT count(*) FROM credentials"), 1);
	assert_int_equal(other_count(f->db,
	    "SELECT last_step FROM credentials"), 100);
	/* two rows, seq 1 and 2: the rolled-back row left no gap */
	assert_int_equal(other_count(f->db, "SELECT count(*) FROM audit"), 2);
	assert_int_equal(other_count(f->db, "SELECT max(seq) FROM audit"), 2);
	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad), 0);
	assert_int_equal(count, 2);
	assert_int_equal(bad, 0);
	/* the replay check holds across the batch */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, a, 100, 2),
	    TK_ERR_REPLAY);
	tk_store_rollback(f->s);
}

static void
test_batch_abort(void **state)
{
	struct fx *f = *state;
	uint64_t count, bad;

	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	(void)add_cred(f->s, "carol", TK_CRED_ACTIVE, 0);
	audit(f->s, "carol");
	assert_int_equal(tk_store_commit(f->s), 0);
	tk_store_batch_abort(f->s);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(other_count(f->db,
	    "SELECT count(*) FROM credentials"), 0);
	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad), 0);
	assert_int_equal(count, 0);
	/* a batch cannot start inside a transaction */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_batch_begin(f->s), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	/* a batch commit with a request left open keeps nothing */
	assert_int_equal(tk_store_batch_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	(void)add_cred(f->s, "dave", TK_CRED_ACTIVE, 0);
	assert_int_equal(tk_store_batch_commit(f->s), TK_ERR_INVAL);
	assert_false(tk_store_in_batch(f->s));
	assert_int_equal(other_count(f->db,
	    "SELECT count(*) FROM credentials"), 0);
}

static void
test_cred_page(void **state)
{
	struct fx *f = *state;
	struct tk_cred *all = NULL, page[7];
	char user[16];
	size_t nall = 0, n, i, got = 0;
	uint64_t off;
	bool more;

	assert_int_equal(tk_store_begin(f->s), 0);
	for (i = 0; i < 40; i++) {
		/* users out of id order: z.. first */
		snprintf(user, sizeof(user), "%c%02zu", "zyxa"[i % 4], i);
		(void)add_cred(f->s, user, TK_CRED_ACTIVE, 0);
		if (i % 5 == 0)
			(void)add_cred(f->s, user, TK_CRED_PENDING, 0);
	}
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &all, &nall), 0);
	assert_int_equal(nall, 48);
	for (off = 0;; off += n) {
		assert_int_equal(tk_store_cred_page(f->s, NULL, off, page, 7,
		    &n, &more), 0);
		for (i = 0; i < n; i++, got++) {
			assert_int_equal(page[i].id, all[got].id);
			assert_string_equal(page[i].user, all[got].user);
			assert_null(page[i].sealed);
			tk_cred_clear(&page[i]);
		}
		if (!more)
			break;
		assert_int_equal(n, 7);
	}
	assert_int_equal(got, nall);
	/* past the end: empty, no more */
	assert_int_equal(tk_store_cred_page(f->s, NULL, 1000, page, 7, &n,
	    &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	/* one user */
	assert_int_equal(tk_store_cred_page(f->s, "z00", 0, page, 7, &n,
	    &more), 0);
	assert_int_equal(n, 2);
	assert_false(more);
	tk_cred_clear(&page[0]);
	tk_cred_clear(&page[1]);
	tk_cred_list_free(&all, nall);
}

static void
test_pending_due(void **state)
{
	struct fx *f = *state;
	struct tk_cred *due = NULL;
	uint64_t p1, p2, removed;
	size_t n;

	assert_int_equal(tk_store_begin(f->s), 0);
	p1 = add_cred(f->s, "erin", TK_CRED_PENDING, 1000);
	(void)add_cred(f->s, "erin", TK_CRED_PENDING, 3000);
	p2 = add_cred(f->s, "frank", TK_CRED_PENDING, 1999);
	(void)add_cred(f->s, "frank", TK_CRED_ACTIVE, 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_pending_due(f->s, 2000, &due, &n), 0);
	assert_int_equal(n, 2);
	assert_true((due[0].id == p1 && due[1].id == p2) ||
	    (due[0].id == p2 && due[1].id == p1));
	assert_null(due[0].sealed);
	tk_cred_list_free(&due, n);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_expire(f->s, 2000, &removed), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(tk_store_cred_pending_due(f->s, 2000, &due, &n), 0);
	assert_int_equal(n, 0);
	assert_null(due);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_keeps_others,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_abort, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cred_page, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_due, setup,
		    teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return (cmocka_run_group_tests_name("batch", tests, NULL, NULL));
}
