/*
 * test_store_fido2.c -- the FIDO2 half of the SQLite store: migration
 * 2 -> 3, FIDO2 credentials (columns, unique credential ids, states),
 * the clone check (tk_store_fido2_accept_count) and challenges (single
 * use, expiry).  A program of its own so that it does not collide with
 * test_store.c; the same fixture shape.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "seal.h"
#include "store.h"
#include "testdir.h"

#define T0		1700000000	/* a fixed "now", UNIX time */

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

static void
db_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		fail();
	}
	sqlite3_close(db);
}

static long long
db_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (v);
}

/* a FIDO2 credential whose id and key bytes are derived from `tag' */
struct key {
	unsigned char	 id[40];
	unsigned char	 pk[64];
};

static struct tk_cred
fido2_cred(const char *user, struct key *k, unsigned char tag)
{
	struct tk_cred c;

	memset(&c, 0, sizeof(c));
	memset(k->id, tag, sizeof(k->id));
	memset(k->pk, tag ^ 0x5a, sizeof(k->pk));
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.label, sizeof(c.label), "key %u", tag);
	c.kind = TK_CRED_FIDO2;
	c.state = TK_CRED_ACTIVE;
	c.created = T0;
	c.algorithm = TK_FIDO2_ES256;
	c.cred_id = k->id;
	c.cred_id_len = sizeof(k->id);
	c.pubkey = k->pk;
	c.pubkey_len = sizeof(k->pk);
	memset(c.aaguid, 0xa0 | (tag & 0x0f), sizeof(c.aaguid));
	snprintf(c.fmt, sizeof(c.fmt), "packed");
	c.flags = 0x45;
	c.sign_count = 10;
	memset(c.user_handle, tag, sizeof(c.user_handle));
	return (c);
}

/* inserts a FIDO2 credential in its own transaction; returns its id */
static uint64_t
fido2_insert(struct fx *f, const char *user, unsigned char tag,
    uint32_t count)
{
	struct key k;
	struct tk_cred c = fido2_cred(user, &k, tag);

	c.sign_count = count;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_true(c.id > 0);
	return (c.id);
}

static uint64_t
totp_insert(struct fx *f, const char *user, int state)
{
	struct tk_cred c;

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", user);
	c.kind = TK_CRED_TOTP;
	c.state = state;
	c.created = T0;
	c.expires = state == TK_CRED_PENDING ? T0 + 900 : 0;
	c.digits = 6;
	c.algorithm = TK_TOTP_SHA1;
	c.period = 30;
	c.sealed = (unsigned char *)(uintptr_t)"sealed";
	c.sealed_len = 6;
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	return (c.id);
}

static int
set_state(struct fx *f, const char *user, uint64_t id, int state)
{
	int r;

	assert_int_equal(tk_store_begin(f->s), 0);
	if ((r = tk_store_cred_set_state(f->s, user, id, state)) == 0)
		assert_int_equal(tk_store_commit(f->s), 0);
	else
		tk_store_rollback(f->s);
	return (r);
}

static int
accept_count(struct fx *f, uint64_t id, uint32_t count, int64_t now)
{
	int r;

	assert_int_equal(tk_store_begin(f->s), 0);
	r = tk_store_fido2_accept_count(f->s, id, count, now);
	assert_int_equal(tk_store_commit(f->s), 0);
	return (r);
}

static struct tk_cred
get(struct fx *f, const char *user, uint64_t id)
{
	struct tk_cred c;

	assert_int_equal(tk_store_cred_get(f->s, user, id, &c), 0);
	return (c);
}

/* ---------------------------------------------------------------- */
/* migration 2 -> 3 */

/* the version-2 schema as released (store_sqlite.c, steps 0 and 1) */
static const char v2_schema[] =
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
	"CREATE UNIQUE INDEX grants_active ON grants (user) WHERE state = 1;"
	"PRAGMA user_version = 2;";

