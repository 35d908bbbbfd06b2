/*
 * test_store.c -- the SQLite store: opening and its safety checks,
 * migrations, credentials, the replay check, throttling, statistics,
 * the audit chain and its verification, crashes and concurrent writers.
 * Tampering is done with SQLite directly, as an attacker with write
 * access to the file would.
 */
#include "config.h"

#include <sys/stat.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "store_ops.h"
#include "testdir.h"

#define NOBODY_UID	65534	/* an owner that is not us, for root runs */
#define WATCHDOG_SEC	300	/* the whole program, seconds */
#define T0		1700000000	/* a fixed "now", UNIX time */
#define CHAIN_ROWS	5	/* rows of the audit chain under test */
#define RACERS		16	/* processes submitting the same step */

struct fx {
	char		 dir[TK_TESTDIR_PATH_MAX];
	char		 db[TK_TESTDIR_PATH_MAX];
	unsigned char	 key[TK_AUDIT_KEY_BYTES];
	tk_store_t	*s;
};

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
	randombytes_buf(f->key, sizeof(f->key));
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

static void
open_ok(struct fx *f)
{
	tk_store_close(&f->s);
	assert_int_equal(tk_store_open_sqlite(f->db, f->key, sizeof(f->key),
	    &f->s), 0);
	assert_non_null(f->s);
}

static int
open_err(struct fx *f, const char *path)
{
	tk_store_t *s = (tk_store_t *)(uintptr_t)1;	/* must be cleared */
	int r;

	r = tk_store_open_sqlite(path, f->key, sizeof(f->key), &s);
	assert_null(s);
	return (r);
}

/* runs SQL on the file with SQLite directly, outside the store */
static void
db_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		fail();
	}
	sqlite3_close(db);
}

/* the first column of the first row of `sql', as text, into out */
static void
db_text(const char *path, const char *sql, char *out, size_t outlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *t;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_text(st, 0);
	assert_non_null(t);
	assert_true(strlen((const char *)t) < outlen);
	snprintf(out, outlen, "%s", (const char *)t);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static long long
db_int(const char *path, const char *sql)
{
	char buf[64];

	db_text(path, sql, buf, sizeof(buf));
	return (strtoll(buf, NULL, 10));
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

/* inserts one credential in its own transaction; returns its id */
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

/* ---------------------------------------------------------------- */
/* opening */

static void
test_open_creates_schema(void **state)
{
	struct fx *f = *state;
	char wal[TK_TESTDIR_PATH_MAX];
	struct stat sb;
	char mode[16];

	open_ok(f);
	assert_string_equal(tk_store_kind(f->s), "sqlite");
	assert_int_equal(tk_store_ping(f->s), 0);
	assert_int_equal(lstat(f->db, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	db_text(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('credentials', 'throttle', "
	    "'audit', 'recovery_codes', 'grants')"), 5);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM sqlite_master "
	    "WHERE type = 'index' AND name = 'credentials_user'"), 1);
	/* the WAL that now holds the writes is as private as the file */
	insert(f, "alice", TK_CRED_ACTIVE, "s");
	tk_testdir_join(wal, sizeof(wal), f->dir, "tokend.db-wal");
	assert_int_equal(lstat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
}

static void
test_open_migrates_empty_file(void **state)
{
	struct fx *f = *state;
	FILE *fp;

	/* an empty, safe file (as tokenadm init may leave) is schema 0 */
	assert_non_null(fp = fopen(f->db, "w"));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->db, 0600), 0);
	open_ok(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	insert(f, "alice", TK_CRED_ACTIVE, "s");
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_ACTIVE, "sealed-bytes");
	open_ok(f);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.id, id);
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.label, "phone of alice");
	assert_int_equal(c.kind, TK_CRED_TOTP);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_int_equal(c.created, T0);
	assert_int_equal(c.digits, 6);
	assert_int_equal(c.algorithm, TK_TOTP_SHA1);
	assert_int_equal(c.period, 30);
	assert_int_equal(c.key_id, 0x01020304);
	assert_int_equal(c.sealed_len, strlen("sealed-bytes"));
	assert_memory_equal(c.sealed, "sealed-bytes", c.sealed_len);
	tk_cred_clear(&c);
	assert_null(c.sealed);
	assert_int_equal(c.sealed_len, 0);
	/* the schema is not migrated twice */
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	tk_store_close(&f->s);
	db_exec(f->db, "PRAGMA user_version = 4");
	assert_int_equal(open_err(f, f->db), TK_ERR_VERSION);
	/* refused without writing: the version is still the newer one */
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 4);
}

static void
test_ping_sees_schema_change(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	db_exec(f->db, "PRAGMA user_version = 7");
	assert_int_equal(tk_store_ping(f->s), TK_ERR_VERSION);
}

static void
test_unsafe_directory_refused(void **state)
{
	struct fx *f = *state;
	static const mode_t bad[] = { 0777, 0770, 0720, 0702, 01777 };
	char sub[TK_TESTDIR_PATH_MAX], db[TK_TESTDIR_PATH_MAX];
	size_t i;

	tk_testdir_join(sub, sizeof(sub), f->dir, "sub");
	tk_testdir_join(db, sizeof(db), sub, "tokend.db");
	assert_int_equal(mkdir(sub, 0700), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(sub, bad[i]), 0);
		assert_int_equal(open_err(f, db), TK_ERR_PERM);
		/* refused before anything was created */
		assert_int_equal(access(db, F_OK), -1);
	}
	if (geteuid() == 0) {
		assert_int_equal(chmod(sub, 0755), 0);
		assert_int_equal(chown(sub, NOBODY_UID, NOBODY_UID), 0);
		assert_int_equal(open_err(f, db), TK_ERR_PERM);
		assert_int_equal(chown(sub, 0, 0), 0);
	}
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(tk_store_open_sqlite(db, f->key, sizeof(f->key),
	    &f->s), 0);
	tk_store_close(&f->s);
}

static void
test_missing_directory_refused(void **state)
{
	struct fx *f = *state;
	char db[TK_TESTDIR_PATH_MAX];

	tk_testdir_join(db, sizeof(db), f->dir, "nonexistent/tokend.db");
	assert_int_equal(open_err(f, db), TK_ERR_STORE);
}

static void
test_unsafe_file_refused(void **state)
{
	struct fx *f = *state;
	static const mode_t bad[] = { 0640, 0604, 0610, 0660, 0666 };
	size_t i;

	open_ok(f);
	tk_store_close(&f->s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->db, bad[i]), 0);
		assert_int_equal(open_err(f, f->db), TK_ERR_PERM);
	}
	assert_int_equal(chmod(f->db, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(f->db, NOBODY_UID, NOBODY_UID), 0);
		assert_int_equal(open_err(f, f->db), TK_ERR_PERM);
		assert_int_equal(chown(f->db, 0, 0), 0);
	}
	open_ok(f);
}

