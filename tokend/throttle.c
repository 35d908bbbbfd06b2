/*
 * throttle.c -- the throttling schedule.
 *
 * Invariants this file MUST keep (h_totp.c relies on them):
 *  1. A locked user stays locked whatever the clock says; only
 *     tk_throttle_unlock() clears the lock.
 *  2. A failure is counted only by tk_throttle_fail(); a refused attempt
 *     (WAIT or LOCKED) does not count, so waiting clients cannot lock a
 *     user faster than the schedule allows.
 *  3. The delay never overflows and never exceeds delay_max; it grows
 *     monotonically with the failure count.
 *  4. A clock earlier than the last failure never shortens the wait: the
 *     attempt waits until last_failure + delay.
 *  5. Reaching max_failures locks at once; the failure count saturates
 *     instead of wrapping.
 */
#include "config.h"

#include "throttle.h"

void
tk_throttle_policy_from_conf(const struct tk_conf *c,
    struct tk_throttle_policy *p)
{
	p->max_failures = c->max_failures;
	p->delay_base = c->delay_base;
	p->delay_max = c->delay_max;
}

uint64_t
tk_throttle_delay(const struct tk_throttle_policy *p, uint32_t failures)
{
	uint64_t d;
	uint32_t i;

	if (failures == 0 || p->delay_base == 0)
		return (0);
	d = p->delay_base;
	/* double until the cap: delay_max < 2^32, so d < 2^33 */
	for (i = 1; i < failures && d < p->delay_max; i++)
		d *= 2;
	return (d < p->delay_max ? d : p->delay_max);
}

enum tk_throttle_verdict
tk_throttle_check(const struct tk_throttle_policy *p,
    const struct tk_throttle *t, int64_t now, uint64_t *retry_after)
{
	uint64_t delay;
	int64_t until;

	*retry_after = 0;
	if (t->locked)
		return (TK_THROTTLE_LOCKED);
	if (t->failures == 0)
		return (TK_THROTTLE_PASS);
	delay = tk_throttle_delay(p, t->failures);
	/* delay <= delay_max (an unsigned): no overflow past INT64_MAX/2 */
	if (t->last_failure > INT64_MAX - (int64_t)delay)
		until = INT64_MAX;
	else
		until = t->last_failure + (int64_t)delay;
	if (now >= until)
		return (TK_THROTTLE_PASS);
	*retry_after = (uint64_t)(until - now);
	return (TK_THROTTLE_WAIT);
}

bool
tk_throttle_fail(const struct tk_throttle_policy *p, struct tk_throttle *t,
    int64_t now)
{
	bool was_locked = t->locked;

	if (t->failures < UINT32_MAX)
		t->failures++;
	t->last_failure = now;
	if (t->failures >= p->max_failures)
		t->locked = true;
	return (t->locked && !was_locked);
}

bool
tk_throttle_succeed(struct tk_throttle *t)
{
	bool changed = t->failures != 0 || t->last_failure != 0;

	t->failures = 0;
	t->last_failure = 0;
	return (changed);
}

uint32_t
tk_throttle_unlock(struct tk_throttle *t)
{
	uint32_t n = t->failures;

	t->failures = 0;
	t->last_failure = 0;
	t->locked = false;
	return (n);
}
