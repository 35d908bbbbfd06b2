/*
 * test_handlers.c -- the request handlers, called directly (and through
 * tk_dispatch() for refusals) with a real SQLite store in a private
 * directory, a real master key and an injected clock.  Codes are
 * computed independently with liboath from the secret in the otpauth
 * URI, as an authenticator app would.
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

#include "audit.h"
#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "err.h"
#include "fixture.h"
#include "handlers.h"
#include "msg.h"
#include "seal.h"
#include "store.h"



/* --- cases ------------------------------------------------------------ */

static void
test_enroll_confirm_verify_ok(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX], bad[CODE_MAX];
	uint64_t factors, failures;
	bool locked;
	tk_msg_t *an;

	enroll(f, "alice", 0, NULL, &e);
	assert_int_equal(e.secret_len, 20);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, 0);		/* pending is no factor */
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_NOT_ENROLLED);

	wrong_code(&e, f->now, bad);
	assert_int_equal(confirm(f, "alice", e.id, bad), TK_ST_WRONG);
	assert_int_equal(confirm(f, "alice", e.id, code), TK_ST_OK);
	assert_int_equal(confirm(f, "alice", e.id, code), TK_ST_EXISTS);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, TK_FACTOR_TOTP);
	assert_false(locked);

	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	an = verify_as(f, &f->root, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_CRED), e.id);
	tk_msg_free(&an);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(failures, 0);

	/* the caller's own user, as a screen locker would */
	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	an = verify_as(f, &f->alice, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	tk_msg_free(&an);
}

static void
test_same_code_again_is_replay(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];
	uint64_t failures;

	enroll_active(f, "alice", 0, NULL, &e);
	/* the confirming code itself cannot log in */
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, &failures), TK_ST_REPLAY);
	assert_int_equal(failures, 1);

	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	f->now += 1;
	assert_int_equal(verify(f, "alice", code, &failures), TK_ST_REPLAY);
	assert_int_equal(failures, 1);
	/* still a replay later, while the step is inside the window */
	f->now += PERIOD;
	assert_int_equal(verify(f, "alice", code, &failures), TK_ST_REPLAY);
	assert_int_equal(failures, 2);
}

static void
test_older_step_after_newer_is_replay(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char newer[CODE_MAX], older[CODE_MAX];

	enroll_active(f, "alice", 0, NULL, &e);
	f->now += 3 * PERIOD;
	code_at(&e, step_of(f->now) + 1, newer);
	code_at(&e, step_of(f->now), older);
	assert_int_equal(verify(f, "alice", newer, NULL), TK_ST_OK);
	assert_int_equal(verify(f, "alice", older, NULL), TK_ST_REPLAY);
}

static void
test_clock_behind_last_step_is_replay(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];

	enroll_active(f, "alice", 0, NULL, &e);
	f->now += 3 * PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	/* the clock goes back two minutes: valid codes, all used up */
	f->now -= 4 * PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_REPLAY);
}

static void
test_wrong_code_counts_and_throttles(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX], bad[CODE_MAX];
	uint64_t failures, factors;
	bool locked;
	tk_msg_t *an;

	f->conf.max_failures = 10;
	enroll_active(f, "alice", 0, NULL, &e);
	f->now += PERIOD;
	wrong_code(&e, f->now, bad);
	assert_int_equal(verify(f, "alice", bad, &failures), TK_ST_WRONG);
	assert_int_equal(failures, 1);

	/* too soon: refused even with the right code, and not counted */
	code_at(&e, step_of(f->now), code);
	an = verify_as(f, &f->root, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_THROTTLED);
	assert_int_equal(an_uint(an, TK_KEY_RETRY_AFTER), 1);
	tk_msg_free(&an);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(failures, 1);

	/* malformed codes are wrong codes */
	f->now += 1;
	assert_int_equal(verify(f, "alice", "12345", &failures), TK_ST_WRONG);
	assert_int_equal(failures, 2);
	f->now += 2;
	assert_int_equal(verify(f, "alice", "abcdef", &failures),
	    TK_ST_WRONG);
	assert_int_equal(failures, 3);
	an = verify_as(f, &f->root, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_THROTTLED);
	assert_int_equal(an_uint(an, TK_KEY_RETRY_AFTER), 4);
	tk_msg_free(&an);

	/* after the delay the right code passes and resets the count */
	f->now += 4;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(failures, 0);
	assert_false(locked);
}