static void
test_symlinked_file_refused(void **state)
{
	struct fx *f = *state;
	char link[TK_TESTDIR_PATH_MAX], dangling[TK_TESTDIR_PATH_MAX];
	char target[TK_TESTDIR_PATH_MAX];

	open_ok(f);
	tk_store_close(&f->s);
	tk_testdir_join(link, sizeof(link), f->dir, "link.db");
	assert_int_equal(symlink(f->db, link), 0);
	assert_int_equal(open_err(f, link), TK_ERR_PERM);
	/* a dangling link must not make us create its target */
	tk_testdir_join(dangling, sizeof(dangling), f->dir, "dangling.db");
	tk_testdir_join(target, sizeof(target), f->dir, "target.db");
	assert_int_equal(symlink(target, dangling), 0);
	assert_int_equal(open_err(f, dangling), TK_ERR_PERM);
	assert_int_equal(access(target, F_OK), -1);
}

static void
test_not_regular_file_refused(void **state)
{
	struct fx *f = *state;
	char fifo[TK_TESTDIR_PATH_MAX];

	assert_int_equal(mkdir(f->db, 0700), 0);
	assert_int_equal(open_err(f, f->db), TK_ERR_PERM);
	tk_testdir_join(fifo, sizeof(fifo), f->dir, "fifo.db");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(open_err(f, fifo), TK_ERR_PERM);
}

static void
test_open_bad_arguments(void **state)
{
	struct fx *f = *state;
	tk_store_t *s = NULL;

	assert_int_equal(tk_store_open_sqlite(f->db, f->key, 16, &s),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_open_sqlite(f->db, NULL, 32, &s),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_open_sqlite(NULL, f->key, 32, &s),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_open_sqlite("", f->key, 32, &s),
	    TK_ERR_INVAL);
	assert_null(s);
	/* nothing was created by the refused calls */
	assert_int_equal(access(f->db, F_OK), -1);
	tk_store_close(NULL);
	tk_store_close(&s);
}

/* ---------------------------------------------------------------- */
/* transactions */

static void
test_changes_need_transaction(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "x");
	struct tk_throttle t;
	uint64_t n;

	open_ok(f);
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	assert_int_equal(tk_store_totp_accept_step(f->s, 1, 5, T0),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "alice", &n),
	    TK_ERR_INVAL);
	memset(&t, 0, sizeof(t));
	snprintf(t.user, sizeof(t.user), "alice");
	assert_int_equal(tk_store_throttle_put(f->s, &t), TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_begin(f->s), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	tk_store_rollback(f->s);	/* no transaction: a no-op */
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"),
	    0);
}

static void
test_rollback_discards(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "x");
	struct tk_cred *list = NULL;
	size_t n = 1;

	open_ok(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	tk_store_rollback(f->s);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);
	/* closing with an open transaction rolls it back too */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	tk_store_close(&f->s);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"),
	    0);
}

static void
test_failed_step_blocks_commit(void **state)
{
	struct fx *f = *state;
	struct tk_cred c = cred("alice", TK_CRED_ACTIVE, "x");
	struct tk_cred *list = NULL;
	size_t n = 0;

	open_ok(f);
	/* a row that breaks store.h's limits: a 300-byte user name */
	db_exec(f->db, "INSERT INTO credentials (user, kind, state, label, "
	    "created, digits, algorithm, period) VALUES "
	    "(replace(hex(zeroblob(150)), '0', 'm'), 1, 2, '', 0, 6, 1, 30)");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n),
	    TK_ERR_STORE);
	assert_null(list);
	assert_int_equal(n, 0);
	/* the caller ignores the error: the commit must still refuse */
	assert_int_equal(tk_store_commit(f->s), TK_ERR_STORE);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials "
	    "WHERE user = 'alice'"), 0);
	/* and the store is usable afterwards */
	insert(f, "alice", TK_CRED_ACTIVE, "x");
}

/* ---------------------------------------------------------------- */
/* credentials */

static void
test_cred_insert_get_list(void **state)
{
	struct fx *f = *state;
	struct tk_cred *list = NULL, c;
	uint64_t a1, a2, b1, a3;
	size_t n = 0;

	open_ok(f);
	b1 = insert(f, "bob", TK_CRED_ACTIVE, "b1");
	a1 = insert(f, "alice", TK_CRED_ACTIVE, "a1");
	a2 = insert(f, "alice", TK_CRED_PENDING, NULL);
	a3 = insert(f, "alice", TK_CRED_ACTIVE, "a3");
	assert_true(b1 < a1 && a1 < a2 && a2 < a3);

	assert_int_equal(tk_store_cred_get(f->s, "bob", a1, &c),
	    TK_ERR_NOTFOUND);	/* another user's credential */
	assert_int_equal(c.id, 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", a3 + 100, &c),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_cred_get(f->s, "alice", a2, &c), 0);
	assert_int_equal(c.state, TK_CRED_PENDING);
	assert_int_equal(c.expires, T0 + 900);
	assert_null(c.sealed);
	tk_cred_clear(&c);

	/* all users: ordered by user, then id */
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].user, "alice");
	assert_int_equal(list[0].id, a1);
	assert_int_equal(list[1].id, a2);
	assert_int_equal(list[2].id, a3);
	assert_string_equal(list[3].user, "bob");
	assert_int_equal(list[3].id, b1);
	tk_cred_list_free(&list, n);
	assert_null(list);

	assert_int_equal(tk_store_cred_list(f->s, "bob", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(list[0].sealed, "b1", 2);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_list(f->s, "carol", &list, &n), 0);
	assert_int_equal(n, 0);
	tk_cred_list_free(&list, n);

	/* active only, with their sealed secrets */
	assert_int_equal(tk_store_cred_active(f->s, "alice", TK_CRED_TOTP,
	    &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, a1);
	assert_memory_equal(list[0].sealed, "a1", 2);
	assert_int_equal(list[1].id, a3);
	assert_memory_equal(list[1].sealed, "a3", 2);
	tk_cred_list_free(&list, n);
}

static void
test_cred_many(void **state)
{
	struct fx *f = *state;
	struct tk_cred *list = NULL, c;
	size_t i, n = 0;
	const size_t count = 100;	/* beyond the first allocations */

	open_ok(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	for (i = 0; i < count; i++) {
		c = cred("alice", TK_CRED_ACTIVE, "s");
		assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	}
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_list(f->s, "alice", &list, &n), 0);
	assert_int_equal(n, count);
	for (i = 1; i < n; i++)
		assert_true(list[i - 1].id < list[i].id);
	tk_cred_list_free(&list, n);
}

static void
test_cred_invalid_arguments(void **state)
{
	struct fx *f = *state;
	char longuser[TK_USER_MAX + 2];
	struct tk_cred c;
	struct tk_cred *list = NULL;
	size_t n;

	open_ok(f);
	memset(longuser, 'u', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	assert_int_equal(tk_store_begin(f->s), 0);
	c = cred("alice", TK_CRED_ACTIVE, "x");
	c.digits = 7;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = cred("alice", TK_CRED_ACTIVE, "x");
	c.algorithm = 9;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = cred("alice", TK_CRED_ACTIVE, "x");
	c.period = 0;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = cred("", TK_CRED_ACTIVE, "x");
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = cred("alice", 0, "x");
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = cred("alice", TK_CRED_ACTIVE, "x");
	c.sealed_len = 0;	/* a pointer without a length */
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_get(f->s, longuser, 1, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_get(f->s, "alice", 0, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_get(f->s, "alice", UINT64_MAX, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_list(f->s, longuser, &list, &n),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_cred_active(f->s, "alice", 0, &list, &n),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_totp_accept_step(f->s, 1, UINT64_MAX, T0),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"),
	    0);
}

static void
test_cred_state_changes(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_PENDING, "secret");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "bob", id,
	    TK_CRED_ACTIVE), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", id,
	    TK_CRED_ACTIVE), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", id,
	    TK_CRED_ACTIVE), 0);	/* again: no-op */
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", id,
	    TK_CRED_PENDING), TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_int_equal(c.expires, 0);
	assert_int_equal(c.sealed_len, 6);
	tk_cred_clear(&c);

	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", id,
	    TK_CRED_REVOKED), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "alice", id,
	    TK_CRED_ACTIVE), TK_ERR_INVAL);	/* no way back */
	assert_int_equal(tk_store_cred_set_secret(f->s, id, 1,
	    (const unsigned char *)"new", 3), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.state, TK_CRED_REVOKED);
	assert_null(c.sealed);		/* revoking dropped the secret */
	assert_int_equal(c.key_id, 0);
	tk_cred_clear(&c);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials "
	    "WHERE sealed IS NOT NULL"), 0);
}

