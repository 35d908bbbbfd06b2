/*
 * test_emergency.c -- issue 5's requests through their handlers (and
 * tk_dispatch() for roles): recovery codes (shape, issue, single use,
 * voiding, throttling, audit), emergency grants (given, used, expired on
 * tokend's clock, revoked, refused when locked), audit verify and export
 * (filters, paging, tampering), and backup.  Same fixture as
 * test_handlers.c: a real store and master key, an injected clock.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
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

#include "audit.h"
#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "err.h"
#include "fixture.h"
#include "handlers.h"
#include "recovery.h"
#include "msg.h"
#include "seal.h"
#include "store.h"



/* --- helpers of this file --------------------------------------------- */

/* RECOVERY_ISSUE as the admin; copies the codes into codes[][] */
static enum tk_status
issue(struct fixture *f, const char *user, uint64_t count,
    char codes[][TK_RECOVERY_TEXT_MAX + 1], size_t *n)
{
	tk_msg_t *rq = rq_new(TK_MSG_RECOVERY_ISSUE, user), *an;
	const char *code;
	enum tk_status st;
	size_t i;

	if (count != 0)
		assert_int_equal(tk_msg_set_uint(rq, TK_KEY_COUNT, count), 0);
	an = run(f, tk_handle_recovery_issue, &f->admin, rq);
	st = tk_msg_status(an);
	if (n != NULL)
		*n = 0;
	if (st == TK_ST_OK) {
		assert_string_equal(tk_msg_get_text(an, TK_KEY_USER), user);
		for (i = 0; i < tk_msg_count(an, TK_KEY_CODES); i++) {
			code = tk_msg_get_text(tk_msg_record(an, TK_KEY_CODES,
			    i), TK_KEY_CODE);
			assert_non_null(code);
			assert_int_equal(strlen(code), TK_RECOVERY_TEXT_MAX);
			if (codes != NULL)
				strcpy(codes[i], code);
		}
		if (n != NULL)
			*n = i;
	}
	tk_msg_free(&an);
	return (st);
}

/* TOTP_VERIFY as root; *left = RECOVERY_LEFT or UINT64_MAX */
static enum tk_status
verify_left(struct fixture *f, const char *user, const char *code,
    uint64_t *left)
{
	tk_msg_t *an = verify_as(f, &f->root, user, code);
	enum tk_status st = tk_msg_status(an);

	*left = UINT64_MAX;
	if (tk_msg_has(an, TK_KEY_RECOVERY_LEFT))
		*left = an_uint(an, TK_KEY_RECOVERY_LEFT);
	tk_msg_free(&an);
	return (st);
}

static tk_msg_t *
grant_rq(const char *user, uint64_t duration, const char *reason)
{
	tk_msg_t *rq = rq_new(TK_MSG_GRANT, user);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_DURATION, duration), 0);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_REASON, reason), 0);
	return (rq);
}

/* GRANT_USE as `peer'; *expires when granted */
static enum tk_status
grant_use(struct fixture *f, const struct tk_peer *peer, const char *user,
    uint64_t *expires)
{
	tk_msg_t *rq = rq_new(TK_MSG_GRANT_USE, user), *an;
	enum tk_status st;

	assert_int_equal(tk_msg_set_text(rq, TK_KEY_SERVICE, "login"), 0);
	an = run(f, tk_handle_grant_use, peer, rq);
	st = tk_msg_status(an);
	if (expires != NULL) {
		*expires = 0;
		(void)tk_msg_get_uint(an, TK_KEY_EXPIRES, expires);
	}
	tk_msg_free(&an);
	return (st);
}

/* sends through tk_dispatch (roles); returns the status */
static enum tk_status
dispatch_as(struct fixture *f, const struct tk_peer *peer, tk_msg_t *rq)
{
	tk_msg_t *an = NULL;
	enum tk_status st;
	bool close = false;

	assert_int_equal(tk_dispatch(&f->d, peer, rq, &an, &close), 0);
	st = tk_msg_status(an);
	tk_msg_free(&an);
	tk_msg_free(&rq);
	return (st);
}

/* --- recovery codes ----------------------------------------------------- */

