/*
 * rel_pamdriver.c -- the PAM driver of tests/pam, built again here so
 * that the reliability tests do not depend on another directory's
 * check programs, with one change: every handle gets a fail-delay
 * function that does not sleep, so that stacks with pam_faillock (which
 * asks libpam for a delay after a failure) run at full speed.
 */
#include "config.h"

#include <stdint.h>

#include <security/pam_appl.h>

static int rel_pam_start(const char *, const char *,
    const struct pam_conv *, pam_handle_t **);

#define pam_start rel_pam_start
#include "../pam/pamdriver.c"
#undef pam_start

static void
rel_no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static int
rel_pam_start(const char *service, const char *user,
    const struct pam_conv *conv, pam_handle_t **h)
{
	int r;

	r = pam_start(service, user, conv, h);
#ifdef PAM_FAIL_DELAY
	if (r == PAM_SUCCESS)
		(void)pam_set_item(*h, PAM_FAIL_DELAY,
		    (const void *)(uintptr_t)rel_no_delay);
#endif
	return (r);
}
