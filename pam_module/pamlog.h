/*
 * pamlog.h -- routes common/'s log (log.h) to pam_syslog(3), which tags
 * each line with the PAM service, for the duration of one entry point.
 */
#ifndef TK_PAM_PAMLOG_H
#define TK_PAM_PAMLOG_H

#include <stdbool.h>

#include <security/pam_appl.h>

/* Sends tk_log() to pam_syslog on pamh, with debug lines on or off. */
void tk_pamlog_begin(pam_handle_t *, bool debug);
/*
 * Detaches the log from pamh, which the application may free after the
 * entry point returns.
 */
void tk_pamlog_end(void);

#endif /* TK_PAM_PAMLOG_H */