static void
test_recovery_shape(void **state)
{
	char norm[TK_RECOVERY_CHARS + 1], code[TK_RECOVERY_TEXT_MAX + 1];
	static const char *const bad[] = {
		"", "123456", "12345678", "abcd-efgh-jkm", "abcd-efgh-jkmnp",
		"abcdefghjkmnp", "abcd_efgh_jkmn", "abcde-fghj-kmn",
		"abcd-efgh-jkmu", "abcd efgh jkmn", "-abcd-efgh-jk",
		"abcd--efghjkm", "ａbcd-efgh-jkmn"
	};
	size_t i, k;
	int seen[32];

	(void)state;
	assert_int_equal(tk_recovery_normalize("ABCD-EFGH-JKMN", norm), 0);
	assert_string_equal(norm, "abcdefghjkmn");
	assert_int_equal(tk_recovery_normalize("abcdefghjkmn", norm), 0);
	assert_string_equal(norm, "abcdefghjkmn");
	/* i, l and o are read as 1, 1 and 0 (Crockford) */
	assert_int_equal(tk_recovery_normalize("IL0O-iloo-1234", norm), 0);
	assert_string_equal(norm, "11001100" "1234");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tk_recovery_normalize(bad[i], norm) == 0)
			fail_msg("\"%s\" taken for a recovery code", bad[i]);
	assert_int_equal(tk_recovery_normalize(NULL, norm), TK_ERR_INVAL);
	/* generated codes have the shape and use the whole alphabet */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 400; i++) {
		tk_recovery_generate(code);
		assert_int_equal(strlen(code), TK_RECOVERY_TEXT_MAX);
		assert_int_equal(code[4], '-');
		assert_int_equal(code[9], '-');
		assert_int_equal(tk_recovery_normalize(code, norm), 0);
		for (k = 0; k < TK_RECOVERY_CHARS; k++) {
			const char *a = "0123456789abcdefghjkmnpqrstvwxyz";
			const char *p = strchr(a, norm[k]);

			assert_non_null(p);
			seen[p - a] = 1;
		}
	}
	for (k = 0; k < 32; k++)
		assert_int_equal(seen[k], 1);
}

static void
test_recovery_hash_keyed_and_bound(void **state)
{
	struct fixture *f = *state;
	unsigned char a[TK_RECOVERY_HASH_BYTES], b[TK_RECOVERY_HASH_BYTES];
	unsigned char c[TK_RECOVERY_HASH_BYTES];

	assert_int_equal(tk_recovery_hash(f->key, "alice", "abcdefghjkmn", a),
	    0);
	assert_int_equal(tk_recovery_hash(f->key, "alice", "abcdefghjkmn", b),
	    0);
	assert_memory_equal(a, b, sizeof(a));
	/* another user, another code: other hashes */
	assert_int_equal(tk_recovery_hash(f->key, "bob", "abcdefghjkmn", c),
	    0);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_int_equal(tk_recovery_hash(f->key, "alice", "abcdefghjkmp", c),
	    0);
	assert_memory_not_equal(a, c, sizeof(a));
	/* keyed: not the plain BLAKE2b of the same input */
	crypto_generichash(c, sizeof(c), (const unsigned char *)
	    "abcdefghjkmn", 12, NULL, 0);
	assert_memory_not_equal(a, c, sizeof(a));
	{
		char shortcode[TK_RECOVERY_CHARS + 1] = "short";

		assert_int_equal(tk_recovery_hash(f->key, "alice", shortcode,
		    c), TK_ERR_INVAL);
	}
}

static void
test_recovery_issue_and_use(void **state)
{
	struct fixture *f = *state;
	char codes[TK_RECOVERY_COUNT_MAX][TK_RECOVERY_TEXT_MAX + 1];
	char upper[TK_RECOVERY_TEXT_MAX + 1], nodash[TK_RECOVERY_CHARS + 1];
	uint64_t factors, failures, left;
	size_t n, i, k;
	bool locked;

	/* default count 10, limits 1..20 */
	assert_int_equal(issue(f, "alice", 0, codes, &n), TK_ST_OK);
	assert_int_equal(n, TK_RECOVERY_COUNT_DEFAULT);
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			assert_string_not_equal(codes[i], codes[k]);
	assert_int_equal(issue(f, "alice", 21, NULL, NULL), TK_ST_BAD_REQUEST);
	assert_int_equal(audit_count(f, "recovery_issue", "bad_request"), 1);
	/* the bad request did not void the set */
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_RECOVERY);
	assert_int_equal(issue(f, "alice", 3, codes, &n), TK_ST_OK);
	assert_int_equal(n, 3);
	assert_int_equal(audit_count(f, "recovery_issue", "ok"), 2);
	assert_int_equal(audit_containing(f, "count=3"), 1);

	/* only recovery codes: the user counts as enrolled */
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_RECOVERY);
	/* typed in capitals, or without dashes */
	for (i = 0; i < TK_RECOVERY_TEXT_MAX; i++)
		upper[i] = (char)toupper((unsigned char)codes[0][i]);
	upper[i] = '\0';
	assert_int_equal(verify_left(f, "alice", upper, &left), TK_ST_OK);
	assert_int_equal(left, 2);
	for (i = 0, k = 0; codes[1][i] != '\0'; i++)
		if (codes[1][i] != '-')
			nodash[k++] = codes[1][i];
	nodash[k] = '\0';
	assert_int_equal(verify_left(f, "alice", nodash, &left), TK_ST_OK);
	assert_int_equal(left, 1);
	/* single use */
	assert_int_equal(verify_left(f, "alice", codes[0], &left),
	    TK_ST_WRONG);
	assert_int_equal(left, UINT64_MAX);
	/* digits from a user without TOTP: a counted failure */
	f->now += 60;		/* past the throttle delay */
	assert_int_equal(verify(f, "alice", "123456", &failures), TK_ST_WRONG);
	assert_int_equal(failures, 2);
	f->now += 60;		/* past the throttle delay */
	assert_int_equal(verify_left(f, "alice", codes[2], &left), TK_ST_OK);
	assert_int_equal(left, 0);
	/* none left: not enrolled any more */
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, 0);
	assert_int_equal(failures, 0);	/* the success reset the count */
	assert_int_equal(verify(f, "alice", codes[2], NULL),
	    TK_ST_NOT_ENROLLED);

	/* audited as recovery_use, never with a code */
	assert_int_equal(audit_count(f, "recovery_use", "ok"), 3);
	assert_int_equal(audit_count(f, "recovery_use", "wrong"), 1);
	assert_int_equal(audit_containing(f, "0 left"), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(audit_containing(f, codes[i]), 0);
		memcpy(nodash, codes[i], 4);
		nodash[4] = '\0';
		/* not even a group of it (4 characters could collide with
		 * a host name only by chance; none here) */
		assert_int_equal(audit_containing(f, codes[i] + 5), 0);
	}
}

