/*
 * login.c -- the factor-independent part of a login: who tokend is,
 * which factors the user has, which one this service allows, and what
 * the person is told at the end.
 *
 * MUST:
 * 1. Only the answer to the factor's own verification request may put
 *    TK_ST_OK into the outcome; USER_STATUS's "ok" only lets the login
 *    go on.  The one other way is an emergency grant: GRANT_USE
 *    answered with its dedicated status TK_ST_GRANTED, turned into
 *    TK_ST_OK in grant_use() and nowhere else.  GRANT_USE's "ok" or any
 *    other status never passes.
 * 2. A locked user is refused before any prompt (and before a grant).
 * 3. A user with no factor allowed here is TK_ST_NOT_ENROLLED, which is
 *    PAM_IGNORE only with nullok (decided in pam_tokend.c).
 * 4. Recovery codes are typed at the TOTP prompt: a user with recovery
 *    codes and no TOTP credential still gets that prompt.
 * 5. Factors run in factors= order, and the first one the user has
 *    decides, with one exception: when the FIDO2 step failed before any
 *    assertion reached tokend (no key within fido2_wait, the key failed
 *    or refused, no FIDO2 credential after all), the next factor of
 *    factors= that the user has is asked instead -- the administrator
 *    allowed it by listing it, and it must pass on its own.  tokend's
 *    verdict on an assertion is never followed by another factor.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "conv.h"
#include "err.h"
#include "fido2.h"
#include "i18n.h"
#include "log.h"
#include "login.h"
#include "totp.h"

#define FACTOR_NAME_MAX	16	/* longest factor name, bytes */
#define MESSAGE_MAX	256	/* one line shown to the person, bytes */
#define TIME_TEXT_MAX	sizeof("YYYY-MM-DD HH:MM UTC")

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
 * USER_STATUS: on success stores the user's factor bits, lock state and
 * the end of an active emergency grant (0: none) and leaves out->status
 * alone; when tokend answers anything but ok, that answer becomes the
 * outcome and *done is set.
 */
static int
user_status(const struct tk_login *l, uint64_t *factors, bool *locked,
    uint64_t *grant_until, struct tk_pam_outcome *out, bool *done)
{
	tk_msg_t *req = NULL, *ans = NULL;
	enum tk_status st;
	int r;

	*factors = 0;
	*locked = true;
	*grant_until = 0;
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
	if (tk_msg_get_uint(ans, TK_KEY_EXPIRES, grant_until) != 0)
		*grant_until = 0;
	tk_log(LOG_DEBUG, "%s: user %s: factors 0x%llx%s", __func__, l->user,
	    (unsigned long long)*factors, *locked ? ", locked" : "");

	r = 0; /* success */
 fail:
	tk_msg_free(&req);
	tk_msg_free(&ans);
	return (r);
}

/*
 * GRANT_USE, for a user whom USER_STATUS showed an emergency grant.
 * Only the dedicated status TK_ST_GRANTED passes (MUST 1): it becomes
 * TK_ST_OK here.  A grant that ended meanwhile (not_found, expired)
 * leaves the outcome alone and clears *done, so the factors are asked;
 * any other answer or error is the outcome.
 */
