/*
 * totp.c -- the TOTP login step (which also takes recovery codes).
 *
 * MUST:
 * 1. The typed code is never logged and is wiped on every path.
 * 2. Nothing is sent unless the code is 1..TK_CODE_MAX digits or has
 *    the shape of a recovery code (xxxx-xxxx-xxxx, dashes optional):
 *    an empty answer, Ctrl-D, junk or an over-long line is a failure
 *    here.
 * 3. The outcome's status comes only from the TOTP_VERIFY answer.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <security/pam_appl.h>

#include "conv.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "totp.h"
#include "wipe.h"

/* a character a recovery code may hold (tokend reads i/l/o too) */
static bool
recovery_char(char c)
{
	return ((c >= '0' && c <= '9') ||
	    (c >= 'a' && c <= 'z' && c != 'u') ||
	    (c >= 'A' && c <= 'Z' && c != 'U'));
}

int
tk_totp_recovery_shape(const char *code)
{
	size_t i, len;

	if (code == NULL)
		return (TK_PAM_ERR_INPUT);
	len = strnlen(code, TK_RECOVERY_TEXT_MAX + 1);
	if (len != TK_RECOVERY_CHARS && len != TK_RECOVERY_TEXT_MAX)
		return (TK_PAM_ERR_INPUT);
	for (i = 0; i < len; i++) {
		/* with dashes: after the 4th and the 8th character */
		if (len == TK_RECOVERY_TEXT_MAX &&
		    (i + 1) % (TK_RECOVERY_GROUP + 1) == 0) {
			if (code[i] != '-')
				return (TK_PAM_ERR_INPUT);
		} else if (!recovery_char(code[i]))
			return (TK_PAM_ERR_INPUT);
	}
	return (0);
}

int
tk_totp_code_check(const char *code)
{
	size_t i, len;

	if (code == NULL)
		return (TK_PAM_ERR_INPUT);
	if (tk_totp_recovery_shape(code) == 0)
		return (0);
	len = strnlen(code, TK_CODE_MAX + 1);
	if (len == 0 || len > TK_CODE_MAX)
		return (TK_PAM_ERR_INPUT);
	for (i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return (TK_PAM_ERR_INPUT);
	return (0);
}

/* Builds the TOTP_VERIFY request for `code'. */
static int
build_request(const struct tk_login *l, const char *code, tk_msg_t **reqp)
{
	tk_msg_t *req = NULL;
	int r;

	*reqp = NULL;
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_TOTP_VERIFY)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(req, TK_KEY_USER, l->user)) != 0 ||
	    (r = tk_msg_set_text(req, TK_KEY_CODE, code)) != 0 ||
	    (r = tk_login_context(l, req)) != 0)
		goto fail;
	*reqp = req;
	req = NULL;

	r = 0; /* success */
 fail:
	tk_msg_free(&req);
	return (r);
}

void
tk_totp_run(const struct tk_login *l, struct tk_pam_outcome *out)
{
	tk_msg_t *req = NULL, *ans = NULL;
	char *code = NULL;
	uint64_t wait, left;
	int r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;
	out->recovery_left = -1;
	out->factor = TK_FACTOR_TOTP;

	if (l->conf->cue && !l->silent)
		tk_conv_info(l->pamh,
		    _("Enter the code shown by your authenticator app."));
	if ((r = tk_conv_prompt(l->pamh, _("Verification code: "),
	    &code)) != 0)
		goto fail;
	if ((r = tk_totp_code_check(code)) != 0)
		goto fail;
	r = build_request(l, code, &req);
	tk_strfreezero(code);
	code = NULL;
	if (r != 0)
		goto fail;
	tk_log(LOG_DEBUG, "%s: user %s: verifying a code", __func__, l->user);
	if ((r = tk_login_call(l, req, &ans)) != 0)
		goto fail;
	out->status = tk_msg_status(ans);
	if (out->status == TK_ST_THROTTLED &&
	    tk_msg_get_uint(ans, TK_KEY_RETRY_AFTER, &wait) == 0)
		out->retry_after = wait;
	/* a recovery code passed: say how many are left */
	if (out->status == TK_ST_OK &&
	    tk_msg_get_uint(ans, TK_KEY_RECOVERY_LEFT, &left) == 0)
		out->recovery_left = left > INT64_MAX ? INT64_MAX :
		    (int64_t)left;

	r = 0; /* success */
 fail:
	out->err = r;
	tk_strfreezero(code);
	tk_msg_free(&req);
	tk_msg_free(&ans);
}
