/*
 * handlers.c -- helpers shared by the request handlers.
 */
#include "config.h"

#include "err.h"
#include "handlers.h"
#include "log.h"
#include "store.h"

int
tk_answer_new(uint32_t type, enum tk_status status, const char *reason,
    tk_msg_t **an)
{
	tk_msg_t *m = NULL;
	int r;

	*an = NULL;
	if ((m = tk_msg_new_answer(type, status)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if (reason != NULL &&
	    (r = tk_msg_set_text(m, TK_KEY_REASON, reason)) != 0)
		goto fail;
	*an = m;
	m = NULL;

	r = 0; /* success */
fail:
	tk_msg_free(&m);
	return (r);
}

int
tk_handler_commit(struct tk_daemon *d)
{
	int r;

	if ((r = tk_store_commit(d->store)) == 0)
		return (0);
	if (r == TK_ERR_FULL)
		tk_log(LOG_CRIT, "store full (disk or quota): nothing was "
		    "changed and the request is refused; free space at %s",
		    d->conf != NULL && d->conf->database != NULL ?
		    d->conf->database : "the database");
	else
		tk_log(LOG_ERR, "store commit failed: %s; the request is "
		    "refused", tk_strerr(r));
	return (r);
}

int
tk_handler_finish(struct tk_daemon *d, struct tk_audit_event *ev,
    tk_msg_t **mp, tk_msg_t **an)
{
	int r;

	if ((r = tk_audit_append(d, ev)) != 0) {
		tk_store_rollback(d->store);
		return (r);
	}
	if ((r = tk_handler_commit(d)) != 0)
		return (r);
	tk_audit_log(ev);
	*an = *mp;
	*mp = NULL;
	return (0);
}

void
tk_handler_failed(struct tk_daemon *d, struct tk_audit_event *ev, int r)
{
	d->counters.internal++;
	ev->result = "internal";
	ev->reason = tk_strerr(r);
	tk_audit_log(ev);
}

const char *
tk_cred_state_name(int state)
{
	switch (state) {
	case TK_CRED_PENDING:	return ("pending");
	case TK_CRED_ACTIVE:	return ("active");
	case TK_CRED_REVOKED:	return ("revoked");
	case TK_CRED_SUSPENDED:	return ("suspended");
	}
	return ("unknown");
}
