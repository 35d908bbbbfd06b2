/*
 * totp.c -- the TOTP login step.
 *
 * MUST:
 * 1. The typed code is never logged and is wiped on every path.
 * 2. Nothing is sent unless the code is 1..TK_CODE_MAX digits: an
 *    empty answer, Ctrl-D, junk or an over-long line is a failure here.
 * 3. The outcome's status comes only from the TOTP_VERIFY answer.
 */
#include "config.h"

#include <string.h>

#include <security/pam_appl.h>

#include "conv.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "totp.h"
#include "wipe.h"

int
tk_totp_code_check(const char *code)
{
	size_t i, len;

	if (code == NULL)
		return (TK_PAM_ERR_INPUT);
	len = strnlen(code, TK_CODE_MAX + 1);
	if (len == 0 || len > TK_CODE_MAX)
		return (TK_PAM_ERR_INPUT);
	for (i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return (TK_PAM_ERR_INPUT);
	return (0);
}

/* Adds a PAM item as an optional text field when the item is set. */
static int
set_item(const struct tk_login *l, tk_msg_t *req, enum tk_key key,
    int item_type)
{
	const void *item = NULL;
	int r;

	if (pam_get_item(l->pamh, item_type, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0')
		return (0);
	/* fail closed: an item tokend cannot carry is not dropped quietly */
	if ((r = tk_msg_set_text(req, key, item)) != 0)
		tk_log(LOG_ERR, "PAM item %d cannot be sent: %s", item_type,
		    tk_strerr(r));
	return (r);
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
	    (r = set_item(l, req, TK_KEY_SERVICE, PAM_SERVICE)) != 0 ||
	    (r = set_item(l, req, TK_KEY_RHOST, PAM_RHOST)) != 0 ||
	    (r = set_item(l, req, TK_KEY_TTY, PAM_TTY)) != 0)
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
	uint64_t wait;
	int r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;

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

	r = 0; /* success */
 fail:
	out->err = r;
	tk_strfreezero(code);
	tk_msg_free(&req);
	tk_msg_free(&ans);
}
