/*
 * h_totp.c -- TOTP_VERIFY: one code, one transaction, one answer.
 *
 * Invariants this file MUST keep (the replay and brute-force rules of
 * DESIGN.md):
 *  1. The throttle read, the code check, the replay step update, the
 *     throttle update and the audit row are one store transaction, and
 *     the answer leaves only after tk_store_commit() returned 0.  Since
 *     one thread owns the store, no other request runs in between.
 *  2. A code is accepted only for a time step strictly greater than the
 *     last step its credential accepted (tk_store_totp_accept_step(), a
 *     single conditional update).  The same code twice, an older code
 *     after a newer one, and any code while the clock is behind the last
 *     accepted step are all refused as replays.
 *  3. The throttle is checked before any secret is unsealed.  A locked
 *     user is answered LOCKED even with the right code; an attempt made
 *     too soon is answered THROTTLED and is not counted.
 *  4. Every wrong or replayed code is one failure; the failure that
 *     reaches max_failures locks the user and is answered LOCKED.  Only
 *     an accepted code resets the count.
 *  5. Every step of the window is computed and compared with
 *     sodium_memcmp, without stopping at a match; the secret and every
 *     candidate are wiped right after use.
 *  6. A store, crypto or clock failure rolls everything back and answers
 *     TK_ST_INTERNAL: nothing is ever answered OK by default.
 *  7. The code appears in no log line, audit row or reason text.
 *  8. Text with the shape of a recovery code (recovery.h) is checked
 *     only as a recovery code, under the same throttle and in the same
 *     transaction; the event is then "recovery_use".  A user with
 *     recovery codes but no TOTP credential who types digits gets a
 *     counted failure, not "not enrolled".
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "recovery.h"
#include "seal.h"
#include "store.h"
#include "throttle.h"
#include "totp.h"

int
tk_totp_check_cred(const struct tk_daemon *d, const struct tk_cred *c,
    const char *code, int64_t now, bool *matched, uint64_t *step)
{
	const unsigned char *plain = NULL;
	size_t plain_len = 0;
	int r;

	*matched = false;
	*step = 0;
	if (c->kind != TK_CRED_TOTP || c->sealed == NULL ||
	    c->sealed_len == 0) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_unseal_tmp(d->key, c->key_id, c->user, c->id, c->sealed,
	    c->sealed_len, &plain, &plain_len)) != 0) {
		tk_log(LOG_ERR, "cannot unseal credential %llu of %s: %s",
		    (unsigned long long)c->id, c->user, tk_strerr(r));
		goto fail;
	}
	if ((r = tk_totp_match(plain, plain_len, c->algorithm, c->digits,
	    c->period, now, d->conf->totp_window, code, matched,
	    step)) != 0) {
		tk_log(LOG_ERR, "cannot check credential %llu of %s: %s",
		    (unsigned long long)c->id, c->user, tk_strerr(r));
		goto fail;
	}

	r = 0; /* success */
fail:
	if (plain != NULL)
		tk_unseal_tmp_release();	/* wipes the secret */
	return (r);
}

/* the audit word of an answer status */
static const char *
tk_totp_result(enum tk_status st)
{
	switch (st) {
	case TK_ST_OK:		return ("ok");
	case TK_ST_WRONG:	return ("wrong");
	case TK_ST_REPLAY:	return ("replay");
	case TK_ST_LOCKED:	return ("locked");
	case TK_ST_THROTTLED:	return ("throttled");
	case TK_ST_NOT_ENROLLED: return ("not_enrolled");
	default:		return ("internal");
	}
}

/*
 * Checks `code' against every active TOTP credential in `creds' and
 * records the step of the first one that matches with a new step.
 * *st is TK_ST_OK (and *cred the credential), TK_ST_REPLAY (a match, but
 * not a newer step) or TK_ST_WRONG.  Returns 0 or an error.
 */
static int
tk_totp_verify_creds(struct tk_daemon *d, const struct tk_cred *creds,
    size_t n, const char *code, int64_t now, enum tk_status *st,
    uint64_t *cred)
{
	uint64_t step;
	bool matched;
	size_t i;
	int r;

	*st = TK_ST_WRONG;
	*cred = 0;
	for (i = 0; i < n; i++) {
		if ((r = tk_totp_check_cred(d, &creds[i], code, now, &matched,
		    &step)) != 0)
			return (r);
		if (!matched)
			continue;
		r = tk_store_totp_accept_step(d->store, creds[i].id, step, now);
		if (r == 0) {
			*st = TK_ST_OK;
			*cred = creds[i].id;
			return (0);
		}
		if (r != TK_ERR_REPLAY)
			return (r);
		*st = TK_ST_REPLAY;
		*cred = creds[i].id;
	}
	return (0);
}

