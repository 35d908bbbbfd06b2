/*
 * h_audit.c -- the administrator's view of the audit trail and of the
 * store: AUDIT_VERIFY, AUDIT_EXPORT, AUDIT_PRUNE and BACKUP.
 *
 * MUST invariants:
 *  1. Each request is audited: AUDIT_VERIFY and BACKUP with their
 *     outcome, AUDIT_EXPORT once per export (on its first page, so an
 *     export that pages through the trail does not feed itself).
 *  2. Exported rows are shown as stored; a text the wire cannot carry
 *     (a row forged with other tools) is replaced by "?", never dropped
 *     silently with its row.  Whether rows are genuine is AUDIT_VERIFY's
 *     question, not AUDIT_EXPORT's.
 *  3. BACKUP writes only a new file (tk_store_backup()), and only for
 *     root (dispatch table).
 *  4. AUDIT_PRUNE removes only rows older than a past UNTIL, only from a
 *     chain that verifies (what is removed was genuine, and the anchor
 *     kept is a genuine MAC), and records itself: its own row is
 *     appended after the prune in the same transaction, so the newest
 *     row names how many rows went and the anchor they left.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "store.h"

#define TK_AUDIT_WHY_MAX	64	/* "first bad row " and a uint64_t */
#define TK_AUDIT_DATE_MAX	32	/* "YYYY-MM-DDTHH:MM:SSZ" and NUL */

int
tk_handle_audit_verify(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	char why[TK_AUDIT_WHY_MAX];
	struct tk_audit_event ev;
	tk_msg_t *m = NULL;
	uint64_t count = 0, bad = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r, rv;

	*an = NULL;
	tk_audit_event_init(&ev, d, peer, "audit_verify", NULL, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	rv = tk_store_audit_verify(d->store, &count, &bad);
	if (rv != 0 && !(rv == TK_ERR_CRYPTO && bad != 0)) {
		r = rv;
		goto fail;
	}
	if ((r = tk_answer_new(TK_MSG_AUDIT_VERIFY, TK_ST_OK, NULL, &m)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_COUNT, count)) != 0 ||
	    (bad != 0 && (r = tk_msg_set_uint(m, TK_KEY_BAD_SEQ, bad)) != 0))
		goto fail;
	if (bad != 0)
		(void)snprintf(why, sizeof(why), "first bad row %" PRIu64, bad);
	else
		(void)snprintf(why, sizeof(why), "%" PRIu64 " rows", count);
	ev.result = bad != 0 ? "broken" : "ok";
	ev.reason = why;
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

/* sets a text field of an exported row: left out when empty (unless
 * `always'), "?" when the wire cannot carry it (invariant 2) */
static int
tk_audit_put_text(tk_msg_t *rec, enum tk_key key, const char *s, bool always)
{
	int r;

	if (*s == '\0' && !always)
		return (0);
	if ((r = tk_msg_set_text(rec, key, s)) == TK_ERR_INVAL)
		r = tk_msg_set_text(rec, key, "?");
	return (r);
}

static int
tk_audit_record_fill(tk_msg_t *rec, const struct tk_audit_row *w)
{
	int r;

	if ((r = tk_msg_set_uint(rec, TK_KEY_SEQ, w->seq)) != 0 ||
	    (r = tk_msg_set_uint(rec, TK_KEY_TIME,
	    w->time > 0 ? (uint64_t)w->time : 0)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_HOST, w->host, false)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_EVENT, w->event, true)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_USER, w->user, false)) != 0 ||
	    (w->cred != 0 &&
	    (r = tk_msg_set_uint(rec, TK_KEY_CRED, w->cred)) != 0) ||
	    (r = tk_audit_put_text(rec, TK_KEY_SERVICE, w->service,
	    false)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_RHOST, w->rhost, false)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_TTY, w->tty, false)) != 0 ||
	    (w->uid >= 0 &&
	    (r = tk_msg_set_uint(rec, TK_KEY_UID, (uint64_t)w->uid)) != 0) ||
	    (w->pid >= 0 &&
	    (r = tk_msg_set_uint(rec, TK_KEY_PID, (uint64_t)w->pid)) != 0) ||
	    (r = tk_audit_put_text(rec, TK_KEY_RESULT, w->result,
	    false)) != 0 ||
	    (r = tk_audit_put_text(rec, TK_KEY_REASON, w->reason, false)) != 0)
		return (r);
	return (0);
}

int
tk_handle_audit_export(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_filter f;
	struct tk_audit_event ev;
	struct tk_audit_row *rows = NULL;
	tk_msg_t *m = NULL, *rec;
	uint64_t v;
	size_t n = 0, i;
	int64_t now = 0;
	bool in_tx = false, more = false;
	int r;

	*an = NULL;
	memset(&f, 0, sizeof(f));
	f.user = tk_msg_get_text(rq, TK_KEY_USER);
	tk_audit_event_init(&ev, d, peer, "audit_export", f.user, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if (tk_msg_get_uint(rq, TK_KEY_SEQ, &v) == 0)
		f.after = v;
	if (tk_msg_get_uint(rq, TK_KEY_SINCE, &v) == 0)
		f.since = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	if (tk_msg_get_uint(rq, TK_KEY_UNTIL, &v) == 0)
		f.until = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	if ((rows = calloc(TK_AUDIT_PAGE, sizeof(*rows))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if (f.after > (uint64_t)INT64_MAX) {
		n = 0;		/* past any sequence number */
	} else if ((r = tk_store_audit_read(d->store, &f, rows, TK_AUDIT_PAGE,
	    &n, &more)) != 0)
		goto fail;
	if ((r = tk_answer_new(TK_MSG_AUDIT_EXPORT, TK_ST_OK, NULL, &m)) != 0)
		goto fail;
	if (more && (r = tk_msg_set_bool(m, TK_KEY_MORE, true)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rec = tk_msg_add_record(m, TK_KEY_AUDIT)) == NULL) {
			r = TK_ERR_NOMEM;
			goto fail;
		}
		if ((r = tk_audit_record_fill(rec, &rows[i])) != 0)
			goto fail;
	}
	ev.result = "ok";
	/* invariant 1: one row per export, on its first page */
	if (f.after == 0 && (r = tk_audit_append(d, &ev)) != 0)
		goto fail;
	in_tx = false;
	if ((r = tk_handler_commit(d)) != 0)
		goto fail;
	if (f.after == 0)
		tk_audit_log(&ev);
	*an = m;
	m = NULL;

	r = 0; /* success */
fail:
	if (in_tx)
		tk_store_rollback(d->store);
	if (r != 0)
		tk_handler_failed(d, &ev, r);
	free(rows);
	tk_msg_free(&m);
	return (r);
}

/* UNIX time `t' as ISO 8601 UTC into buf */
static void
tk_audit_date(int64_t t, char buf[TK_AUDIT_DATE_MAX])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, TK_AUDIT_DATE_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, TK_AUDIT_DATE_MAX, "@%" PRId64, t);
}