static void
test_recovery_reissue_voids(void **state)
{
	struct fixture *f = *state;
	char old[TK_RECOVERY_COUNT_MAX][TK_RECOVERY_TEXT_MAX + 1];
	char new[TK_RECOVERY_COUNT_MAX][TK_RECOVERY_TEXT_MAX + 1];
	struct enrolled e;
	uint64_t left;
	size_t n;

	enroll_active(f, "bob", 0, NULL, &e);
	assert_int_equal(issue(f, "bob", 2, old, &n), TK_ST_OK);
	assert_int_equal(issue(f, "bob", 2, new, &n), TK_ST_OK);
	assert_int_equal(verify_left(f, "bob", old[0], &left), TK_ST_WRONG);
	f->now += 60;
	assert_int_equal(verify_left(f, "bob", old[1], &left), TK_ST_WRONG);
	f->now += 60;
	assert_int_equal(verify_left(f, "bob", new[0], &left), TK_ST_OK);
	assert_int_equal(left, 1);
	/* a code of another user is no code of bob's */
	assert_int_equal(issue(f, "carol", 1, old, &n), TK_ST_OK);
	assert_int_equal(verify_left(f, "bob", old[0], &left), TK_ST_WRONG);
}

static void
test_recovery_throttled_and_locked(void **state)
{
	struct fixture *f = *state;
	char codes[TK_RECOVERY_COUNT_MAX][TK_RECOVERY_TEXT_MAX + 1];
	uint64_t left, failures;
	tk_msg_t *an;
	size_t n;

	assert_int_equal(issue(f, "dave", 2, codes, &n), TK_ST_OK);
	assert_int_equal(verify_left(f, "dave", "zzzz-zzzz-zzzz", &left),
	    TK_ST_WRONG);
	/* too soon after a failure: throttled, even with a good code, and
	 * the code is not used up */
	assert_int_equal(verify_left(f, "dave", codes[0], &left),
	    TK_ST_THROTTLED);
	assert_int_equal(audit_count(f, "recovery_use", "throttled"), 1);
	f->now += 60;
	assert_int_equal(verify(f, "dave", "zzzz-zzzz-zzzy", &failures),
	    TK_ST_WRONG);
	f->now += 60;
	/* max_failures is 3: the third failure locks */
	assert_int_equal(verify(f, "dave", "zzzz-zzzz-zzzx", &failures),
	    TK_ST_LOCKED);
	f->now += 3600;
	assert_int_equal(verify_left(f, "dave", codes[0], &left),
	    TK_ST_LOCKED);
	an = run(f, tk_handle_user_unlock, &f->admin,
	    rq_new(TK_MSG_USER_UNLOCK, "dave"));
	tk_msg_free(&an);
	assert_int_equal(verify_left(f, "dave", codes[0], &left), TK_ST_OK);
	assert_int_equal(left, 1);
}

/* --- emergency grants -------------------------------------------------- */

