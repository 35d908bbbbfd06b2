/*
 * h_fido2.c -- FIDO2_ENROLL_BEGIN, FIDO2_ENROLL_FINISH, FIDO2_BEGIN,
 * FIDO2_FINISH, CRED_REINSTATE, and the expiry of challenges.
 *
 * Invariants this file MUST keep (DESIGN.md, FIDO2 login and
 * enrollment):
 *  1. A challenge is 32 random bytes from libsodium, held in the store
 *     with its user, purpose and expiry, and used at most once: the
 *     FINISH handlers burn it (tk_store_challenge_take, one conditional
 *     update) before anything is verified, in the transaction of the
 *     decision, so no answer lets the same challenge be tried again.
 *     The one exception: FIDO2_FINISH naming another user's login
 *     challenge is rolled back, so no caller can burn (and fail) a
 *     login of someone else.
 *  2. Verification uses only the configured rp_id and the stored
 *     challenge (the client data hash), never values the caller sent,
 *     and the stored public key of a credential that belongs to the
 *     named user and is active (fido2.c).
 *  3. FIDO2_BEGIN and FIDO2_FINISH check the throttle first (LOCKED and
 *     THROTTLED are not failures).  In FIDO2_FINISH every refusal but an
 *     expired challenge is one failure, as a wrong TOTP code is; the
 *     failure that reaches max_failures locks the user.  Only a
 *     verified assertion whose counter grew resets the count.
 *  4. The signature counter is judged by the store's single conditional
 *     update (tk_store_fido2_accept_count); a counter that did not grow
 *     suspends the credential in the same transaction, is audited as a
 *     possible cloned key, and fails the login.
 *  5. Every outcome is one audit row in the transaction of its change,
 *     and the answer leaves only after the commit; a store, crypto or
 *     clock failure rolls everything back and answers TK_ST_INTERNAL.
 *  6. FIDO2_BEGIN answers an unknown user exactly as a user without an
 *     active FIDO2 credential (NOT_ENROLLED), which is what USER_STATUS
 *     already tells the same caller; a self caller can only name itself
 *     (dispatch.c).
 *  7. Nothing here touches a device, and no challenge is logged.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "fido2.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "throttle.h"

/* the configured [fido2] user_verification (checked when loaded) */
static int
tk_fido2_conf_uv(const struct tk_daemon *d, int *uv)
{
	if (tk_fido2_uv_parse(d->conf->fido2_uv, uv) != 0) {
		tk_log(LOG_ERR, "[fido2] user_verification is not one of "
		    "required, preferred, discouraged");
		return (TK_ERR_CONFIG);
	}
	return (0);
}

/* a user name as store.h takes it */
static bool
tk_fido2_user_ok(const char *user)
{
	size_t n;

	return (user != NULL && (n = strlen(user)) > 0 && n <= TK_USER_MAX);
}

/*
 * Adds the credential ids of the FIDO2 credentials in list[0..n) that
 * are active (or, with `any_live', not revoked) to the list field
 * CRED_IDS, at most TK_FIDO2_CREDS_MAX of them.
 */
static int
tk_fido2_add_cred_ids(tk_msg_t *m, const struct tk_cred *list, size_t n,
    bool any_live)
{
	tk_msg_t *rec;
	size_t i, added = 0;
	int r;

	for (i = 0; i < n && added < TK_FIDO2_CREDS_MAX; i++) {
		if (list[i].kind != TK_CRED_FIDO2 ||
		    list[i].state == TK_CRED_REVOKED ||
		    (!any_live && list[i].state != TK_CRED_ACTIVE))
			continue;
		if ((rec = tk_msg_add_record(m, TK_KEY_CRED_IDS)) == NULL)
			return (TK_ERR_NOMEM);
		if ((r = tk_msg_set_bytes(rec, TK_KEY_CRED_ID, list[i].cred_id,
		    list[i].cred_id_len)) != 0)
			return (r);
		added++;
	}
	return (0);
}

/* the AAGUID as UUID text, for audit reasons (public data) */
static void
tk_fido2_aaguid_text(const unsigned char a[TK_FIDO2_AAGUID_BYTES],
    char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < TK_FIDO2_AAGUID_BYTES; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[a[i] >> 4];
		out[o++] = hex[a[i] & 0x0f];
	}
	out[o] = '\0';
}

