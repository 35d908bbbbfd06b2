/*
 * fixture.c -- see fixture.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include <liboath/oath.h>
#include <sodium.h>
#include <sqlite3.h>

#include "err.h"
#include "fixture.h"

static int
fake_clock(void *arg, int64_t *now)
{
	struct fixture *f = arg;

	if (f->clock_broken)
		return (TK_ERR_IO);
	*now = f->now;
	return (0);
}

void
join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

static void
peer_set(struct tk_peer *p, uid_t uid, enum tk_role role, const char *user)
{
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->gid = uid;
	p->pid = 4242;
	p->role = role;
	assert_true(strlen(user) < sizeof(p->user));
	strcpy(p->user, user);
}

int
setup(void **state)
{
	unsigned char raw[TK_MASTER_KEY_BYTES], audit_key[TK_AUDIT_KEY_BYTES];
	char err[256];
	const char *tmp;
	struct fixture *f;
	int fd;

	assert_true(sodium_init() >= 0);
	assert_int_equal(oath_init(), OATH_OK);
	assert_non_null(f = calloc(1, sizeof(*f)));
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	join(f->dir, sizeof(f->dir), tmp, "tk-handlers.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	join(f->db, sizeof(f->db), f->dir, "tokend.db");
	join(f->keypath, sizeof(f->keypath), f->dir, "master.key");

	randombytes_buf(raw, sizeof(raw));
	fd = open(f->keypath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, raw, sizeof(raw)), (ssize_t)sizeof(raw));
	assert_int_equal(close(fd), 0);
	sodium_memzero(raw, sizeof(raw));
	assert_int_equal(tk_master_key_load(f->keypath, &f->key, err,
	    sizeof(err)), 0);
	assert_int_equal(tk_master_key_derive(f->key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key), 0);
	assert_int_equal(tk_store_open_sqlite(f->db, audit_key,
	    sizeof(audit_key), &f->store), 0);

	assert_int_equal(tk_conf_init(&f->conf), 0);
	f->conf.totp_window = 1;
	f->conf.max_failures = 3;
	f->conf.delay_base = 1;
	f->conf.delay_max = 30;
	f->conf.totp_pending_ttl = 900;

	assert_int_equal(tk_daemon_init(&f->d, &f->conf, f->store, f->key),
	    0);
	f->now = T0;
	tk_daemon_set_clock(&f->d, fake_clock, f);
	assert_int_equal(f->d.started, T0);

	peer_set(&f->root, 0, TK_ROLE_ROOT, "root");
	peer_set(&f->admin, 1001, TK_ROLE_ADMIN, "carol");
	peer_set(&f->alice, 1002, TK_ROLE_SELF, "alice");
	*state = f;
	return (0);
}

int
teardown(void **state)
{
	struct fixture *f = *state;

	tk_store_close(&f->store);
	tk_master_key_free(&f->key);
	tk_conf_clear(&f->conf);
	(void)nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return (0);
}

/* --- requests --------------------------------------------------------- */

tk_msg_t *
rq_new(uint32_t type, const char *user)
{
	tk_msg_t *m;

	assert_non_null(m = tk_msg_new(TK_DIR_REQUEST, type));
	if (user != NULL)
		assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, user), 0);
	return (m);
}

/* Runs a handler and checks its answer is well-formed for the wire. */
tk_msg_t *
run(struct fixture *f, tk_handler_fn_t *h, const struct tk_peer *peer,
    tk_msg_t *rq)
{
	unsigned char *enc = NULL;
	size_t enc_len = 0;
	tk_msg_t *an = NULL;

	assert_int_equal(h(&f->d, peer, rq, &an), 0);
	assert_non_null(an);
	assert_int_equal(tk_msg_type(an), tk_msg_type(rq));
	assert_int_equal(tk_msg_encode(an, &enc, &enc_len), 0);
	sodium_memzero(enc, enc_len);
	free(enc);
	tk_msg_free(&rq);
	return (an);
}

uint64_t
an_uint(const tk_msg_t *an, enum tk_key key)
{
	uint64_t v = 0;

	assert_int_equal(tk_msg_get_uint(an, key, &v), 0);
	return (v);
}

void
code_at(const struct enrolled *e, uint64_t step, char out[CODE_MAX])
{
	int flags = e->alg == TK_TOTP_SHA256 ? OATH_TOTP_HMAC_SHA256 :
	    e->alg == TK_TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512 : 0;

	assert_int_equal(oath_totp_generate2((const char *)e->secret,
	    e->secret_len, (time_t)(step * PERIOD), PERIOD, 0, e->digits,
	    flags, out), OATH_OK);
}

uint64_t
step_of(int64_t t)
{
	return ((uint64_t)t / PERIOD);
}

/* a code of the right shape that matches no step near `now' */
void
wrong_code(const struct enrolled *e, int64_t now, char out[CODE_MAX])
{
	char near[5][CODE_MAX];
	unsigned i, d, k;
	bool clash;

	for (i = 0; i < 5; i++)
		code_at(e, step_of(now) - 2 + i, near[i]);
	for (d = 0; d < 10; d++) {
		for (k = 0; k < e->digits; k++)
			out[k] = (char)('0' + d);
		out[e->digits] = '\0';
		for (clash = false, i = 0; i < 5; i++)
			if (strcmp(out, near[i]) == 0)
				clash = true;
		if (!clash)
			return;
	}
	fail_msg("no wrong code found");
}

