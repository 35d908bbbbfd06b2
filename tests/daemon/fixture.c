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
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "err.h"
#include "fixture.h"

#define FX_PARAMS_MAX	8	/* parameters of one fx_sql_* statement */
#define FX_COLS_MAX	32	/* columns of one fx_sql_each row */

/*
 * Empties every table of a PostgreSQL store but the schema version (the
 * schema stays: creating it again for each case costs more), and starts
 * the ids again at 1, as a new SQLite file would.
 */
#define FX_PG_RESET \
	"DO $$DECLARE t text; BEGIN " \
	"SELECT string_agg(format('%I', tablename), ', ') INTO t " \
	"FROM pg_tables WHERE schemaname = 'public' " \
	"AND tablename <> 'tokend_schema'; " \
	"IF t IS NOT NULL THEN " \
	"EXECUTE 'TRUNCATE ' || t || ' RESTART IDENTITY'; END IF; END$$"

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

static void
pg_connect(struct fixture *f)
{
#ifdef HAVE_LIBPQ
	PGconn *c;

	if ((c = PQconnectdb(f->url)) == NULL)
		fail_msg("PQconnectdb: out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		print_error("TK_TEST_STORE_URL: %s", PQerrorMessage(c));
		PQfinish(c);
		fail();
	}
	f->pg = c;
#else
	(void)f;
	fail_msg("TK_TEST_STORE_URL is set, but tokend was built without "
	    "libpq");
#endif
}

bool
fx_pg(const struct fixture *f)
{
	return (f->url != NULL);
}

void
fx_skip_on_pg(const struct fixture *f, const char *why)
{
	if (fx_pg(f)) {
		print_message("# SQLite only: %s\n", why);
		skip();
	}
}

/* the fixture's store, opened as tokend opens the one its [store] names */
int
fx_store_open(const struct fixture *f, tk_store_t **sp)
{
	unsigned char audit_key[TK_AUDIT_KEY_BYTES];
	int r;

	if ((r = tk_master_key_derive(f->key, TK_AUDIT_KDF_SUBKEY_ID,
	    TK_AUDIT_KDF_CONTEXT, audit_key)) != 0)
		return (r);
	if (f->conf.store_url != NULL && f->conf.store_url[0] != '\0') {
#ifdef HAVE_LIBPQ
		r = tk_store_open_pg(f->conf.store_url, audit_key,
		    sizeof(audit_key), sp);
#else
		r = TK_ERR_CONFIG;
#endif
	} else
		r = tk_store_open_sqlite(f->db, audit_key, sizeof(audit_key),
		    sp);
	sodium_memzero(audit_key, sizeof(audit_key));
	return (r);
}

int
setup(void **state)
{
	unsigned char raw[TK_MASTER_KEY_BYTES];
	char err[256];
	const char *tmp, *url;
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

	assert_int_equal(tk_conf_init(&f->conf), 0);
	if ((url = getenv("TK_TEST_STORE_URL")) != NULL && *url != '\0') {
		f->url = url;
		pg_connect(f);
		fx_sql_exec(f, FX_PG_RESET);
		/* as tokend.conf would: [store] url */
		if (tk_conf_set(&f->conf, "store", "url", url, err,
		    sizeof(err)) != 0)
			fail_msg("[store] url: %s", err);
	}
	assert_int_equal(fx_store_open(f, &f->store), 0);
	assert_string_equal(tk_store_kind(f->store),
	    f->url != NULL ? "postgresql" : "sqlite");

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
#ifdef HAVE_LIBPQ
	if (f->pg != NULL)
		PQfinish(f->pg);
#endif
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

/* --- raw SQL on either backend ------------------------------------------ */

const char *
fx_sql_dialect(const struct fixture *f, const char *sqlite, const char *pg)
{
	return (fx_pg(f) ? pg : sqlite);
}

static sqlite3 *
lite_open(struct fixture *f, int flags)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(f->db, &db, flags, NULL) != SQLITE_OK) {
		print_error("%s: %s\n", f->db, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		fail();
	}
	assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
	return (db);
}

void
fx_sql_exec(struct fixture *f, const char *sql)
{
	if (fx_pg(f)) {
#ifdef HAVE_LIBPQ
		PGresult *res = PQexec(f->pg, sql);
		ExecStatusType st = PQresultStatus(res);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			print_error("%s: %s", sql, res != NULL ?
			    PQresultErrorMessage(res) : "out of memory\n");
			PQclear(res);
			fail();
		}
		PQclear(res);
#endif
	} else {
		sqlite3 *db = lite_open(f, SQLITE_OPEN_READWRITE);
		char *msg = NULL;

		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			print_error("%s: %s\n", sql, msg != NULL ? msg : "?");
			sqlite3_free(msg);
			sqlite3_close(db);
			fail();
		}
		sqlite3_close(db);
	}
}

