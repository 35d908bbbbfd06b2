/*
 * login.c -- the factor-independent part of a login: who tokend is,
 * which factors the user has, which one this service allows, and what
 * the person is told at the end.
 *
 * MUST:
 * 1. Only the answer to the factor's own verification request may put
 *    TK_ST_OK into the outcome; USER_STATUS's "ok" only lets the login
 *    go on.
 * 2. A locked user is refused before any prompt.
 * 3. A user with no factor allowed here is TK_ST_NOT_ENROLLED, which is
 *    PAM_IGNORE only with nullok (decided in pam_tokend.c).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "conv.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "login.h"
#include "totp.h"

#define MS_PER_S	1000
#define PWBUF_DEFAULT	16384	/* when sysconf() has no answer, bytes */
#define PWBUF_MAX	(1024 * 1024)
#define FACTOR_NAME_MAX	16	/* longest factor name, bytes */
#define MESSAGE_MAX	256	/* one line shown to the person, bytes */

int
tk_login_check_user(const char *user)
{
	size_t i, len;

	if (user == NULL)
		return (TK_PAM_ERR_USER);
	len = strnlen(user, TK_USER_MAX + 1);
	if (len == 0 || len > TK_USER_MAX)
		return (TK_PAM_ERR_USER);
	for (i = 0; i < len; i++)
		if ((unsigned char)user[i] < 0x20 ||
		    (unsigned char)user[i] == 0x7f)
			return (TK_PAM_ERR_USER);
	return (0);
}

/*
 * The uid tokend runs as, from [tokend] user, or (uid_t)-1 when that
 * account does not exist (then only a root-owned listener is trusted).
 */
static uid_t
daemon_uid(const char *name)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	long n;
	size_t len;
	uid_t uid = (uid_t)-1;
	int e;

	if (name == NULL || *name == '\0')
		goto out;
	n = sysconf(_SC_GETPW_R_SIZE_MAX);
	len = n > 0 && n <= PWBUF_MAX ? (size_t)n : PWBUF_DEFAULT;
	for (;;) {
		free(buf);
		if ((buf = malloc(len)) == NULL)
			goto out;
		e = getpwnam_r(name, &pw, buf, len, &res);
		if (e != ERANGE || len > PWBUF_MAX / 2)
			break;
		len *= 2;
	}
	if (e == 0 && res != NULL)
		uid = res->pw_uid;
 out:
	free(buf);
	return (uid);
}

int
tk_login_call(const struct tk_login *l, const tk_msg_t *req,
    tk_msg_t **ansp)
{
	tk_client_t *cl = NULL;
	int r, timeout_ms;

	*ansp = NULL;
	timeout_ms = l->conf->timeout > INT_MAX / MS_PER_S ? INT_MAX :
	    (int)l->conf->timeout * MS_PER_S;
	tk_log(LOG_DEBUG, "%s: %s to %s", __func__,
	    tk_msg_type_name(tk_msg_type(req)), l->conf->socket);
	if ((r = tk_client_open(l->conf->socket, timeout_ms,
	    daemon_uid(l->conf->user), &cl)) != 0) {
		tk_log(LOG_ERR, "cannot reach tokend at %s: %s",
		    l->conf->socket, tk_strerr(r));
		goto fail;
	}
	if ((r = tk_client_call(cl, req, ansp)) != 0) {
		tk_log(LOG_ERR, "%s to tokend at %s: %s",
		    tk_msg_type_name(tk_msg_type(req)), l->conf->socket,
		    tk_strerr(r));
		goto fail;
	}
	tk_log(LOG_DEBUG, "%s: answer %s", __func__,
	    tk_status_name(tk_msg_status(*ansp)));

	r = 0; /* success */
 fail:
	tk_client_close(&cl);
	return (r);
}

/*
 * USER_STATUS: on success stores the user's factor bits and lock state
 * and leaves out->status alone; when tokend answers anything but ok,
 * that answer becomes the outcome and *done is set.
 */
static int
user_status(const struct tk_login *l, uint64_t *factors, bool *locked,
    struct tk_pam_outcome *out, bool *done)
{
	tk_msg_t *req = NULL, *ans = NULL;
	enum tk_status st;
	int r;