static void
test_migrate_v2_to_v3(void **state)
{
	struct fx *f = *state;
	struct tk_cred c, *list = NULL;
	size_t n = 0;
	uint64_t id;

	db_exec(f->db, v2_schema);
	assert_int_equal(chmod(f->db, 0600), 0);
	/* three TOTP rows; the newest is removed: the high-water mark is 3 */
	db_exec(f->db, "INSERT INTO credentials (user, kind, state, label, "
	    "created, last_used, digits, algorithm, period, last_step, key_id, "
	    "sealed) VALUES "
	    "('alice', 1, 2, 'phone', 1700000000, 1700000100, 8, 2, 30, 77, "
	    "5, x'0102'), "
	    "('bob', 1, 3, 'old', 1700000001, 0, 6, 1, 60, 0, 0, NULL), "
	    "('carol', 1, 1, 'new', 1700000002, 0, 6, 1, 30, 0, 5, x'03');"
	    "DELETE FROM credentials WHERE user = 'carol';");
	open_ok(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM sqlite_master "
	    "WHERE name IN ('challenges', 'audit_anchor', "
	    "'credentials_fido2_id', 'credentials_user')"), 4);
	/* the TOTP rows are intact */
	c = get(f, "alice", 1);
	assert_int_equal(c.kind, TK_CRED_TOTP);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_string_equal(c.label, "phone");
	assert_int_equal(c.digits, 8);
	assert_int_equal(c.algorithm, TK_TOTP_SHA256);
	assert_int_equal(c.last_step, 77);
	assert_int_equal(c.last_used, 1700000100);
	assert_int_equal(c.key_id, 5);
	assert_int_equal(c.sealed_len, 2);
	assert_null(c.cred_id);
	tk_cred_clear(&c);
	c = get(f, "bob", 2);
	assert_int_equal(c.state, TK_CRED_REVOKED);
	assert_int_equal(c.period, 60);
	tk_cred_clear(&c);
	assert_int_equal(tk_store_cred_list(f->s, NULL, &list, &n), 0);
	assert_int_equal(n, 2);
	tk_cred_list_free(&list, n);
	/* no id is ever reused: the next one is 4, not 3 */
	id = totp_insert(f, "dave", TK_CRED_ACTIVE);
	assert_int_equal(id, 4);
	id = fido2_insert(f, "alice", 1, 0);
	assert_int_equal(id, 5);
	/* reopening migrates nothing more */
	open_ok(f);
	assert_int_equal(db_int(f->db, "PRAGMA user_version"), 3);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"), 4);
}

/* ---------------------------------------------------------------- */
/* FIDO2 credentials */

static void
test_fido2_roundtrip(void **state)
{
	struct fx *f = *state;
	struct tk_store_stats st;
	struct tk_cred c, *list = NULL;
	struct key k;
	struct tk_cred in;
	size_t n = 0;
	uint64_t id;

	open_ok(f);
	in = fido2_cred("alice", &k, 7);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &in), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	id = in.id;
	totp_insert(f, "alice", TK_CRED_ACTIVE);

	c = get(f, "alice", id);
	assert_int_equal(c.kind, TK_CRED_FIDO2);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_int_equal(c.algorithm, TK_FIDO2_ES256);
	assert_string_equal(c.label, "key 7");
	assert_string_equal(c.fmt, "packed");
	assert_int_equal(c.flags, 0x45);
	assert_int_equal(c.sign_count, 10);
	assert_int_equal(c.cred_id_len, sizeof(k.id));
	assert_memory_equal(c.cred_id, k.id, sizeof(k.id));
	assert_int_equal(c.pubkey_len, sizeof(k.pk));
	assert_memory_equal(c.pubkey, k.pk, sizeof(k.pk));
	assert_memory_equal(c.aaguid, in.aaguid, sizeof(c.aaguid));
	assert_memory_equal(c.user_handle, in.user_handle,
	    sizeof(c.user_handle));
	assert_null(c.sealed);
	tk_cred_clear(&c);

	/* found by credential id, from any user's point of view */
	assert_int_equal(tk_store_fido2_find(f->s, k.id, sizeof(k.id), &c), 0);
	assert_int_equal(c.id, id);
	assert_string_equal(c.user, "alice");
	tk_cred_clear(&c);
	k.id[0] ^= 1;
	assert_int_equal(tk_store_fido2_find(f->s, k.id, sizeof(k.id), &c),
	    TK_ERR_NOTFOUND);
	assert_int_equal(tk_store_fido2_find(f->s, k.id, 0, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_fido2_find(f->s, NULL, 4, &c),
	    TK_ERR_INVAL);

	/* the active list of each kind holds only that kind */
	assert_int_equal(tk_store_cred_active(f->s, "alice", TK_CRED_FIDO2,
	    &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, id);
	assert_non_null(list[0].pubkey);
	tk_cred_list_free(&list, n);
	assert_int_equal(tk_store_cred_active(f->s, "alice", TK_CRED_TOTP,
	    &list, &n), 0);
	assert_int_equal(n, 1);
	assert_null(list[0].cred_id);
	tk_cred_list_free(&list, n);

	assert_int_equal(tk_store_stats(f->s, &st), 0);
	assert_int_equal(st.creds, 2);
	assert_int_equal(st.users, 1);
}

static void
test_fido2_unique_cred_id(void **state)
{
	struct fx *f = *state;
	struct tk_cred c, *list = NULL;
	struct key k;
	size_t n = 0;

	open_ok(f);
	fido2_insert(f, "alice", 3, 0);
	/* the same id for bob: refused, the transaction goes on */
	c = fido2_cred("bob", &k, 3);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_EXISTS);
	c = fido2_cred("bob", &k, 4);
	assert_int_equal(tk_store_cred_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(tk_store_cred_list(f->s, "bob", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].cred_id[0], 4);
	tk_cred_list_free(&list, n);
	/* revoked, the id stays taken */
	assert_int_equal(set_state(f, "bob", c.id, TK_CRED_REVOKED), 0);
	c = fido2_cred("carol", &k, 4);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_EXISTS);
	tk_store_rollback(f->s);
}

