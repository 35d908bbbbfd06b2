/*
 * throttle.h -- per-user throttling of second-factor attempts (RFC 4226
 * section 7.3, NIST SP 800-63B section 5.2.2): consecutive failures
 * delay the next attempt exponentially and, at max_failures, lock the
 * factor until an administrator unlocks it.  Pure functions over a
 * struct tk_throttle read from and written back to the store by the
 * caller inside one transaction.
 */
#ifndef TK_THROTTLE_H
#define TK_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

struct tk_throttle_policy {
	unsigned	 max_failures;	/* lock at this many failures */
	unsigned	 delay_base;	/* s after the first failure */
	unsigned	 delay_max;	/* s, cap of the doubling delay */
};

enum tk_throttle_verdict {
	TK_THROTTLE_PASS = 0,	/* the attempt may be checked */
	TK_THROTTLE_WAIT = 1,	/* too soon after the last failure */
	TK_THROTTLE_LOCKED = 2	/* locked until tokenadm unlock */
};

/* Copies the [throttle] values of a configuration. */
void tk_throttle_policy_from_conf(const struct tk_conf *,
    struct tk_throttle_policy *);
/*
 * Seconds an attempt must wait after the last of `failures' consecutive
 * failures: 0 for none, else min(delay_max, delay_base * 2^(failures-1))
 * without overflow.
 */
uint64_t tk_throttle_delay(const struct tk_throttle_policy *,
    uint32_t failures);
/*
 * Decides whether an attempt at `now' may go ahead.  For
 * TK_THROTTLE_WAIT *retry_after is the number of seconds left (at least
 * 1); otherwise 0.  A verdict other than PASS is not a failure.
 */
enum tk_throttle_verdict tk_throttle_check(const struct tk_throttle_policy *,
    const struct tk_throttle *, int64_t now, uint64_t *retry_after);
/*
 * Records one failure at `now'.  Returns true when this failure locked
 * the user (it reached max_failures), false otherwise.
 */
bool tk_throttle_fail(const struct tk_throttle_policy *,
    struct tk_throttle *, int64_t now);
/*
 * Records a success: failures and last failure cleared.  Returns true
 * when something changed (the caller then writes it back).
 */
bool tk_throttle_succeed(struct tk_throttle *);
/* Clears failures and the lock; returns the failure count cleared. */
uint32_t tk_throttle_unlock(struct tk_throttle *);

#endif /* TK_THROTTLE_H */
