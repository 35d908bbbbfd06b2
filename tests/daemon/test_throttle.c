/*
 * test_throttle.c -- throttle.c: the delay schedule, the lock at
 * max_failures, reset on success, unlock, and the clock going back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "throttle.h"

static const struct tk_throttle_policy policy = {
	.max_failures = 5, .delay_base = 1, .delay_max = 30
};

static void
test_delay_schedule(void **state)
{
	struct tk_throttle_policy p = policy;

	(void)state;
	assert_int_equal(tk_throttle_delay(&p, 0), 0);
	assert_int_equal(tk_throttle_delay(&p, 1), 1);
	assert_int_equal(tk_throttle_delay(&p, 2), 2);
	assert_int_equal(tk_throttle_delay(&p, 3), 4);
	assert_int_equal(tk_throttle_delay(&p, 4), 8);
	assert_int_equal(tk_throttle_delay(&p, 5), 16);
	assert_int_equal(tk_throttle_delay(&p, 6), 30);	/* 32, capped */
	assert_int_equal(tk_throttle_delay(&p, 100), 30);
	assert_int_equal(tk_throttle_delay(&p, UINT32_MAX), 30);
	p.delay_base = 0;
	assert_int_equal(tk_throttle_delay(&p, 7), 0);
	p.delay_base = 3600;
	p.delay_max = 86400;
	assert_int_equal(tk_throttle_delay(&p, 3), 14400);
	assert_int_equal(tk_throttle_delay(&p, UINT32_MAX), 86400);
}

static void
test_wait_after_failure(void **state)
{
	struct tk_throttle t;
	uint64_t retry;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(tk_throttle_check(&policy, &t, 1000, &retry),
	    TK_THROTTLE_PASS);
	assert_int_equal(retry, 0);

	t.failures = 3;		/* delay 4 s */
	t.last_failure = 1000;
	assert_int_equal(tk_throttle_check(&policy, &t, 1000, &retry),
	    TK_THROTTLE_WAIT);
	assert_int_equal(retry, 4);
	assert_int_equal(tk_throttle_check(&policy, &t, 1003, &retry),
	    TK_THROTTLE_WAIT);
	assert_int_equal(retry, 1);
	assert_int_equal(tk_throttle_check(&policy, &t, 1004, &retry),
	    TK_THROTTLE_PASS);
	assert_int_equal(retry, 0);
	/* a waiting check is not a failure */
	assert_int_equal(t.failures, 3);
}

static void
test_clock_back_does_not_shorten(void **state)
{
	struct tk_throttle t;
	uint64_t retry;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.failures = 1;
	t.last_failure = 1000;
	assert_int_equal(tk_throttle_check(&policy, &t, 900, &retry),
	    TK_THROTTLE_WAIT);
	assert_int_equal(retry, 101);
	t.last_failure = INT64_MAX;	/* no overflow */
	assert_int_equal(tk_throttle_check(&policy, &t, 0, &retry),
	    TK_THROTTLE_WAIT);
}

static void
test_lock_at_max_failures(void **state)
{
	struct tk_throttle t;
	uint64_t retry;
	unsigned i;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (i = 1; i < policy.max_failures; i++) {
		assert_false(tk_throttle_fail(&policy, &t, 1000 + i));
		assert_int_equal(t.failures, i);
		assert_int_equal(t.last_failure, 1000 + i);
		assert_false(t.locked);
	}
	/* the failure that reaches the limit locks, and says so once */
	assert_true(tk_throttle_fail(&policy, &t, 2000));
	assert_true(t.locked);
	assert_false(tk_throttle_fail(&policy, &t, 2001));
	assert_true(t.locked);
	/* locked whatever the clock says */
	assert_int_equal(tk_throttle_check(&policy, &t, INT64_MAX, &retry),
	    TK_THROTTLE_LOCKED);
	/* a success does not unlock */
	(void)tk_throttle_succeed(&t);
	assert_int_equal(tk_throttle_check(&policy, &t, 5000, &retry),
	    TK_THROTTLE_LOCKED);
}

static void
test_success_resets(void **state)
{
	struct tk_throttle t;
	uint64_t retry;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_false(tk_throttle_succeed(&t));	/* nothing to write */
	(void)tk_throttle_fail(&policy, &t, 1000);
	(void)tk_throttle_fail(&policy, &t, 1010);
	assert_true(tk_throttle_succeed(&t));
	assert_int_equal(t.failures, 0);
	assert_int_equal(t.last_failure, 0);
	assert_int_equal(tk_throttle_check(&policy, &t, 1010, &retry),
	    TK_THROTTLE_PASS);
}

static void
test_unlock(void **state)
{
	struct tk_throttle t;
	uint64_t retry;
	unsigned i;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (i = 0; i < policy.max_failures; i++)
		(void)tk_throttle_fail(&policy, &t, 1000);
	assert_true(t.locked);
	assert_int_equal(tk_throttle_unlock(&t), policy.max_failures);
	assert_false(t.locked);
	assert_int_equal(t.failures, 0);
	assert_int_equal(tk_throttle_check(&policy, &t, 1000, &retry),
	    TK_THROTTLE_PASS);
	assert_int_equal(tk_throttle_unlock(&t), 0);
}

static void
test_failures_saturate(void **state)
{
	struct tk_throttle t;
	struct tk_throttle_policy p = policy;

	(void)state;
	memset(&t, 0, sizeof(t));
	p.max_failures = 100;
	t.failures = UINT32_MAX;
	(void)tk_throttle_fail(&p, &t, 1);
	assert_int_equal(t.failures, UINT32_MAX);
	assert_true(t.locked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_schedule),
		cmocka_unit_test(test_wait_after_failure),
		cmocka_unit_test(test_clock_back_does_not_shorten),
		cmocka_unit_test(test_lock_at_max_failures),
		cmocka_unit_test(test_success_resets),
		cmocka_unit_test(test_unlock),
		cmocka_unit_test(test_failures_saturate),
	};

	return (cmocka_run_group_tests_name("throttle", tests, NULL, NULL));
}