int
tk_handle_totp_verify(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_throttle_policy pol;
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_cred *creds = NULL;
	size_t ncreds = 0, ulen;
	tk_msg_t *m = NULL;
	const char *user, *code;
	char norm[TK_RECOVERY_CHARS + 1], left_why[32];
	enum tk_status st, outcome = TK_ST_INTERNAL;
	uint64_t retry = 0, cred = 0, left = 0;
	int64_t now = 0;
	bool in_tx = false, put = false, recovery;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	code = tk_msg_get_text(rq, TK_KEY_CODE);
	/* invariant 8: the shape decides which check runs */
	recovery = tk_recovery_normalize(code, norm) == 0;
	tk_audit_event_init(&ev, d, peer, recovery ? "recovery_use" :
	    "totp_verify", user, now);
	ev.service = tk_msg_get_text(rq, TK_KEY_SERVICE);
	ev.rhost = tk_msg_get_text(rq, TK_KEY_RHOST);
	ev.tty = tk_msg_get_text(rq, TK_KEY_TTY);
	if (user == NULL || code == NULL ||
	    (ulen = strlen(user)) == 0 || ulen > TK_USER_MAX) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	tk_throttle_policy_from_conf(d->conf, &pol);

	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_throttle_get(d->store, user, &th)) != 0)
		goto fail;
	memcpy(th.user, user, ulen + 1);

	switch (tk_throttle_check(&pol, &th, now, &retry)) {
	case TK_THROTTLE_LOCKED:
		st = outcome = TK_ST_LOCKED;
		break;
	case TK_THROTTLE_WAIT:
		st = outcome = TK_ST_THROTTLED;
		break;
	default:
		if ((r = tk_store_cred_active(d->store, user, TK_CRED_TOTP,
		    &creds, &ncreds)) != 0 ||
		    (r = tk_store_recovery_count(d->store, user, &left)) != 0)
			goto fail;
		if (ncreds == 0 && left == 0) {
			st = outcome = TK_ST_NOT_ENROLLED;
			break;
		}
		if (recovery) {
			if ((r = tk_recovery_check(d, user, norm, now,
			    &outcome, &left)) != 0)
				goto fail;
		} else if (ncreds > 0) {
			if ((r = tk_totp_verify_creds(d, creds, ncreds, code,
			    now, &outcome, &cred)) != 0)
				goto fail;
		} else
			outcome = TK_ST_WRONG;	/* digits, no TOTP: a failure */
		st = outcome;
		put = true;
		if (outcome == TK_ST_OK)
			put = tk_throttle_succeed(&th);
		else if (tk_throttle_fail(&pol, &th, now))
			st = TK_ST_LOCKED;	/* this failure locked it */
		break;
	}
	if (put && (r = tk_store_throttle_put(d->store, &th)) != 0)
		goto fail;

	ev.cred = cred;
	ev.result = tk_totp_result(st);
	if (st != outcome)
		ev.reason = tk_totp_result(outcome);	/* locked by a wrong */
	if ((r = tk_answer_new(TK_MSG_TOTP_VERIFY, st, NULL, &m)) != 0)
		goto fail;
	if (st == TK_ST_OK && recovery) {
		r = tk_msg_set_uint(m, TK_KEY_RECOVERY_LEFT, left);
		(void)snprintf(left_why, sizeof(left_why), "%" PRIu64 " left",
		    left);
		ev.reason = left_why;
	} else if (st == TK_ST_OK)
		r = tk_msg_set_uint(m, TK_KEY_CRED, cred);
	else if (st == TK_ST_THROTTLED)
		r = tk_msg_set_uint(m, TK_KEY_RETRY_AFTER, retry);
	else if (st != TK_ST_NOT_ENROLLED)
		r = tk_msg_set_uint(m, TK_KEY_FAILURES, th.failures);
	if (r != 0 || (r = tk_audit_append(d, &ev)) != 0)
		goto fail;
	in_tx = false;
	if ((r = tk_handler_commit(d)) != 0)
		goto fail;
	tk_audit_log(&ev);
	*an = m;
	m = NULL;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_handler_failed(d, &ev, r);
	sodium_memzero(norm, sizeof(norm));
	tk_cred_list_free(&creds, ncreds);
	tk_msg_free(&m);
	return (r);
}
