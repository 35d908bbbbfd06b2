/*
 * h_enroll.c -- TOTP_ENROLL_BEGIN, TOTP_ENROLL_CONFIRM, and the expiry
 * of pending enrollments.
 *
 * A new secret comes from libsodium's RNG, is sealed to its (user,
 * credential id) before it is stored, and leaves tokend exactly once:
 * inside the otpauth URI of the BEGIN answer.  The credential stays
 * pending, and cannot log in, until CONFIRM sees one valid code; that
 * code's step is recorded, so it cannot be replayed at the first login.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "seal.h"
#include "store.h"
#include "totp.h"
#include "wipe.h"

int
tk_handle_totp_enroll_begin(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	unsigned char secret[TK_TOTP_SECRET_MAX];
	struct tk_audit_event ev;
	struct tk_cred c;
	tk_msg_t *m = NULL;
	unsigned char *blob = NULL;
	size_t blob_len = 0, secret_len = 0, ulen;
	char *uri = NULL;
	const char *user, *label, *algname;
	uint64_t digits = TK_TOTP_DIGITS_DEFAULT;
	int64_t now = 0;
	int alg = TK_TOTP_SHA1;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&c, 0, sizeof(c));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	label = tk_msg_get_text(rq, TK_KEY_LABEL);
	algname = tk_msg_get_text(rq, TK_KEY_ALGORITHM);
	tk_audit_event_init(&ev, d, peer, "enroll_begin", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;

	/* arguments: a refusal is an answer, audited without a transaction */
	if (user == NULL || (ulen = strlen(user)) == 0 || ulen > TK_USER_MAX ||
	    (label != NULL && strlen(label) > TK_LABEL_MAX) ||
	    (tk_msg_has(rq, TK_KEY_DIGITS) &&
	    (tk_msg_get_uint(rq, TK_KEY_DIGITS, &digits) != 0 ||
	    !tk_totp_digits_valid(digits))) ||
	    (algname != NULL && tk_totp_alg_parse(algname, &alg) != 0)) {
		ev.result = "bad_request";
		ev.reason = "invalid user, label, digits or algorithm";
		if ((r = tk_answer_new(TK_MSG_TOTP_ENROLL_BEGIN,
		    TK_ST_BAD_REQUEST, ev.reason, &m)) != 0)
			goto fail;
		goto answer;
	}

	secret_len = tk_totp_secret_len(alg);
	randombytes_buf(secret, secret_len);

	memcpy(c.user, user, ulen + 1);
	if (label != NULL)
		memcpy(c.label, label, strlen(label) + 1);
	c.kind = TK_CRED_TOTP;
	c.state = TK_CRED_PENDING;
	c.created = now;
	c.expires = now + (int64_t)d->conf->totp_pending_ttl;
	c.digits = (unsigned)digits;
	c.algorithm = alg;
	c.period = TK_TOTP_PERIOD_DEFAULT;
	c.key_id = tk_master_key_id(d->key);

	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_cred_insert(d->store, &c)) != 0)
		goto fail;
	ev.cred = c.id;
	if ((r = tk_seal(d->key, c.user, c.id, secret, secret_len, &blob,
	    &blob_len)) != 0 ||
	    (r = tk_store_cred_set_secret(d->store, c.id, c.key_id, blob,
	    blob_len)) != 0)
		goto fail;
	r = tk_totp_uri(d->conf->totp_issuer, user, secret, secret_len, alg,
	    c.digits, c.period, &uri);
	sodium_memzero(secret, sizeof(secret));
	if (r == TK_ERR_TOOBIG) {
		/* a name too long for an authenticator: nothing is kept */
		tk_store_rollback(d->store);
		in_tx = false;
		ev.cred = 0;
		ev.result = "bad_request";
		ev.reason = "user name too long for an otpauth URI";
		if ((r = tk_answer_new(TK_MSG_TOTP_ENROLL_BEGIN,
		    TK_ST_BAD_REQUEST, ev.reason, &m)) != 0)
			goto fail;
		goto answer;
	}
	if (r != 0)
		goto fail;
	ev.result = "ok";
	if ((r = tk_answer_new(TK_MSG_TOTP_ENROLL_BEGIN, TK_ST_OK, NULL,
	    &m)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_USER, user)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_CRED, c.id)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_URI, uri)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_STATE,
	    tk_cred_state_name(TK_CRED_PENDING))) != 0)
		goto fail;