/* *allowed: the AAGUID is in [fido2] allowed_aaguids, or the list is empty */
static int
tk_fido2_aaguid_allowed(const struct tk_daemon *d,
    const unsigned char aaguid[TK_FIDO2_AAGUID_BYTES], bool *allowed)
{
	unsigned char list[TK_CONF_AAGUIDS_MAX][16];
	size_t n = 0, i;
	int r;

	*allowed = false;
	if ((r = tk_conf_aaguids(d->conf, list, TK_CONF_AAGUIDS_MAX,
	    &n)) != 0) {
		tk_log(LOG_ERR, "[fido2] allowed_aaguids cannot be read");
		return (r);
	}
	if (n == 0)
		*allowed = true;
	for (i = 0; i < n; i++)
		if (memcmp(list[i], aaguid, TK_FIDO2_AAGUID_BYTES) == 0)
			*allowed = true;
	return (0);
}

int
tk_handle_fido2_enroll_begin(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_challenge ch;
	struct tk_cred *list = NULL;
	size_t n = 0, i, live = 0;
	tk_msg_t *m = NULL;
	const char *user, *label, *uvname, *reason = NULL;
	enum tk_status st = TK_ST_OK;
	int64_t now = 0;
	bool in_tx = false, have_handle = false;
	int uv = 0, r;

	*an = NULL;
	memset(&ch, 0, sizeof(ch));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	label = tk_msg_get_text(rq, TK_KEY_LABEL);
	uvname = tk_msg_get_text(rq, TK_KEY_UV);
	tk_audit_event_init(&ev, d, peer, "fido2_enroll_begin", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;

	if (!tk_fido2_user_ok(user) ||
	    (label != NULL && strlen(label) > TK_LABEL_MAX) ||
	    (uvname != NULL && tk_fido2_uv_parse(uvname, &uv) != 0)) {
		st = TK_ST_BAD_REQUEST;
		reason = "invalid user, label or user verification";
		goto answer;
	}
	if (uvname == NULL && (r = tk_fido2_conf_uv(d, &uv)) != 0)
		goto fail;
	if ((r = tk_store_cred_list(d->store, user, &list, &n)) != 0)
		goto fail;
	/* one user handle a user: reuse the one of a live credential */
	for (i = 0; i < n; i++) {
		if (list[i].kind != TK_CRED_FIDO2 ||
		    list[i].state == TK_CRED_REVOKED)
			continue;
		if (!have_handle)
			memcpy(ch.user_handle, list[i].user_handle,
			    sizeof(ch.user_handle));
		have_handle = true;
		live++;
	}
	if (live >= TK_FIDO2_CREDS_MAX) {
		st = TK_ST_EXISTS;
		reason = "user has the most FIDO2 credentials allowed; "
		    "revoke one first";
		goto answer;
	}
	memcpy(ch.user, user, strlen(user) + 1);
	if (label != NULL)
		memcpy(ch.label, label, strlen(label) + 1);
	ch.purpose = TK_CHALLENGE_ENROLL;
	ch.uv = uv;
	ch.created = now;
	ch.expires = now + (int64_t)d->conf->fido2_enroll_ttl;
	randombytes_buf(ch.challenge, sizeof(ch.challenge));
	if (!have_handle)
		randombytes_buf(ch.user_handle, sizeof(ch.user_handle));
	if ((r = tk_store_challenge_insert(d->store, &ch)) != 0)
		goto fail;

answer:
	ev.result = tk_status_name(st);
	ev.reason = reason;
	if ((r = tk_answer_new(TK_MSG_FIDO2_ENROLL_BEGIN, st, reason,
	    &m)) != 0)
		goto fail;
	if (st == TK_ST_OK &&
	    ((r = tk_msg_set_text(m, TK_KEY_USER, user)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_CHALLENGE_ID, ch.id)) != 0 ||
	    (r = tk_msg_set_bytes(m, TK_KEY_CHALLENGE, ch.challenge,
	    sizeof(ch.challenge))) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_RP_ID,
	    d->conf->fido2_rp_id)) != 0 ||
	    (r = tk_msg_set_bytes(m, TK_KEY_USER_HANDLE, ch.user_handle,
	    sizeof(ch.user_handle))) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_ALGORITHMS,
	    TK_FIDO2_ALGORITHMS)) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_UV, tk_fido2_uv_name(uv))) != 0 ||
	    (r = tk_fido2_add_cred_ids(m, list, n, true)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_EXPIRES,
	    (uint64_t)ch.expires)) != 0))
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
	sodium_memzero(&ch, sizeof(ch));
	tk_cred_list_free(&list, n);
	tk_msg_free(&m);
	return (r);
}

