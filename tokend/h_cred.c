/*
 * h_cred.c -- CRED_LIST, CRED_REVOKE and USER_UNLOCK: the administrator's
 * requests.  Each is one transaction with its audit row.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "fido2.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "throttle.h"
#include "totp.h"

/* Fills one CRED_LIST record from a credential and its user's throttle. */
static int
tk_cred_record_fill(tk_msg_t *rec, const struct tk_cred *c,
    const struct tk_throttle *th)
{
	const char *alg;
	int r;

	if ((r = tk_msg_set_text(rec, TK_KEY_USER, c->user)) != 0 ||
	    (r = tk_msg_set_uint(rec, TK_KEY_CRED, c->id)) != 0 ||
	    (r = tk_msg_set_text(rec, TK_KEY_KIND,
	    c->kind == TK_CRED_TOTP ? "totp" :
	    c->kind == TK_CRED_FIDO2 ? "fido2" : "unknown")) != 0 ||
	    (r = tk_msg_set_text(rec, TK_KEY_STATE,
	    tk_cred_state_name(c->state))) != 0 ||
	    (r = tk_msg_set_uint(rec, TK_KEY_CREATED,
	    c->created > 0 ? (uint64_t)c->created : 0)) != 0 ||
	    (r = tk_msg_set_uint(rec, TK_KEY_LAST_USED,
	    c->last_used > 0 ? (uint64_t)c->last_used : 0)) != 0 ||
	    (r = tk_msg_set_bool(rec, TK_KEY_LOCKED, th->locked)) != 0 ||
	    (r = tk_msg_set_uint(rec, TK_KEY_FAILURES, th->failures)) != 0)
		return (r);
	if (c->label[0] != '\0' &&
	    (r = tk_msg_set_text(rec, TK_KEY_LABEL, c->label)) != 0)
		return (r);
	if (c->kind == TK_CRED_TOTP) {
		if ((r = tk_msg_set_uint(rec, TK_KEY_DIGITS, c->digits)) != 0 ||
		    (r = tk_msg_set_uint(rec, TK_KEY_PERIOD, c->period)) != 0)
			return (r);
		if ((alg = tk_totp_alg_name(c->algorithm)) != NULL &&
		    (r = tk_msg_set_text(rec, TK_KEY_ALGORITHM, alg)) != 0)
			return (r);
	}
	/* FIDO2: public data only; the credential id is not listed */
	if (c->kind == TK_CRED_FIDO2) {
		if ((r = tk_msg_set_bytes(rec, TK_KEY_AAGUID, c->aaguid,
		    sizeof(c->aaguid))) != 0 ||
		    (r = tk_msg_set_uint(rec, TK_KEY_SIGN_COUNT,
		    c->sign_count)) != 0 ||
		    (c->fmt[0] != '\0' &&
		    (r = tk_msg_set_text(rec, TK_KEY_FMT, c->fmt)) != 0) ||
		    (r = tk_msg_set_text(rec, TK_KEY_UV,
		    (c->flags & TK_FIDO2_FLAG_UV) != 0 ? "required" :
		    "discouraged")) != 0)
			return (r);
		if ((alg = tk_fido2_alg_name(c->algorithm)) != NULL &&
		    (r = tk_msg_set_text(rec, TK_KEY_ALGORITHM, alg)) != 0)
			return (r);
	}
	return (0);
}