static void
test_fido2_insert_checks(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	struct key k;

	open_ok(f);
	assert_int_equal(tk_store_begin(f->s), 0);
	c = fido2_cred("alice", &k, 1);
	c.state = TK_CRED_PENDING;	/* FIDO2 is never pending */
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.sealed = k.pk;		/* nothing secret */
	c.sealed_len = 4;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.cred_id = NULL;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.cred_id_len = TK_FIDO2_CRED_ID_MAX + 1;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.pubkey_len = 0;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.algorithm = 4;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	c = fido2_cred("alice", &k, 1);
	c.fmt[0] = '\0';
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	/* a TOTP credential holds no FIDO2 key; no kind is suspended TOTP */
	c = fido2_cred("alice", &k, 1);
	c.kind = TK_CRED_TOTP;
	c.digits = 6;
	c.period = 30;
	assert_int_equal(tk_store_cred_insert(f->s, &c), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM credentials"), 0);
}

static void
test_fido2_states(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id, totp, pending, count = 0;

	open_ok(f);
	id = fido2_insert(f, "alice", 1, 5);
	totp = totp_insert(f, "alice", TK_CRED_ACTIVE);
	pending = totp_insert(f, "alice", TK_CRED_PENDING);

	assert_int_equal(set_state(f, "alice", id, TK_CRED_SUSPENDED), 0);
	c = get(f, "alice", id);
	assert_int_equal(c.state, TK_CRED_SUSPENDED);
	tk_cred_clear(&c);
	/* suspended again: a no-op; never pending */
	assert_int_equal(set_state(f, "alice", id, TK_CRED_SUSPENDED), 0);
	assert_int_equal(set_state(f, "alice", id, TK_CRED_PENDING),
	    TK_ERR_INVAL);
	/* reinstated: the counter stays */
	assert_int_equal(set_state(f, "alice", id, TK_CRED_ACTIVE), 0);
	c = get(f, "alice", id);
	assert_int_equal(c.state, TK_CRED_ACTIVE);
	assert_int_equal(c.sign_count, 5);
	tk_cred_clear(&c);
	/* suspended then revoked: the public key is kept */
	assert_int_equal(set_state(f, "alice", id, TK_CRED_SUSPENDED), 0);
	assert_int_equal(set_state(f, "alice", id, TK_CRED_REVOKED), 0);
	c = get(f, "alice", id);
	assert_int_equal(c.state, TK_CRED_REVOKED);
	assert_non_null(c.pubkey);
	tk_cred_clear(&c);
	assert_int_equal(set_state(f, "alice", id, TK_CRED_ACTIVE),
	    TK_ERR_INVAL);
	assert_int_equal(set_state(f, "alice", id, TK_CRED_SUSPENDED),
	    TK_ERR_INVAL);
	/* TOTP credentials are never suspended */
	assert_int_equal(set_state(f, "alice", totp, TK_CRED_SUSPENDED),
	    TK_ERR_INVAL);
	assert_int_equal(set_state(f, "alice", pending, TK_CRED_SUSPENDED),
	    TK_ERR_INVAL);
	/* revoke-all covers suspended credentials */
	id = fido2_insert(f, "bob", 2, 0);
	assert_int_equal(set_state(f, "bob", id, TK_CRED_SUSPENDED), 0);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_cred_revoke_all(f->s, "bob", &count), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(count, 1);
}

/* the clone check: one conditional update */
static void
test_fido2_accept_count(void **state)
{
	struct fx *f = *state;
	struct tk_cred c;
	uint64_t id, zero;

	open_ok(f);
	id = fido2_insert(f, "alice", 1, 10);
	assert_int_equal(accept_count(f, id, 11, T0 + 1), 0);
	c = get(f, "alice", id);
	assert_int_equal(c.sign_count, 11);
	assert_int_equal(c.last_used, T0 + 1);
	tk_cred_clear(&c);
	/* the same and a lower counter: refused, nothing changed */
	assert_int_equal(accept_count(f, id, 11, T0 + 2), TK_ERR_REPLAY);
	assert_int_equal(accept_count(f, id, 3, T0 + 3), TK_ERR_REPLAY);
	assert_int_equal(accept_count(f, id, 0, T0 + 3), TK_ERR_REPLAY);
	c = get(f, "alice", id);
	assert_int_equal(c.sign_count, 11);
	assert_int_equal(c.last_used, T0 + 1);
	tk_cred_clear(&c);
	assert_int_equal(accept_count(f, id, UINT32_MAX, T0 + 4), 0);
	assert_int_equal(accept_count(f, id, UINT32_MAX, T0 + 5),
	    TK_ERR_REPLAY);

	/* a key without a counter: 0 after 0 is allowed, until it counts */
	zero = fido2_insert(f, "alice", 2, 0);
	assert_int_equal(accept_count(f, zero, 0, T0 + 6), 0);
	assert_int_equal(accept_count(f, zero, 0, T0 + 7), 0);
	c = get(f, "alice", zero);
	assert_int_equal(c.last_used, T0 + 7);
	tk_cred_clear(&c);
	assert_int_equal(accept_count(f, zero, 1, T0 + 8), 0);
	assert_int_equal(accept_count(f, zero, 0, T0 + 9), TK_ERR_REPLAY);

	/* only an active FIDO2 credential counts */
	assert_int_equal(set_state(f, "alice", zero, TK_CRED_SUSPENDED), 0);
	assert_int_equal(accept_count(f, zero, 50, T0 + 10), TK_ERR_NOTFOUND);
	assert_int_equal(accept_count(f, totp_insert(f, "alice",
	    TK_CRED_ACTIVE), 50, T0 + 10), TK_ERR_NOTFOUND);
	assert_int_equal(accept_count(f, 9999, 50, T0 + 10), TK_ERR_NOTFOUND);
	/* outside a transaction: refused */
	assert_int_equal(tk_store_fido2_accept_count(f->s, id, UINT32_MAX,
	    T0), TK_ERR_INVAL);
	assert_int_equal(tk_store_fido2_accept_count(f->s, 0, 1, T0),
	    TK_ERR_INVAL);
}

/* ---------------------------------------------------------------- */
/* challenges */

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

static int
take(struct fx *f, uint64_t id, int purpose, struct tk_challenge *out)
{
	int r;

	assert_int_equal(tk_store_begin(f->s), 0);
	r = tk_store_challenge_take(f->s, id, purpose, out);
	assert_int_equal(tk_store_commit(f->s), 0);
	return (r);
}

static void
test_challenge_single_use(void **state)
{
	struct fx *f = *state;
	struct tk_challenge a, b, out;

	open_ok(f);
	a = challenge("alice", TK_CHALLENGE_ENROLL, T0 + 300);
	b = challenge("alice", TK_CHALLENGE_LOGIN, T0 + 60);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_insert(f->s, &a), 0);
	assert_int_equal(tk_store_challenge_insert(f->s, &b), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_true(a.id > 0 && b.id > a.id);

	/* the wrong purpose finds nothing and burns nothing */
	assert_int_equal(take(f, a.id, TK_CHALLENGE_LOGIN, &out),
	    TK_ERR_NOTFOUND);
	assert_int_equal(take(f, a.id, TK_CHALLENGE_ENROLL, &out), 0);
	assert_int_equal(out.id, a.id);
	assert_string_equal(out.user, "alice");
	assert_int_equal(out.purpose, TK_CHALLENGE_ENROLL);
	assert_memory_equal(out.challenge, a.challenge, sizeof(a.challenge));
	assert_memory_equal(out.user_handle, a.user_handle,
	    sizeof(a.user_handle));
	assert_int_equal(out.uv, TK_UV_PREFERRED);
	assert_string_equal(out.label, "yubikey");
	assert_int_equal(out.created, T0);
	assert_int_equal(out.expires, T0 + 300);
	/* twice: a replay, and *out says nothing */
	assert_int_equal(take(f, a.id, TK_CHALLENGE_ENROLL, &out),
	    TK_ERR_REPLAY);
	assert_int_equal(out.id, 0);
	assert_int_equal(take(f, 12345, TK_CHALLENGE_LOGIN, &out),
	    TK_ERR_NOTFOUND);
	/* a burn rolled back is no burn */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_take(f->s, b.id,
	    TK_CHALLENGE_LOGIN, &out), 0);
	tk_store_rollback(f->s);
	assert_int_equal(take(f, b.id, TK_CHALLENGE_LOGIN, &out), 0);
	assert_int_equal(take(f, b.id, TK_CHALLENGE_LOGIN, &out),
	    TK_ERR_REPLAY);
	/* outside a transaction and bad arguments: refused */
	assert_int_equal(tk_store_challenge_take(f->s, b.id,
	    TK_CHALLENGE_LOGIN, &out), TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_take(f->s, b.id, 3, &out),
	    TK_ERR_INVAL);
	assert_int_equal(tk_store_challenge_take(f->s, 0,
	    TK_CHALLENGE_LOGIN, &out), TK_ERR_INVAL);
	tk_store_rollback(f->s);
}

