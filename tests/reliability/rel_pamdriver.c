/*
 * rel_pamdriver.c -- the PAM driver of tests/pam, built again here so
 * that the reliability tests do not depend on another directory's
 * check programs, with one change: every handle gets a fail-delay
 * function that does not sleep, so that stacks with pam_faillock (which
 * asks libpam for a delay after a failure) run at full speed.  With
 * REL_FD_REPORT set it prints "fds: before=N after=M" on stderr at exit:
 * the descriptors open before the first pam_start and after the end.
 * With REL_CONFDIR set it reads the service from that directory through
 * pam_start_confdir() (Linux-PAM 1.4), without pam_wrapper: the
 * sanitizer build needs that, because AddressSanitizer refuses the
 * RTLD_DEEPBIND with which pam_wrapper loads libpam.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>

#include <security/pam_appl.h>

static int rel_pam_start(const char *, const char *,
    const struct pam_conv *, pam_handle_t **);

#define pam_start rel_pam_start
#include "../pam/pamdriver.c"
#undef pam_start

static int rel_fds_before = -1;

/* open descriptors of this process (the one counting them excluded) */
static int
rel_count_fds(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return (n - 1);
}

__attribute__((destructor)) static void
rel_fd_report(void)
{
	if (getenv("REL_FD_REPORT") != NULL && rel_fds_before >= 0)
		fprintf(stderr, "fds: before=%d after=%d\n", rel_fds_before,
		    rel_count_fds());
}

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
	const char *confdir;
	int r;

	if (rel_fds_before < 0)
		rel_fds_before = rel_count_fds();
	if ((confdir = getenv("REL_CONFDIR")) != NULL && *confdir != '\0')
		r = pam_start_confdir(service, user, conv, confdir, h);
	else
		r = pam_start(service, user, conv, h);
#ifdef PAM_FAIL_DELAY
	if (r == PAM_SUCCESS)
		(void)pam_set_item(*h, PAM_FAIL_DELAY,
		    (const void *)(uintptr_t)rel_no_delay);
#endif
	return (r);
}