int
tk_handle_cred_list(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_cred *list = NULL;
	size_t n = 0, i;
	uint64_t offset;
	tk_msg_t *m = NULL, *rec;
	const char *user;
	int64_t now = 0;
	bool in_tx = false, more = false;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	user = tk_msg_get_text(rq, TK_KEY_USER);	/* NULL: everyone */
	tk_audit_event_init(&ev, d, peer, "cred_list", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	/*
	 * one page: at most TK_LIST_PAGE records from OFFSET (proto.h),
	 * read as one page from the store (never every credential: with a
	 * million of them, loading all for each page cost seconds and
	 * hundreds of MiB)
	 */
	if (tk_msg_get_uint(rq, TK_KEY_OFFSET, &offset) != 0)
		offset = 0;
	if (offset > INT64_MAX)
		offset = INT64_MAX;	/* past the end: an empty page */
	if ((list = calloc(TK_LIST_PAGE, sizeof(*list))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_store_cred_page(d->store, user, offset, list,
	    TK_LIST_PAGE, &n, &more)) != 0)
		goto fail;
	if ((r = tk_answer_new(TK_MSG_CRED_LIST, TK_ST_OK, NULL, &m)) != 0)
		goto fail;
	if (more && (r = tk_msg_set_bool(m, TK_KEY_MORE, true)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		/* the page is ordered by user: one throttle read a user */
		if (i == 0 || strcmp(list[i].user, list[i - 1].user) != 0) {
			memset(&th, 0, sizeof(th));
			if ((r = tk_store_throttle_get(d->store, list[i].user,
			    &th)) != 0)
				goto fail;
		}
		if ((rec = tk_msg_add_record(m, TK_KEY_CREDS)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if ((r = tk_cred_record_fill(rec, &list[i], &th)) != 0)
			goto fail;
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
	tk_cred_list_free(&list, n);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_cred_revoke(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_cred c;
	tk_msg_t *m = NULL;
	const char *user, *reason = NULL;
	enum tk_status st = TK_ST_OK;
	uint64_t id = 0, count = 0;
	int64_t now = 0;
	bool all = false, has_cred, has_all, in_tx = false;
	int r;

	*an = NULL;
	memset(&c, 0, sizeof(c));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "revoke", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	has_cred = tk_msg_get_uint(rq, TK_KEY_CRED, &id) == 0;
	has_all = tk_msg_get_bool(rq, TK_KEY_ALL, &all) == 0;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;

	/* exactly one of CRED and ALL (true) */
	if (user == NULL || has_cred == has_all || (has_all && !all)) {
		st = TK_ST_BAD_REQUEST;
		reason = "give exactly one of a credential or all";
	} else if (has_all) {
		if ((r = tk_store_cred_revoke_all(d->store, user,
		    &count)) != 0)
			goto fail;
		if (count == 0) {
			st = TK_ST_NOT_FOUND;
			reason = "no credential to revoke";
		}
	} else {
		ev.cred = id;
		r = tk_store_cred_get(d->store, user, id, &c);
		if (r == TK_ERR_NOTFOUND ||
		    (r == 0 && c.state == TK_CRED_REVOKED)) {
			st = TK_ST_NOT_FOUND;
			reason = "no such credential";
		} else if (r != 0)
			goto fail;
		else {
			if ((r = tk_store_cred_set_state(d->store, user, id,
			    TK_CRED_REVOKED)) != 0)
				goto fail;
			count = 1;
		}
	}

	ev.result = st == TK_ST_OK ? "ok" : st == TK_ST_NOT_FOUND ?
	    "not_found" : "bad_request";
	ev.reason = reason;
	if ((r = tk_answer_new(TK_MSG_CRED_REVOKE, st, reason, &m)) != 0 ||
	    (st == TK_ST_OK &&
	    (r = tk_msg_set_uint(m, TK_KEY_CREDS_COUNT, count)) != 0) ||
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
	tk_cred_clear(&c);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_user_unlock(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_throttle th;
	tk_msg_t *m = NULL;
	const char *user;
	uint32_t cleared;
	size_t ulen;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "unlock", user, now);
	if (user == NULL || (ulen = strlen(user)) == 0 || ulen > TK_USER_MAX) {
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
	memcpy(th.user, user, ulen + 1);
	cleared = tk_throttle_unlock(&th);
	if ((r = tk_store_throttle_put(d->store, &th)) != 0)
		goto fail;
	ev.result = "ok";
	if ((r = tk_answer_new(TK_MSG_USER_UNLOCK, TK_ST_OK, NULL, &m)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_FAILURES, cleared)) != 0 ||
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
