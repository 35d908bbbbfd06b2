/*
 * audit.c -- audit events to the store's chain and to syslog.
 *
 * Invariants this file and its callers MUST keep:
 *  1. Every request tokend handles -- verification, enrollment,
 *     revocation, unlock, query, refusal, expiry -- produces exactly one
 *     event, appended inside the same store transaction as the change it
 *     records, so a committed change always has its audit row and a
 *     rolled-back one never does.
 *  2. No event carries a code, a secret, a sealed blob or an otpauth URI:
 *     struct tk_audit_event has no field for them, and handlers never put
 *     one into `reason'.
 *  3. The syslog line quotes and escapes every value that is not plainly
 *     safe, so a user name, tty or rhost chosen by a caller cannot add,
 *     end or change another field.
 *  4. The syslog line is written after the outcome is final: a handler
 *     whose commit failed logs its event with result=internal.  Under a
 *     group commit the outcome is final at the batch's commit, so the
 *     lines are held until then (tk_audit_hold/tk_audit_release).
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
#include "log.h"

void
tk_audit_event_init(struct tk_audit_event *ev, const struct tk_daemon *d,
    const struct tk_peer *peer, const char *event, const char *user,
    int64_t now)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = now;
	ev->host = d != NULL ? d->host : NULL;
	ev->event = event;
	ev->user = user;
	ev->uid = peer != NULL ? (int64_t)peer->uid : -1;
	ev->pid = peer != NULL ? (int64_t)peer->pid : -1;
}

int
tk_audit_append(struct tk_daemon *d, const struct tk_audit_event *ev)
{
	int r;

	if ((r = tk_store_audit_append(d->store, ev)) != 0)
		tk_log(LOG_ERR, "cannot append the audit row of %s: %s",
		    ev->event != NULL ? ev->event : "?", tk_strerr(r));
	return (r);
}

static bool
tk_audit_safe(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	    c == '/' || c == '@' || c == '+' || c == ',' || c == '-');
}

/*
 * appends ` key=value' (no leading space for the first field); plain
 * byte copies rather than snprintf, since every request formats one
 * line (two under a group commit)
 */
static int
tk_audit_put(char *buf, size_t len, size_t *pos, const char *key,
    const char *val)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t klen;
	bool quote = false;

	if (val == NULL)
		val = "";
	for (p = (const unsigned char *)val; *p != '\0'; p++)
		if (!tk_audit_safe(*p))
			quote = true;
	klen = strlen(key);
	/* separator, key, '=', opening quote, NUL */
	if (len - *pos < klen + 4)
		return (TK_ERR_TOOBIG);
	if (*pos > 0)
		buf[(*pos)++] = ' ';
	memcpy(buf + *pos, key, klen);
	*pos += klen;
	buf[(*pos)++] = '=';
	if (quote)
		buf[(*pos)++] = '"';
	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (len - *pos < 5)	/* worst case \xHH plus the NUL */
			return (TK_ERR_TOOBIG);
		if (*p == '"' || *p == '\\') {
			buf[(*pos)++] = '\\';
			buf[(*pos)++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			buf[(*pos)++] = '\\';
			buf[(*pos)++] = 'x';
			buf[(*pos)++] = hex[*p >> 4];
			buf[(*pos)++] = hex[*p & 0x0f];
		} else
			buf[(*pos)++] = (char)*p;
	}
	if (quote) {
		if (len - *pos < 2)
			return (TK_ERR_TOOBIG);
		buf[(*pos)++] = '"';
	}
	buf[*pos] = '\0';
	return (0);
}

int
tk_audit_format(const struct tk_audit_event *ev, char *buf, size_t len)
{
	char cred[24], uid[24], pid[24];
	size_t pos = 0;
	int r;

	if (len == 0)
		return (TK_ERR_TOOBIG);
	buf[0] = '\0';
	cred[0] = uid[0] = pid[0] = '\0';
	if (ev->cred != 0)
		(void)snprintf(cred, sizeof(cred), "%" PRIu64, ev->cred);
	if (ev->uid >= 0)
		(void)snprintf(uid, sizeof(uid), "%" PRId64, ev->uid);
	if (ev->pid >= 0)
		(void)snprintf(pid, sizeof(pid), "%" PRId64, ev->pid);
	if ((r = tk_audit_put(buf, len, &pos, "event", ev->event)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "user", ev->user)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "cred", cred)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "service", ev->service)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "rhost", ev->rhost)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "tty", ev->tty)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "uid", uid)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "pid", pid)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "result", ev->result)) != 0 ||
	    (r = tk_audit_put(buf, len, &pos, "reason", ev->reason)) != 0)
		return (r);
	return (0);
}

