/*
 * fixture.h -- the test fixture shared by the handler tests
 * (test_handlers.c, test_emergency.c): a real SQLite store and master
 * key in a temporary directory, an injected clock, and peers of each
 * role; plus helpers to run a handler and compute codes independently
 * (liboath).
 */
#ifndef TK_TEST_FIXTURE_H
#define TK_TEST_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

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
	char		 db[PATH_MAX];
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
sqlite3 *audit_open(struct fixture *f);
int64_t audit_count(struct fixture *f, const char *event, const char *result);
int64_t audit_containing(struct fixture *f, const char *needle);

#endif /* TK_TEST_FIXTURE_H */