static void
test_lockout_until_unlock(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX], bad[CODE_MAX];
	uint64_t failures, factors;
	const tk_msg_t *rec;
	bool locked, b;
	tk_msg_t *an;

	enroll_active(f, "alice", 0, NULL, &e);
	f->now += PERIOD;
	wrong_code(&e, f->now, bad);
	assert_int_equal(verify(f, "alice", bad, &failures), TK_ST_WRONG);
	f->now += 1;
	assert_int_equal(verify(f, "alice", bad, &failures), TK_ST_WRONG);
	assert_int_equal(failures, 2);
	f->now += 2;
	/* the failure that reaches max_failures answers "locked" */
	assert_int_equal(verify(f, "alice", bad, &failures), TK_ST_LOCKED);
	assert_int_equal(failures, 3);

	/* the right code is refused, however long one waits */
	f->now += 3600;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_LOCKED);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_true(locked);
	assert_int_equal(failures, 3);

	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, "alice"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 1);
	assert_non_null(rec = tk_msg_record(an, TK_KEY_CREDS, 0));
	assert_int_equal(tk_msg_get_bool(rec, TK_KEY_LOCKED, &b), 0);
	assert_true(b);
	assert_int_equal(an_uint(rec, TK_KEY_FAILURES), 3);
	tk_msg_free(&an);

	an = run(f, tk_handle_user_unlock, &f->admin,
	    rq_new(TK_MSG_USER_UNLOCK, "alice"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_FAILURES), 3);
	tk_msg_free(&an);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_false(locked);
	assert_int_equal(failures, 0);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	assert_int_equal(audit_count(f, "unlock", "ok"), 1);
}

static void
test_revoked_is_not_enrolled(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];
	uint64_t factors, failures;
	bool locked;
	tk_msg_t *rq, *an;

	enroll_active(f, "alice", 0, NULL, &e);
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, e.id), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_CREDS_COUNT), 1);
	tk_msg_free(&an);

	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_NOT_ENROLLED);
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(factors, 0);

	/* again: nothing left to revoke */
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, e.id), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_bool(rq, TK_KEY_ALL, true), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
	/* someone else's credential id is not found either */
	rq = rq_new(TK_MSG_CRED_REVOKE, "bob");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, e.id), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_FOUND);
	tk_msg_free(&an);
}

static void
test_revoke_needs_one_of_cred_or_all(void **state)
{
	struct fixture *f = *state;
	struct enrolled e, e2;
	tk_msg_t *rq, *an;

	enroll_active(f, "alice", 0, NULL, &e);
	enroll_active(f, "alice", 8, "sha256", &e2);

	an = run(f, tk_handle_cred_revoke, &f->admin,
	    rq_new(TK_MSG_CRED_REVOKE, "alice"));
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_CRED, e.id), 0);
	assert_int_equal(tk_msg_set_bool(rq, TK_KEY_ALL, true), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_bool(rq, TK_KEY_ALL, false), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);

	rq = rq_new(TK_MSG_CRED_REVOKE, "alice");
	assert_int_equal(tk_msg_set_bool(rq, TK_KEY_ALL, true), 0);
	an = run(f, tk_handle_cred_revoke, &f->admin, rq);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_CREDS_COUNT), 2);
	tk_msg_free(&an);
}