	*factors = 0;
	*locked = true;
	*done = false;
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_STATUS)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(req, TK_KEY_USER, l->user)) != 0)
		goto fail;
	if ((r = tk_login_call(l, req, &ans)) != 0)
		goto fail;
	if ((st = tk_msg_status(ans)) != TK_ST_OK) {
		out->status = st;
		*done = true;
		r = 0;
		goto fail;
	}
	if (tk_msg_get_uint(ans, TK_KEY_FACTORS, factors) != 0 ||
	    tk_msg_get_bool(ans, TK_KEY_LOCKED, locked) != 0) {
		*factors = 0;
		*locked = true;
		r = TK_ERR_PROTO;
		goto fail;
	}
	tk_log(LOG_DEBUG, "%s: user %s: factors 0x%llx%s", __func__, l->user,
	    (unsigned long long)*factors, *locked ? ", locked" : "");

	r = 0; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (r);
}

/*
 * Copies the next comma-separated name of `list' (from *pos) into name,
 * without surrounding blanks.  Returns 1 with a name, 0 at the end, or
 * TK_ERR_CONFIG for an empty or over-long name.
 */
static int
next_factor(const char *list, size_t *pos, char name[FACTOR_NAME_MAX + 1])
{
	const char *p, *end;
	size_t len;

	p = list + *pos;
	if (*p == '\0')
		return (0);
	if ((end = strchr(p, ',')) == NULL)
		end = p + strlen(p);
	*pos = (size_t)(end - list) + (*end == ',' ? 1 : 0);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - p);
	if (len == 0 || len > FACTOR_NAME_MAX)
		return (TK_ERR_CONFIG);
	memcpy(name, p, len);
	name[len] = '\0';
	return (1);
}

/* Tells the person how the login ended, and logs failures. */
static void
explain(const struct tk_login *l, const struct tk_pam_outcome *out)
{
	char msg[MESSAGE_MAX];
	unsigned long long wait;
	int n;

	if (out->err != 0) {
		tk_log(LOG_NOTICE, "user %s: %s", l->user,
		    out->err == TK_PAM_ERR_CONV ? "conversation failed" :
		    out->err == TK_PAM_ERR_INPUT ? "malformed code typed" :
		    out->err == TK_PAM_ERR_USER ? "bad user name" :
		    tk_strerr(out->err));
		return;
	}
	tk_log(LOG_DEBUG, "%s: user %s: %s", __func__, l->user,
	    tk_status_name(out->status));
	if (l->silent)
		return;
	switch (out->status) {
	case TK_ST_WRONG:
	case TK_ST_REPLAY:
		tk_conv_error(l->pamh, _("Wrong or already used code."));
		break;
	case TK_ST_LOCKED:
		tk_conv_error(l->pamh, _("Too many failed attempts; ask an "
		    "administrator to unlock your account."));
		break;
	case TK_ST_THROTTLED:
		wait = out->retry_after > UINT_MAX ? UINT_MAX :
		    (unsigned long long)out->retry_after;
		n = snprintf(msg, sizeof(msg),
		    _("Too many attempts; wait %llu seconds."), wait);
		if (n > 0 && (size_t)n < sizeof(msg))
			tk_conv_error(l->pamh, msg);
		break;
	default:
		/* ok needs no words; the rest is for the log, not the user */
		break;
	}
}

void
tk_login_run(const struct tk_login *l, struct tk_pam_outcome *out)
{
	char name[FACTOR_NAME_MAX + 1];
	uint64_t factors;
	size_t pos = 0;
	bool locked, done;
	int r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;

	if ((r = tk_login_check_user(l->user)) != 0) {
		out->err = r;
		goto out;
	}
	if ((r = user_status(l, &factors, &locked, out, &done)) != 0) {
		out->err = r;
		goto out;
	}
	if (done)
		goto out;
	if (locked) {
		out->status = TK_ST_LOCKED;
		goto out;
	}
	while ((r = next_factor(l->conf->factors != NULL ?
	    l->conf->factors : "", &pos, name)) == 1) {
		if (strcmp(name, "totp") == 0) {
			if ((factors & TK_FACTOR_TOTP) == 0)
				continue;
			tk_totp_run(l, out);
			goto out;
		}
		if (strcmp(name, "fido2") == 0) {
			/* allowed here, but not a factor of this build yet */
			tk_log(LOG_DEBUG, "%s: skipping fido2", __func__);
			continue;
		}
		tk_log(LOG_ERR, "unknown factor \"%s\" in factors=", name);
		out->err = TK_ERR_CONFIG;
		goto out;
	}
	if (r != 0) {
		tk_log(LOG_ERR, "malformed factors= list");
		out->err = TK_ERR_CONFIG;
		goto out;
	}
	out->status = TK_ST_NOT_ENROLLED;
 out:
	explain(l, out);
}