/*
 * The verification half of FIDO2_ENROLL_FINISH, on a challenge taken
 * and checked: attestation, UV policy, key model, uniqueness and the
 * limit, then the insert.  *st and *reason say the outcome; on TK_ST_OK
 * *c is the stored credential.  `why' holds a reason built here.
 */
static int
tk_fido2_enroll_store(struct tk_daemon *d, const struct tk_challenge *ch,
    const struct tk_fido2_attestation *att, int64_t now, struct tk_cred *c,
    enum tk_status *st, const char **reason, char *why, size_t whylen)
{
	struct tk_cred other;
	struct tk_cred *list = NULL;
	enum tk_fido2_verdict v;
	size_t n = 0, i, live = 0;
	char text[37];
	bool allowed;
	int r;

	memset(&other, 0, sizeof(other));
	if ((r = tk_fido2_verify_attestation(d->conf->fido2_rp_id,
	    ch->challenge, att, ch->uv == TK_UV_REQUIRED, c, &v,
	    reason)) != 0)
		goto fail;
	if (v != TK_FIDO2_OK) {
		*st = v == TK_FIDO2_REFUSED ? TK_ST_NOT_ALLOWED : TK_ST_WRONG;
		goto fail;
	}
	if ((r = tk_fido2_aaguid_allowed(d, c->aaguid, &allowed)) != 0)
		goto fail;
	if (!allowed) {
		tk_fido2_aaguid_text(c->aaguid, text);
		(void)snprintf(why, whylen, "key model not allowed (AAGUID "
		    "%s)", text);
		*st = TK_ST_NOT_ALLOWED;
		*reason = why;
		goto fail;
	}
	r = tk_store_fido2_find(d->store, c->cred_id, c->cred_id_len, &other);
	if (r == 0) {
		*st = TK_ST_EXISTS;
		*reason = "credential id already registered";
		goto fail;
	}
	if (r != TK_ERR_NOTFOUND)
		goto fail;
	/* the limit again: several enrollments may have begun at once */
	if ((r = tk_store_cred_list(d->store, ch->user, &list, &n)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (list[i].kind == TK_CRED_FIDO2 &&
		    list[i].state != TK_CRED_REVOKED)
			live++;
	if (live >= TK_FIDO2_CREDS_MAX) {
		*st = TK_ST_EXISTS;
		*reason = "user has the most FIDO2 credentials allowed; "
		    "revoke one first";
		goto fail;
	}
	memcpy(c->user, ch->user, sizeof(c->user));
	memcpy(c->label, ch->label, sizeof(c->label));
	memcpy(c->user_handle, ch->user_handle, sizeof(c->user_handle));
	c->kind = TK_CRED_FIDO2;
	c->state = TK_CRED_ACTIVE;
	c->created = now;
	r = tk_store_cred_insert(d->store, c);
	if (r == TK_ERR_EXISTS) {
		*st = TK_ST_EXISTS;
		*reason = "credential id already registered";
		goto fail;
	}
	if (r != 0)
		goto fail;
	*st = TK_ST_OK;
	*reason = NULL;

	r = 0; /* success */
fail:
	if (r == TK_ERR_EXISTS)
		r = 0;		/* answered EXISTS */
	tk_cred_clear(&other);
	tk_cred_list_free(&list, n);
	return (r);
}

int
tk_handle_fido2_enroll_finish(struct tk_daemon *d,
    const struct tk_peer *peer, const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_fido2_attestation att;
	struct tk_audit_event ev;
	struct tk_challenge ch;
	struct tk_cred c;
	tk_msg_t *m = NULL;
	const char *user, *algname, *reason = NULL;
	char why[96];
	enum tk_status st = TK_ST_INTERNAL;
	uint64_t chid = 0;
	int64_t now = 0;
	bool in_tx = false, has_sig, has_x5c;
	int r;

	*an = NULL;
	memset(&att, 0, sizeof(att));
	memset(&ch, 0, sizeof(ch));
	memset(&c, 0, sizeof(c));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	algname = tk_msg_get_text(rq, TK_KEY_ALGORITHM);
	att.fmt = tk_msg_get_text(rq, TK_KEY_FMT);
	has_sig = tk_msg_has(rq, TK_KEY_SIG);
	has_x5c = tk_msg_has(rq, TK_KEY_X5C);
	tk_audit_event_init(&ev, d, peer, "fido2_enroll", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;

	/* bad input changes nothing: checked before the challenge burns */
	if (!tk_fido2_user_ok(user) || att.fmt == NULL ||
	    tk_msg_get_uint(rq, TK_KEY_CHALLENGE_ID, &chid) != 0 ||
	    chid == 0 || chid > INT64_MAX ||
	    tk_fido2_alg_parse(algname, &att.alg) != 0 ||
	    tk_msg_get_bytes(rq, TK_KEY_AUTHDATA, &att.authdata,
	    &att.authdata_len) != 0 || att.authdata_len == 0 ||
	    (has_sig && tk_msg_get_bytes(rq, TK_KEY_SIG, &att.sig,
	    &att.sig_len) != 0) ||
	    (has_x5c && tk_msg_get_bytes(rq, TK_KEY_X5C, &att.x5c,
	    &att.x5c_len) != 0)) {
		st = TK_ST_BAD_REQUEST;
		reason = "invalid user, challenge, algorithm or attestation";
		goto answer;
	}
	r = tk_store_challenge_take(d->store, chid, TK_CHALLENGE_ENROLL, &ch);
	if (r == TK_ERR_NOTFOUND || (r == 0 && strcmp(ch.user, user) != 0)) {
		st = TK_ST_NOT_FOUND;
		reason = "no such enrollment challenge";
	} else if (r == TK_ERR_REPLAY) {
		st = TK_ST_REPLAY;
		reason = "enrollment challenge already used";
	} else if (r != 0)
		goto fail;
	else if (ch.expires <= now) {
		st = TK_ST_EXPIRED;
		reason = "enrollment challenge expired";
	} else if ((r = tk_fido2_enroll_store(d, &ch, &att, now, &c, &st,
	    &reason, why, sizeof(why))) != 0)
		goto fail;
	r = 0;

answer:
	ev.result = tk_status_name(st);
	ev.reason = reason;
	ev.cred = c.id;
	if ((r = tk_answer_new(TK_MSG_FIDO2_ENROLL_FINISH, st, reason,
	    &m)) != 0)
		goto fail;
	if (st == TK_ST_OK &&
	    ((r = tk_msg_set_uint(m, TK_KEY_CRED, c.id)) != 0 ||
	    (r = tk_msg_set_bytes(m, TK_KEY_CRED_ID, c.cred_id,
	    c.cred_id_len)) != 0 ||
	    (r = tk_msg_set_bytes(m, TK_KEY_AAGUID, c.aaguid,
	    sizeof(c.aaguid))) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_ALGORITHM,
	    tk_fido2_alg_name(c.algorithm))) != 0 ||
	    (r = tk_msg_set_text(m, TK_KEY_FMT, c.fmt)) != 0 ||
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
	sodium_memzero(&ch, sizeof(ch));
	tk_cred_clear(&c);
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_fido2_begin(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_throttle_policy pol;
	struct tk_audit_event ev;
	struct tk_throttle th;
	struct tk_challenge ch;
	struct tk_cred *creds = NULL;
	size_t ncreds = 0;
	tk_msg_t *m = NULL;
	const char *user;
	enum tk_status st = TK_ST_OK;
	uint64_t retry = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	memset(&ch, 0, sizeof(ch));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "fido2_challenge", user, now);
	ev.service = tk_msg_get_text(rq, TK_KEY_SERVICE);
	ev.rhost = tk_msg_get_text(rq, TK_KEY_RHOST);
	ev.tty = tk_msg_get_text(rq, TK_KEY_TTY);
	if (!tk_fido2_user_ok(user)) {
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
	switch (tk_throttle_check(&pol, &th, now, &retry)) {
	case TK_THROTTLE_LOCKED:
		st = TK_ST_LOCKED;
		break;
	case TK_THROTTLE_WAIT:
		st = TK_ST_THROTTLED;
		break;
	default:
		if ((r = tk_store_cred_active(d->store, user, TK_CRED_FIDO2,
		    &creds, &ncreds)) != 0)
			goto fail;
		if (ncreds == 0) {
			st = TK_ST_NOT_ENROLLED;	/* invariant 6 */
			break;
		}
		memcpy(ch.user, user, strlen(user) + 1);
		ch.purpose = TK_CHALLENGE_LOGIN;
		if ((r = tk_fido2_conf_uv(d, &ch.uv)) != 0)
			goto fail;
		ch.created = now;
		ch.expires = now + (int64_t)d->conf->fido2_challenge_ttl;
		randombytes_buf(ch.challenge, sizeof(ch.challenge));
		if ((r = tk_store_challenge_insert(d->store, &ch)) != 0)
			goto fail;
		break;
	}

	ev.result = tk_status_name(st);
	if ((r = tk_answer_new(TK_MSG_FIDO2_BEGIN, st, NULL, &m)) != 0)
		goto fail;
	if (st == TK_ST_OK) {
		if ((r = tk_msg_set_uint(m, TK_KEY_CHALLENGE_ID, ch.id)) != 0 ||
		    (r = tk_msg_set_bytes(m, TK_KEY_CHALLENGE, ch.challenge,
		    sizeof(ch.challenge))) != 0 ||
		    (r = tk_msg_set_text(m, TK_KEY_RP_ID,
		    d->conf->fido2_rp_id)) != 0 ||
		    (r = tk_fido2_add_cred_ids(m, creds, ncreds, false)) != 0 ||
		    (r = tk_msg_set_text(m, TK_KEY_UV,
		    tk_fido2_uv_name(ch.uv))) != 0 ||
		    (r = tk_msg_set_bool(m, TK_KEY_UP, true)) != 0)
			goto fail;
		r = tk_msg_set_uint(m, TK_KEY_EXPIRES, (uint64_t)ch.expires);
	} else if (st == TK_ST_THROTTLED)
		r = tk_msg_set_uint(m, TK_KEY_RETRY_AFTER, retry);
	else if (st == TK_ST_LOCKED)
		r = tk_msg_set_uint(m, TK_KEY_FAILURES, th.failures);
	if (r != 0)
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
	sodium_memzero(&ch, sizeof(ch));
	tk_cred_list_free(&creds, ncreds);
	tk_msg_free(&m);
	return (r);
}

/*
 * The decision of FIDO2_FINISH after the throttle let it through:
 * burns the challenge, finds the credential, verifies the assertion and
 * the counter.  *outcome is the verdict, *counted whether it is a
 * failure, *cred the credential concerned (0: none), *count the
 * assertion's counter.  `why' holds a reason built here.
 */
static int
tk_fido2_finish_decide(struct tk_daemon *d, const char *user,
    uint64_t chid, const unsigned char *cred_id, size_t cred_id_len,
    const struct tk_fido2_assertion *as, int64_t now,
    enum tk_status *outcome, bool *counted, const char **reason,
    uint64_t *cred, uint32_t *count, bool *foreign, char *why, size_t whylen)
{
	struct tk_challenge ch;
	struct tk_cred c;
	enum tk_fido2_verdict v;
	int r;

	memset(&ch, 0, sizeof(ch));
	memset(&c, 0, sizeof(c));
	*outcome = TK_ST_WRONG;
	*counted = true;
	*reason = NULL;
	*cred = 0;
	*count = 0;
	*foreign = false;

	/* invariant 1: burnt first, whatever follows */
	r = tk_store_challenge_take(d->store, chid, TK_CHALLENGE_LOGIN, &ch);
	if (r == TK_ERR_NOTFOUND || (r == 0 && strcmp(ch.user, user) != 0)) {
		*foreign = r == 0;	/* burnt: the caller undoes that */
		*reason = "no such challenge";
		r = 0;
		goto fail;
	}
	if (r == TK_ERR_REPLAY) {
		*outcome = TK_ST_REPLAY;
		*reason = "challenge already used";
		r = 0;
		goto fail;
	}
	if (r != 0)
		goto fail;
	if (ch.expires <= now) {
		*outcome = TK_ST_EXPIRED;
		*counted = false;
		*reason = "challenge expired";
		goto fail;
	}
	r = tk_store_fido2_find(d->store, cred_id, cred_id_len, &c);
	if (r == TK_ERR_NOTFOUND || (r == 0 && strcmp(c.user, user) != 0)) {
		*reason = "unknown credential";
		r = 0;
		goto fail;
	}
	if (r != 0)
		goto fail;
	*cred = c.id;
	if (c.state == TK_CRED_SUSPENDED) {
		*outcome = TK_ST_SUSPENDED;
		*reason = "credential suspended";
		goto fail;
	}
	if (c.state != TK_CRED_ACTIVE) {
		*reason = "credential not active";
		goto fail;
	}
	if ((r = tk_fido2_verify_assertion(d->conf->fido2_rp_id,
	    ch.challenge, &c, as, ch.uv == TK_UV_REQUIRED, &v, reason,
	    count)) != 0)
		goto fail;
	if (v != TK_FIDO2_OK)
		goto fail;		/* WRONG, with the verifier's reason */
	/* invariant 4 */
	r = tk_store_fido2_accept_count(d->store, c.id, *count, now);
	if (r == TK_ERR_REPLAY) {
		if ((r = tk_store_cred_set_state(d->store, user, c.id,
		    TK_CRED_SUSPENDED)) != 0)
			goto fail;
		(void)snprintf(why, whylen, "possible cloned key: signature "
		    "counter %" PRIu32 " not above %" PRIu32 "; credential "
		    "suspended", *count, c.sign_count);
		tk_log(LOG_WARNING, "FIDO2 credential %llu of %s suspended: "
		    "possible cloned key", (unsigned long long)c.id, user);
		*outcome = TK_ST_SUSPENDED;
		*reason = why;
		goto fail;
	}
	if (r != 0)
		goto fail;
	*outcome = TK_ST_OK;
	*counted = false;

	r = 0; /* success */
fail:
	sodium_memzero(&ch, sizeof(ch));
	tk_cred_clear(&c);
	return (r);
}

int
tk_handle_fido2_finish(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_fido2_assertion as;
	struct tk_throttle_policy pol;
	struct tk_audit_event ev;
	struct tk_throttle th;
	tk_msg_t *m = NULL;
	const unsigned char *cred_id = NULL;
	size_t cred_id_len = 0;
	const char *user, *reason = NULL;
	char why[128];
	enum tk_status st, outcome = TK_ST_INTERNAL;
	uint64_t retry = 0, cred = 0, chid = 0;
	uint32_t count = 0;
	int64_t now = 0;
	bool in_tx = false, put = false, counted = false, foreign = false;
	int r;

	*an = NULL;
	memset(&th, 0, sizeof(th));
	memset(&as, 0, sizeof(as));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "fido2_verify", user, now);
	ev.service = tk_msg_get_text(rq, TK_KEY_SERVICE);
	ev.rhost = tk_msg_get_text(rq, TK_KEY_RHOST);
	ev.tty = tk_msg_get_text(rq, TK_KEY_TTY);
	/* the schema makes these present; a request without them is a bug */
	if (!tk_fido2_user_ok(user) ||
	    tk_msg_get_uint(rq, TK_KEY_CHALLENGE_ID, &chid) != 0 ||
	    tk_msg_get_bytes(rq, TK_KEY_CRED_ID, &cred_id,
	    &cred_id_len) != 0 ||
	    tk_msg_get_bytes(rq, TK_KEY_AUTHDATA, &as.authdata,
	    &as.authdata_len) != 0 ||
	    tk_msg_get_bytes(rq, TK_KEY_SIG, &as.sig, &as.sig_len) != 0) {
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
	memcpy(th.user, user, strlen(user) + 1);

	switch (tk_throttle_check(&pol, &th, now, &retry)) {
	case TK_THROTTLE_LOCKED:
		st = outcome = TK_ST_LOCKED;
		break;
	case TK_THROTTLE_WAIT:
		st = outcome = TK_ST_THROTTLED;
		break;
	default:
		if (chid == 0 || chid > INT64_MAX || cred_id_len == 0 ||
		    as.authdata_len == 0 || as.sig_len == 0) {
			/* nothing a key could have sent: a failure */
			outcome = TK_ST_WRONG;
			counted = true;
			reason = "malformed assertion";
		} else if ((r = tk_fido2_finish_decide(d, user, chid,
		    cred_id, cred_id_len, &as, now, &outcome, &counted,
		    &reason, &cred, &count, &foreign, why,
		    sizeof(why))) != 0)
			goto fail;
		if (foreign) {
			/*
			 * Another user's challenge: this caller must not
			 * burn it (that would fail, and count against,
			 * the other user's login).  Undo the take, and
			 * record this failure in a transaction of its own.
			 */
			tk_store_rollback(d->store);
			in_tx = false;
			if ((r = tk_store_begin(d->store)) != 0)
				goto fail;
			in_tx = true;
			if ((r = tk_store_throttle_get(d->store, user,
			    &th)) != 0)
				goto fail;
			memcpy(th.user, user, strlen(user) + 1);
		}
		st = outcome;
		if (outcome == TK_ST_OK)
			put = tk_throttle_succeed(&th);
		else if (counted) {
			put = true;
			if (tk_throttle_fail(&pol, &th, now))
				st = TK_ST_LOCKED;	/* this one locked it */
		}
		break;
	}
	if (put && (r = tk_store_throttle_put(d->store, &th)) != 0)
		goto fail;

	ev.cred = cred;
	ev.result = tk_status_name(st);
	ev.reason = reason;
	if (st != outcome && reason == NULL)
		ev.reason = tk_status_name(outcome);
	if ((r = tk_answer_new(TK_MSG_FIDO2_FINISH, st, reason, &m)) != 0)
		goto fail;
	if (st == TK_ST_OK) {
		if ((r = tk_msg_set_uint(m, TK_KEY_CRED, cred)) != 0)
			goto fail;
		r = tk_msg_set_uint(m, TK_KEY_SIGN_COUNT, count);
	} else if (st == TK_ST_THROTTLED)
		r = tk_msg_set_uint(m, TK_KEY_RETRY_AFTER, retry);
	else
		r = tk_msg_set_uint(m, TK_KEY_FAILURES, th.failures);
	if (r != 0)
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
	tk_msg_free(&m);
	return (r);
}

int
tk_handle_cred_reinstate(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	struct tk_cred c;
	tk_msg_t *m = NULL;
	const char *user, *reason = NULL;
	enum tk_status st = TK_ST_OK;
	uint64_t id = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*an = NULL;
	memset(&c, 0, sizeof(c));
	user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "reinstate", user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;

	if (!tk_fido2_user_ok(user) ||
	    tk_msg_get_uint(rq, TK_KEY_CRED, &id) != 0 || id == 0 ||
	    id > INT64_MAX) {
		st = TK_ST_BAD_REQUEST;
		reason = "invalid user or credential";
		goto answer;
	}
	ev.cred = id;
	r = tk_store_cred_get(d->store, user, id, &c);
	if (r == TK_ERR_NOTFOUND || (r == 0 && c.state == TK_CRED_REVOKED)) {
		st = TK_ST_NOT_FOUND;
		reason = "no such credential";
	} else if (r != 0)
		goto fail;
	else if (c.kind != TK_CRED_FIDO2 || c.state != TK_CRED_SUSPENDED) {
		st = TK_ST_BAD_REQUEST;
		reason = "credential is not suspended";
	} else {
		if ((r = tk_store_cred_set_state(d->store, user, id,
		    TK_CRED_ACTIVE)) != 0)
			goto fail;
		/* the counter stays: only a higher one is accepted next */
		reason = "reinstated; the stored signature counter is kept";
	}
	r = 0;

answer:
	ev.result = tk_status_name(st);
	ev.reason = reason;
	if ((r = tk_answer_new(TK_MSG_CRED_REINSTATE, st,
	    st == TK_ST_OK ? NULL : reason, &m)) != 0)
		goto fail;
	if (st == TK_ST_OK &&
	    ((r = tk_msg_set_uint(m, TK_KEY_CRED, id)) != 0 ||
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

int
tk_handle_expire_challenges(struct tk_daemon *d, uint64_t *count)
{
	int64_t now = 0;
	bool in_tx = false;
	int r;

	*count = 0;
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if ((r = tk_store_challenge_expire(d->store, now, count)) != 0)
		goto fail;
	in_tx = false;
	if ((r = tk_handler_commit(d)) != 0)
		goto fail;
	if (*count > 0)
		tk_log(LOG_DEBUG, "%llu FIDO2 challenges expired",
		    (unsigned long long)*count);

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0) {
		*count = 0;
		tk_log(LOG_ERR, "cannot expire FIDO2 challenges: %s",
		    tk_strerr(r));
	}
	return (r);
}