/* the lines held during a group commit (invariant 4) */
struct tk_audit_held {
	char	*line;		/* as the event is */
	char	*failed;	/* with result=internal */
	int	 prio;
};

static struct {
	bool			 on;
	struct tk_audit_held	*v;
	size_t			 n;
	size_t			 cap;
} tk_audit_holding;

#define TK_AUDIT_BATCH_FAILED	"group commit failed"

/* keeps both lines of ev; 0, or -1 when they could not be kept */
static int
tk_audit_keep(const struct tk_audit_event *ev, const char *line, int prio)
{
	struct tk_audit_event failed;
	struct tk_audit_held *grown, *h;
	char fline[TK_AUDIT_LINE_MAX];

	if (tk_audit_holding.n == tk_audit_holding.cap) {
		size_t cap = tk_audit_holding.cap == 0 ? 64 :
		    tk_audit_holding.cap * 2;

		if ((grown = reallocarray(tk_audit_holding.v, cap,
		    sizeof(*grown))) == NULL)
			return (-1);
		tk_audit_holding.v = grown;
		tk_audit_holding.cap = cap;
	}
	failed = *ev;
	failed.result = "internal";
	failed.reason = TK_AUDIT_BATCH_FAILED;
	if (tk_audit_format(&failed, fline, sizeof(fline)) != 0)
		return (-1);
	h = &tk_audit_holding.v[tk_audit_holding.n];
	if ((h->line = strdup(line)) == NULL)
		return (-1);
	if ((h->failed = strdup(fline)) == NULL) {
		free(h->line);
		return (-1);
	}
	h->prio = prio;
	tk_audit_holding.n++;
	return (0);
}

void
tk_audit_log(const struct tk_audit_event *ev)
{
	char line[TK_AUDIT_LINE_MAX];
	int prio;

	prio = ev->result != NULL && strcmp(ev->result, "ok") == 0 ?
	    LOG_INFO : LOG_NOTICE;
	if (tk_audit_format(ev, line, sizeof(line)) != 0) {
		tk_log(LOG_ERR, "audit line of %s too long",
		    ev->event != NULL ? ev->event : "?");
		return;
	}
	if (tk_audit_holding.on) {
		if (tk_audit_keep(ev, line, prio) == 0)
			return;
		tk_log(LOG_ERR, "out of memory holding an audit line: sent "
		    "before its group commit ended");
	}
	tk_log(prio, "%s", line);
}

void
tk_audit_hold(void)
{
	tk_audit_holding.on = true;
}

void
tk_audit_release(bool stored)
{
	struct tk_audit_held *h;
	size_t i;

	for (i = 0; i < tk_audit_holding.n; i++) {
		h = &tk_audit_holding.v[i];
		if (stored)
			tk_log(h->prio, "%s", h->line);
		else
			tk_log(LOG_NOTICE, "%s", h->failed);
		free(h->line);
		free(h->failed);
	}
	tk_audit_holding.n = 0;
	tk_audit_holding.on = false;
	/* keep a small array for the next batch, free a large one */
	if (tk_audit_holding.cap > 1024) {
		free(tk_audit_holding.v);
		tk_audit_holding.v = NULL;
		tk_audit_holding.cap = 0;
	}
}

int
tk_audit_daemon(struct tk_daemon *d, const char *event, const char *reason)
{
	struct tk_audit_event ev;
	int64_t now = 0;
	int r;

	tk_audit_event_init(&ev, d, NULL, event, NULL, now);
	ev.result = "ok";
	ev.reason = reason;
	if ((r = tk_daemon_now(d, &now)) == 0) {
		ev.time = now;
		if ((r = tk_store_begin(d->store)) == 0) {
			if ((r = tk_audit_append(d, &ev)) == 0)
				r = tk_store_commit(d->store);
			else
				tk_store_rollback(d->store);
		}
	}
	if (r != 0) {
		ev.result = "internal";
		ev.reason = tk_strerr(r);
	}
	tk_audit_log(&ev);
	return (r);
}

void
tk_audit_config_error(const char *reason)
{
	struct tk_audit_event ev;
	time_t t;

	t = time(NULL);
	tk_audit_event_init(&ev, NULL, NULL, "config_error", NULL,
	    t == (time_t)-1 ? 0 : (int64_t)t);
	ev.result = "error";
	ev.reason = reason;
	tk_audit_log(&ev);
}
