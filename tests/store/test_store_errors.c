/*
 * test_store_errors.c -- the SQLite store when SQLite fails under it.
 *
 *  - Out of memory: SQLite's allocator is replaced (SQLITE_CONFIG_MALLOC,
 *    lookaside off) by one that fails every allocation from the Nth on.
 *    For every store operation, N = 1, 2, ... until the operation no
 *    longer reaches the Nth allocation: an operation that failed
 *    returns a TK_ERR_* code and clears its outputs; a change that
 *    failed inside a transaction makes tk_store_commit() fail (store.h
 *    invariant: a transaction in which a statement failed never
 *    commits), and the database is byte for byte what it was
 *    (a digest of every table read by a connection of its own).
 *    tk_store_open_sqlite() under the same sweep, on a new file and on
 *    a version-2 file to migrate, fails with no store, or opens one
 *    that works.
 *  - Statements failing at step time: once every statement is prepared
 *    and cached, another connection renames every table away; each
 *    operation then fails (TK_ERR_STORE), commits fail, and once the
 *    tables are back nothing has changed and everything works again.
 *  - Rows that break store.h's limits (written past the CHECKs with
 *    ignore_check_constraints) are refused by every reader as
 *    TK_ERR_STORE, never returned truncated.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "seal.h"
#include "store.h"
#include "testdir.h"

#define T0		1700000000	/* a fixed "now", UNIX time */
#define SWEEP_MAX	2000		/* allocations one operation may make */
#define OPEN_SWEEP_MAX	200000		/* ... and opening a database */

/* --- the failing allocator -------------------------------------------- */

static sqlite3_mem_methods	 real_mem;
static sqlite3_mem_methods	 fault_mem;
static long			 fault_at;	/* 0: off */
static long			 fault_calls;
static bool			 fault_fired;

static bool
fault_now(void)
{
	if (fault_at <= 0)
		return (false);
	if (++fault_calls < fault_at)
		return (false);
	fault_fired = true;
	return (true);
}

static void *
fault_malloc(int n)
{
	return (fault_now() ? NULL : real_mem.xMalloc(n));
}

static void *
fault_realloc(void *p, int n)
{
	return (fault_now() ? NULL : real_mem.xRealloc(p, n));
}

static void
arm(long n)
{
	fault_calls = 0;
	fault_fired = false;
	fault_at = n;
}

/* stops failing; whether a fault fired since arm() */
static bool
disarm(void)
{
	fault_at = 0;
	return (fault_fired);
}

/* --- fixture ---------------------------------------------------------- */

struct fx {
	char		 dir[TK_TESTDIR_PATH_MAX];
	char		 db[TK_TESTDIR_PATH_MAX];
	char		 wal[TK_TESTDIR_PATH_MAX + 8];
	char		 shm[TK_TESTDIR_PATH_MAX + 8];
	unsigned char	 key[TK_AUDIT_KEY_BYTES];
	tk_store_t	*s;
	/* the dataset */
	uint64_t	 totp, pending, fido, grant, recovery, ch_login;
	unsigned char	 cred_id[40];
	unsigned char	 pubkey[64];
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
	snprintf(f->wal, sizeof(f->wal), "%s-wal", f->db);
	snprintf(f->shm, sizeof(f->shm), "%s-shm", f->db);
	randombytes_buf(f->key, sizeof(f->key));
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void)disarm();
	tk_store_close(&f->s);
	tk_testdir_remove(f->dir);
	free(f);
	return (0);
}

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
		fail();
	}
	sqlite3_free(msg);
	sqlite3_close(db);
}

/* a digest of every row of every table, read by a connection of its own */
static void
digest(struct fx *f, unsigned char out[crypto_generichash_BYTES])
{
	static const char *const tables[] = { "credentials", "throttle",
	    "audit", "audit_anchor", "recovery_codes", "grants", "challenges" };
	crypto_generichash_state h;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	char sql[128];
	size_t i;
	int c, n;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1",
		    tables[i]);
		st = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			continue;	/* a table this schema does not have */
		crypto_generichash_update(&h, (const unsigned char *)sql,
		    strlen(sql));
		while (sqlite3_step(st) == SQLITE_ROW) {
			n = sqlite3_column_count(st);
			for (c = 0; c < n; c++) {
				const void *b = sqlite3_column_blob(st, c);
				int len = sqlite3_column_bytes(st, c);

				if (b != NULL)
					crypto_generichash_update(&h, b,
					    (unsigned long long)len);
				crypto_generichash_update(&h,
				    (const unsigned char *)"|", 1);
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	crypto_generichash_final(&h, out, crypto_generichash_BYTES);
}

static struct tk_cred
totp_cred(const char *user, int state)
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
	c.sealed = (unsigned char *)(uintptr_t)"sealed secret";
	c.sealed_len = 13;
	return (c);
}

