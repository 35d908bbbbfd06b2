/*
 * outcome.h -- what one authentication attempt ended with, in the
 * vocabulary of common/ (TK_ERR_*, TK_ST_*) plus the few outcomes only
 * the module itself can produce.  pam_tokend.c turns an outcome into a
 * PAM code in exactly one function, tk_pam_code().
 */
#ifndef TK_PAM_OUTCOME_H
#define TK_PAM_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

/*
 * Module-local failures, negative and below every TK_ERR_* so the two
 * ranges never meet.
 */
#define TK_PAM_ERR_CONV		(-100)	/* conversation failed, cancelled */
#define TK_PAM_ERR_INPUT	(-101)	/* code empty, too long, not digits */
#define TK_PAM_ERR_USER		(-102)	/* no user name, or a bad one */
#define TK_PAM_ERR_NOKEY	(-103)	/* no security key within fido2_wait */
#define TK_PAM_ERR_KEY		(-104)	/* the security key failed or refused:
					   wrong or blocked PIN, no touch,
					   removed, not registered, no UV */

struct tk_pam_outcome {
	int		 err;		/* 0, a TK_ERR_* or TK_PAM_ERR_* */
	enum tk_status	 status;	/* tokend's verdict, if err == 0 */
	uint64_t	 retry_after;	/* s to wait, for TK_ST_THROTTLED */
	int64_t		 recovery_left;	/* a recovery code passed: codes
					   left; -1 otherwise */
	uint64_t	 grant_until;	/* passed on an emergency grant:
					   its end (UNIX time); 0 otherwise */
	uint64_t	 factor;	/* TK_FACTOR_* whose verification gave
					   the status (the words the person
					   is shown); 0 for none */
};

/*
 * The state every attempt starts from: no error yet, but a status that
 * maps to a failure, so a path that forgets to set the outcome fails.
 */
#define TK_PAM_OUTCOME_INIT	{ 0, TK_ST_INTERNAL, 0, -1, 0, 0 }

/*
 * Returns the PAM code for an outcome.  Only err == 0 with TK_ST_OK
 * gives PAM_SUCCESS, and only err == 0 with TK_ST_NOT_ENROLLED and
 * nullok gives PAM_IGNORE; every other input is a failure code.
 */
int tk_pam_code(const struct tk_pam_outcome *, bool nullok);

#endif /* TK_PAM_OUTCOME_H */
