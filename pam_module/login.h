/*
 * login.h -- one login through tokend: ask which factors the user has
 * (USER_STATUS), pick the first one allowed by factors= (the next one
 * when the FIDO2 step found no usable key), run it, and tell the person
 * what went wrong.  Each request is sent on its own
 * connection: tokend closes idle connections, and a person typing a
 * code is idle.
 */
#ifndef TK_PAM_LOGIN_H
#define TK_PAM_LOGIN_H

#include <stdbool.h>

#include <security/pam_appl.h>

#include "conf.h"
#include "msg.h"
#include "outcome.h"

struct tk_login {
	pam_handle_t		*pamh;
	const struct tk_conf	*conf;
	const char		*user;		/* PAM_USER, checked */
	bool			 silent;	/* PAM_SILENT: no messages */
};

/*
 * Returns 0 when `user' is a name tokend can carry (1..TK_USER_MAX
 * bytes, no control bytes), else TK_PAM_ERR_USER.
 */
int tk_login_check_user(const char *user);

/*
 * Runs the login and stores how it ended in *out (see outcome.h); the
 * person is told about a lockout, a wrong code or throttling unless
 * l->silent.  Never fails without setting *out to a failure.
 */
void tk_login_run(const struct tk_login *l, struct tk_pam_outcome *out);

/*
 * Opens a connection to tokend as configured, sends `req', reads its
 * answer into *ansp and closes the connection.  Returns 0 (the outcome
 * is tk_msg_status(*ansp)) or a negative TK_ERR_*, with *ansp NULL.
 * The caller frees *ansp with tk_msg_free().
 */
int tk_login_call(const struct tk_login *l, const tk_msg_t *req,
    tk_msg_t **ansp);

/*
 * Adds the login context (PAM_SERVICE, PAM_RHOST, PAM_TTY, when set) to
 * a TOTP_VERIFY or GRANT_USE request.  Returns 0 or the TK_ERR_* of an
 * item tokend cannot carry (never dropped quietly).
 */
int tk_login_context(const struct tk_login *l, tk_msg_t *req);

#endif /* TK_PAM_LOGIN_H */