static void
test_cred_set_secret(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_PENDING, NULL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_secret(f->s, id, 0xa0b0c0d0,
	    (const unsigned char *)"blob\0with-nul", 13), 0);
	assert_int_equal(tk_store_cred_set_secret(f->s, id + 1, 1,
	    (const unsigned char *)"x", 1), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_cred_set_secret(f->s, id, 1, NULL, 0),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.key_id, 0xa0b0c0d0);
	assert_int_equal(c.sealed_len, 13);
	assert_memory_equal(c.sealed, "blob\0with-nul", 13);
	tk_cred_clear(&c);
}

static void
test_cred_revoke_all(void **state)
{
	struct fx *f = *state;
	struct tk_cred *list = NULL;
	uint64_t count = 99;
	size_t i, n = 0;

	open_ok(f);
	insert(f, "alice", TK_CRED_ACTIVE, "a");
	insert(f, "alice", TK_CRED_PENDING, "b");
	insert(f, "bob", TK_CRED_ACTIVE, "c");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "alice", &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "alice", &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_list(f->s, "alice", &list, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(list[i].state, TK_CRED_REVOKED);
		assert_null(list[i].sealed);
	}
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_active(f->s, "bob", TK_CRED_TOTP,
	    &list, &n), 0);
	assert_int_equal(n, 1);
	tk_cred_list_free(&list, n);
}

static void
test_cred_expire(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t old, fresh, active, later, count = 99;

	open_ok(f);
	active = insert(f, "alice", TK_CRED_ACTIVE, "a");
	c = cred("alice", TK_CRED_PENDING, "p");
	c.expires = T0 - 1;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	old = c.id;
	c = cred("alice", TK_CRED_PENDING, "p");
	c.expires = T0 + 60;
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	fresh = c.id;
	assert_int_equal(tk_store_commit(f->s), 0);

	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_expire(f->s, T0, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", old, &c),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_cred_get(f->s, "alice", fresh, &c), 0);
	tk_cred_clear(&c);
	assert_int_equal(tk_store_cred_get(f->s, "alice", active, &c), 0);
	tk_cred_clear(&c);

	/* the newest id is removed: ids are still never reused */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_expire(f->s, T0 + 61, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(tk_store_commit(f->s), 0);
	later = insert(f, "alice", TK_CRED_ACTIVE, "n");
	assert_true(later > fresh);
}

/* ---------------------------------------------------------------- */
/* the replay check */

static void
test_accept_step(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 100, T0), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 100, T0 + 1),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 99, T0 + 2),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 0, T0 + 2),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, id + 1, 500, T0),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 101, T0 + 30),
	    0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_get(f->s, "alice", id, &c), 0);
	assert_int_equal(c.last_step, 101);
	assert_int_equal(c.last_used, T0 + 30);
	tk_cred_clear(&c);
}

static void
test_accept_step_durable(void **state)
{
	struct fx *f = *state;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 200, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	open_ok(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 200, T0),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 199, T0),
	    TK_ERR_REPLAY);
	tk_store_rollback(f->s);
	/* a rolled-back acceptance is not kept */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 201, T0), 0);
	tk_store_rollback(f->s);
	open_ok(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_totp_accept_step(f->s, id, 201, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* child of test_accept_step_racing: 0 accepted, 1 replay, 2 error */
static int
racer(const char *db, const unsigned char *key, uint64_t id, int gate)
{
	tk_store_t *s = NULL;
	char c;
	int r, rv = 2;

	if (tk_store_open_sqlite(db, key, TK_AUDIT_KEY_BYTES, &s) != 0)
		return (2);
	/* wait until the parent lets every racer go at once */
	if (read(gate, &c, 1) != 0)
		goto out;
	if (tk_store_begin(s) != 0)
		goto out;
	r = tk_store_totp_accept_step(s, id, 1000, T0);
	if (r == 0 && tk_store_commit(s) == 0)
		rv = 0;
	else if (r == TK_ERR_REPLAY)
		rv = 1;
	tk_store_rollback(s);
 out:
	tk_store_close(&s);
	return (rv);
}

static void
test_accept_step_racing(void **state)
{
	struct fx *f = *state;
	pid_t pid[RACERS];
	int gate[2], i, st, accepted = 0, replayed = 0;
	uint64_t id;

	open_ok(f);
	id = insert(f, "alice", TK_CRED_ACTIVE, "s");
	tk_store_close(&f->s);
	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < RACERS; i++) {
		assert_true((pid[i] = fork()) != -1);
		if (pid[i] == 0) {
			close(gate[1]);
			_exit(racer(f->db, f->key, id, gate[0]));
		}
	}
	close(gate[0]);
	close(gate[1]);		/* EOF: every racer starts now */
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			accepted++;
		else if (WEXITSTATUS(st) == 1)
			replayed++;
	}
	assert_int_equal(accepted, 1);
	assert_int_equal(replayed, RACERS - 1);
	assert_int_equal(db_int(f->db, "SELECT last_step FROM credentials"),
	    1000);
}

/* ---------------------------------------------------------------- */
/* throttling, statistics */

static void
test_throttle(void **state)
{
	struct fx *f = *state;
	struct tk_throttle t;

	open_ok(f);
	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_string_equal(t.user, "alice");
	assert_int_equal(t.failures, 0);
	assert_int_equal(t.last_failure, 0);
	assert_false(t.locked);

	t.failures = 3;
	t.last_failure = T0;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	t.failures = 10;
	t.last_failure = T0 + 5;
	t.locked = true;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_equal(tk_store_commit(f->s), 0);

	open_ok(f);
	memset(&t, 0xff, sizeof(t));
	assert_int_equal(tk_store_throttle_get(f->s, "alice", &t), 0);
	assert_string_equal(t.user, "alice");
	assert_int_equal(t.failures, 10);
	assert_int_equal(t.last_failure, T0 + 5);
	assert_true(t.locked);
	assert_int_equal(tk_store_throttle_get(f->s, "bob", &t), 0);
	assert_int_equal(t.failures, 0);
	assert_false(t.locked);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM throttle"), 1);
}