/* runs one statement with text parameters, fn for each row */
static size_t
query(struct fixture *f, const char *sql, int n, const char *const *params,
    fx_row_fn *fn, void *arg)
{
	const char *vals[FX_COLS_MAX];
	int lens[FX_COLS_MAX];
	size_t rows = 0;
	int c, ncols;

	if (fx_pg(f)) {
#ifdef HAVE_LIBPQ
		PGresult *res;
		int r, nrows;

		res = PQexecParams(f->pg, sql, n, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			print_error("%s: %s", sql, res != NULL ?
			    PQresultErrorMessage(res) : "out of memory\n");
			PQclear(res);
			fail();
		}
		nrows = PQntuples(res);
		ncols = PQnfields(res);
		if (ncols > FX_COLS_MAX) {
			PQclear(res);
			fail_msg("%s: %d columns", sql, ncols);
		}
		for (r = 0; r < nrows; r++, rows++) {
			for (c = 0; c < ncols; c++) {
				vals[c] = PQgetisnull(res, r, c) ? NULL :
				    PQgetvalue(res, r, c);
				lens[c] = PQgetlength(res, r, c);
			}
			fn(arg, ncols, vals, lens);
		}
		PQclear(res);
#endif
	} else {
		sqlite3 *db = lite_open(f, SQLITE_OPEN_READONLY);
		sqlite3_stmt *st = NULL;
		char name[16];
		int i, idx, rc;

		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			print_error("%s: %s\n", sql, sqlite3_errmsg(db));
			sqlite3_close(db);
			fail();
		}
		assert_int_equal(sqlite3_bind_parameter_count(st), n);
		for (i = 0; i < n; i++) {
			(void)snprintf(name, sizeof(name), "$%d", i + 1);
			assert_true((idx = sqlite3_bind_parameter_index(st,
			    name)) > 0);
			assert_int_equal(params[i] != NULL ?
			    sqlite3_bind_text(st, idx, params[i], -1,
			    SQLITE_STATIC) : sqlite3_bind_null(st, idx),
			    SQLITE_OK);
		}
		ncols = sqlite3_column_count(st);
		assert_true(ncols <= FX_COLS_MAX);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (c = 0; c < ncols; c++) {
				if (sqlite3_column_type(st, c) == SQLITE_BLOB)
					vals[c] = sqlite3_column_blob(st, c);
				else
					vals[c] = (const char *)
					    sqlite3_column_text(st, c);
				lens[c] = sqlite3_column_bytes(st, c);
			}
			fn(arg, ncols, vals, lens);
			rows++;
		}
		if (rc != SQLITE_DONE)
			print_error("%s: %s\n", sql, sqlite3_errmsg(db));
		assert_int_equal(rc, SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return (rows);
}

/* collects the `n' text parameters of a fx_sql_* call */
static void
params_of(int n, va_list ap, const char **out)
{
	int i;

	assert_true(n >= 0 && n <= FX_PARAMS_MAX);
	for (i = 0; i < n; i++)
		out[i] = va_arg(ap, const char *);
}

size_t
fx_sql_each(struct fixture *f, fx_row_fn *fn, void *arg, const char *sql,
    int nparams, ...)
{
	const char *params[FX_PARAMS_MAX];
	va_list ap;

	va_start(ap, nparams);
	params_of(nparams, ap, params);
	va_end(ap);
	return (query(f, sql, nparams, params, fn, arg));
}

static void
one_int64(void *arg, int ncols, const char *const *vals, const int *lens)
{
	int64_t *v = arg;
	char *end;
	long long n;

	(void)lens;
	assert_true(ncols >= 1);
	assert_non_null(vals[0]);
	errno = 0;
	n = strtoll(vals[0], &end, 10);
	assert_true(errno == 0 && end != vals[0] && *end == '\0');
	*v = n;
}

int64_t
fx_sql_int64(struct fixture *f, const char *sql, int nparams, ...)
{
	const char *params[FX_PARAMS_MAX];
	int64_t v = 0;
	va_list ap;

	va_start(ap, nparams);
	params_of(nparams, ap, params);
	va_end(ap);
	assert_int_equal(query(f, sql, nparams, params, one_int64, &v), 1);
	return (v);
}

/* --- audit rows, read straight from the database ---------------------- */

int64_t
audit_count(struct fixture *f, const char *event, const char *result)
{
	return (fx_sql_int64(f, "SELECT count(*) FROM audit "
	    "WHERE (CAST($1 AS TEXT) IS NULL OR event = $1) "
	    "AND (CAST($2 AS TEXT) IS NULL OR result = $2)", 2,
	    event, result));
}

/* rows whose text columns contain `needle' anywhere */
int64_t
audit_containing(struct fixture *f, const char *needle)
{
	return (fx_sql_int64(f, fx_sql_dialect(f,
	    "SELECT count(*) FROM audit WHERE instr(host || '|' || event || "
	    "'|' || \"user\" || '|' || service || '|' || rhost || '|' || tty "
	    "|| '|' || result || '|' || reason, $1) > 0",
	    "SELECT count(*) FROM audit WHERE strpos(host || '|' || event || "
	    "'|' || \"user\" || '|' || service || '|' || rhost || '|' || tty "
	    "|| '|' || result || '|' || reason, $1) > 0"), 1, needle));
}
