/*
 * log.c -- the log sinks.  One process uses one sink; the PAM module sets
 * its function at every entry point, since several handles may coexist.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

enum sink { SINK_STDERR, SINK_SYSLOG, SINK_FUNCTION };

static enum sink	 sink = SINK_STDERR;
static const char	*ident = PACKAGE;
static tk_log_fn_t	*sink_fn;
static void		*sink_arg;
static bool		 debug;

/* the longest line the stderr sink writes, newline included */
#define TK_LOG_LINE_MAX	16384

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

/*
 * One line, one write(2): stderr is unbuffered, so three stdio calls
 * would be three system calls a line and could interleave with the
 * lines of another process writing to the same journal or file.
 * Longer lines are cut and end in "...".
 */
static void
tk_log_stderr(const char *fmt, va_list ap)
{
	char line[TK_LOG_LINE_MAX];
	size_t len;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", ident);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	len = (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - len) {
		len = sizeof(line) - 1;
		memcpy(line + len - 3, "...", 3);
	} else
		len += (size_t)n;
	line[len++] = '\n';
	(void)fwrite(line, 1, len, stderr);
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
		tk_log_stderr(fmt, ap);
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