static void
test_self_for_other_user_denied(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];
	tk_msg_t *rq, *an = NULL;
	bool close = false;

	enroll_active(f, "bob", 0, NULL, &e);
	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);

	rq = rq_new(TK_MSG_TOTP_VERIFY, "bob");
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_CODE, code), 0);
	assert_int_equal(tk_dispatch(&f->d, &f->alice, rq, &an, &close), 0);
	assert_int_equal(tk_msg_status(an), TK_ST_DENIED);
	assert_true(close);
	assert_int_equal(f->d.counters.denied, 1);
	tk_msg_free(&an);
	tk_msg_free(&rq);
	assert_int_equal(audit_count(f, "denied", "denied"), 1);
	/* the refused code was not used: bob can still log in with it */
	assert_int_equal(verify(f, "bob", code, NULL), TK_ST_OK);

	/* enrolment is for administrators */
	rq = rq_new(TK_MSG_TOTP_ENROLL_BEGIN, "alice");
	assert_int_equal(tk_dispatch(&f->d, &f->alice, rq, &an, &close), 0);
	assert_int_equal(tk_msg_status(an), TK_ST_DENIED);
	tk_msg_free(&an);
	tk_msg_free(&rq);
	assert_int_equal(f->d.counters.denied, 2);
	assert_int_equal(audit_count(f, "denied", NULL), 2);

	/* its own user passes the table */
	rq = rq_new(TK_MSG_TOTP_VERIFY, "alice");
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_CODE, "123456"), 0);
	assert_int_equal(tk_dispatch(&f->d, &f->alice, rq, &an, &close), 0);
	assert_int_equal(tk_msg_status(an), TK_ST_NOT_ENROLLED);
	assert_false(close);
	tk_msg_free(&an);
	tk_msg_free(&rq);
}

static void
test_expired_pending(void **state)
{
	struct fixture *f = *state;
	struct enrolled e, keep;
	char code[CODE_MAX];
	uint64_t n = 0;

	enroll(f, "alice", 0, NULL, &e);
	f->now += f->conf.totp_pending_ttl - 100;
	enroll(f, "dave", 0, NULL, &keep);
	f->now += 101;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(confirm(f, "alice", e.id, code), TK_ST_EXPIRED);
	assert_int_equal(audit_count(f, "enroll_confirm", "expired"), 1);

	f->now += 1;
	assert_int_equal(tk_handle_expire_pending(&f->d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(audit_count(f, "enroll_expire", "ok"), 1);
	assert_int_equal(confirm(f, "alice", e.id, code), TK_ST_NOT_FOUND);
	/* the younger one is still there and can be confirmed */
	code_at(&keep, step_of(f->now), code);
	assert_int_equal(confirm(f, "dave", keep.id, code), TK_ST_OK);
	assert_int_equal(tk_handle_expire_pending(&f->d, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_audit_rows_without_code(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX], bad[CODE_MAX];
	uint64_t count = 0, bad_seq = 0;

	enroll_active(f, "alice", 8, "sha512", &e);
	assert_int_equal(e.secret_len, 64);
	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	f->now += PERIOD;
	wrong_code(&e, f->now, bad);
	assert_int_equal(verify(f, "alice", bad, NULL), TK_ST_WRONG);

	assert_int_equal(audit_count(f, "enroll_begin", "ok"), 1);
	assert_int_equal(audit_count(f, "enroll_confirm", "ok"), 1);
	assert_int_equal(audit_count(f, "totp_verify", "ok"), 1);
	assert_int_equal(audit_count(f, "totp_verify", "wrong"), 1);
	assert_int_equal(audit_containing(f, "host.example"), 2);
	assert_int_equal(audit_containing(f, "login"), 2);
	/* neither codes, nor the secret, nor the URI */
	assert_int_equal(audit_containing(f, code), 0);
	assert_int_equal(audit_containing(f, bad), 0);
	assert_int_equal(audit_containing(f, e.b32), 0);
	assert_int_equal(audit_containing(f, "otpauth"), 0);
	assert_int_equal(tk_store_audit_verify(f->store, &count, &bad_seq),
	    0);
	assert_int_equal(count, audit_count(f, NULL, NULL));
}

static void
test_clock_failures_fail_closed(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];
	int64_t rows;
	uint64_t factors, failures;
	bool locked, close;
	tk_msg_t *rq, *an = NULL;

	enroll_active(f, "alice", 0, NULL, &e);
	rows = audit_count(f, NULL, NULL);

	/* a clock before 2020 (with codes valid for it) */
	f->now = 1500000000;
	code_at(&e, step_of(f->now), code);
	rq = rq_new(TK_MSG_TOTP_VERIFY, "alice");
	assert_int_equal(tk_msg_set_text(rq, TK_KEY_CODE, code), 0);
	assert_true(tk_handle_totp_verify(&f->d, &f->root, rq, &an) != 0);
	assert_null(an);
	assert_int_equal(tk_dispatch(&f->d, &f->root, rq, &an, &close), 0);
	assert_int_equal(tk_msg_status(an), TK_ST_INTERNAL);
	tk_msg_free(&an);

	/* no clock at all */
	f->now = T0 + PERIOD;
	f->clock_broken = true;
	assert_int_equal(tk_dispatch(&f->d, &f->root, rq, &an, &close), 0);
	assert_int_equal(tk_msg_status(an), TK_ST_INTERNAL);
	tk_msg_free(&an);
	tk_msg_free(&rq);
	assert_int_equal(audit_count(f, NULL, NULL), rows);

	/* nothing was counted against the user */
	f->clock_broken = false;
	user_status(f, "alice", &factors, &locked, &failures);
	assert_int_equal(failures, 0);
}

static void
test_enroll_arguments(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	char code[CODE_MAX];
	tk_msg_t *an;

	an = enroll_begin(f, "alice", 7, NULL);
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	an = enroll_begin(f, "alice", 0, "md5");
	assert_int_equal(tk_msg_status(an), TK_ST_BAD_REQUEST);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "enroll_begin", "bad_request"), 2);

	enroll(f, "alice", 8, "sha256", &e);
	assert_int_equal(e.secret_len, 32);
	assert_int_equal(strlen(e.b32), 52);	/* unpadded */
	code_at(&e, step_of(f->now), code);
	assert_int_equal(strlen(code), 8);
	assert_int_equal(confirm(f, "alice", e.id, code), TK_ST_OK);
	f->now += PERIOD;
	code_at(&e, step_of(f->now), code);
	assert_int_equal(verify(f, "alice", code, NULL), TK_ST_OK);
	/* confirming an unknown or foreign credential */
	assert_int_equal(confirm(f, "bob", e.id, code), TK_ST_NOT_FOUND);
	assert_int_equal(confirm(f, "alice", e.id + 100, code),
	    TK_ST_NOT_FOUND);
}

static void
test_two_credentials(void **state)
{
	struct fixture *f = *state;
	struct enrolled a, b;
	char code[CODE_MAX];
	tk_msg_t *an;

	enroll_active(f, "alice", 0, NULL, &a);
	enroll_active(f, "alice", 0, "sha512", &b);
	f->now += PERIOD;
	code_at(&b, step_of(f->now), code);
	an = verify_as(f, &f->root, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_CRED), b.id);
	tk_msg_free(&an);
	code_at(&a, step_of(f->now), code);
	an = verify_as(f, &f->root, "alice", code);
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(an_uint(an, TK_KEY_CRED), a.id);
	tk_msg_free(&an);
}