static struct tk_cred
fido_cred(struct fx *f, const char *user, unsigned char tag)
{
	struct tk_cred c;

	memset(&c, 0, sizeof(c));
	memset(f->cred_id, tag, sizeof(f->cred_id));
	memset(f->pubkey, tag ^ 0x5a, sizeof(f->pubkey));
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.label, sizeof(c.label), "key %u", tag);
	c.kind = TK_CRED_FIDO2;
	c.state = TK_CRED_ACTIVE;
	c.created = T0;
	c.algorithm = TK_FIDO2_ES256;
	c.cred_id = f->cred_id;
	c.cred_id_len = sizeof(f->cred_id);
	c.pubkey = f->pubkey;
	c.pubkey_len = sizeof(f->pubkey);
	memset(c.aaguid, 0xa1, sizeof(c.aaguid));
	snprintf(c.fmt, sizeof(c.fmt), "packed");
	c.flags = 0x45;
	c.sign_count = 10;
	memset(c.user_handle, tag, sizeof(c.user_handle));
	return (c);
}

static struct tk_challenge
challenge(const char *user, int purpose, int64_t expires)
{
	struct tk_challenge ch;

	memset(&ch, 0, sizeof(ch));
	snprintf(ch.user, sizeof(ch.user), "%s", user);
	ch.purpose = purpose;
	randombytes_buf(ch.challenge, sizeof(ch.challenge));
	randombytes_buf(ch.user_handle, sizeof(ch.user_handle));
	ch.uv = TK_UV_PREFERRED;
	snprintf(ch.label, sizeof(ch.label), "yubikey");
	ch.created = T0;
	ch.expires = expires;
	return (ch);
}

static const struct tk_audit_event ev_ok = {
	.time = T0, .host = "term01", .event = "totp_verify",
	.user = "alice", .cred = 1, .service = "login", .rhost = "",
	.tty = "tty1", .uid = 0, .pid = 1234, .result = "ok", .reason = ""
};

/* alice: TOTP and FIDO2 and recovery codes; bob pending; dave a grant */
static void
dataset(struct fx *f)
{
	unsigned char hashes[3][TK_RECOVERY_HASH_BYTES];
	struct tk_recovery *rl = NULL;
	struct tk_cred c;
	struct tk_grant g;
	struct tk_challenge ch;
	struct tk_throttle th;
	size_t n = 0;
	int i;

	assert_int_equal(tk_store_open_sqlite(f->db, f->key, sizeof(f->key),
	    &f->s), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	c = totp_cred("alice", TK_CRED_ACTIVE);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	f->totp = c.id;
	c = totp_cred("bob", TK_CRED_PENDING);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	f->pending = c.id;
	c = fido_cred(f, "alice", 7);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	f->fido = c.id;
	for (i = 0; i < 3; i++)
		memset(hashes[i], i + 1, sizeof(hashes[i]));
	assert_int_equal(tk_store_recovery_replace(f->s, "alice",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])hashes, 3, T0),
	    0);
	memset(&g, 0, sizeof(g));
	snprintf(g.user, sizeof(g.user), "dave");
	g.created = T0;
	g.expires = T0 + 3600;
	g.granted_by = 0;
	g.state = TK_GRANT_ACTIVE;
	snprintf(g.reason, sizeof(g.reason), "lost phone");
	assert_int_equal(tk_store_grant_insert(f->s, &g), 0);
	f->grant = g.id;
	ch = challenge("alice", TK_CHALLENGE_LOGIN, T0 + 60);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), 0);
	f->ch_login = ch.id;
	ch = challenge("bob", TK_CHALLENGE_ENROLL, T0 + 5);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), 0);
	memset(&th, 0, sizeof(th));
	snprintf(th.user, sizeof(th.user), "erin");
	th.failures = 3;
	th.last_failure = T0;
	th.locked = true;
	assert_int_equal(tk_store_throttle_put(f->s, &th), 0);
	assert_int_equal(tk_store_audit_append(f->s, &ev_ok), 0);
	assert_int_equal(tk_store_audit_append(f->s, &ev_ok), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_recovery_unused(f->s, "alice", &rl, &n), 0);
	assert_int_equal(n, 3);
	f->recovery = rl[0].id;
	free(rl);
	/* reopen: no statement prepared yet */
	tk_store_close(&f->s);
	assert_int_equal(tk_store_open_sqlite(f->db, f->key, sizeof(f->key),
	    &f->s), 0);
}

