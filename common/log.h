/*
 * log.h -- one log call, three sinks: syslog (tokend), stderr
 * (tokenadm, tokend -f), or a function of the caller's (the PAM module
 * routes it to pam_syslog).  Never pass a secret to these functions.
 */
#ifndef TK_LOG_H
#define TK_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

typedef void tk_log_fn_t(void *arg, int priority, const char *fmt,
    va_list ap);

/* Sends messages to syslog under `ident' with `facility'. */
void tk_log_to_syslog(const char *ident, int facility);
/* Sends messages to stderr, prefixed with `ident: '. */
void tk_log_to_stderr(const char *ident);
/* Sends messages to fn(arg, ...). */
void tk_log_to_function(tk_log_fn_t *fn, void *arg);
/* LOG_DEBUG messages are dropped unless enabled. */
void tk_log_set_debug(bool);
bool tk_log_debug_enabled(void);

void tk_log(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tk_vlog(int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif /* TK_LOG_H */