static void
test_grant_use_and_expiry(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	uint64_t factors, failures, expires = 0, count = 0;
	tk_msg_t *an;
	bool locked;

	enroll_active(f, "erin", 0, NULL, &e);
	/* no grant: not_found, never granted */
	assert_int_equal(grant_use(f, &f->root, "erin", NULL),
	    TK_ST_NOT_FOUND);
	an = run(f, tk_handle_grant, &f->admin,
	    grant_rq("erin", 3600, "key left at home"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_EXPIRES), (uint64_t)T0 + 3600);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "grant", "ok"), 1);
	assert_int_equal(audit_containing(f, "key left at home"), 1);

	/* USER_STATUS shows it; the self role may use its own */
	an = run(f, tk_handle_user_status, &f->root,
	    rq_new(TK_MSG_USER_STATUS, "erin"));
	assert_int_equal(an_uint(an, TK_KEY_EXPIRES), (uint64_t)T0 + 3600);
	tk_msg_free(&an);
	assert_int_equal(grant_use(f, &f->root, "erin", &expires),
	    TK_ST_GRANTED);
	assert_int_equal(expires, (uint64_t)T0 + 3600);
	assert_int_equal(dispatch_as(f, &f->alice,
	    rq_new(TK_MSG_GRANT_USE, "erin")), TK_ST_DENIED);
	f->now += 3599;
	assert_int_equal(grant_use(f, &f->root, "erin", NULL), TK_ST_GRANTED);
	assert_int_equal(audit_count(f, "grant_use", "ok"), 2);

	/* at the expiry on tokend's clock: over, audited once */
	f->now += 1;
	an = run(f, tk_handle_user_status, &f->root,
	    rq_new(TK_MSG_USER_STATUS, "erin"));
	assert_false(tk_msg_has(an, TK_KEY_EXPIRES));
	tk_msg_free(&an);
	assert_int_equal(grant_use(f, &f->root, "erin", NULL), TK_ST_EXPIRED);
	assert_int_equal(audit_count(f, "grant_expire", "expired"), 1);
	assert_int_equal(grant_use(f, &f->root, "erin", NULL),
	    TK_ST_NOT_FOUND);
	/* the sweep finds nothing more to end */
	assert_int_equal(tk_handle_expire_grants(&f->d, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(audit_count(f, "grant_expire", NULL), 1);
	user_status(f, "erin", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_TOTP);
}

static void
test_grant_sweep_and_revoke(void **state)
{
	struct fixture *f = *state;
	uint64_t count = 0;
	tk_msg_t *an, *rq;

	tk_msg_free(&(tk_msg_t *){ run(f, tk_handle_grant, &f->admin,
	    grant_rq("frank", 60, "broken key")) });
	tk_msg_free(&(tk_msg_t *){ run(f, tk_handle_grant, &f->admin,
	    grant_rq("gina", 7200, "phone stolen")) });
	/* both listed */
	an = run(f, tk_handle_grant_list, &f->admin,
	    rq_new(TK_MSG_GRANT_LIST, NULL));
	assert_int_equal(tk_msg_count(an, TK_KEY_GRANTS), 2);
	assert_string_equal(tk_msg_get_text(tk_msg_record(an, TK_KEY_GRANTS,
	    0), TK_KEY_USER), "frank");
	assert_int_equal(an_uint(tk_msg_record(an, TK_KEY_GRANTS, 0),
	    TK_KEY_UID), 1001);
	tk_msg_free(&an);
	/* the periodic sweep ends frank's on time, one row */
	f->now += 59;
	assert_int_equal(tk_handle_expire_pending(&f->d, &count), 0);
	assert_int_equal(audit_count(f, "grant_expire", NULL), 0);
	f->now += 1;
	assert_int_equal(tk_handle_expire_grants(&f->d, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(audit_count(f, "grant_expire", "expired"), 1);
	assert_int_equal(grant_use(f, &f->root, "frank", NULL),
	    TK_ST_NOT_FOUND);
	an = run(f, tk_handle_grant_list, &f->admin,
	    rq_new(TK_MSG_GRANT_LIST, NULL));
	assert_int_equal(tk_msg_count(an, TK_KEY_GRANTS), 1);
	tk_msg_free(&an);
	/* revoked early */
	an = run(f, tk_handle_grant_revoke, &f->admin,
	    rq_new(TK_MSG_GRANT_REVOKE, "gina"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_COUNT), 1);
	tk_msg_free(&an);
	assert_int_equal(grant_use(f, &f->root, "gina", NULL),
	    TK_ST_NOT_FOUND);
	an = run(f, tk_handle_grant_revoke, &f->admin,
	    rq_new(TK_MSG_GRANT_REVOKE, "gina"));
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "grant_revoke", "ok"), 1);
	/* administrators only */
	rq = grant_rq("alice", 60, "myself");
	assert_int_equal(dispatch_as(f, &f->alice, rq), TK_ST_DENIED);
	assert_int_equal(dispatch_as(f, &f->alice,
	    rq_new(TK_MSG_GRANT_LIST, NULL)), TK_ST_DENIED);
}

static void
test_grant_limits(void **state)
{
	struct fixture *f = *state;
	tk_msg_t *an, *rq;

	f->conf.grant_max_duration = 86400;
	an = run(f, tk_handle_grant, &f->admin, grant_rq("hal", 86401, "x"));
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	an = run(f, tk_handle_grant, &f->admin, grant_rq("hal", 0, "x"));
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	an = run(f, tk_handle_grant, &f->admin, grant_rq("hal", 60, ""));
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "grant", "bad_request"), 3);
	assert_int_equal(grant_use(f, &f->root, "hal", NULL),
	    TK_ST_NOT_FOUND);
	an = run(f, tk_handle_grant, &f->admin, grant_rq("hal", 86400, "x"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	tk_msg_free(&an);
	/* a grant does not lift a lockout */
	assert_int_equal(tk_store_begin(f->store), 0);
	assert_int_equal(tk_store_throttle_put(f->store, &(struct tk_throttle){
	    .user = "hal", .failures = 3, .last_failure = T0, .locked = true }),
	    0);
	assert_int_equal(tk_store_commit(f->store), 0);
	assert_int_equal(grant_use(f, &f->root, "hal", NULL), TK_ST_LOCKED);
	/* a broken clock never grants */
	f->clock_broken = true;
	an = NULL;
	rq = rq_new(TK_MSG_GRANT_USE, "hal");
	assert_int_not_equal(tk_handle_grant_use(&f->d, &f->root, rq, &an),
	    0);
	tk_msg_free(&rq);
	assert_null(an);
	f->clock_broken = false;
}

/* --- audit verify, export, backup ------------------------------------- */

static enum tk_status
audit_verify(struct fixture *f, uint64_t *count, uint64_t *bad)
{
	tk_msg_t *an = run(f, tk_handle_audit_verify, &f->admin,
	    rq_new(TK_MSG_AUDIT_VERIFY, NULL));
	enum tk_status st = tk_msg_status(an);

	*count = an_uint(an, TK_KEY_COUNT);
	*bad = 0;
	(void)tk_msg_get_uint(an, TK_KEY_BAD_SEQ, bad);
	tk_msg_free(&an);
	return (st);
}

static void
test_audit_verify_request(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	uint64_t count, bad;

	enroll_active(f, "alice", 0, NULL, &e);	/* 2 rows */
	assert_int_equal(audit_verify(f, &count, &bad), TK_ST_OK);
	assert_int_equal(count, 2);
	assert_int_equal(bad, 0);
	/* the verification is itself a row */
	assert_int_equal(audit_verify(f, &count, &bad), TK_ST_OK);
	assert_int_equal(count, 3);
	assert_int_equal(audit_count(f, "audit_verify", "ok"), 2);
	fx_sql_exec(f, "UPDATE audit SET result = 'ok' WHERE seq = 2");
	/* unchanged value: still intact */
	assert_int_equal(audit_verify(f, &count, &bad), TK_ST_OK);
	assert_int_equal(bad, 0);
	fx_sql_exec(f, "UPDATE audit SET \"user\" = 'mallory' WHERE seq = 2");
	assert_int_equal(audit_verify(f, &count, &bad), TK_ST_OK);
	assert_int_equal(bad, 2);
	assert_int_equal(count, 2);
	assert_int_equal(audit_count(f, "audit_verify", "broken"), 1);
	assert_int_equal(dispatch_as(f, &f->alice,
	    rq_new(TK_MSG_AUDIT_VERIFY, NULL)), TK_ST_DENIED);
}

/* exports everything matching the request's filters; returns the rows */
static size_t
export_all(struct fixture *f, const char *user, uint64_t since,
    uint64_t until, uint64_t *seqs, size_t max)
{
	tk_msg_t *rq, *an;
	const tk_msg_t *rec;
	uint64_t after = 0, seq;
	size_t n = 0, i, got;
	bool more;

	do {
		rq = rq_new(TK_MSG_AUDIT_EXPORT, user);
		assert_int_equal(tk_msg_set_uint(rq, TK_KEY_SEQ, after), 0);
		if (since != 0)
			assert_int_equal(tk_msg_set_uint(rq, TK_KEY_SINCE,
			    since), 0);
		if (until != 0)
			assert_int_equal(tk_msg_set_uint(rq, TK_KEY_UNTIL,
			    until), 0);
		an = run(f, tk_handle_audit_export, &f->admin, rq);
		assert_int_equal(tk_msg_status(an), TK_ST_OK);
		got = tk_msg_count(an, TK_KEY_AUDIT);
		assert_true(got <= TK_AUDIT_PAGE);
		for (i = 0; i < got; i++) {
			rec = tk_msg_record(an, TK_KEY_AUDIT, i);
			seq = an_uint(rec, TK_KEY_SEQ);
			assert_true(seq > after);
			after = seq;
			assert_non_null(tk_msg_get_text(rec, TK_KEY_EVENT));
			if (n < max)
				seqs[n] = seq;
			n++;
		}
		more = false;
		(void)tk_msg_get_bool(an, TK_KEY_MORE, &more);
		assert_true(!more || got == TK_AUDIT_PAGE);
		tk_msg_free(&an);
	} while (more);
	return (n);
}

static void
test_audit_export_request(void **state)
{
	struct fixture *f = *state;
	uint64_t seqs[200], factors, failures;
	tk_msg_t *an;
	const tk_msg_t *rec;
	bool locked;
	size_t i;

	/* 100 rows of user_status (50 alice, 50 bob), 1 s apart */
	for (i = 0; i < 100; i++) {
		user_status(f, i % 2 == 0 ? "alice" : "bob", &factors,
		    &locked, &failures);
		f->now++;
	}
	/* the export's own row, written with its first page, is the last
	 * one its later pages read */
	assert_int_equal(export_all(f, NULL, 0, 0, seqs, 200), 101);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[100], 101);
	assert_int_equal(audit_count(f, "audit_export", "ok"), 1);
	/* within a time window that ends before it: exactly the rows */
	assert_int_equal(export_all(f, NULL, 0, T0 + 100, seqs, 200), 100);
	assert_int_equal(audit_count(f, "audit_export", "ok"), 2);
	/* by user: bob's 50 rows, and this export's own (it names bob) */
	assert_int_equal(export_all(f, "bob", 0, 0, seqs, 200), 51);
	assert_int_equal(seqs[0], 2);
	/* by time: [T0 + 10, T0 + 20) */
	assert_int_equal(export_all(f, NULL, T0 + 10, T0 + 20, seqs, 200), 10);
	assert_int_equal(seqs[0], 11);
	assert_int_equal(seqs[9], 20);
	assert_int_equal(export_all(f, "alice", T0 + 10, T0 + 20, seqs, 200),
	    5);
	/* a row forged with control bytes still comes out, marked */
	fx_sql_exec(f, fx_sql_dialect(f,
	    "UPDATE audit SET reason = 'a' || char(1) || 'b', rhost = 'h' "
	    "WHERE seq = 1",
	    "UPDATE audit SET reason = 'a' || chr(1) || 'b', rhost = 'h' "
	    "WHERE seq = 1"));
	an = run(f, tk_handle_audit_export, &f->admin,
	    rq_new(TK_MSG_AUDIT_EXPORT, NULL));
	rec = tk_msg_record(an, TK_KEY_AUDIT, 0);
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_REASON), "?");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_RHOST), "h");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_USER), "alice");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_EVENT), "user_status");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_RESULT), "ok");
	assert_int_equal(an_uint(rec, TK_KEY_TIME), (uint64_t)T0);
	assert_int_equal(an_uint(rec, TK_KEY_UID), 0);
	assert_int_equal(an_uint(rec, TK_KEY_PID), 4242);
	tk_msg_free(&an);
	assert_int_equal(dispatch_as(f, &f->alice,
	    rq_new(TK_MSG_AUDIT_EXPORT, NULL)), TK_ST_DENIED);
}