/* --- the operations --------------------------------------------------- */

/*
 * Each returns the store's result and checks that a failure cleared the
 * outputs (store_core.c invariant 4); a result that was given is freed.
 */

static int
op_cred_insert_totp(struct fx *f)
{
	struct tk_cred c = totp_cred("zoe", TK_CRED_ACTIVE);
	int r = tk_store_cred_insert(f->s, &c);

	assert_true(r != 0 || c.id > 0);
	return (r);
}

static int
op_cred_insert_fido2(struct fx *f)
{
	struct tk_cred c = fido_cred(f, "zoe", 9);

	return (tk_store_cred_insert(f->s, &c));
}

static int
op_cred_set_state(struct fx *f)
{
	return (tk_store_cred_set_state(f->s, "bob", f->pending,
	    TK_CRED_ACTIVE));
}

static int
op_cred_set_secret(struct fx *f)
{
	return (tk_store_cred_set_secret(f->s, f->totp, 0x0a0b0c0d,
	    (const unsigned char *)"resealed", 8));
}

static int
op_cred_revoke_all(struct fx *f)
{
	uint64_t n = 99;
	int r = tk_store_cred_revoke_all(f->s, "alice", &n);

	assert_true(r == 0 ? n == 2 : n == 0);
	return (r);
}

static int
op_cred_expire(struct fx *f)
{
	uint64_t n = 99;
	int r = tk_store_cred_expire(f->s, T0 + 1000, &n);

	assert_true(r == 0 ? n == 1 : n == 0);
	return (r);
}

static int
op_totp_accept(struct fx *f)
{
	return (tk_store_totp_accept_step(f->s, f->totp, 56666667, T0));
}

static int
op_throttle_put(struct fx *f)
{
	struct tk_throttle th;

	memset(&th, 0, sizeof(th));
	snprintf(th.user, sizeof(th.user), "alice");
	th.failures = 1;
	th.last_failure = T0;
	return (tk_store_throttle_put(f->s, &th));
}

static int
op_audit_append(struct fx *f)
{
	return (tk_store_audit_append(f->s, &ev_ok));
}

static int
op_recovery_replace(struct fx *f)
{
	unsigned char h[2][TK_RECOVERY_HASH_BYTES];

	memset(h, 0x77, sizeof(h));
	h[1][0] = 1;
	return (tk_store_recovery_replace(f->s, "alice",
	    (const unsigned char (*)[TK_RECOVERY_HASH_BYTES])h, 2, T0));
}

static int
op_recovery_use(struct fx *f)
{
	return (tk_store_recovery_use(f->s, f->recovery, T0));
}

static int
op_grant_insert(struct fx *f)
{
	struct tk_grant g;

	memset(&g, 0, sizeof(g));
	snprintf(g.user, sizeof(g.user), "alice");
	g.created = T0;
	g.expires = T0 + 60;
	g.state = TK_GRANT_ACTIVE;
	snprintf(g.reason, sizeof(g.reason), "test");
	return (tk_store_grant_insert(f->s, &g));
}

static int
op_grant_end(struct fx *f)
{
	return (tk_store_grant_end(f->s, f->grant, TK_GRANT_REVOKED));
}

static int
op_fido2_accept(struct fx *f)
{
	return (tk_store_fido2_accept_count(f->s, f->fido, 11, T0));
}

static int
op_challenge_insert(struct fx *f)
{
	struct tk_challenge ch = challenge("carol", TK_CHALLENGE_LOGIN,
	    T0 + 60);

	return (tk_store_challenge_insert(f->s, &ch));
}

static int
op_challenge_take(struct fx *f)
{
	struct tk_challenge ch;
	int r = tk_store_challenge_take(f->s, f->ch_login, TK_CHALLENGE_LOGIN,
	    &ch);

	if (r == 0)
		assert_string_equal(ch.user, "alice");
	return (r);
}

