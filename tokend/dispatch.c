/*
 * dispatch.c -- the request table and the answers to requests that did
 * not decode.
 *
 * The table is the only place that says who may do what.  A request
 * reaches a handler only after it decoded strictly against its schema
 * (msg.c) and the table allowed the caller's role; a refusal is
 * answered, counted, audited, and ends the connection.
 */
#include "config.h"

#include <string.h>

#include "audit.h"
#include "dispatch.h"
#include "err.h"
#include "log.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct tk_dispatch_entry dispatch_table[] = {
	{ TK_MSG_STATUS, TK_ROLE_SELF, 0, tk_handle_status },
	{ TK_MSG_USER_STATUS, TK_ROLE_SELF, TK_DF_OWN_USER,
	    tk_handle_user_status },
	{ TK_MSG_TOTP_VERIFY, TK_ROLE_SELF, TK_DF_OWN_USER,
	    tk_handle_totp_verify },
	{ TK_MSG_TOTP_ENROLL_BEGIN, TK_ROLE_ADMIN, 0,
	    tk_handle_totp_enroll_begin },
	{ TK_MSG_TOTP_ENROLL_CONFIRM, TK_ROLE_ADMIN, 0,
	    tk_handle_totp_enroll_confirm },
	{ TK_MSG_CRED_LIST, TK_ROLE_ADMIN, 0, tk_handle_cred_list },
	{ TK_MSG_CRED_REVOKE, TK_ROLE_ADMIN, 0, tk_handle_cred_revoke },
	{ TK_MSG_USER_UNLOCK, TK_ROLE_ADMIN, 0, tk_handle_user_unlock },
	{ TK_MSG_AUDIT_VERIFY, TK_ROLE_ADMIN, 0, tk_handle_audit_verify },
	{ TK_MSG_AUDIT_EXPORT, TK_ROLE_ADMIN, 0, tk_handle_audit_export },
	{ TK_MSG_AUDIT_PRUNE, TK_ROLE_ADMIN, 0, tk_handle_audit_prune },
	{ TK_MSG_RECOVERY_ISSUE, TK_ROLE_ADMIN, 0,
	    tk_handle_recovery_issue },
	{ TK_MSG_GRANT, TK_ROLE_ADMIN, 0, tk_handle_grant },
	{ TK_MSG_GRANT_REVOKE, TK_ROLE_ADMIN, 0, tk_handle_grant_revoke },
	{ TK_MSG_GRANT_LIST, TK_ROLE_ADMIN, 0, tk_handle_grant_list },
	{ TK_MSG_GRANT_USE, TK_ROLE_SELF, TK_DF_OWN_USER,
	    tk_handle_grant_use },
	/* writes a file as tokend: root only */
	{ TK_MSG_BACKUP, TK_ROLE_ROOT, 0, tk_handle_backup },
	{ TK_MSG_FIDO2_ENROLL_BEGIN, TK_ROLE_ADMIN, 0,
	    tk_handle_fido2_enroll_begin },
	{ TK_MSG_FIDO2_ENROLL_FINISH, TK_ROLE_ADMIN, 0,
	    tk_handle_fido2_enroll_finish },
	{ TK_MSG_FIDO2_BEGIN, TK_ROLE_SELF, TK_DF_OWN_USER,
	    tk_handle_fido2_begin },
	{ TK_MSG_FIDO2_FINISH, TK_ROLE_SELF, TK_DF_OWN_USER,
	    tk_handle_fido2_finish },
	{ TK_MSG_CRED_REINSTATE, TK_ROLE_ADMIN, 0, tk_handle_cred_reinstate },
};

const struct tk_dispatch_entry *
tk_dispatch_lookup(uint32_t type)
{
	size_t i;

	for (i = 0; i < NITEMS(dispatch_table); i++)
		if (dispatch_table[i].type == type)
			return (&dispatch_table[i]);
	return (NULL);
}

