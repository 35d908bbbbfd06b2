/*
 * fixture.h -- the test fixture shared by the handler tests
 * (test_handlers.c, test_emergency.c, test_fido2*.c,
 * test_cov_handler_faults.c): a real store and master key in a
 * temporary directory, an injected clock, and peers of each role; plus
 * helpers to run a handler and compute codes independently (liboath).
 *
 * The store is SQLite (a file in the directory), or PostgreSQL when
 * TK_TEST_STORE_URL holds a libpq conninfo or URL (tests/pg/daemon.sh):
 * the fixture then sets [store] url and opens the store as tokend does,
 * on a database emptied for each test case.  The tests read and tamper
 * with rows through fx_sql_*(), on either backend.
 */
#ifndef TK_TEST_FIXTURE_H
#define TK_TEST_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "daemon.h"
#include "handlers.h"
#include "msg.h"
#include "role.h"
#include "seal.h"
#include "store.h"

#define T0		1800000010LL	/* 2027, 10 s into a step */
#define PERIOD		30
#define SECRET_MAX	64
#define CODE_MAX	9

struct fixture {
	char		 dir[PATH_MAX];
	char		 db[PATH_MAX];	/* SQLite file (not on PG) */
	const char	*url;		/* TK_TEST_STORE_URL or NULL */
	void		*pg;		/* PGconn of fx_sql_*() */
	char		 keypath[PATH_MAX];
	struct tk_conf	 conf;
	tk_master_key_t	*key;
	tk_store_t	*store;
	struct tk_daemon d;
	int64_t		 now;
	bool		 clock_broken;
	struct tk_peer	 root;
	struct tk_peer	 admin;
	struct tk_peer	 alice;		/* self */
};

/* one enrolled credential as the test sees it */
struct enrolled {
	uint64_t	 id;
	int		 alg;
	unsigned	 digits;
	unsigned char	 secret[SECRET_MAX];
	size_t		 secret_len;
	char		 b32[128];
};

/* the directory, store, key, clock and peers of one test case */
int setup(void **state);
int teardown(void **state);
/* dir/name into out (len bytes); fails the test when it does not fit */
void join(char *out, size_t len, const char *dir, const char *name);
/* a new request of `type', with TK_KEY_USER when user is not NULL */
tk_msg_t *rq_new(uint32_t type, const char *user);
/* runs handler h for peer on rq (freed), checks and returns the answer */
tk_msg_t *run(struct fixture *f, tk_handler_fn_t *h,
    const struct tk_peer *peer, tk_msg_t *rq);
/* the uint field `key' of an answer, which must be present */
uint64_t an_uint(const tk_msg_t *an, enum tk_key key);
/* the code of credential e at time step `step' (liboath) */
void code_at(const struct enrolled *e, uint64_t step, char out[CODE_MAX]);

/* enrolling, verifying and reading the audit table (see fixture.c) */
uint64_t step_of(int64_t t);
void wrong_code(const struct enrolled *e, int64_t now, char out[CODE_MAX]);
tk_msg_t *enroll_begin(struct fixture *f, const char *user, unsigned digits,
    const char *alg);
void enroll(struct fixture *f, const char *user, unsigned digits,
    const char *alg, struct enrolled *e);
enum tk_status confirm(struct fixture *f, const char *user, uint64_t id,
    const char *code);
void enroll_active(struct fixture *f, const char *user, unsigned digits,
    const char *alg, struct enrolled *e);
tk_msg_t *verify_as(struct fixture *f, const struct tk_peer *peer,
    const char *user, const char *code);
enum tk_status verify(struct fixture *f, const char *user, const char *code,
    uint64_t *failures);
void user_status(struct fixture *f, const char *user, uint64_t *factors,
    bool *locked, uint64_t *failures);
int64_t audit_count(struct fixture *f, const char *event, const char *result);
int64_t audit_containing(struct fixture *f, const char *needle);

/*
 * The store's backend.  fx_pg() is true when the fixture runs on
 * PostgreSQL; fx_skip_on_pg() skips the calling test there (a test of
 * the SQLite file itself).  fx_store_open() opens another connection to
 * the fixture's store, as a second tokend would (after a fork, too).
 */
bool fx_pg(const struct fixture *f);
void fx_skip_on_pg(const struct fixture *f, const char *why);
int fx_store_open(const struct fixture *f, tk_store_t **sp);

/*
 * Raw SQL on the fixture's database, outside the store (the tests'
 * reader and "attacker").  Keep the SQL portable: quote the column
 * "user" (a reserved word on PostgreSQL), no SQLite-only functions;
 * fx_sql_dialect() picks one of two texts where the dialects differ.
 * Parameters are texts ($1, $2, ...; NULL is SQL NULL), their types
 * inferred from the SQL (write CAST($1 AS TEXT) where nothing else
 * says).  Every failure fails the test.
 *
 * fx_sql_exec: runs `sql' (several statements allowed, no parameters).
 * fx_sql_int64: the first column of the one row `sql' returns.
 * fx_sql_each: calls fn for every row (columns as NUL-terminated texts
 * or blobs with their lengths; NULL for SQL NULL); returns the rows.
 */
typedef void fx_row_fn(void *arg, int ncols, const char *const *vals,
    const int *lens);

const char *fx_sql_dialect(const struct fixture *f, const char *sqlite,
    const char *pg);
void fx_sql_exec(struct fixture *f, const char *sql);
int64_t fx_sql_int64(struct fixture *f, const char *sql, int nparams, ...);
size_t fx_sql_each(struct fixture *f, fx_row_fn *fn, void *arg,
    const char *sql, int nparams, ...);

#endif /* TK_TEST_FIXTURE_H */