static void
grant_use(const struct tk_login *l, struct tk_pam_outcome *out, bool *done)
{
	tk_msg_t *req = NULL, *ans = NULL;
	enum tk_status st;
	uint64_t until = 0;
	int r;

	*done = true;
	if ((req = tk_msg_new(TK_DIR_REQUEST, TK_MSG_GRANT_USE)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_msg_set_text(req, TK_KEY_USER, l->user)) != 0 ||
	    (r = tk_login_context(l, req)) != 0 ||
	    (r = tk_login_call(l, req, &ans)) != 0)
		goto fail;
	switch ((st = tk_msg_status(ans))) {
	case TK_ST_GRANTED:
		if (tk_msg_get_uint(ans, TK_KEY_EXPIRES, &until) != 0 ||
		    until == 0) {
			r = TK_ERR_PROTO;
			goto fail;
		}
		out->status = TK_ST_OK;
		out->grant_until = until;
		break;
	case TK_ST_NOT_FOUND:
	case TK_ST_EXPIRED:
		*done = false;
		break;
	default:
		/* TK_ST_OK included: only "granted" grants (MUST 1) */
		out->status = st == TK_ST_OK ? TK_ST_INTERNAL : st;
		break;
	}

	r = 0; /* success */
 fail:
	out->err = r;
	tk_msg_free(&req);
	tk_msg_free(&ans);
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

/*
 * Whether the factor `name' of factors= applies to a user with the
 * factor bits `factors' (MUST 4: recovery codes count as TOTP).
 */
static bool
user_has(const char *name, uint64_t factors)
{
	if (strcmp(name, "totp") == 0)
		return ((factors & (TK_FACTOR_TOTP | TK_FACTOR_RECOVERY)) != 0);
	if (strcmp(name, "fido2") == 0)
		return ((factors & TK_FACTOR_FIDO2) != 0);
	return (false);
}

/*
 * Whether factors= lists, from *pos on, a factor the user has (a name
 * the module does not know counts too, so that the loop reports it).
 */
static bool
later_factor(const char *list, size_t pos, uint64_t factors)
{
	char name[FACTOR_NAME_MAX + 1];

	while (next_factor(list, &pos, name) == 1)
		if (user_has(name, factors) ||
		    (strcmp(name, "totp") != 0 && strcmp(name, "fido2") != 0))
			return (true);
	return (false);
}

/* "YYYY-MM-DD HH:MM UTC" of UNIX time t, into buf */
static const char *
grant_time(uint64_t t, char buf[TIME_TEXT_MAX])
{
	struct tm tm;
	time_t tt;

	tt = t > (uint64_t)INT32_MAX * 4 ? (time_t)INT32_MAX : (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, TIME_TEXT_MAX, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		buf[0] = '\0';
	return (buf);
}

/* Tells the person how the login ended, and logs failures. */
static void
explain(const struct tk_login *l, const struct tk_pam_outcome *out)
{
	char msg[MESSAGE_MAX], when[TIME_TEXT_MAX];
	unsigned long long wait;
	int n;

	if (out->err != 0) {
		tk_log(LOG_NOTICE, "user %s: %s", l->user,
		    out->err == TK_PAM_ERR_CONV ? "conversation failed" :
		    out->err == TK_PAM_ERR_INPUT ? "malformed code typed" :
		    out->err == TK_PAM_ERR_USER ? "bad user name" :
		    out->err == TK_PAM_ERR_NOKEY ? "no security key" :
		    out->err == TK_PAM_ERR_KEY ? "security key failed" :
		    tk_strerr(out->err));
		return;
	}
	tk_log(LOG_DEBUG, "%s: user %s: %s", __func__, l->user,
	    tk_status_name(out->status));
	if (out->status == TK_ST_OK && out->grant_until != 0)
		tk_log(LOG_NOTICE, "user %s: passed on an emergency grant",
		    l->user);
	if (l->silent)
		return;
	switch (out->status) {
	case TK_ST_OK:
		if (out->grant_until != 0) {
			n = snprintf(msg, sizeof(msg), _("Emergency access: "
			    "no second factor asked (until %s)."),
			    grant_time(out->grant_until, when));
			if (n > 0 && (size_t)n < sizeof(msg))
				tk_conv_info(l->pamh, msg);
		} else if (out->recovery_left == 0)
			tk_conv_info(l->pamh, _("Recovery code used; none "
			    "left. Ask an administrator for new codes."));
		else if (out->recovery_left > 0) {
			n = snprintf(msg, sizeof(msg),
			    _("Recovery code used; %lld left."),
			    (long long)out->recovery_left);
			if (n > 0 && (size_t)n < sizeof(msg))
				tk_conv_info(l->pamh, msg);
		}
		break;
	case TK_ST_WRONG:
	case TK_ST_REPLAY:
	case TK_ST_NOT_ALLOWED:
		if (out->factor == TK_FACTOR_FIDO2)
			tk_conv_error(l->pamh, _("The security key's answer "
			    "was not accepted."));
		else if (out->status != TK_ST_NOT_ALLOWED)
			tk_conv_error(l->pamh,
			    _("Wrong or already used code."));
		break;
	case TK_ST_EXPIRED:
		if (out->factor == TK_FACTOR_FIDO2)
			tk_conv_error(l->pamh, _("The login took too long; "
			    "try again."));
		break;
	case TK_ST_SUSPENDED:
		tk_conv_error(l->pamh, _("This security key has been "
		    "suspended (possible copy). Contact your administrator."));
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
	uint64_t factors, grant_until;
	const char *list;
	size_t pos = 0;
	bool locked, done, fallback;
	int r;

	out->err = 0;
	out->status = TK_ST_INTERNAL;
	out->retry_after = 0;
	out->recovery_left = -1;
	out->grant_until = 0;
	out->factor = 0;
	list = l->conf->factors != NULL ? l->conf->factors : "";

	if ((r = tk_login_check_user(l->user)) != 0) {
		out->err = r;
		goto out;
	}
	if ((r = user_status(l, &factors, &locked, &grant_until, out,
	    &done)) != 0) {
		out->err = r;
		goto out;
	}
	if (done)
		goto out;
	if (locked) {
		out->status = TK_ST_LOCKED;
		goto out;
	}
	if (grant_until != 0) {
		grant_use(l, out, &done);
		if (done)
			goto out;
	}
	while ((r = next_factor(list, &pos, name)) == 1) {
		if (strcmp(name, "totp") == 0) {
			/* MUST 4: recovery codes go through this prompt */
			if (!user_has(name, factors))
				continue;
			tk_totp_run(l, out);
			goto out;
		}
		if (strcmp(name, "fido2") == 0) {
			if (!user_has(name, factors))
				continue;
			tk_fido2_run(l, out, &fallback);
			/* MUST 5 */
			if (fallback && later_factor(list, pos, factors)) {
				tk_log(LOG_NOTICE, "user %s: no FIDO2 login; "
				    "asking the next factor", l->user);
				continue;
			}
			goto out;
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