static void
test_status_and_list(void **state)
{
	struct fixture *f = *state;
	struct enrolled e;
	const tk_msg_t *rec;
	tk_msg_t *an;
	bool b;

	f->now += 100;
	an = run(f, tk_handle_status, &f->alice, rq_new(TK_MSG_STATUS, NULL));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_DAEMON_VERSION),
	    PACKAGE_VERSION);
	assert_string_equal(tk_msg_get_text(an, TK_KEY_STORE_KIND),
	    fx_pg(f) ? "postgresql" : "sqlite");
	assert_int_equal(an_uint(an, TK_KEY_UPTIME), 100);
	assert_int_equal(an_uint(an, TK_KEY_USERS), 0);
	assert_int_equal(tk_msg_get_bool(an, TK_KEY_STORE_OK, &b), 0);
	assert_true(b);
	tk_msg_free(&an);

	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, NULL));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 0);
	assert_false(tk_msg_has(an, TK_KEY_MORE));
	tk_msg_free(&an);

	enroll_active(f, "alice", 8, "sha256", &e);
	an = run(f, tk_handle_status, &f->root, rq_new(TK_MSG_STATUS, NULL));
	assert_int_equal(an_uint(an, TK_KEY_USERS), 1);
	assert_int_equal(an_uint(an, TK_KEY_CREDS_COUNT), 1);
	assert_int_equal(an_uint(an, TK_KEY_LOCKED_USERS), 0);
	tk_msg_free(&an);

	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, NULL));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 1);
	rec = tk_msg_record(an, TK_KEY_CREDS, 0);
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_USER), "alice");
	assert_int_equal(an_uint(rec, TK_KEY_CRED), e.id);
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_KIND), "totp");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_STATE), "active");
	assert_string_equal(tk_msg_get_text(rec, TK_KEY_ALGORITHM), "sha256");
	assert_int_equal(an_uint(rec, TK_KEY_DIGITS), 8);
	assert_int_equal(an_uint(rec, TK_KEY_PERIOD), PERIOD);
	assert_int_equal(an_uint(rec, TK_KEY_CREATED), (uint64_t)f->now);
	assert_int_equal(an_uint(rec, TK_KEY_FAILURES), 0);
	tk_msg_free(&an);

	an = run(f, tk_handle_cred_list, &f->admin,
	    rq_new(TK_MSG_CRED_LIST, "nobody-here"));
	assert_int_equal(tk_msg_status(an), TK_ST_OK);
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 0);
	tk_msg_free(&an);
	assert_int_equal(audit_count(f, "status", "ok"), 2);
	assert_int_equal(audit_count(f, "cred_list", NULL), 3);
}