int
tk_handle_audit_prune(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	char why[TK_REASON_MAX + 1], day[TK_AUDIT_DATE_MAX];
	struct tk_audit_event ev;
	tk_msg_t *m = NULL;
	const char *refusal = NULL;
	enum tk_status st = TK_ST_OK;
	uint64_t until = 0, count = 0, anchor = 0, rows = 0, bad = 0;
	int64_t now = 0;
	bool in_tx = false;
	int r, rv;

	*an = NULL;
	tk_audit_event_init(&ev, d, peer, "audit_prune", NULL, now);
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
	if (tk_msg_get_uint(rq, TK_KEY_UNTIL, &until) != 0 || until == 0 ||
	    until > (uint64_t)now) {
		st = TK_ST_BAD_REQUEST;
		refusal = "UNTIL must be a time in the past";
		(void)snprintf(why, sizeof(why), "until %" PRIu64
		    " is not in the past", until);
		ev.result = "bad_request";
		goto answer;
	}
	tk_audit_date((int64_t)until, day);
	/* invariant 4: never prune a chain that does not verify */
	rv = tk_store_audit_verify(d->store, &rows, &bad);
	if (rv == TK_ERR_CRYPTO && bad != 0) {
		st = TK_ST_BAD_REQUEST;
		refusal = "the audit chain is broken: run audit verify and "
		    "investigate before pruning";
		(void)snprintf(why, sizeof(why), "nothing removed: chain "
		    "broken at row %" PRIu64, bad);
		ev.result = "broken";
		goto answer;
	}
	if (rv != 0) {
		r = rv;
		goto fail;
	}
	if ((r = tk_store_audit_prune(d->store, (int64_t)until, &count,
	    &anchor)) != 0)
		goto fail;
	(void)snprintf(why, sizeof(why), "removed %" PRIu64 " rows before %s"
	    ", anchor seq %" PRIu64, count, day, anchor);
	ev.result = "ok";
 answer:
	ev.reason = why;
	if ((r = tk_answer_new(TK_MSG_AUDIT_PRUNE, st, refusal, &m)) != 0 ||
	    (st == TK_ST_OK &&
	    ((r = tk_msg_set_uint(m, TK_KEY_COUNT, count)) != 0 ||
	    (r = tk_msg_set_uint(m, TK_KEY_SEQ, anchor)) != 0)))
		goto fail;
	/* the prune's own row comes after it (invariant 4) */
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
tk_handle_backup(struct tk_daemon *d, const struct tk_peer *peer,
    const tk_msg_t *rq, tk_msg_t **an)
{
	struct tk_audit_event ev;
	tk_msg_t *m = NULL;
	const char *path, *why = NULL;
	enum tk_status st;
	int64_t now = 0;
	bool in_tx = false;
	int r, rb;

	*an = NULL;
	path = tk_msg_get_text(rq, TK_KEY_PATH);
	tk_audit_event_init(&ev, d, peer, "backup", NULL, now);
	if (path == NULL) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = tk_daemon_now(d, &now)) != 0)
		goto fail;
	ev.time = now;
	if (path[0] != '/') {
		rb = TK_ERR_INVAL;
	} else {
		rb = tk_store_backup(d->store, path);
	}
	switch (rb) {
	case 0:
		st = TK_ST_OK;
		break;
	case TK_ERR_EXISTS:
		st = TK_ST_EXISTS;
		why = "the file exists";
		break;
	case TK_ERR_INVAL:
		st = TK_ST_BAD_REQUEST;
		why = "give an absolute path";
		break;
	case TK_ERR_PERM:
	case TK_ERR_IO:
		st = TK_ST_BAD_REQUEST;
		why = "tokend cannot create the file there";
		break;
	default:
		st = TK_ST_INTERNAL;
		why = rb == TK_ERR_FULL ? "disk full" : "backup failed";
		break;
	}
	ev.result = st == TK_ST_OK ? "ok" : tk_status_name(st);
	/* the path is no secret; a long one is left out of the row */
	ev.reason = strlen(path) <= TK_REASON_MAX ? path : why;
	if ((r = tk_answer_new(TK_MSG_BACKUP, st, why, &m)) != 0 ||
	    (st == TK_ST_OK && (r = tk_msg_set_text(m, TK_KEY_PATH,
	    path)) != 0))
		goto fail;
	if ((r = tk_store_begin(d->store)) != 0)
		goto fail;
	in_tx = true;
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