static void
test_stats(void **state)
{
	struct fx *f = *state;
	struct tk_store_stats st;
	struct tk_throttle t;
	uint64_t id, n;

	open_ok(f);
	assert_int_equal(tk_store_stats(f->s, &st), 0);
	assert_int_equal(st.users, 0);
	assert_int_equal(st.creds, 0);
	assert_int_equal(st.locked_users, 0);
	insert(f, "alice", TK_CRED_ACTIVE, "a");
	insert(f, "alice", TK_CRED_PENDING, "b");
	id = insert(f, "bob", TK_CRED_ACTIVE, "c");
	insert(f, "carol", TK_CRED_ACTIVE, "d");
	memset(&t, 0, sizeof(t));
	snprintf(t.user, sizeof(t.user), "carol");
	t.locked = true;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_set_state(f->s, "bob", id,
	    TK_CRED_REVOKED), 0);
	assert_int_equal(tk_store_throttle_put(f->s, &t), 0);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "nobody", &n), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_stats(f->s, &st), 0);
	assert_int_equal(st.users, 2);		/* alice, carol */
	assert_int_equal(st.creds, 3);
	assert_int_equal(st.locked_users, 1);
	assert_int_equal(tk_store_ping(f->s), 0);
}

/* ---------------------------------------------------------------- */
/* the audit chain */

static const unsigned char golden_key[TK_AUDIT_KEY_BYTES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

static const struct tk_audit_event golden_ev1 = {
	.time = 1700000000, .host = "term01", .event = "totp_verify",
	.user = "alice", .cred = 7, .service = "login", .rhost = "",
	.tty = "tty1", .uid = 0, .pid = 1234, .result = "ok", .reason = ""
};

static const struct tk_audit_event golden_ev2 = {
	.time = 1700000030, .host = NULL, .event = "enroll_begin",
	.user = "bob", .cred = 0, .service = NULL, .rhost = "192.0.2.1",
	.tty = NULL, .uid = -1, .pid = -1, .result = "denied",
	.reason = "role self"
};

static void
hex_decode(const char *hex, unsigned char *out, size_t len)
{
	size_t bin_len = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL,
	    &bin_len, NULL), 0);
	assert_int_equal(bin_len, len);
}

/* MACs computed independently (Python hashlib) from store_audit.c's spec */
static void
test_audit_mac_golden(void **state)
{
	unsigned char zero[TK_STORE_MAC_BYTES], m1[TK_STORE_MAC_BYTES];
	unsigned char m2[TK_STORE_MAC_BYTES], want[TK_STORE_MAC_BYTES];

	memset(zero, 0, sizeof(zero));
	assert_int_equal(tk_store_audit_mac(golden_key, 1, &golden_ev1, zero,
	    m1), 0);
	hex_decode("4b5d4ef8d93ea4c2f5acf2ee5648281a"
	    "ba7d08f6cbfc315ba59215b98b39e88f", want, sizeof(want));
	assert_memory_equal(m1, want, sizeof(want));
	assert_int_equal(tk_store_audit_mac(golden_key, 2, &golden_ev2, m1,
	    m2), 0);
	hex_decode("fbc8d0aa5c26151513b973e5f5340ebc"
	    "15b73374eebf005518d87e607fd062c2", want, sizeof(want));
	assert_memory_equal(m2, want, sizeof(want));
}

static void
append(struct fx *f, const struct tk_audit_event *ev)
{
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_append(f->s, ev), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
}

/* CHAIN_ROWS rows with distinct fields, times from t0 on */
static void
make_chain_at(tk_store_t *s, int64_t t0)
{
	static const char *const users[CHAIN_ROWS] = {
		"alice", "bob", "carol", "dave", "erin"
	};
	struct tk_audit_event ev;
	int i;

	for (i = 0; i < CHAIN_ROWS; i++) {
		ev = golden_ev1;
		ev.time = t0 + i;
		ev.user = users[i];
		ev.cred = (uint64_t)i + 1;
		ev.result = i % 2 == 0 ? "ok" : "wrong";
		assert_int_equal(tk_store_begin(s), 0);
		assert_int_equal(tk_store_audit_append(s, &ev), 0);
		assert_int_equal(tk_store_commit(s), 0);
	}
}

static void
make_chain(struct fx *f)
{
	make_chain_at(f->s, T0);
}

static void
verify_ok(struct fx *f, uint64_t rows)
{
	uint64_t count = 99, bad = 99;

	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad), 0);
	assert_int_equal(count, rows);
	assert_int_equal(bad, 0);
}

static void
verify_bad(struct fx *f, uint64_t want_bad)
{
	uint64_t count = 0, bad = 0;

	assert_int_equal(tk_store_audit_verify(f->s, &count, &bad),
	    TK_ERR_CRYPTO);
	assert_int_equal(bad, want_bad);
}

static void
test_audit_chain_verifies(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	verify_ok(f, 0);
	append(f, &golden_ev2);	/* NULL texts are stored as empty */
	make_chain(f);
	verify_ok(f, CHAIN_ROWS + 1);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit WHERE "
	    "host = '' AND service = '' AND tty = '' AND seq = 1"), 1);
	/* the chain goes on across a reopen */
	open_ok(f);
	append(f, &golden_ev1);
	verify_ok(f, CHAIN_ROWS + 2);
	assert_int_equal(db_int(f->db, "SELECT MAX(seq) FROM audit"),
	    CHAIN_ROWS + 2);
}

static void
test_audit_rolled_back_row_absent(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_append(f->s, &golden_ev2), 0);
	tk_store_rollback(f->s);
	append(f, &golden_ev1);
	verify_ok(f, CHAIN_ROWS + 1);
}