static void
test_backup_request(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	tk_msg_t *rq, *an;
	struct stat sb;

	join(path, sizeof(path), f->dir, "backup.db");
	/* root only */
	rq = rq_new(TK_MSG_BACKUP, NULL);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_PATH, path), 0);
	assert_int_equal(dispatch_as(f, &f->admin, rq), TK_ST_DENIED);
	assert_int_equal(lstat(path, &sb), -1);
	rq = rq_new(TK_MSG_BACKUP, NULL);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_PATH, path), 0);
	an = run(f, tk_handle_backup, &f->root, rq);
	if (fx_pg(f)) {
		/* PostgreSQL's own tools back it up: refused, and audited */
		assert_int_equal(tk_msg_status(an), TK_ST_INTERNAL);
		tk_msg_free(&an);
		assert_int_equal(lstat(path, &sb), -1);
		assert_int_equal(audit_count(f, "backup", "internal"), 1);
		rq = rq_new(TK_MSG_BACKUP, NULL);
		assert_int_equal(tk_msg_set_text(rq, TK_KEY_PATH, "backup.db"),
		    0);
		an = run(f, tk_handle_backup, &f->root, rq);
		assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
		tk_msg_free(&an);
		assert_int_equal(audit_count(f, "backup", NULL), 2);
		return;
	}
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_PATH), path);
	tk_msg_free(&an);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(audit_count(f, "backup", "ok"), 1);
	/* never over an existing file; a relative path is refused */
	rq = rq_new(TK_MSG_BACKUP, NULL);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_PATH, path), 0);
	an = run(f, tk_handle_backup, &f->root, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_EXISTS);
	tk_msg_free(&an);
	rq = rq_new(TK_MSG_BACKUP, NULL);
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_PATH, "backup.db"), 0);
	an = run(f, tk_handle_backup, &f->root, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "backup", NULL), 3);
}