enum tk_status
tk_dispatch_permit(enum tk_role role, const char *peer_user, uint32_t type,
    const char *req_user)
{
	const struct tk_dispatch_entry *e;

	if ((e = tk_dispatch_lookup(type)) == NULL)
		return (TK_ST_BAD_REQUEST);
	if (role == TK_ROLE_NONE || role < e->role)
		return (TK_ST_DENIED);
	/* admin and root act for anyone; self only for itself */
	if ((e->flags & TK_DF_OWN_USER) != 0 && role == TK_ROLE_SELF &&
	    req_user != NULL &&
	    (peer_user == NULL || strcmp(peer_user, req_user) != 0))
		return (TK_ST_DENIED);
	return (TK_ST_OK);
}

/* Records a refusal: its own transaction, one audit row, one log line. */
static void
tk_dispatch_audit_denied(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq)
{
	struct tk_audit_event ev;
	int64_t now;
	int r;

	d->counters.denied++;
	if ((r = tk_daemon_now(d, &now)) != 0)
		now = 0;
	tk_audit_event_init(&ev, d, peer, "denied",
	    tk_msg_get_text(rq, TK_KEY_USER), now);
	ev.service = tk_msg_get_text(rq, TK_KEY_SERVICE);
	ev.rhost = tk_msg_get_text(rq, TK_KEY_RHOST);
	ev.tty = tk_msg_get_text(rq, TK_KEY_TTY);
	ev.result = "denied";
	ev.reason = tk_msg_type_name(tk_msg_type(rq));
	if (r == 0 && (r = tk_store_begin(d->store)) == 0) {
		if ((r = tk_audit_append(d, &ev)) == 0)
			r = tk_handler_commit(d);
		else
			tk_store_rollback(d->store);
	}
	if (r != 0)
		tk_log(LOG_ERR, "refusal of %s to uid %lld not stored: %s",
		    ev.reason, (long long)peer->uid, tk_strerr(r));
	tk_audit_log(&ev);
}

int
tk_dispatch(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an, bool *close)
{
	const struct tk_dispatch_entry *e;
	enum tk_status st;
	uint32_t type;
	int r;

	*an = NULL;
	*close = false;
	type = tk_msg_type(rq);
	d->counters.requests++;
	st = tk_dispatch_permit(peer->role, peer->user, type,
	    tk_msg_get_text(rq, TK_KEY_USER));
	if (st != TK_ST_OK) {
		if (st == TK_ST_DENIED)
			tk_dispatch_audit_denied(d, peer, rq);
		else
			d->counters.bad_requests++;
		*close = true;
		return (tk_answer_new(type, st, st == TK_ST_DENIED ?
		    "not permitted" : "unknown request", an));
	}
	e = tk_dispatch_lookup(type);
	tk_log(LOG_DEBUG, "%s: %s from uid %lld (%s)", __func__,
	    tk_msg_type_name(type), (long long)peer->uid,
	    tk_role_name(peer->role));
	if ((r = e->handler(d, peer, rq, an)) == 0 && *an != NULL)
		return (0);
	tk_msg_free(an);
	tk_log(LOG_ERR, "%s request failed: %s", tk_msg_type_name(type),
	    tk_strerr(r));
	return (tk_answer_new(type, TK_ST_INTERNAL, "internal error", an));
}

int
tk_dispatch_error(const unsigned char *body, size_t len, int decode_err,
    tk_msg_t **an)
{
	enum tk_status st;
	uint32_t type;
	int r;

	*an = NULL;
	if ((r = tk_msg_peek_type(body, len, &type)) != 0)
		return (r);
	st = decode_err == TK_ERR_VERSION ? TK_ST_VERSION : TK_ST_BAD_REQUEST;
	return (tk_answer_new(type, st, st == TK_ST_VERSION ?
	    "unsupported protocol version" : "malformed request", an));
}
