/*
 * log.c -- the log sinks.  One process uses one sink; the PAM module sets
 * its function at every entry point, since several handles may coexist.
 */
#include "config.h"

#include <stdio.h>

#include "log.h"

enum sink { SINK_STDERR, SINK_SYSLOG, SINK_FUNCTION };

static enum sink	 sink = SINK_STDERR;
static const char	*ident = PACKAGE;
static tk_log_fn_t	*sink_fn;
static void		*sink_arg;
static bool		 debug;

void
tk_log_to_syslog(const char *id, int facility)
{
	ident = id;
	openlog(id, LOG_PID | LOG_NDELAY, facility);
	sink = SINK_SYSLOG;
}

void
tk_log_to_stderr(const char *id)
{
	ident = id;
	sink = SINK_STDERR;
}

void
tk_log_to_function(tk_log_fn_t *fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
	sink = fn != NULL ? SINK_FUNCTION : SINK_STDERR;
}

void
tk_log_set_debug(bool on)
{
	debug = on;
}

bool
tk_log_debug_enabled(void)
{
	return (debug);
}

void
tk_vlog(int priority, const char *fmt, va_list ap)
{
	if ((priority & LOG_PRIMASK) == LOG_DEBUG && !debug)
		return;
	switch (sink) {
	case SINK_SYSLOG:
		vsyslog(priority, fmt, ap);
		break;
	case SINK_FUNCTION:
		sink_fn(sink_arg, priority, fmt, ap);
		break;
	case SINK_STDERR:
		fprintf(stderr, "%s: ", ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		break;
	}
}

void
tk_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tk_vlog(priority, fmt, ap);
	va_end(ap);
}