/* --- audit prune --------------------------------------------------------- */

/* AUDIT_PRUNE until `until' as admin; *count and *anchor when OK */
static enum tk_status
audit_prune(struct fixture *f, uint64_t until, uint64_t *count,
    uint64_t *anchor)
{
	tk_msg_t *rq = rq_new(TK_MSG_AUDIT_PRUNE, NULL), *an;
	enum tk_status st;

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_UNTIL, until), 0);
	an = run(f, tk_handle_audit_prune, &f->admin, rq);
	st = tk_msg_status(an);
	*count = *anchor = 0;
	if (st == TK_ST_OK) {
		*count = an_uint(an, TK_KEY_COUNT);
		*anchor = an_uint(an, TK_KEY_SEQ);
	} else
		assert_non_null(tk_msg_get_text(an, TK_KEY_REASON));
	tk_msg_free(&an);
	return (st);
}

struct texts3 {
	char	*a, *b, *c;
	size_t	 len;
};

static void
copy3(void *arg, int ncols, const char *const *vals, const int *lens)
{
	struct texts3 *t = arg;

	(void)lens;
	assert_int_equal(ncols, 3);
	assert_true(vals[0] != NULL && vals[1] != NULL && vals[2] != NULL);
	(void)snprintf(t->a, t->len, "%s", vals[0]);
	(void)snprintf(t->b, t->len, "%s", vals[1]);
	(void)snprintf(t->c, t->len, "%s", vals[2]);
}