/* Lists one page from `offset'; returns the answer. */
static tk_msg_t *
list_page(struct fixture *f, uint64_t offset)
{
	tk_msg_t *rq = rq_new(TK_MSG_CRED_LIST, NULL);

	assert_int_equal(tk_msg_set_uint(rq, TK_KEY_OFFSET, offset), 0);
	return (run(f, tk_handle_cred_list, &f->admin, rq));
}

static void
test_list_pages(void **state)
{
	struct fixture *f = *state;
	const size_t total = 2 * TK_LIST_PAGE + 7;
	char user[32];
	uint64_t offset = 0, seen = 0, last_id = 0, id;
	tk_msg_t *an;
	size_t i, got;
	bool more;

	for (i = 0; i < total; i++) {
		snprintf(user, sizeof(user), "user%04zu", i);
		tk_msg_free(&(tk_msg_t *){ enroll_begin(f, user, 0, NULL) });
	}
	do {
		an = list_page(f, offset);
		assert_int_equal(tk_msg_status(an), TK_ST_OK);
		got = tk_msg_count(an, TK_KEY_CREDS);
		assert_true(got <= TK_LIST_PAGE);
		more = false;
		(void)tk_msg_get_bool(an, TK_KEY_MORE, &more);
		/* every page but the last is full and says so */
		assert_true(more == (offset + got < total));
		for (i = 0; i < got; i++) {
			id = an_uint(tk_msg_record(an, TK_KEY_CREDS, i),
			    TK_KEY_CRED);
			assert_true(id > last_id);	/* users enrolled in order */
			last_id = id;
		}
		seen += got;
		offset += got;
		tk_msg_free(&an);
	} while (more);
	assert_int_equal(seen, total);

	/* past the end: an empty page, no "more" */
	an = list_page(f, total + 50);
	assert_int_equal(tk_msg_count(an, TK_KEY_CREDS), 0);
	assert_false(tk_msg_has(an, TK_KEY_MORE));
	tk_msg_free(&an);
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_enroll_confirm_verify_ok),
		T(test_same_code_again_is_replay),
		T(test_older_step_after_newer_is_replay),
		T(test_clock_behind_last_step_is_replay),
		T(test_wrong_code_counts_and_throttles),
		T(test_lockout_until_unlock),
		T(test_revoked_is_not_enrolled),
		T(test_revoke_needs_one_of_cred_or_all),
		T(test_self_for_other_user_denied),
		T(test_expired_pending),
		T(test_audit_rows_without_code),
		T(test_clock_failures_fail_closed),
		T(test_enroll_arguments),
		T(test_two_credentials),
		T(test_status_and_list),
		T(test_list_pages),
	};
#undef T

	return (cmocka_run_group_tests_name("handlers", tests, NULL, NULL));
}
