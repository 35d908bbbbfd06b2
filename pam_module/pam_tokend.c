/*
 * pam_tokend.c -- the PAM entry points of pam_tokend.so, and the one
 * place where outcomes become PAM codes.
 *
 * MUST:
 * 1. pam_sm_authenticate starts from a failure and returns what
 *    tk_pam_code() says; no path reaches PAM_SUCCESS or PAM_IGNORE any
 *    other way.
 * 2. PAM_SUCCESS only for tokend's "ok" to a verification; PAM_IGNORE
 *    only for a user with no usable factor when nullok is set.
 * 3. The module never exits, never writes to stdout or stderr, and logs
 *    only through pam_syslog.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#define PAM_SM_AUTH
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "args.h"
#include "conf.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "login.h"
#include "outcome.h"
#include "pamlog.h"

#define CONF_ERR_MAX	512	/* a configuration error message, bytes */

int
tk_pam_code(const struct tk_pam_outcome *out, bool nullok)
{
	switch (out->err) {
	case 0:
		break;
	case TK_ERR_NOMEM:
		return (PAM_BUF_ERR);
	case TK_ERR_CONFIG:		/* bad option or tokend.conf */
	case TK_ERR_INVAL:		/* a value tokend cannot carry */
	case TK_ERR_PERM:
		return (PAM_SERVICE_ERR);
	case TK_PAM_ERR_CONV:
		return (PAM_CONV_ERR);
	case TK_PAM_ERR_INPUT:
	case TK_PAM_ERR_NOKEY:		/* no key shown within fido2_wait */
	case TK_PAM_ERR_KEY:		/* the key failed or refused */
		return (PAM_AUTH_ERR);
	case TK_PAM_ERR_USER:
		return (PAM_USER_UNKNOWN);
	default:
		/* unreachable, timed out, untrusted, malformed, closed... */
		return (PAM_AUTHINFO_UNAVAIL);
	}
	switch (out->status) {
	case TK_ST_OK:
		return (PAM_SUCCESS);
	case TK_ST_WRONG:
	case TK_ST_REPLAY:
	case TK_ST_THROTTLED:
	case TK_ST_DENIED:
	case TK_ST_EXPIRED:		/* FIDO2 challenge too old */
	case TK_ST_SUSPENDED:		/* FIDO2: possible cloned key */
	case TK_ST_NOT_ALLOWED:		/* FIDO2: no UV where required */
		return (PAM_AUTH_ERR);
	case TK_ST_LOCKED:
		return (PAM_MAXTRIES);
	case TK_ST_NOT_ENROLLED:
		return (nullok ? PAM_IGNORE : PAM_AUTH_ERR);
	default:
		/* internal, bad request, version... tokend cannot decide */
		return (PAM_AUTHINFO_UNAVAIL);
	}
}

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct tk_pam_outcome out = TK_PAM_OUTCOME_INIT;
	struct tk_conf conf;
	struct tk_login l;
	char err[CONF_ERR_MAX];
	const char *user = NULL;
	int r, rc = PAM_SERVICE_ERR;

	memset(&conf, 0, sizeof(conf));
	memset(&l, 0, sizeof(l));
	tk_pamlog_begin(pamh, false);
	tk_i18n_init();

	if ((r = tk_args_parse(&conf, argc, argv, err, sizeof(err))) != 0) {
		tk_log(LOG_ERR, "refusing to run: %s",
		    r == TK_ERR_NOMEM ? tk_strerr(r) : err);
		out.err = r;
		goto out;
	}
	tk_log_set_debug(conf.debug);
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS) {
		tk_log(LOG_NOTICE, "no user name");
		out.err = TK_PAM_ERR_USER;
		goto out;
	}
	l.pamh = pamh;
	l.conf = &conf;
	l.user = user;
	l.silent = (flags & PAM_SILENT) != 0;
	tk_login_run(&l, &out);
 out:
	rc = tk_pam_code(&out, conf.nullok);
	tk_log(LOG_DEBUG, "%s: %s", __func__, pam_strerror(pamh, rc));
	tk_conf_clear(&conf);
	tk_pamlog_end();
	return (rc);
}

int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* a second factor establishes no credentials of its own */
	return (PAM_SUCCESS);
}