/* the event, result and reason of the newest audit row */
static void
newest_row(struct fixture *f, char *event, char *result, char *reason,
    size_t len)
{
	struct texts3 t = { event, result, reason, len };

	assert_int_equal(fx_sql_each(f, copy3, &t, "SELECT event, result, "
	    "reason FROM audit ORDER BY seq DESC LIMIT 1", 0), 1);
}

static void
test_audit_prune_request(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char event[TK_REASON_MAX + 1], result[TK_REASON_MAX + 1];
	char reason[TK_REASON_MAX + 1];
	uint64_t count, anchor, rows, bad;

	enroll_active(f, "alice", 0, NULL, &e);	/* rows 1, 2 at T0 */
	f->now = T0 + 86400;
	assert_int_equal(audit_verify(f, &count, &bad), TK_ST_OK); /* 3 */
	/* the rows of T0 go; the anchor is row 2 */
	assert_int_equal(audit_prune(f, (uint64_t)T0 + 3600, &count, &anchor),
	    TK_ST_OK);
	assert_int_equal(count, 2);
	assert_int_equal(anchor, 2);
	/* the newest row records the prune */
	newest_row(f, event, result, reason, sizeof(reason));
	assert_string_equal(event, "audit_prune");
	assert_string_equal(result, "ok");
	assert_string_equal(reason, "removed 2 rows before "
	    "2027-01-15T09:00:10Z, anchor seq 2");
	assert_int_equal(audit_count(f, NULL, NULL), 2);
	/* the kept rows verify, from the anchor */
	assert_int_equal(audit_verify(f, &rows, &bad), TK_ST_OK);
	assert_int_equal(rows, 2);
	assert_int_equal(bad, 0);
	/* nothing older left: 0 removed, the anchor reported, audited */
	assert_int_equal(audit_prune(f, (uint64_t)T0 + 3600, &count, &anchor),
	    TK_ST_OK);
	assert_int_equal(count, 0);
	assert_int_equal(anchor, 2);
	assert_int_equal(audit_count(f, "audit_prune", "ok"), 2);
	/* a day later, everything before now: only the new row is left */
	f->now = T0 + 2 * 86400;
	assert_int_equal(audit_prune(f, (uint64_t)f->now, &count, &anchor),
	    TK_ST_OK);
	assert_int_equal(count, 4);	/* verify, prune, verify, prune */
	assert_int_equal(anchor, 6);
	assert_int_equal(audit_count(f, NULL, NULL), 1);
	assert_int_equal(audit_verify(f, &rows, &bad), TK_ST_OK);
	assert_int_equal(rows, 1);
	assert_int_equal(bad, 0);
}