tk_msg_t *
enroll_begin(struct fixture *f, const char *user, unsigned digits,
    const char *alg)
{
	tk_msg_t *rq = rq_new(TK_MSG_TOTP_ENROLL_BEGIN, user);

	if (digits != 0)
		assert_int_equal(tk_msg_set_uint(rq, TK_KEY_DIGITS, digits),
		    0);
	if (alg != NULL)
		assert_int_equal(tk_msg_set_text(rq, TK_KEY_ALGORITHM, alg),
		    0);
	return (run(f, tk_handle_totp_enroll_begin, &f->admin, rq));
}

/* Enrolls `user' and reads the secret back from the otpauth URI. */
void
enroll(struct fixture *f, const char *user, unsigned digits, const char *alg,
    struct enrolled *e)
{
	tk_msg_t *an;
	const char *uri, *p, *q;
	char padded[128], *raw = NULL;
	size_t n, raw_len = 0;

	memset(e, 0, sizeof(*e));
	e->digits = digits != 0 ? digits : 6;
	e->alg = alg == NULL || strcmp(alg, "sha1") == 0 ? TK_TOTP_SHA1 :
	    strcmp(alg, "sha256") == 0 ? TK_TOTP_SHA256 : TK_TOTP_SHA512;
	an = enroll_begin(f, user, digits, alg);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_USER), user);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_STATE), "pending");
	e->id = an_uint(an, TK_KEY_CRED);
	assert_true(e->id > 0);
	assert_non_null(uri = tk_msg_get_text(an, TK_KEY_URI));
	assert_int_equal(strncmp(uri, "otpauth://totp/tokend:", 22), 0);
	assert_non_null(p = strstr(uri, "?secret="));
	p += strlen("?secret=");
	assert_non_null(q = strchr(p, '&'));
	n = (size_t)(q - p);
	assert_true(n < sizeof(e->b32) && n + 8 < sizeof(padded));
	memcpy(e->b32, p, n);
	e->b32[n] = '\0';
	memcpy(padded, p, n);
	while (n % 8 != 0)
		padded[n++] = '=';
	assert_int_equal(oath_base32_decode(padded, n, &raw, &raw_len),
	    OATH_OK);
	assert_true(raw_len <= sizeof(e->secret));
	memcpy(e->secret, raw, raw_len);
	e->secret_len = raw_len;
	sodium_memzero(raw, raw_len);
	free(raw);
	tk_msg_free(&an);
}

enum tk_status
confirm(struct fixture *f, const char *user, uint64_t id, const char *code)
{
	tk_msg_t *rq = rq_new(TK_MSG_TOTP_ENROLL_CONFIRM, user), *an;
	enum tk_status st;

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, id), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_CODE, code), 0);
	an = run(f, tk_handle_totp_enroll_confirm, &f->admin, rq);
	st = tk_msg_status(an);
	if (st == TK_ST_OK) {
		assert_int_equal(an_uint(an, TK_KEY_CRED), id);
		assert_string_equal(tk_msg_get_text(an, TK_KEY_STATE),
		    "active");
	}
	tk_msg_free(&an);
	return (st);
}

/* Enrolls and confirms with the code of the current step. */
void
enroll_active(struct fixture *f, const char *user, unsigned digits,
    const char *alg, struct enrolled *e)
{
	char code[CODE_MAX];

	enroll(f, user, digits, alg, e);
	code_at(e, step_of(f->now), code);
	assert_int_equal(confirm(f, user, e->id, code), TK_ST_OK);
}

tk_msg_t *
verify_as(struct fixture *f, const struct tk_peer *peer, const char *user,
    const char *code)
{
	tk_msg_t *rq = rq_new(TK_MSG_TOTP_VERIFY, user);

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_CODE, code), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_TTY, "tty1"), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_RHOST, "host.example"),
	    0);
	return (run(f, tk_handle_totp_verify, peer, rq));
}

/* TOTP_VERIFY as root; returns the status, *failures when present */
enum tk_status
verify(struct fixture *f, const char *user, const char *code,
    uint64_t *failures)
{
	tk_msg_t *an = verify_as(f, &f->root, user, code);
	enum tk_status st = tk_msg_status(an);

	if (failures != NULL) {
		*failures = UINT64_MAX;
		(void)tk_msg_get_uint(an, TK_KEY_FAILURES, failures);
	}
	tk_msg_free(&an);
	return (st);
}

void
user_status(struct fixture *f, const char *user, uint64_t *factors,
    bool *locked, uint64_t *failures)
{
	tk_msg_t *an;

	an = run(f, tk_handle_user_status, &f->root,
	    rq_new(TK_MSG_USER_STATUS, user));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	*factors = an_uint(an, TK_KEY_FACTORS);
	*failures = an_uint(an, TK_KEY_FAILURES);
	assert_int_equal(tk_msg_get_bool(an, TK_KEY_LOCKED, locked), 0);
	tk_msg_free(&an);
}

/* --- audit rows, read straight from the database ---------------------- */

sqlite3 *
audit_open(struct fixture *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	return (db);
}

int64_t
audit_count(struct fixture *f, const char *event, const char *result)
{
	sqlite3 *db = audit_open(f);
	sqlite3_stmt *st = NULL;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit "
	    "WHERE (?1 IS NULL OR event = ?1) AND (?2 IS NULL OR result = ?2)",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 2, result, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (n);
}

/* rows whose text columns contain `needle' anywhere */
int64_t
audit_containing(struct fixture *f, const char *needle)
{
	sqlite3 *db = audit_open(f);
	sqlite3_stmt *st = NULL;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit "
	    "WHERE instr(host || '|' || event || '|' || user || '|' || "
	    "service || '|' || rhost || '|' || tty || '|' || result || '|' || "
	    "reason, ?1) > 0", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, needle, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (n);
}
