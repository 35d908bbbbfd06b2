/*
 * pamlog.c -- common/'s log sink for the module.  The sink is process
 * state, so it is set at every entry point and cleared before returning:
 * several PAM handles may live in one process.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>

#include "log.h"
#include "pamlog.h"

static void
to_pam_syslog(void *arg, int priority, const char *fmt, va_list ap)
{
	pam_vsyslog(arg, priority, fmt, ap);
}

void
tk_pamlog_begin(pam_handle_t *pamh, bool debug)
{
	tk_log_to_function(to_pam_syslog, pamh);
	tk_log_set_debug(debug);
}

void
tk_pamlog_end(void)
{
	tk_log_set_debug(false);
	tk_log_to_function(NULL, NULL);
}