answer:
	if (!in_tx) {
		if ((r = tk_store_begin(d->store)) != 0)
			goto fail;
		in_tx = true;
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
	sodium_memzero(secret, sizeof(secret));
	tk_strfreezero(uri);
	tk_freezero(blob, blob_len);
	tk_cred_clear(&c);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_totp_enroll_confirm(struct tk_daemon *d,
    const struct tk_peer *peer, const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_cred c;
	tk_msg_t *m = NULL;
	const char *user, *code, *reason = NULL;
	enum tk_status st = TK_ST_INTERNAL;
	uint64_t id = 0, step = 0;
	int64_t now = 0;
	bool in_tx = false, matched = false;
	int r;

	*an = NULL;
	memset(&c, 0, sizeof(c));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	code = tk_msg_get_text(rq, TK_KEY_CODE);
	tk_audit_event_init(&ev, d, peer, "enroll_confirm", user, now);
	if (user == NULL || code == NULL ||
	    tk_msg_get_uint(rq, TK_KEY_CRED, &id) != 0) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	ev.cred = id;
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;

	r = tk_store_cred_get(d->store, user, id, &c);
	if (r == TK_ERR_NOTFOUND || (r == 0 && (c.kind != TK_CRED_TOTP ||
	    c.state == TK_CRED_REVOKED))) {
		st = TK_ST_NOT_FOUND;
		reason = "no such pending credential";
	} else if (r != 0)
		goto fail;
	else if (c.state == TK_CRED_ACTIVE) {
		st = TK_ST_EXISTS;
		reason = "credential already active";
	} else if (c.state != TK_CRED_PENDING) {
		r = TK_ERR_INVAL;
		goto fail;
	} else if (c.expires <= now) {
		st = TK_ST_EXPIRED;
		reason = "pending enrollment expired";
	} else {
		if ((r = tk_totp_check_cred(d, &c, code, now, &matched,
		    &step)) != 0)
			goto fail;
		st = TK_ST_WRONG;
		if (matched) {
			r = tk_store_totp_accept_step(d->store, c.id, step,
			    now);
			if (r == 0) {
				if ((r = tk_store_cred_set_state(d->store,
				    user, c.id, TK_CRED_ACTIVE)) != 0)
					goto fail;
				st = TK_ST_OK;
			} else if (r != TK_ERR_REPLAY)
				goto fail;
		}
	}

	ev.result = st == TK_ST_OK ? "ok" : st == TK_ST_WRONG ? "wrong" :
	    st == TK_ST_EXPIRED ? "expired" : st == TK_ST_EXISTS ? "exists" :
	    "not_found";
	ev.reason = reason;
	if ((r = tk_answer_new(TK_MSG_TOTP_ENROLL_CONFIRM, st, reason,
	    &m)) != 0)
		goto fail;
	if (st == TK_ST_OK &&
	    ((r = tk_msg_set_uint(m, TK_KEY_CRED, c.id)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_STATE,
	    tk_cred_state_name(TK_CRED_ACTIVE))) != 0))
		goto fail;
	in_tx = false;	/* tk_handler_finish() ends the transaction */
	if ((r = tk_handler_finish(d, &ev, &m, an)) != 0)
		goto fail;

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

/* the pending-enrollment half of tk_handle_expire_pending() */
static int
tk_expire_pending_creds(struct tk_daemon *d, uint64_t *count)
{
	struct tk_audit_event ev;
	struct tk_cred *list = NULL;
	size_t n = 0, i;
	uint64_t expired = 0, removed = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*count = 0;
	tk_audit_event_init(&ev, d, NULL, "enroll_expire", NULL, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	/*
	 * one row per credential: list first, with the store's predicate;
	 * only the due pending ones are read (an index), never every
	 * credential: the sweep also runs at start, before the first answer
	 */
	if ((r = tk_store_cred_pending_due(d->store, now, &list, &n)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (list[i].state != TK_CRED_PENDING || list[i].expires >= now)
			continue;
		tk_audit_event_init(&ev, d, NULL, "enroll_expire",
		    list[i].user, now);
		ev.cred = list[i].id;
		ev.result = "ok";
		ev.reason = "pending enrollment expired";
		if ((r = tk_audit_append(d, &ev)) != 0)
			goto fail;
		expired++;
	}
	if (expired == 0) {
		tk_store_rollback(d->store);
		in_tx = false;
		r = 0;
		goto fail;
	}
	if ((r = tk_store_cred_expire(d->store, now, &removed)) != 0)
		goto fail;
	if (removed != expired)
		tk_log(LOG_WARNING, "expired %llu pending enrollments, "
		    "audited %llu", (unsigned long long)removed,
		    (unsigned long long)expired);
	in_tx = false;
	if ((r = tk_handler_commit(d)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (list[i].state != TK_CRED_PENDING || list[i].expires >= now)
			continue;
		tk_audit_event_init(&ev, d, NULL, "enroll_expire",
		    list[i].user, now);
		ev.cred = list[i].id;
		ev.result = "ok";
		ev.reason = "pending enrollment expired";
		tk_audit_log(&ev);
	}
	*count = removed;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_log(LOG_ERR, "cannot expire pending enrollments: %s",
		    tk_strerr(r));
	tk_cred_list_free(&list, n);
	return (r);
}

int
tk_handle_expire_pending(struct tk_daemon *d, uint64_t *count)
{
	uint64_t grants = 0, challenges = 0;
	int r, rg, rc;

	*count = 0;
	/* every sweep runs; the first error is returned */
	if ((rg = tk_handle_expire_grants(d, &grants)) == 0 && grants > 0)
		tk_log(LOG_INFO, "%llu emergency grants expired",
		    (unsigned long long)grants);
	rc = tk_handle_expire_challenges(d, &challenges);
	r = tk_expire_pending_creds(d, count);
	return (r != 0 ? r : rg != 0 ? rg : rc);
}