static void
test_challenge_insert_checks(void **state)
{
	struct fx *f = *state;
	struct tk_challenge ch;

	open_ok(f);
	ch = challenge("alice", TK_CHALLENGE_LOGIN, T0 + 60);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), TK_ERR_INVAL);
	assert_int_equal(tk_store_begin(f->s), 0);
	ch = challenge("alice", TK_CHALLENGE_LOGIN, T0);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), TK_ERR_INVAL);
	ch = challenge("alice", 0, T0 + 60);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), TK_ERR_INVAL);
	ch = challenge("alice", TK_CHALLENGE_LOGIN, T0 + 60);
	ch.uv = 0;
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), TK_ERR_INVAL);
	ch = challenge("", TK_CHALLENGE_LOGIN, T0 + 60);
	assert_int_equal(tk_store_challenge_insert(f->s, &ch), TK_ERR_INVAL);
	tk_store_rollback(f->s);
	assert_int_equal(db_int(f->db, "SELECT COUNT(*) FROM challenges"), 0);
}

static void
test_challenge_expire(void **state)
{
	struct fx *f = *state;
	struct tk_challenge a, b, c, out;
	uint64_t n = 9;

	open_ok(f);
	a = challenge("alice", TK_CHALLENGE_LOGIN, T0 + 60);
	b = challenge("bob", TK_CHALLENGE_LOGIN, T0 + 61);
	c = challenge("carol", TK_CHALLENGE_ENROLL, T0 + 300);
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_insert(f->s, &a), 0);
	assert_int_equal(tk_store_challenge_insert(f->s, &b), 0);
	assert_int_equal(tk_store_challenge_insert(f->s, &c), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(take(f, a.id, TK_CHALLENGE_LOGIN, &out), 0);
	assert_int_equal(tk_store_challenge_expire(f->s, T0 + 61, &n),
	    TK_ERR_INVAL);
	/* at its expiry a challenge goes, used or not */
	assert_int_equal(tk_store_begin(f->s), 0);
	assert_int_equal(tk_store_challenge_expire(f->s, T0 + 61, &n), 0);
	assert_int_equal(tk_store_commit(f->s), 0);
	assert_int_equal(n, 2);
	assert_int_equal(take(f, b.id, TK_CHALLENGE_LOGIN, &out),
	    TK_ERR_NOTFOUND);
	assert_int_equal(take(f, c.id, TK_CHALLENGE_ENROLL, &out), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_migrate_v2_to_v3),
		T(test_fido2_roundtrip),
		T(test_fido2_unique_cred_id),
		T(test_fido2_insert_checks),
		T(test_fido2_states),
		T(test_fido2_accept_count),
		T(test_challenge_single_use),
		T(test_challenge_insert_checks),
		T(test_challenge_expire),
	};

	if (sodium_init() < 0)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