static void
test_audit_append_checks(void **state)
{
	struct fx *f = *state;
	struct tk_audit_event ev;
	char reason[TK_REASON_MAX + 2];

	open_ok(f);
	assert_int_equal(tk_store_audit_append(f->s, &golden_ev1),
	    TK_ERR_INVAL);		/* outside a transaction */
	assert_int_equal(tk_store_begin(f->s), 0);
	ev = golden_ev1;
	ev.event = NULL;
	assert_int_equal(tk_store_audit_append(f->s, &ev), TK_ERR_INVAL);
	ev = golden_ev1;
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	ev.reason = reason;
	assert_int_equal(tk_store_audit_append(f->s, &ev), TK_ERR_INVAL);
	reason[TK_REASON_MAX] = '\0';	/* exactly the limit */
	assert_int_equal(tk_store_audit_append(f->s, &ev), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	verify_ok(f, 1);
}

/* a chain, then `sql' run by an attacker, then verification */
static void
tamper(struct fx *f, const char *sql, uint64_t want_bad)
{
	open_ok(f);
	make_chain(f);
	verify_ok(f, CHAIN_ROWS);
	db_exec(f->db, sql);
	verify_bad(f, want_bad);
}

static void
test_audit_tampered_text(void **state)
{
	tamper(*state, "UPDATE audit SET user = 'mallory' WHERE seq = 3", 3);
}

static void
test_audit_tampered_number(void **state)
{
	tamper(*state, "UPDATE audit SET time = time + 1 WHERE seq = 2", 2);
}

static void
test_audit_tampered_result(void **state)
{
	tamper(*state, "UPDATE audit SET result = 'ok' WHERE seq = 4", 4);
}

static void
test_audit_tampered_mac(void **state)
{
	tamper(*state, "UPDATE audit SET mac = zeroblob(32) WHERE seq = 5",
	    5);
}

static void
test_audit_embedded_nul(void **state)
{
	/* the C string still reads "carol": the stored text does not */
	tamper(*state, "UPDATE audit SET user = CAST(user || X'00' || 'x' "
	    "AS TEXT) WHERE seq = 3", 3);
}

static void
test_audit_deleted_row(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq = 3", 4);
}

static void
test_audit_deleted_first_row(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq = 1", 2);
}

static void
test_audit_swapped_rows(void **state)
{
	/* rows 2 and 3 trade places: their contents move, seqs stay */
	tamper(*state,
	    "UPDATE audit SET seq = -2 WHERE seq = 2;"
	    "UPDATE audit SET seq = 2 WHERE seq = 3;"
	    "UPDATE audit SET seq = 3 WHERE seq = -2;", 2);
}

static void
test_audit_renumbered(void **state)
{
	/* the deletion hidden by renumbering the rows after it */
	tamper(*state,
	    "DELETE FROM audit WHERE seq = 2;"
	    "UPDATE audit SET seq = seq - 1 WHERE seq > 2;", 2);
}

/*
 * A valid row (right key, right seq, its own valid MAC) taken from
 * another chain, e.g. another terminal's database under the same master
 * key: only the link to the previous row can tell.
 */
static void
test_audit_spliced_row(void **state)
{
	struct fx *f = *state;
	char other[TK_TESTDIR_PATH_MAX], sql[2 * TK_TESTDIR_PATH_MAX];
	tk_store_t *s2 = NULL;
	int n;

	tk_testdir_join(other, sizeof(other), f->dir, "other.db");
	assert_int_equal(tk_store_open_sqlite(other, f->key, sizeof(f->key),
	    &s2), 0);
	make_chain_at(s2, T0 + 3600);
	tk_store_close(&s2);
	n = snprintf(sql, sizeof(sql), "ATTACH '%s' AS o;"
	    "DELETE FROM audit WHERE seq = 3;"
	    "INSERT INTO audit SELECT * FROM o.audit WHERE seq = 3;", other);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	tamper(f, sql, 3);
}

static void
test_audit_wrong_key(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	tk_store_close(&f->s);
	f->key[0] ^= 1;
	open_ok(f);
	verify_bad(f, 1);
}

/* ---------------------------------------------------------------- */
/* a full disk */

/*
 * A full disk, simulated under SQLite: a VFS that is the default "unix"
 * one except that its files' xWrite answers SQLITE_FULL while
 * `disk_full' is set.
 */
#define FULL_IO_MAX	4	/* distinct method tables of the unix VFS */

static bool			 disk_full;
static sqlite3_vfs		*real_vfs;
static sqlite3_vfs		 full_vfs;
/* full_io[i] is real_io[i] with xWrite replaced */
static const sqlite3_io_methods	*real_io[FULL_IO_MAX];
static sqlite3_io_methods	 full_io[FULL_IO_MAX];
static size_t			 n_io;

static int
full_write(sqlite3_file *fp, const void *buf, int n, sqlite3_int64 off)
{
	size_t i = (size_t)(fp->pMethods - full_io);

	if (disk_full)
		return (SQLITE_FULL);
	return (real_io[i]->xWrite(fp, buf, n, off));
}

static int
full_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *fp, int flags,
    int *out_flags)
{
	size_t i;
	int rc;

	rc = real_vfs->xOpen(real_vfs, name, fp, flags, out_flags);
	if (rc != SQLITE_OK || fp->pMethods == NULL)
		return (rc);
	for (i = 0; i < n_io && real_io[i] != fp->pMethods; i++)
		;
	if (i == n_io) {
		if (n_io == FULL_IO_MAX) {
			fp->pMethods->xClose(fp);
			fp->pMethods = NULL;
			return (SQLITE_CANTOPEN);
		}
		real_io[i] = fp->pMethods;
		full_io[i] = *fp->pMethods;
		full_io[i].xWrite = full_write;
		n_io++;
	}
	fp->pMethods = &full_io[i];
	return (rc);
}

/* also after a failure: the next tests must get the plain VFS back */
static int
teardown_full(void **state)
{
	struct fx *f = *state;

	disk_full = false;
	tk_store_close(&f->s);
	(void)sqlite3_vfs_unregister(&full_vfs);
	return (teardown(state));
}

static void
test_commit_disk_full(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	char buf[32];

	assert_non_null(real_vfs = sqlite3_vfs_find(NULL));
	full_vfs = *real_vfs;
	full_vfs.zName = "tokend-test-full";
	full_vfs.xOpen = full_open;
	assert_int_equal(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);

	open_ok(f);
	insert(f, "alice", TK_CRED_ACTIVE, "s");
	assert_int_equal(tk_store_begin(f->s), 0);
	c = cred("bob", TK_CRED_ACTIVE, "t");
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_audit_append(f->s, &golden_ev1), 0);
	disk_full = true;
	assert_int_equal(tk_store_commit(f->s), TK_ERR_FULL);
	disk_full = false;
	/* nothing of the failed transaction; the store works on */
	assert_int_equal(tk_store_cred_get(f->s, "bob", c.id, &c),
	    TK_ERR_NOTFOUND);
	verify_ok(f, 0);
	insert(f, "carol", TK_CRED_ACTIVE, "u");
	tk_store_close(&f->s);
	assert_int_equal(sqlite3_vfs_unregister(&full_vfs), SQLITE_OK);
	db_text(f->db, "PRAGMA integrity_check", buf, sizeof(buf));
	assert_string_equal(buf, "ok");
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"),
	    2);
}

/* ---------------------------------------------------------------- */
/* crashes: a writer killed with SIGKILL */

/*
 * Child: opens the store, begins, inserts a credential and an audit row,
 * commits when `commit', tells the parent through `ready', then waits to
 * be killed.  Never returns.
 */
