/*
 * h_status.c -- STATUS (daemon health) and USER_STATUS (a user's
 * factors and lockout).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "store.h"

/* the STATUS answer: the daemon's figures and the store's */
static int
status_answer(struct tk_daemon *d, int64_t now,
    const struct tk_store_stats *stats, bool store_ok, tk_msg_t **mp)
{
	tk_msg_t *m = NULL;
	int r;

	if ((r = tk_answer_new(TK_MSG_STATUS, TK_ST_OK, NULL, &m)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_DAEMON_VERSION,
	    PACKAGE_VERSION)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_UPTIME, now > d->started ?
	    (uint64_t)(now - d->started) : 0)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_USERS, stats->users)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_CREDS_COUNT, stats->creds)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_LOCKED_USERS,
	    stats->locked_users)) != 0 ||
	    (r = tk_msg_set_bool(m, TK_KEY_STORE_OK, store_ok)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_STORE_KIND,
	    tk_store_kind(d->store))) != 0) {
		tk_msg_free(&m);
		return (r);
	}
	*mp = m;
	return (0);
}

/*
 * The answer is built inside the transaction, before the audit row is
 * committed, as every other handler does: a failure to build it (out
 * of memory) leaves no "ok" row for an answer never sent.  A store that
 * fails is reported in the answer (store_ok false), not as an error:
 * this is the health query.
 */
int
tk_handle_status(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_store_stats stats;
	tk_msg_t *m = NULL;
	int64_t now = 0;
	bool in_tx = false;
	int r, rs;

	*an = NULL;
	memset(&stats, 0, sizeof(stats));
	tk_audit_event_init(&ev, d, peer, "status", NULL, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	ev.result = "ok";

	if ((rs = tk_store_ping(d->store)) == 0 &&
	    (rs = tk_store_begin(d->store)) == 0) {
		in_tx = true;
		if ((rs = tk_store_stats(d->store, &stats)) == 0) {
			if ((r = status_answer(d, now, &stats, true, &m)) != 0)
				goto fail;
			if ((rs = tk_audit_append(d, &ev)) == 0) {
				in_tx = false;
				rs = tk_handler_commit(d);
			}
		}
	}
	if (in_tx) {
		tk_store_rollback(d->store);
		in_tx = false;
	}
	if (rs != 0) {
		tk_log(LOG_ERR, "store health query failed: %s",
		    tk_strerr(rs));
		tk_msg_free(&m);
		memset(&stats, 0, sizeof(stats));
		ev.reason = "store unavailable";
		if ((r = status_answer(d, now, &stats, false, &m)) != 0)
			goto fail;
	}
	tk_audit_log(&ev);
	*an = m;
	m = NULL;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_handler_failed(d, &ev, r);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_user_status(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_cred *creds = NULL, *keys = NULL;
	size_t ncreds = 0, nkeys = 0;
	tk_msg_t *m = NULL;
	const char *user;
	struct tk_grant g;
	uint64_t factors = 0, left = 0;
	int64_t now = 0;
	bool in_tx = false, granted = false;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	memset(&g, 0, sizeof(g));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "user_status", user, now);
	if (user == NULL) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_cred_active(d->store, user, TK_CRED_TOTP, &creds,
	    &ncreds)) != 0 ||
	    (r = tk_store_cred_active(d->store, user, TK_CRED_FIDO2, &keys,
	    &nkeys)) != 0 ||
	    (r = tk_store_throttle_get(d->store, user, &th)) != 0 ||
	    (r = tk_store_recovery_count(d->store, user, &left)) != 0)
		goto fail;
	if ((r = tk_store_grant_active(d->store, user, &g)) == 0)
		granted = g.expires > now;	/* tokend's clock decides */
	else if (r != TK_ERR_NOTFOUND)
		goto fail;
	if (ncreds > 0)
		factors |= TK_FACTOR_TOTP;
	if (left > 0)
		factors |= TK_FACTOR_RECOVERY;
	if (nkeys > 0)
		factors |= TK_FACTOR_FIDO2;
	ev.result = "ok";
	if ((r = tk_answer_new(TK_MSG_USER_STATUS, TK_ST_OK, NULL, &m)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_FACTORS, factors)) != 0 ||
	    (r = tk_msg_set_bool(m, TK_KEY_LOCKED, th.locked)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_FAILURES, th.failures)) != 0 ||
	    (left > 0 &&
	    (r = tk_msg_set_uint(m, TK_KEY_RECOVERY_LEFT, left)) != 0) ||
	    (granted && (r = tk_msg_set_uint(m, TK_KEY_EXPIRES,
	    (uint64_t)g.expires)) != 0) ||
	    (r = tk_audit_append(d, &ev)) != 0)
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
	tk_cred_list_free(&creds, ncreds);
	tk_cred_list_free(&keys, nkeys);
	tk_msg_free(&m);
	return (r);
}
