/*
 * h_grant.c -- emergency access (break-glass): GRANT, GRANT_REVOKE,
 * GRANT_LIST, GRANT_USE, and the sweep that ends grants on time.
 *
 * MUST invariants:
 *  1. TK_ST_GRANTED is answered only by GRANT_USE, only after the audit
 *     row of that use is committed, and only while the grant's expiry is
 *     later than tokend's clock.  Every other path, error or refusal
 *     answers something else, and handler errors become TK_ST_INTERNAL.
 *  2. A grant is bounded: 1 s to [grant] max_duration, from tokend's
 *     clock at the time it is given; it needs a reason.
 *  3. Each grant is audited when given ("grant"), at each use
 *     ("grant_use"), when revoked ("grant_revoke") and when it runs out
 *     ("grant_expire", by the sweep or by the first use after it).
 *  4. A user locked by throttling stays locked: a grant does not lift
 *     a lockout (tokenadm unlock does).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "store.h"

#define TK_GRANT_REASON_MAX	64	/* "duration must be 1 to N seconds" */

int
tk_handle_grant(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	char why[TK_GRANT_REASON_MAX];
	struct tk_audit_event ev;
	struct tk_grant g;
	tk_msg_t *m = NULL;
	const char *user, *reason;
	uint64_t duration = 0, max;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&g, 0, sizeof(g));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	reason = tk_msg_get_text(rq, TK_KEY_REASON);
	tk_audit_event_init(&ev, d, peer, "grant", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	max = d->conf->grant_max_duration;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if (user == NULL || reason == NULL || *reason == '\0' ||
	    tk_msg_get_uint(rq, TK_KEY_DURATION, &duration) != 0 ||
	    duration == 0 || duration > max) {
		(void)snprintf(why, sizeof(why), "duration must be 1 to %"
		    PRIu64 " seconds, with a reason", max);
		ev.result = "bad_request";
		ev.reason = why;
		if ((r = tk_answer_new(TK_MSG_GRANT, TK_ST_BAD_REQUEST, why,
		    &m)) != 0)
			goto fail;
	} else {
		/* user and reason were checked by the decoder's limits */
		memcpy(g.user, user, strlen(user) + 1);
		memcpy(g.reason, reason, strlen(reason) + 1);
		g.created = now;
		g.expires = now + (int64_t)duration;
		g.granted_by = (int64_t)peer->uid;
		g.state = TK_GRANT_ACTIVE;
		if ((r = tk_store_grant_insert(d->store, &g)) != 0)
			goto fail;
		ev.result = "ok";
		ev.reason = reason;
		if ((r = tk_answer_new(TK_MSG_GRANT, TK_ST_OK, NULL,
		    &m)) != 0 ||
		    (r = tk_msg_set_text(m, TK_KEY_USER, user)) != 0 ||
		    (r = tk_msg_set_uint(m, TK_KEY_EXPIRES,
		    (uint64_t)g.expires)) != 0)
			goto fail;
	}
	in_tx = false;	/* tk_handler_finish() ends the transaction */
	if ((r = tk_handler_finish(d, &ev, &m, an)) != 0)
		goto fail;

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
tk_handle_grant_revoke(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_grant g;
	tk_msg_t *m = NULL;
	const char *user;
	uint64_t count = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&g, 0, sizeof(g));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "grant_revoke", user, now);
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
	r = tk_store_grant_active(d->store, user, &g);
	if (r != 0 && r != TK_ERR_NOTFOUND)
		goto fail;
	if (r == 0) {
		if ((r = tk_store_grant_end(d->store, g.id,
		    TK_GRANT_REVOKED)) != 0)
			goto fail;
		count = 1;
	}
	ev.result = count > 0 ? "ok" : "not_found";
	if (count > 0)
		r = tk_answer_new(TK_MSG_GRANT_REVOKE, TK_ST_OK, NULL, &m);
	else
		r = tk_answer_new(TK_MSG_GRANT_REVOKE, TK_ST_NOT_FOUND,
		    "no active grant", &m);
	if (r != 0 ||
	    (count > 0 && (r = tk_msg_set_uint(m, TK_KEY_COUNT, count)) != 0) ||
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
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_grant_list(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_grant *list = NULL;
	tk_msg_t *m = NULL, *rec;
	const char *user;
	size_t n = 0, i, skip = 0, shown = 0;
	uint64_t offset = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	user = tk_msg_get_text(rq, TK_KEY_USER);	/* NULL: everyone */
	tk_audit_event_init(&ev, d, peer, "grant_list", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if (tk_msg_get_uint(rq, TK_KEY_OFFSET, &offset) != 0)
		offset = 0;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_grant_list(d->store, user, &list, &n)) != 0)
		goto fail;
	if ((r = tk_answer_new(TK_MSG_GRANT_LIST, TK_ST_OK, NULL, &m)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (list[i].expires <= now)
			continue;	/* over; the sweep will audit it */
		if (skip++ < offset)
			continue;
		if (shown == TK_LIST_PAGE) {
			if ((r = tk_msg_set_bool(m, TK_KEY_MORE, true)) != 0)
				goto fail;
			break;
		}
		if ((rec = tk_msg_add_record(m, TK_KEY_GRANTS)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if ((r = tk_msg_set_text(rec, TK_KEY_USER,
		    list[i].user)) != 0 ||
		    (r = tk_msg_set_uint(rec, TK_KEY_CREATED,
		    list[i].created > 0 ? (uint64_t)list[i].created :
		    0)) != 0 ||
		    (r = tk_msg_set_uint(rec, TK_KEY_EXPIRES,
		    (uint64_t)list[i].expires)) != 0 ||
		    (list[i].granted_by >= 0 &&
		    (r = tk_msg_set_uint(rec, TK_KEY_UID,
		    (uint64_t)list[i].granted_by)) != 0) ||
		    (list[i].reason[0] != '\0' &&
		    (r = tk_msg_set_text(rec, TK_KEY_REASON,
		    list[i].reason)) != 0))
			goto fail;
		shown++;
	}
	ev.result = "ok";
	in_tx = false;	/* tk_handler_finish() ends the transaction */
	if ((r = tk_handler_finish(d, &ev, &m, an)) != 0)
		goto fail;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_handler_failed(d, &ev, r);
	free(list);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_grant_use(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_grant g;
	tk_msg_t *m = NULL;
	const char *user;
	enum tk_status st = TK_ST_INTERNAL;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&g, 0, sizeof(g));
	memset(&th, 0, sizeof(th));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "grant_use", user, now);
	ev.service = tk_msg_get_text(rq, TK_KEY_SERVICE);
	ev.rhost = tk_msg_get_text(rq, TK_KEY_RHOST);
	ev.tty = tk_msg_get_text(rq, TK_KEY_TTY);
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
	if ((r = tk_store_throttle_get(d->store, user, &th)) != 0)
		goto fail;
	r = tk_store_grant_active(d->store, user, &g);
	if (r != 0 && r != TK_ERR_NOTFOUND)
		goto fail;
	if (th.locked) {
		st = TK_ST_LOCKED;			/* invariant 4 */
		ev.result = "locked";
	} else if (r == TK_ERR_NOTFOUND) {
		st = TK_ST_NOT_FOUND;
		ev.result = "not_found";
	} else if (g.expires <= now) {
		/* over: this request records the expiry (invariant 3) */
		if ((r = tk_store_grant_end(d->store, g.id,
		    TK_GRANT_EXPIRED)) != 0)
			goto fail;
		st = TK_ST_EXPIRED;
		ev.event = "grant_expire";
		ev.result = "expired";
		ev.reason = "grant ran out";
	} else {
		st = TK_ST_GRANTED;
		ev.result = "ok";
		ev.reason = g.reason;
	}
	r = 0;
	if ((r = tk_answer_new(TK_MSG_GRANT_USE, st, NULL, &m)) != 0 ||
	    (st == TK_ST_GRANTED && (r = tk_msg_set_uint(m, TK_KEY_EXPIRES,
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
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_expire_grants(struct tk_daemon *d, uint64_t *count)
{
	struct tk_audit_event ev;
	struct tk_grant *list = NULL;
	size_t n = 0, i;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*count = 0;
	tk_audit_event_init(&ev, d, NULL, "grant_expire", NULL, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_grant_due(d->store, now, &list, &n)) != 0)
		goto fail;
	if (n == 0) {
		tk_store_rollback(d->store);
		in_tx = false;
		r = 0;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		tk_audit_event_init(&ev, d, NULL, "grant_expire", list[i].user,
		    now);
		ev.result = "expired";
		ev.reason = "grant ran out";
		if ((r = tk_store_grant_end(d->store, list[i].id,
		    TK_GRANT_EXPIRED)) != 0 ||
		    (r = tk_audit_append(d, &ev)) != 0)
			goto fail;
	}
	in_tx = false;
	if ((r = tk_handler_commit(d)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		tk_audit_event_init(&ev, d, NULL, "grant_expire", list[i].user,
		    now);
		ev.result = "expired";
		ev.reason = "grant ran out";
		tk_audit_log(&ev);
	}
	*count = n;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_log(LOG_ERR, "grant expiry sweep failed: %s", tk_strerr(r));
	free(list);
	return (r);
}