static void
crasher(struct fx *f, bool commit, int ready)
{
	struct tk_cred c = cred("crash", TK_CRED_ACTIVE, "s");
	struct tk_audit_event ev = golden_ev1;
	tk_store_t *s = NULL;

	ev.user = "crash";
	if (tk_store_open_sqlite(f->db, f->key, sizeof(f->key), &s) != 0 ||
	    tk_store_begin(s) != 0 ||
	    tk_store_cred_insert(s, &c) != 0 ||
	    tk_store_totp_accept_step(s, 1, 77, T0) != 0 ||
	    tk_store_audit_append(s, &ev) != 0)
		_exit(1);
	if (commit && tk_store_commit(s) != 0)
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static void
crash(struct fx *f, bool commit)
{
	char buf[32];
	pid_t pid;
	int ready[2], st;

	open_ok(f);
	insert(f, "alice", TK_CRED_ACTIVE, "s");	/* id 1 */
	make_chain(f);
	tk_store_close(&f->s);
	assert_int_equal(pipe(ready), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(ready[0]);
		crasher(f, commit, ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], buf, 1), 1);
	close(ready[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	db_text(f->db, "PRAGMA integrity_check", buf, sizeof(buf));
	assert_string_equal(buf, "ok");
	open_ok(f);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials "
	    "WHERE user = 'crash'"), commit ? 1 : 0);
	assert_int_equal(db_int(f->db, "SELECT last_step FROM credentials "
	    "WHERE id = 1"), commit ? 77 : 0);
	verify_ok(f, CHAIN_ROWS + (commit ? 1 : 0));
	/* the store takes new writes after the crash */
	append(f, &golden_ev2);
	verify_ok(f, CHAIN_ROWS + (commit ? 2 : 1));
}

static void
test_crash_before_commit(void **state)
{
	crash(*state, false);
}

static void
test_crash_after_commit(void **state)
{
	crash(*state, true);
}


/* ---------------------------------------------------------------- */
/* schema version 2: migration, recovery codes, grants, audit reads */

/* the version-1 schema exactly as released (store_sqlite.c, step 0) */
static const char v1_schema[] =
	"CREATE TABLE credentials ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
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
	" mac BLOB NOT NULL);"
	"PRAGMA user_version = 1;";

static void
test_migrate_v1_to_v2(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	struct tk_recovery *list = NULL;
	size_t n = 0;
	uint64_t id, left = 9;
	unsigned char h[1][TK_RECOVERY_HASH_BYTES];
	sqlite3 *db = NULL;

	/* a version-1 database with data, as the released program left it */
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(f->db, 0600), 0);
	db_exec(f->db, "INSERT INTO credentials (user, kind, state, label, "
	    "created, digits, algorithm, period, last_step, key_id, sealed) "
	    "VALUES ('alice', 1, 2, 'old phone', 1700000000, 6, 1, 30, 77, "
	    "5, x'0102')");
	open_ok(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	/* the old row is intact */
	memset(&c, 0, sizeof(c));
	assert_int_equal(tk_store_cred_get(f->s, "alice", 1, &c), 0);
	assert_string_equal(c.label, "old phone");
	assert_int_equal(c.last_step, 77);
	assert_int_equal(c.sealed_len, 2);
	tk_cred_clear(&c);
	/* and the new tables work */
	memset(h, 0xab, sizeof(h));
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "alice",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 1, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_count(f->s, "alice", &left), 0);
	assert_int_equal(left, 1);
	assert_int_equal(tk_store_recovery_unused(f->s, "alice", &list, &n),
	    0);
	assert_int_equal(n, 1);
	id = list[0].id;
	free(list);
	assert_true(id > 0);
	/* reopening migrates nothing more */
	open_ok(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM recovery_codes"),
	    1);
}

static void
test_recovery_single_use(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][TK_RECOVERY_HASH_BYTES];
	struct tk_recovery *list = NULL;
	size_t n = 0, i;
	uint64_t left = 0, first;

	open_ok(f);
	for (i = 0; i < 3; i++)
		memset(h[i], (int)i + 1, sizeof(h[i]));
	/* outside a transaction: refused */
	assert_int_equal(tk_store_recovery_replace(f->s, "bob",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 3, T0),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "bob",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 3, T0), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_unused(f->s, "bob", &list, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_memory_equal(list[i].hash, h[i], sizeof(h[i]));
	first = list[0].id;
	free(list);
	list = NULL;
	/* only hashes are stored */
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM recovery_codes "
	    "WHERE length(hash) = 32"), 3);

	/* used once; the second use changes nothing */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_use(f->s, first, T0 + 1), 0);
	assert_int_equal(tk_store_recovery_use(f->s, first, T0 + 2),
	    TK_ERR_REPLAY);
	assert_int_equal(tk_store_recovery_use(f->s, 999, T0 + 2),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_count(f->s, "bob", &left), 0);
	assert_int_equal(left, 2);
	assert_int_equal(db_int(f->db, "SELECT used_at FROM recovery_codes "
	    "WHERE used = 1"), T0 + 1);
	/* a use that is rolled back leaves the code unused */
	assert_int_equal(tk_store_recovery_unused(f->s, "bob", &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_use(f->s, list[0].id, T0 + 3), 0);
	tk_store_rollback(f->s);
	free(list);
	assert_int_equal(tk_store_recovery_count(f->s, "bob", &left), 0);
	assert_int_equal(left, 2);

	/* a new set voids the old one, used or not */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "bob",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 1, T0 + 4), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_count(f->s, "bob", &left), 0);
	assert_int_equal(left, 1);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM recovery_codes"),
	    1);
	/* other users are untouched; bad arguments refused */
	assert_int_equal(tk_store_recovery_count(f->s, "alice", &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_recovery_replace(f->s, "bob",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h,
	    TK_RECOVERY_COUNT_MAX + 1, T0), TK_ERR_INVAL);
	assert_int_equal(tk_store_recovery_replace(f->s, "", NULL, 0, T0),
	    TK_ERR_INVAL);
	tk_store_rollback(f->s);
	/* a tampered hash is an error, not a short hash */
	db_exec(f->db, "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE recovery_codes SET hash = x'00'");
	list = NULL;
	assert_int_equal(tk_store_recovery_unused(f->s, "bob", &list, &n),
	    TK_ERR_STORE);
	assert_null(list);
}