static void
test_audit_prune_refused(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char event[TK_REASON_MAX + 1], result[TK_REASON_MAX + 1];
	char reason[TK_REASON_MAX + 1];
	uint64_t count, anchor;
	tk_msg_t *rq;

	enroll_active(f, "alice", 0, NULL, &e);	/* rows 1, 2 at T0 */
	f->now = T0 + 86400;
	/* UNTIL 0 or in the future: refused, audited, nothing removed */
	assert_int_equal(audit_prune(f, 0, &count, &anchor),
	    TK_ST_BAD_REQUEST);
	assert_int_equal(audit_prune(f, (uint64_t)f->now + 1, &count,
	    &anchor), TK_ST_BAD_REQUEST);
	assert_int_equal(audit_count(f, "audit_prune", "bad_request"), 2);
	assert_int_equal(audit_count(f, NULL, NULL), 4);
	/* not for a self caller: denied by the role table, and audited */
	rq = rq_new(TK_MSG_AUDIT_PRUNE, NULL);
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_UNTIL,
	    (uint64_t)f->now), 0);
	assert_int_equal(dispatch_as(f, &f->alice, rq), TK_ST_DENIED);
	assert_int_equal(tk_dispatch_lookup(TK_MSG_AUDIT_PRUNE)->role,
	    TK_ROLE_ADMIN);
	newest_row(f, event, result, reason, sizeof(reason));
	assert_string_equal(event, "denied");
	assert_string_equal(reason, "AUDIT_PRUNE");
	assert_int_equal(audit_count(f, NULL, NULL), 5);
	/* a broken chain is not pruned: what it would remove is evidence */
	fx_sql_exec(f, "UPDATE audit SET \"user\" = 'mallory' WHERE seq = 2");
	assert_int_equal(audit_prune(f, (uint64_t)f->now, &count, &anchor),
	    TK_ST_BAD_REQUEST);
	newest_row(f, event, result, reason, sizeof(reason));
	assert_string_equal(event, "audit_prune");
	assert_string_equal(result, "broken");
	assert_string_equal(reason, "nothing removed: chain broken at row 2");
	assert_int_equal(audit_count(f, NULL, NULL), 6);
	/* a broken clock: nothing is decided */
	f->clock_broken = true;
	rq = rq_new(TK_MSG_AUDIT_PRUNE, NULL);
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_UNTIL, 1), 0);
	{
		tk_msg_t *an = NULL;

		assert_int_not_equal(tk_handle_audit_prune(&f->d, &f->admin,
		    rq, &an), 0);
		assert_null(an);
	}
	tk_msg_free(&rq);
	f->clock_broken = false;
}

static void
test_granted_only_from_grant_use(void **state)
{
	struct fixture *f = *state;
	size_t t;

	(void)state;
	(void)f;
	/* TK_ST_GRANTED is in GRANT_USE's answer schema only by design:
	 * every other handler answers OK or a refusal (checked by the
	 * handlers' own cases); here: the status decodes, and its name */
	assert_string_equal(tk_status_name(TK_ST_GRANTED), "granted");
	for (t = 1; t < TK_MSG_TYPE_END; t++)
		assert_non_null(tk_dispatch_lookup((uint32_t)t));
	assert_int_equal(tk_dispatch_lookup(TK_MSG_BACKUP)->role,
	    TK_ROLE_ROOT);
	assert_int_equal(tk_dispatch_lookup(TK_MSG_GRANT_USE)->role,
	    TK_ROLE_SELF);
	assert_int_equal(tk_dispatch_lookup(TK_MSG_GRANT)->role,
	    TK_ROLE_ADMIN);
	assert_int_equal(tk_dispatch_lookup(TK_MSG_AUDIT_EXPORT)->role,
	    TK_ROLE_ADMIN);
	assert_int_equal(tk_dispatch_lookup(TK_MSG_RECOVERY_ISSUE)->role,
	    TK_ROLE_ADMIN);
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recovery_shape),
		T(test_recovery_hash_keyed_and_bound),
		T(test_recovery_issue_and_use),
		T(test_recovery_reissue_voids),
		T(test_recovery_throttled_and_locked),
		T(test_grant_use_and_expiry),
		T(test_grant_sweep_and_revoke),
		T(test_grant_limits),
		T(test_audit_verify_request),
		T(test_audit_export_request),
		T(test_backup_request),
		T(test_granted_only_from_grant_use),
		T(test_audit_prune_request),
		T(test_audit_prune_refused),
	};
#undef T

	return (cmocka_run_group_tests_name("emergency", tests, NULL, NULL));
}