static int
op_challenge_expire(struct fx *f)
{
	uint64_t n = 99;
	int r = tk_store_challenge_expire(f->s, T0 + 10, &n);

	assert_true(r == 0 ? n == 1 : n == 0);
	return (r);
}

static int
op_audit_prune(struct fx *f)
{
	uint64_t n = 99, anchor = 99;

	return (tk_store_audit_prune(f->s, T0 + 1, &n, &anchor));
}

static int
op_cred_get(struct fx *f)
{
	struct tk_cred c;
	int r = tk_store_cred_get(f->s, "alice", f->fido, &c);

	if (r == 0) {
		assert_int_equal(c.kind, TK_CRED_FIDO2);
		assert_int_equal(c.cred_id_len, sizeof(f->cred_id));
	} else
		assert_null(c.cred_id);
	tk_cred_clear(&c);
	return (r);
}

static int
op_cred_list(struct fx *f)
{
	struct tk_cred *l = (struct tk_cred *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_cred_list(f->s, "alice", &l, &n);

	if (r == 0)
		assert_int_equal(n, 2);
	else {
		assert_null(l);
		assert_int_equal(n, 0);
	}
	tk_cred_list_free(&l, n);
	return (r);
}

static int
op_cred_active(struct fx *f)
{
	struct tk_cred *l = (struct tk_cred *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_cred_active(f->s, "alice", TK_CRED_FIDO2, &l, &n);

	if (r == 0)
		assert_int_equal(n, 1);
	else {
		assert_null(l);
		assert_int_equal(n, 0);
	}
	tk_cred_list_free(&l, n);
	return (r);
}

static int
op_cred_page(struct fx *f)
{
	struct tk_cred page[4];
	size_t n = 99, i;
	bool more = true;
	int r = tk_store_cred_page(f->s, NULL, 0, page, 4, &n, &more);

	if (r == 0)
		assert_int_equal(n, 3);
	else
		assert_int_equal(n, 0);
	for (i = 0; i < n; i++)
		tk_cred_clear(&page[i]);
	return (r);
}

static int
op_cred_pending_due(struct fx *f)
{
	struct tk_cred *l = (struct tk_cred *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_cred_pending_due(f->s, T0 + 1000, &l, &n);

	if (r == 0)
		assert_int_equal(n, 1);
	else {
		assert_null(l);
		assert_int_equal(n, 0);
	}
	tk_cred_list_free(&l, n);
	return (r);
}

static int
op_fido2_find(struct fx *f)
{
	struct tk_cred c;
	unsigned char id[40];
	int r;

	memset(id, 7, sizeof(id));
	r = tk_store_fido2_find(f->s, id, sizeof(id), &c);
	if (r == 0)
		assert_int_equal(c.id, f->fido);
	tk_cred_clear(&c);
	return (r);
}

static int
op_throttle_get(struct fx *f)
{
	struct tk_throttle th;
	int r = tk_store_throttle_get(f->s, "erin", &th);

	if (r == 0)
		assert_true(th.locked && th.failures == 3);
	return (r);
}

static int
op_stats(struct fx *f)
{
	struct tk_store_stats st;
	int r = tk_store_stats(f->s, &st);

	if (r == 0)
		assert_int_equal(st.locked_users, 1);
	return (r);
}

static int
op_ping(struct fx *f)
{
	return (tk_store_ping(f->s));
}

static int
op_audit_verify(struct fx *f)
{
	uint64_t n = 0, bad = 0;
	int r = tk_store_audit_verify(f->s, &n, &bad);

	if (r == 0)
		assert_int_equal(bad, 0);
	return (r);
}

static int
op_audit_read(struct fx *f)
{
	struct tk_audit_row rows[4];
	struct tk_audit_filter flt = { .user = "alice" };
	size_t n = 99;
	bool more = true;
	int r = tk_store_audit_read(f->s, &flt, rows, 4, &n, &more);

	if (r == 0)
		assert_int_equal(n, 2);
	return (r);
}

static int
op_recovery_unused(struct fx *f)
{
	struct tk_recovery *l = (struct tk_recovery *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_recovery_unused(f->s, "alice", &l, &n);

	if (r == 0)
		assert_int_equal(n, 3);
	else
		assert_null(l);
	free(l);
	return (r);
}

static int
op_recovery_count(struct fx *f)
{
	uint64_t n = 99;
	int r = tk_store_recovery_count(f->s, "alice", &n);

	assert_int_equal(n, r == 0 ? 3 : 0);
	return (r);
}

static int
op_grant_active(struct fx *f)
{
	struct tk_grant g;
	int r = tk_store_grant_active(f->s, "dave", &g);

	if (r == 0)
		assert_int_equal(g.id, f->grant);
	return (r);
}

static int
op_grant_list(struct fx *f)
{
	struct tk_grant *l = (struct tk_grant *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_grant_list(f->s, NULL, &l, &n);

	if (r == 0)
		assert_int_equal(n, 1);
	else
		assert_null(l);
	free(l);
	return (r);
}

static int
op_grant_due(struct fx *f)
{
	struct tk_grant *l = (struct tk_grant *)(uintptr_t)1;
	size_t n = 99;
	int r = tk_store_grant_due(f->s, T0 + 7200, &l, &n);

	if (r == 0)
		assert_int_equal(n, 1);
	else
		assert_null(l);
	free(l);
	return (r);
}

static int
op_backup(struct fx *f)
{
	char path[TK_TESTDIR_PATH_MAX];

	tk_testdir_join(path, sizeof(path), f->dir, "backup.db");
	(void)unlink(path);
	return (tk_store_backup(f->s, path));
}

struct op {
	const char	*name;
	bool		 write;		/* a change: inside a transaction */
	int		(*fn)(struct fx *);
};

static const struct op ops[] = {
	{ "cred_insert totp", true, op_cred_insert_totp },
	{ "cred_insert fido2", true, op_cred_insert_fido2 },
	{ "cred_set_state", true, op_cred_set_state },
	{ "cred_set_secret", true, op_cred_set_secret },
	{ "cred_revoke_all", true, op_cred_revoke_all },
	{ "cred_expire", true, op_cred_expire },
	{ "totp_accept_step", true, op_totp_accept },
	{ "throttle_put", true, op_throttle_put },
	{ "audit_append", true, op_audit_append },
	{ "recovery_replace", true, op_recovery_replace },
	{ "recovery_use", true, op_recovery_use },
	{ "grant_insert", true, op_grant_insert },
	{ "grant_end", true, op_grant_end },
	{ "fido2_accept_count", true, op_fido2_accept },
	{ "challenge_insert", true, op_challenge_insert },
	{ "challenge_take", true, op_challenge_take },
	{ "challenge_expire", true, op_challenge_expire },
	{ "audit_prune", true, op_audit_prune },
	{ "cred_get", false, op_cred_get },
	{ "cred_list", false, op_cred_list },
	{ "cred_active", false, op_cred_active },
	{ "cred_page", false, op_cred_page },
	{ "cred_pending_due", false, op_cred_pending_due },
	{ "fido2_find", false, op_fido2_find },
	{ "throttle_get", false, op_throttle_get },
	{ "stats", false, op_stats },
	{ "ping", false, op_ping },
	{ "audit_verify", false, op_audit_verify },
	{ "audit_read", false, op_audit_read },
	{ "recovery_unused", false, op_recovery_unused },
	{ "recovery_count", false, op_recovery_count },
	{ "grant_active", false, op_grant_active },
	{ "grant_list", false, op_grant_list },
	{ "grant_due", false, op_grant_due },
	{ "backup", false, op_backup },
};
#define N_OPS	(sizeof(ops) / sizeof(ops[0]))

static bool
is_error(int r)
{
	return (r == TK_ERR_NOMEM || r == TK_ERR_STORE || r == TK_ERR_FULL ||
	    r == TK_ERR_IO);
}

/*
 * Runs op once with every allocation from the nth failing; returns
 * whether a fault fired.  A failure must be an error, must block the
 * commit of a change, and must leave the database as it was.
 */
static bool
run_faulted(struct fx *f, const struct op *op, long nth, unsigned *failed)
{
	unsigned char before[crypto_generichash_BYTES];
	unsigned char after[crypto_generichash_BYTES];
	bool fired;
	int r, rc;

	digest(f, before);
	if (op->write)
		assert_int_equal(tk_store_begin(f->s), 0);
	arm(nth);
	r = op->fn(f);
	fired = disarm();
	if (!fired) {
		if (r != 0)
			print_error("%s: %d without a fault\n", op->name, r);
		assert_int_equal(r, 0);
		if (op->write)
			tk_store_rollback(f->s);	/* keep the dataset */
		return (false);
	}
	if (r != 0) {
		if (!is_error(r))
			print_error("%s, fault %ld: %d\n", op->name, nth, r);
		assert_true(is_error(r));
		(*failed)++;
		if (op->write) {
			rc = tk_store_commit(f->s);
			assert_int_not_equal(rc, 0);
		}
	} else if (op->write)
		tk_store_rollback(f->s);
	digest(f, after);
	assert_memory_equal(before, after, sizeof(before));
	return (true);
}

static void
test_nomem_every_operation(void **state)
{
	struct fx *f = *state;
	unsigned failed, total = 0;
	size_t i;
	long n;

	dataset(f);
	for (i = 0; i < N_OPS; i++) {
		failed = 0;
		for (n = 1; n < SWEEP_MAX; n++)
			if (!run_faulted(f, &ops[i], n, &failed))
				break;
		assert_true(n < SWEEP_MAX);
		/* each allocates (and fails) but ping, which reads a pragma */
		if (failed == 0)
			print_message("# %s: no fault failed it (%ld)\n",
			    ops[i].name, n);
		assert_true(failed > 0 || strcmp(ops[i].name, "ping") == 0);
		total += failed;
	}
	print_message("# %u faulted operations failed cleanly\n", total);
	/* the store works on, and every operation still succeeds */
	for (i = 0; i < N_OPS; i++) {
		failed = 0;
		assert_false(run_faulted(f, &ops[i], 0, &failed));
	}
}

/* tk_store_open_sqlite() under allocation faults: a new file, or not */
static void
sweep_open(struct fx *f, bool fresh)
{
	tk_store_t *s;
	unsigned failed = 0;
	long n;
	int r;

	/* every allocation of the first 200, then more sparsely */
	for (n = 1; n < OPEN_SWEEP_MAX; n += n < 200 ? 1 : n / 50) {
		if (fresh) {
			(void)unlink(f->db);
			(void)unlink(f->wal);
			(void)unlink(f->shm);
		}
		s = (tk_store_t *)(uintptr_t)1;
		arm(n);
		r = tk_store_open_sqlite(f->db, f->key, sizeof(f->key), &s);
		if (!disarm()) {
			assert_int_equal(r, 0);
			assert_int_equal(tk_store_ping(s), 0);
			tk_store_close(&s);
			break;
		}
		if (r != 0) {
			assert_null(s);
			assert_true(is_error(r) || r == TK_ERR_VERSION);
			failed++;
		} else {
			assert_int_equal(tk_store_ping(s), 0);
			tk_store_close(&s);
		}
	}
	assert_true(n < OPEN_SWEEP_MAX);
	assert_true(failed > 0);
	/* whatever happened, the file opens and is at the newest schema */
	assert_int_equal(tk_store_open_sqlite(f->db, f->key, sizeof(f->key),
	    &f->s), 0);
	assert_int_equal(tk_store_ping(f->s), 0);
	tk_store_close(&f->s);
}

static void
test_nomem_open_new(void **state)
{
	sweep_open(*state, true);
}

static void
test_nomem_open_existing(void **state)
{
	struct fx *f = *state;

	dataset(f);
	tk_store_close(&f->s);
	sweep_open(f, false);
}

/* --- statements failing at step time ---------------------------------- */

static const char *const tables[] = { "credentials", "throttle", "audit",
    "recovery_codes", "grants", "challenges", "audit_anchor" };
#define N_TABLES	(sizeof(tables) / sizeof(tables[0]))

static void
rename_tables(struct fx *f, bool away)
{
	char sql[128];
	size_t i;

	for (i = 0; i < N_TABLES; i++) {
		if (away)
			snprintf(sql, sizeof(sql), "ALTER TABLE %s RENAME TO "
			    "gone_%s", tables[i], tables[i]);
		else
			snprintf(sql, sizeof(sql), "ALTER TABLE gone_%s RENAME "
			    "TO %s", tables[i], tables[i]);
		db_exec(f->db, sql);
	}
}

static void
test_step_errors(void **state)
{
	struct fx *f = *state;
	unsigned char before[crypto_generichash_BYTES];
	unsigned char after[crypto_generichash_BYTES];
	unsigned failed = 0;
	size_t i;
	int r;

	dataset(f);
	/* every statement prepared and cached once */
	for (i = 0; i < N_OPS; i++)
		assert_false(run_faulted(f, &ops[i], 0, &failed));
	digest(f, before);
	rename_tables(f, true);
	for (i = 0; i < N_OPS; i++) {
		if (ops[i].write)
			assert_int_equal(tk_store_begin(f->s), 0);
		r = ops[i].fn(f);
		if (strcmp(ops[i].name, "backup") == 0 ||
		    strcmp(ops[i].name, "ping") == 0) {
			/* a copy of the pages, and no table read */
			assert_int_equal(r, 0);
			continue;
		}
		if (r != TK_ERR_STORE)
			print_error("%s: %d with the tables gone\n",
			    ops[i].name, r);
		assert_int_equal(r, TK_ERR_STORE);
		if (ops[i].write)
			assert_int_equal(tk_store_commit(f->s), TK_ERR_STORE);
	}
	rename_tables(f, false);
	digest(f, after);
	assert_memory_equal(before, after, sizeof(before));
	for (i = 0; i < N_OPS; i++)
		assert_false(run_faulted(f, &ops[i], 0, &failed));
	assert_int_equal(failed, 0);
}

/* --- rows past store.h's limits --------------------------------------- */

static void
corrupt(struct fx *f, const char *sql)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "PRAGMA ignore_check_constraints = ON; %s",
	    sql);
	db_exec(f->db, buf);
}

static void
test_corrupt_rows_refused(void **state)
{
	static const struct {
		const char	*sql;
		int		(*fn)(struct fx *);
	} cases[] = {
		{ "UPDATE credentials SET label = zeroblob(300) WHERE kind = 2",
		    op_cred_get },
		{ "UPDATE credentials SET fmt = 'a' || char(0) || 'b' "
		    "WHERE kind = 2", op_cred_get },
		{ "UPDATE credentials SET sign_count = -1 WHERE kind = 2",
		    op_cred_get },
		{ "UPDATE credentials SET aaguid = x'0102' WHERE kind = 2",
		    op_fido2_find },
		{ "UPDATE credentials SET pubkey = NULL WHERE kind = 2",
		    op_cred_active },
		{ "UPDATE credentials SET last_step = -5 WHERE kind = 1",
		    op_cred_list },
		{ "UPDATE credentials SET digits = 7 WHERE kind = 1",
		    op_cred_list },
		{ "UPDATE credentials SET period = 0 WHERE kind = 1",
		    op_cred_page },
		{ "UPDATE credentials SET user = '' WHERE state = 1 AND "
		    "kind = 1", op_cred_pending_due },
		{ "UPDATE throttle SET failures = -2", op_throttle_get },
		{ "UPDATE recovery_codes SET hash = x'00'", op_recovery_unused },
		{ "UPDATE grants SET reason = zeroblob(2000)", op_grant_active },
		{ "UPDATE grants SET user = zeroblob(300)", op_grant_due },
		{ "UPDATE challenges SET challenge = x'00' WHERE purpose = 1",
		    op_challenge_take },
	};
	struct fx *f = *state;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tk_store_close(&f->s);
		(void)unlink(f->db);
		(void)unlink(f->wal);
		(void)unlink(f->shm);
		dataset(f);
		if (cases[i].fn == op_challenge_take)
			assert_int_equal(tk_store_begin(f->s), 0);
		assert_int_equal(cases[i].fn(f), 0);	/* the control */
		if (cases[i].fn == op_challenge_take)
			tk_store_rollback(f->s);
		corrupt(f, cases[i].sql);
		if (cases[i].fn == op_challenge_take)
			assert_int_equal(tk_store_begin(f->s), 0);
		r = cases[i].fn(f);
		if (r == 0 || r != TK_ERR_STORE)
			print_error("%s: %d\n", cases[i].sql, r);
		assert_true(r == TK_ERR_STORE);
		if (cases[i].fn == op_challenge_take)
			tk_store_rollback(f->s);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nomem_every_operation),
		T(test_nomem_open_new),
		T(test_nomem_open_existing),
		T(test_step_errors),
		T(test_corrupt_rows_refused),
	};

	/* before anything opens a database: SQLite's own allocator */
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return (1);
	fault_mem = real_mem;
	fault_mem.xMalloc = fault_malloc;
	fault_mem.xRealloc = fault_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &fault_mem) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) != SQLITE_OK ||
	    sqlite3_initialize() != SQLITE_OK)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