static void
test_grants(void **state)
{
	struct fx *f = *state;
	struct tk_grant g, got, *list = NULL;
	size_t n = 0;

	open_ok(f);
	memset(&g, 0, sizeof(g));
	snprintf(g.user, sizeof(g.user), "alice");
	snprintf(g.reason, sizeof(g.reason), "key lost on the train");
	g.created = T0;
	g.expires = T0 + 3600;
	g.granted_by = 0;
	g.state = TK_GRANT_ACTIVE;
	assert_int_equal(tk_store_grant_insert(f->s, &g), TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	assert_true(g.id > 0);
	/* a second grant replaces the first */
	g.expires = T0 + 7200;
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	/* a grant that ends before it starts is refused */
	g.expires = g.created;
	assert_int_equal(tk_store_grant_insert(f->s, &g), TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM grants"), 2);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM grants WHERE "
	    "state = 1"), 1);
	assert_int_equal(tk_store_grant_active(f->s, "alice", &got), 0);
	assert_int_equal(got.expires, T0 + 7200);
	assert_string_equal(got.reason, "key lost on the train");
	assert_int_equal(tk_store_grant_active(f->s, "bob", &got),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_grant_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
	/* due only once the clock reaches the expiry */
	assert_int_equal(tk_store_grant_due(f->s, T0 + 7199, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(tk_store_grant_due(f->s, T0 + 7200, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_grant_end(f->s, list[0].id,
	    TK_GRANT_EXPIRED), 0);
	/* ends once */
	assert_int_equal(tk_store_grant_end(f->s, list[0].id,
	    TK_GRANT_REVOKED), TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_grant_end(f->s, list[0].id,
	    TK_GRANT_ACTIVE), TK_ERR_INVAL);
	assert_int_equal(tk_store_commit(f->s), 0);
	free(list);
	assert_int_equal(tk_store_grant_active(f->s, "alice", &got),
	    TK_ERR_NOTFOUND);
	assert_int_equal(db_int(f->db, "SELECT state FROM grants ORDER BY id "
	    "DESC LIMIT 1"), TK_GRANT_EXPIRED);
}

/* reads every row matching f into a count, following the pages */
static size_t
read_all(struct fx *fx, struct tk_audit_filter *flt, size_t page,
    uint64_t *first, uint64_t *last)
{
	struct tk_audit_row rows[8];
	size_t n, total = 0, i;
	bool more;

	assert_true(page <= 8);
	*first = *last = 0;
	flt->after = 0;
	do {
		assert_int_equal(tk_store_audit_read(fx->s, flt, rows, page,
		    &n, &more), 0);
		for (i = 0; i < n; i++) {
			assert_true(rows[i].seq > flt->after);
			flt->after = rows[i].seq;
			if (*first == 0)
				*first = rows[i].seq;
			*last = rows[i].seq;
		}
		total += n;
		assert_true(!more || n == page);
	} while (more);
	return (total);
}

static void
test_audit_read_filters(void **state)
{
	struct fx *f = *state;
	struct tk_audit_filter flt;
	struct tk_audit_row rows[2];
	uint64_t first, last;
	size_t n;
	bool more;

	open_ok(f);
	make_chain(f);			/* alice..erin at T0..T0+4 */
	make_chain_at(f->s, T0 + 100);	/* the same at T0+100.. */
	memset(&flt, 0, sizeof(flt));
	assert_int_equal(read_all(f, &flt, 3, &first, &last), 10);
	assert_int_equal(first, 1);
	assert_int_equal(last, 10);
	flt.user = "bob";
	assert_int_equal(read_all(f, &flt, 1, &first, &last), 2);
	assert_int_equal(first, 2);
	assert_int_equal(last, 7);
	flt.user = NULL;
	flt.since = T0 + 3;		/* inclusive */
	flt.until = T0 + 101;		/* exclusive */
	assert_int_equal(read_all(f, &flt, 2, &first, &last), 3);
	assert_int_equal(first, 4);
	assert_int_equal(last, 6);
	flt.user = "erin";
	flt.since = T0 + 100;
	flt.until = 0;
	assert_int_equal(read_all(f, &flt, 8, &first, &last), 1);
	assert_int_equal(first, 10);
	/* fields come back as stored */
	memset(&flt, 0, sizeof(flt));
	flt.after = 1;
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 1, &n, &more),
	    0);
	assert_int_equal(n, 1);
	assert_true(more);
	assert_int_equal(rows[0].seq, 2);
	assert_int_equal(rows[0].time, T0 + 1);
	assert_string_equal(rows[0].user, "bob");
	assert_string_equal(rows[0].result, "wrong");
	assert_string_equal(rows[0].event, golden_ev1.event);
	assert_int_equal(rows[0].cred, 2);
	/* bad arguments */
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 0, &n, &more),
	    TK_ERR_INVAL);
	flt.user = "";
	assert_int_equal(tk_store_audit_read(f->s, &flt, rows, 1, &n, &more),
	    TK_ERR_INVAL);
}

static void
test_backup(void **state)
{
	struct fx *f = *state;
	char path[TK_TESTDIR_PATH_MAX], link[TK_TESTDIR_PATH_MAX];
	struct stat sb;
	tk_store_t *copy = NULL;
	uint64_t count = 0, bad = 0;

	open_ok(f);
	insert(f, "alice", TK_CRED_ACTIVE, "secret");
	make_chain(f);
	tk_testdir_join(path, sizeof(path), f->dir, "copy.db");
	assert_int_equal(tk_store_backup(f->s, "copy.db"), TK_ERR_INVAL);
	assert_int_equal(tk_store_backup(f->s, path), 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* an existing file or a link is never overwritten */
	assert_int_equal(tk_store_backup(f->s, path), TK_ERR_EXISTS);
	tk_testdir_join(link, sizeof(link), f->dir, "link.db");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tk_store_backup(f->s, link), TK_ERR_EXISTS);
	/* not inside a transaction */
	assert_int_equal(tk_store_begin(f->s), 0);
	tk_testdir_join(link, sizeof(link), f->dir, "other.db");
	assert_int_equal(tk_store_backup(f->s, link), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	/* the copy opens, with the same data and a chain that verifies */
	assert_int_equal(tk_store_open_sqlite(path, f->key, sizeof(f->key),
	    &copy), 0);
	assert_int_equal(tk_store_audit_verify(copy, &count, &bad), 0);
	assert_int_equal(count, CHAIN_ROWS);
	tk_store_close(&copy);
	assert_int_equal(db_int(path, "SELECT COUNT(*) FROM credentials"), 1);
}

/* ---------------------------------------------------------------- */
/* audit retention: prune the oldest rows, keep an anchor */

/* prune in its own transaction; checks the count and the anchor */
static void
prune(struct fx *f, int64_t before, uint64_t want_count,
    uint64_t want_anchor)
{
	uint64_t count = 99, anchor = 99;

	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_prune(f->s, before, &count, &anchor),
	    0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(count, want_count);
	assert_int_equal(anchor, want_anchor);
}

static void
test_audit_prune_middle(void **state)
{
	struct fx *f = *state;
	uint64_t count = 99, anchor = 99;

	open_ok(f);
	make_chain(f);			/* seq 1..5 at T0..T0+4 */
	/* argument checks, and no change outside a transaction */
	assert_int_equal(tk_store_audit_prune(f->s, T0 + 2, &count, &anchor),
	    TK_ERR_INVAL);
	assert_int_equal(count, 0);
	assert_int_equal(anchor, 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_prune(f->s, 0, &count, &anchor),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_audit_prune(f->s, T0, NULL, &anchor),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_audit_prune(f->s, T0, &count, NULL),
	    TK_ERR_INVAL);
	tk_store_rollback(f->s);
	/* a rolled-back prune changes nothing */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_audit_prune(f->s, T0 + 2, &count, &anchor),
	    0);
	assert_int_equal(count, 2);
	tk_store_rollback(f->s);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit"),
	    CHAIN_ROWS);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit_anchor"),
	    0);
	/* rows at T0 and T0+1 go; the anchor is row 2 */
	prune(f, T0 + 2, 2, 2);
	assert_int_equal(db_int(f->db, "SELECT MIN(seq) FROM audit"), 3);
	assert_int_equal(db_int(f->db, "SELECT seq FROM audit_anchor"), 2);
	verify_ok(f, CHAIN_ROWS - 2);
	/* the chain goes on from the newest row, across a reopen */
	open_ok(f);
	append(f, &golden_ev1);
	assert_int_equal(db_int(f->db, "SELECT MAX(seq) FROM audit"),
	    CHAIN_ROWS + 1);
	verify_ok(f, CHAIN_ROWS - 1);
}

static void
test_audit_prune_all(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	prune(f, T0 + 100, CHAIN_ROWS, CHAIN_ROWS);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit"), 0);
	verify_ok(f, 0);
	/* the next row chains to the anchor: seq 6, after row 5's MAC */
	append(f, &golden_ev2);
	assert_int_equal(db_int(f->db, "SELECT seq FROM audit"),
	    CHAIN_ROWS + 1);
	verify_ok(f, 1);
	open_ok(f);
	append(f, &golden_ev1);
	verify_ok(f, 2);
	/* a changed anchor breaks the first kept row */
	db_exec(f->db, "UPDATE audit_anchor SET mac = zeroblob(32)");
	verify_bad(f, CHAIN_ROWS + 1);
}

static void
test_audit_prune_anchor_tampered(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	prune(f, T0 + 2, 2, 2);
	verify_ok(f, CHAIN_ROWS - 2);
	/* another MAC: the first kept row (3) no longer chains */
	db_exec(f->db, "CREATE TABLE saved AS SELECT * FROM audit_anchor;"
	    "UPDATE audit_anchor SET mac = zeroblob(32)");
	verify_bad(f, 3);
	db_exec(f->db, "DELETE FROM audit_anchor;"
	    "INSERT INTO audit_anchor SELECT * FROM saved;");
	verify_ok(f, CHAIN_ROWS - 2);
	/* another sequence number: row 3 is not the one expected */
	db_exec(f->db, "UPDATE audit_anchor SET seq = 1");
	verify_bad(f, 3);
	db_exec(f->db, "UPDATE audit_anchor SET seq = 3");
	verify_bad(f, 3);
	/* the anchor removed: the chain would start at 1 */
	db_exec(f->db, "DELETE FROM audit_anchor");
	verify_bad(f, 3);
}

static void
test_audit_prune_deleted_kept_row(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	prune(f, T0 + 2, 2, 2);
	/* the first kept row deleted: the gap shows at row 4 */
	db_exec(f->db, "CREATE TABLE saved AS SELECT * FROM audit "
	    "WHERE seq = 3; DELETE FROM audit WHERE seq = 3");
	verify_bad(f, 4);
	db_exec(f->db, "INSERT INTO audit SELECT * FROM saved;"
	    "DROP TABLE saved");
	verify_ok(f, CHAIN_ROWS - 2);
	db_exec(f->db, "DELETE FROM audit WHERE seq = 4");
	verify_bad(f, 5);
}

static void
test_audit_prune_twice(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	make_chain(f);
	prune(f, T0 + 1, 1, 1);
	verify_ok(f, CHAIN_ROWS - 1);
	prune(f, T0 + 3, 2, 3);
	assert_int_equal(db_int(f->db, "SELECT seq FROM audit_anchor"), 3);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit_anchor"),
	    1);
	verify_ok(f, CHAIN_ROWS - 3);
	append(f, &golden_ev1);
	verify_ok(f, CHAIN_ROWS - 2);
	/* nothing older left: count 0, the anchor stays and is reported */
	prune(f, T0 + 3, 0, 3);
	verify_ok(f, CHAIN_ROWS - 2);
}

static void
test_audit_prune_nothing(void **state)
{
	struct fx *f = *state;

	open_ok(f);
	prune(f, T0, 0, 0);		/* an empty trail */
	make_chain(f);
	prune(f, T0, 0, 0);		/* no row before T0 */
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit"),
	    CHAIN_ROWS);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit_anchor"),
	    0);
	verify_ok(f, CHAIN_ROWS);
}

static void
test_audit_prune_prefix_only(void **state)
{
	struct fx *f = *state;
	struct tk_audit_event ev = golden_ev1;
	static const int64_t times[] = { 0, 5, 1, 2 };
	size_t i;

	open_ok(f);
	/* the clock went back after row 2: rows 3 and 4 are older */
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ev.time = T0 + times[i];
		append(f, &ev);
	}
	/* only row 1 goes: removing 3 and 4 would leave a gap */
	prune(f, T0 + 3, 1, 1);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM audit"), 3);
	verify_ok(f, 3);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_schema),
		T(test_open_migrates_empty_file),
		T(test_reopen_keeps_data),
		T(test_newer_schema_refused),
		T(test_ping_sees_schema_change),
		T(test_unsafe_directory_refused),
		T(test_missing_directory_refused),
		T(test_unsafe_file_refused),
		T(test_symlinked_file_refused),
		T(test_not_regular_file_refused),
		T(test_open_bad_arguments),
		T(test_changes_need_transaction),
		T(test_rollback_discards),
		T(test_failed_step_blocks_commit),
		T(test_cred_insert_get_list),
		T(test_cred_many),
		T(test_cred_invalid_arguments),
		T(test_cred_state_changes),
		T(test_cred_set_secret),
		T(test_cred_revoke_all),
		T(test_cred_expire),
		T(test_accept_step),
		T(test_accept_step_durable),
		T(test_accept_step_racing),
		T(test_throttle),
		T(test_stats),
		T(test_audit_mac_golden),
		T(test_audit_chain_verifies),
		T(test_audit_rolled_back_row_absent),
		T(test_audit_append_checks),
		T(test_audit_tampered_text),
		T(test_audit_tampered_number),
		T(test_audit_tampered_result),
		T(test_audit_tampered_mac),
		T(test_audit_embedded_nul),
		T(test_audit_deleted_row),
		T(test_audit_deleted_first_row),
		T(test_audit_swapped_rows),
		T(test_audit_renumbered),
		T(test_audit_spliced_row),
		T(test_audit_wrong_key),
		cmocka_unit_test_setup_teardown(test_commit_disk_full, setup,
		    teardown_full),
		T(test_crash_before_commit),
		T(test_crash_after_commit),
		T(test_migrate_v1_to_v2),
		T(test_recovery_single_use),
		T(test_grants),
		T(test_audit_read_filters),
		T(test_backup),
		T(test_audit_prune_middle),
		T(test_audit_prune_all),
		T(test_audit_prune_anchor_tampered),
		T(test_audit_prune_deleted_kept_row),
		T(test_audit_prune_twice),
		T(test_audit_prune_nothing),
		T(test_audit_prune_prefix_only),
	};

	if (sodium_init() < 0)
		return (1);
	/* a hang (a FIFO opened without O_NONBLOCK, a lost lock) fails */
	alarm(WATCHDOG_SEC);
	/* the store's refusals are expected here; keep TAP output clean */
	tk_log_to_stderr("test_store");
	return (cmocka_run_group_tests_name("store", tests, NULL, NULL));
}
