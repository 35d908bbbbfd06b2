/*
 * server.c -- the listening socket and the event loop.
 *
 * Why one thread and poll(): one thread owns the store, so every
 * check-and-update a handler makes (the replay step, the throttle, the
 * audit chain) is serialised in-process without a single lock, and
 * "the same code from 50 clients at once succeeds once" follows from
 * the loop itself.  A lone request costs one SQLite transaction (a
 * commit in WAL mode with synchronous=FULL is about 0.1 ms plus an
 * fsync); requests that arrive together share one (group commit,
 * below), which is what lets one thread serve a site's morning rush
 * (docs/performance.md).
 * Every socket is non-blocking, so a slow or silent client only holds
 * its own connection: it is closed when it makes no progress for
 * idle_timeout seconds.  The one blocking call left is the NSS lookup
 * of a new peer's name and groups (role.c): on a terminal that is
 * /etc/passwd or sssd's cache.
 *
 * Per connection: a request is read incrementally (4-byte header, then
 * exactly the announced body, allocated only after the length was
 * checked), answered, and the answer written before the next request is
 * read.  So at most one answer (TK_FRAME_HDR_BYTES + TK_FRAME_MAX bytes)
 * is ever buffered for a client that does not read: that is the bound
 * of the output buffer.
 *
 * Group commit.  A step of the loop first reads from every readable
 * connection (at most one complete request each), then answers the
 * complete requests together: the requests of the login path
 * (USER_STATUS, TOTP_VERIFY, FIDO2_BEGIN, FIDO2_FINISH) run inside one
 * store batch (tk_store_batch_begin), each handler's transaction being
 * a savepoint of it, so one fsync makes the whole batch durable instead
 * of one fsync a request.  Invariants:
 *  G1. No answer of a batched request is written before
 *      tk_store_batch_commit() returned 0: answers are queued, and the
 *      writes happen after the commit.
 *  G2. When the batch commit fails, every batched request is answered
 *      TK_ST_INTERNAL (fail closed) and its syslog line says
 *      result=internal (audit.c holds the lines until the commit).
 *  G3. A request whose handler fails rolls back only its own savepoint;
 *      the others of the batch are kept.
 *  G4. Any other request (administration, backups, audit walks) runs
 *      alone in its own transaction, after the batch before it was
 *      committed, exactly as without batching.
 * A lone request, or a store without batches, is committed on its own.
 *
 * Malformed input: a bad frame header (zero or oversized length) ends
 * the connection without an answer, since no type is known to answer
 * with.  A body that does not decode is answered TK_ST_BAD_REQUEST (or
 * TK_ST_VERSION) typed with the request's type when the leading fields
 * of the map name it (tk_dispatch_error()), else the connection is
 * closed silently; either way it is closed after the answer.  A denied
 * request also ends its connection.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "audit.h"
#include "dispatch.h"
#include "err.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "server.h"
#include "store.h"
#include "wipe.h"

#define TK_EXPIRE_INTERVAL_MS	60000	/* pending enrollment sweep */
#define TK_DRAIN_MS		2000	/* answers still sent after SIGTERM */
#define TK_ACCEPT_PAUSE_MS	100	/* after EMFILE/ENFILE */
#define TK_SOCKET_DIR_MODE	0755
#define TK_SOCKET_MODE		0666	/* SO_PEERCRED decides, not the mode */
/*
 * Connection shares: the callers other than root (screen lockers,
 * tokenadm of administrators, anyone) together hold at most all but a
 * quarter of max_connections, and one uid at most an eighth (at least
 * one), so an unprivileged user who opens and holds connections cannot
 * lock root's PAM logins (login, sshd, sudo) out, nor the other users.
 */
#define TK_ROOT_SHARE_DIV	4
#define TK_UID_SHARE_DIV	8

struct tk_conn {
	int		 fd;
	struct tk_peer	 peer;
	unsigned char	 hdr[TK_FRAME_HDR_BYTES];
	size_t		 hdr_got;
	unsigned char	*body;		/* allocated once hdr is checked */
	size_t		 body_len;
	size_t		 body_got;
	unsigned char	*out;		/* one framed answer, or NULL */
	size_t		 out_len;
	size_t		 out_off;
	int64_t		 last_ms;	/* monotonic time of last progress */
	bool		 closing;	/* close once out is flushed */
	bool		 ready;		/* body complete, not yet answered */
	bool		 batched;	/* answered inside the open batch */
	uint32_t	 type;		/* of the request answered, 0: none */
};

struct tk_server {
	struct tk_daemon	*d;
	int			 lfd;
	char			*path;		/* socket we created, or NULL */
	struct tk_conn		**conns;
	size_t			 nconns;
	size_t			 maxconns;
	struct pollfd		*pfds;		/* 1 + maxconns */
	int64_t			 next_expire_ms;
	int64_t			 accept_after_ms;
	sigset_t		 wait_mask;	/* mask while in ppoll */
	sigset_t		 saved_mask;	/* mask before tk_server_open */
	struct sigaction	 saved_term;
	struct sigaction	 saved_int;
	bool			 signals_set;
};

static volatile sig_atomic_t stop_requested;

static void tk_server_drop(struct tk_conn *);

static void
tk_server_on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t
tk_server_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
tk_conn_free(struct tk_conn **cp)
{
	struct tk_conn *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	if (c->fd >= 0)
		(void)close(c->fd);
	/* a request body may hold a code, an answer a URI */
	tk_freezero(c->body, c->body_len);
	tk_freezero(c->out, c->out_len);
	tk_memzero(c, sizeof(*c));
	free(c);
	*cp = NULL;
}

/* Frames the answer into c->out.  Returns 0 or a negative TK_ERR_*. */
static int
tk_conn_queue(struct tk_conn *c, const tk_msg_t *an)
{
	unsigned char *enc = NULL, *out = NULL;
	size_t enc_len = 0;
	int r;

	if ((r = tk_msg_encode(an, &enc, &enc_len)) != 0)
		goto fail;
	if (enc_len > SIZE_MAX - TK_FRAME_HDR_BYTES) {
		r = TK_ERR_TOOBIG;
		goto fail;
	}
	if ((out = malloc(TK_FRAME_HDR_BYTES + enc_len)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_frame_header_make(enc_len, out)) != 0)
		goto fail;
	memcpy(out + TK_FRAME_HDR_BYTES, enc, enc_len);
	c->out = out;
	c->out_len = TK_FRAME_HDR_BYTES + enc_len;
	c->out_off = 0;
	out = NULL;

	r = 0; /* success */
fail:
	tk_freezero(enc, enc_len);
	tk_freezero(out, TK_FRAME_HDR_BYTES + enc_len);
	return (r);
}

/*
 * Answers the complete request in c->body and wipes it.  On return
 * c->out holds the answer, or c->closing is set with nothing to send.
 */
static void
tk_conn_process(tk_server_t *s, struct tk_conn *c)
{
	tk_msg_t *rq = NULL, *an = NULL;
	uint32_t type = 0;
	bool close_after = false;
	int r;

	r = tk_msg_decode(c->body, c->body_len, TK_DIR_REQUEST, &rq);
	if (r != 0) {
		s->d->counters.bad_requests++;
		tk_log(LOG_NOTICE, "malformed request from uid %lld pid %lld: "
		    "%s", (long long)c->peer.uid, (long long)c->peer.pid,
		    tk_strerr(r));
		close_after = true;
		if (tk_dispatch_error(c->body, c->body_len, r, &an) != 0)
			an = NULL;
	} else {
		type = tk_msg_type(rq);
		c->type = type;
		if (tk_dispatch(s->d, &c->peer, rq, &an, &close_after) != 0)
			an = NULL;
	}
	tk_freezero(c->body, c->body_len);
	c->body = NULL;
	c->body_len = c->body_got = c->hdr_got = 0;
	tk_msg_free(&rq);

	if (an != NULL && (r = tk_conn_queue(c, an)) != 0) {
		/* our own answer broke its schema or the frame limit */
		tk_log(LOG_ERR, "cannot encode the answer to %s: %s",
		    tk_msg_type_name(type), tk_strerr(r));
		tk_msg_free(&an);
		if (type != 0 && tk_answer_new(type, TK_ST_INTERNAL,
		    "internal error", &an) == 0 && tk_conn_queue(c, an) == 0)
			s->d->counters.internal++;
	}
	tk_msg_free(&an);
	if (close_after || c->out == NULL)
		c->closing = true;
}

/*
 * Writes what it can of c->out.  Returns 0 (progress or would block) or
 * TK_ERR_IO / TK_ERR_CLOSED (drop the connection).
 */
static int
tk_conn_write(struct tk_conn *c, int64_t now_ms)
{
	ssize_t n;

	while (c->out != NULL && c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (errno == EPIPE ? TK_ERR_CLOSED : TK_ERR_IO);
		}
		c->out_off += (size_t)n;
		c->last_ms = now_ms;
	}
	tk_freezero(c->out, c->out_len);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return (c->closing ? TK_ERR_CLOSED : 0);
}

/*
 * Reads what it can of the next request (at most one request a call)
 * and marks the connection ready once it is complete; the step answers
 * the ready ones together (tk_server_answer).  Returns 0 (keep the
 * connection) or a negative TK_ERR_* (drop it).
 */
static int
tk_conn_read(tk_server_t *s, struct tk_conn *c, int64_t now_ms)
{
	ssize_t n;
	size_t len;
	int r;

	while (c->out == NULL && !c->closing && !c->ready) {
		if (c->hdr_got < TK_FRAME_HDR_BYTES)
			n = read(c->fd, c->hdr + c->hdr_got,
			    TK_FRAME_HDR_BYTES - c->hdr_got);
		else
			n = read(c->fd, c->body + c->body_got,
			    c->body_len - c->body_got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (TK_ERR_IO);
		}
		if (n == 0) {
			if (c->hdr_got > 0)
				tk_log(LOG_DEBUG, "%s: uid %lld closed in the "
				    "middle of a frame", __func__,
				    (long long)c->peer.uid);
			return (TK_ERR_CLOSED);
		}
		c->last_ms = now_ms;
		if (c->hdr_got < TK_FRAME_HDR_BYTES) {
			c->hdr_got += (size_t)n;
			if (c->hdr_got < TK_FRAME_HDR_BYTES)
				continue;
			/* the length is checked before anything is allocated */
			if ((r = tk_frame_header_parse(c->hdr, &len)) != 0) {
				s->d->counters.bad_requests++;
				tk_log(LOG_NOTICE, "bad frame from uid %lld "
				    "pid %lld: %s", (long long)c->peer.uid,
				    (long long)c->peer.pid, tk_strerr(r));
				return (r);
			}
			if ((c->body = malloc(len)) == NULL)
				return (TK_ERR_NOMEM);
			c->body_len = len;
			c->body_got = 0;
			continue;
		}
		c->body_got += (size_t)n;
		if (c->body_got < c->body_len)
			continue;
		/* one request a turn, so a busy client cannot starve others */
		c->ready = true;
		return (0);
	}
	return (0);
}

/* the requests of the login path, committed together (G4) */
static bool
tk_server_batchable(const struct tk_conn *c)
{
	uint32_t type;

	if (tk_msg_peek_type(c->body, c->body_len, &type) != 0)
		return (false);
	switch (type) {
	case TK_MSG_USER_STATUS:
	case TK_MSG_TOTP_VERIFY:
	case TK_MSG_FIDO2_BEGIN:
	case TK_MSG_FIDO2_FINISH:
		return (true);
	}
	return (false);
}

/*
 * Commits the open batch; on failure replaces the answer of every
 * batched request with TK_ST_INTERNAL (G2).  The lines held since the
 * batch began are then sent.
 */
static void
tk_server_batch_end(tk_server_t *s)
{
	struct tk_conn *c;
	tk_msg_t *an = NULL;
	size_t i, n = 0;
	int r;

	if ((r = tk_store_batch_commit(s->d->store)) != 0) {
		if (r == TK_ERR_FULL)
			tk_log(LOG_CRIT, "store full (disk or quota): the "
			    "requests of a group commit are refused; free "
			    "space at %s", s->d->conf->database != NULL ?
			    s->d->conf->database : "the database");
		else
			tk_log(LOG_ERR, "store group commit failed: %s; its "
			    "requests are refused", tk_strerr(r));
	}
	tk_audit_release(r == 0);
	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		if (!c->batched)
			continue;
		c->batched = false;
		n++;
		if (r == 0 || c->type == 0)
			continue;
		/* nothing of the batch was stored: no answer may say so */
		tk_freezero(c->out, c->out_len);
		c->out = NULL;
		c->out_len = c->out_off = 0;
		s->d->counters.internal++;
		if (tk_answer_new(c->type, TK_ST_INTERNAL, "internal error",
		    &an) != 0 || tk_conn_queue(c, an) != 0)
			c->closing = true;
		tk_msg_free(&an);
	}
	if (r == 0 && n > 0)
		tk_log(LOG_DEBUG, "%s: %zu requests in one commit", __func__,
		    n);
}

/*
 * Answers every complete request read in this step (G1..G4), then
 * writes the answers.  Returns nothing: a connection that cannot be
 * written is dropped.
 */
static void
tk_server_answer(tk_server_t *s, int64_t now_ms)
{
	struct tk_conn *c;
	size_t i, nready = 0;
	bool batching, in_batch = false;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i]->ready && s->conns[i]->fd >= 0)
			nready++;
	if (nready == 0)
		return;
	batching = nready > 1 && tk_store_can_batch(s->d->store);
	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		if (!c->ready || c->fd < 0)
			continue;
		c->type = 0;
		if (batching && tk_server_batchable(c)) {
			if (!in_batch &&
			    tk_store_batch_begin(s->d->store) == 0) {
				in_batch = true;
				tk_audit_hold();
			}
			tk_conn_process(s, c);
			c->batched = in_batch;
		} else {
			if (in_batch) {
				tk_server_batch_end(s);
				in_batch = false;
			}
			tk_conn_process(s, c);
		}
	}
	if (in_batch)
		tk_server_batch_end(s);
	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		if (!c->ready)
			continue;
		c->ready = false;
		if (c->fd >= 0 && tk_conn_write(c, now_ms) != 0)
			tk_server_drop(c);
	}
}

/*
 * Whether a new connection of `uid' fits its share (TK_ROOT_SHARE_DIV,
 * TK_UID_SHARE_DIV); root is bounded by max_connections alone.
 */
static bool
tk_server_share_ok(const tk_server_t *s, uid_t uid)
{
	size_t i, others = 0, same = 0, others_max, uid_max;

	if (uid == 0)
		return (true);
	others_max = s->maxconns - s->maxconns / TK_ROOT_SHARE_DIV;
	uid_max = s->maxconns / TK_UID_SHARE_DIV;
	if (uid_max == 0)
		uid_max = 1;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i]->peer.uid == 0)
			continue;
		others++;
		if (s->conns[i]->peer.uid == uid)
			same++;
	}
	return (others < others_max && same < uid_max);
}

static void
tk_server_accept(tk_server_t *s, int64_t now_ms)
{
	struct tk_conn *c = NULL;
	struct tk_peer peer;
	int fd, r;

	for (;;) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				tk_log(LOG_WARNING, "accept: %s; pausing",
				    strerror(errno));
				s->accept_after_ms = now_ms +
				    TK_ACCEPT_PAUSE_MS;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				tk_log(LOG_ERR, "accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= s->maxconns) {
			tk_log(LOG_WARNING, "max_connections (%zu) reached: "
			    "closing a new connection", s->maxconns);
			(void)close(fd);
			continue;
		}
		if ((r = tk_role_from_socket(fd, s->d->conf->admin_group,
		    &peer)) != 0) {
			tk_log(LOG_NOTICE, "refusing connection of uid %lld: "
			    "%s", (long long)peer.uid, tk_strerr(r));
			(void)close(fd);
			continue;
		}
		if (!tk_server_share_ok(s, peer.uid)) {
			tk_log(LOG_WARNING, "uid %lld holds its share of "
			    "max_connections (%zu): closing a new connection",
			    (long long)peer.uid, s->maxconns);
			(void)close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			tk_log(LOG_ERR, "out of memory for a connection");
			(void)close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->last_ms = now_ms;
		s->conns[s->nconns++] = c;
		c = NULL;
		tk_log(LOG_DEBUG, "%s: uid %lld pid %lld as %s", __func__,
		    (long long)peer.uid, (long long)peer.pid,
		    tk_role_name(peer.role));
	}
}

/* Drops closed connections (fd < 0) from the table, keeping order. */
static void
tk_server_compact(tk_server_t *s)
{
	size_t i, j;

	for (i = 0, j = 0; i < s->nconns; i++) {
		if (s->conns[i]->fd < 0) {
			tk_conn_free(&s->conns[i]);
			continue;
		}
		s->conns[j++] = s->conns[i];
	}
	s->nconns = j;
}

static void
tk_server_drop(struct tk_conn *c)
{
	if (c->fd >= 0) {
		(void)close(c->fd);
		c->fd = -1;
	}
}

/* Milliseconds until the next deadline (an idle connection, a sweep). */
static int64_t
tk_server_timeout(const tk_server_t *s, int64_t now_ms, bool draining)
{
	int64_t idle_ms, t, wait;
	size_t i;

	idle_ms = (int64_t)s->d->conf->idle_timeout * 1000;
	wait = draining ? TK_DRAIN_MS : s->next_expire_ms - now_ms;
	if (!draining && s->accept_after_ms > now_ms &&
	    s->accept_after_ms - now_ms < wait)
		wait = s->accept_after_ms - now_ms;
	for (i = 0; i < s->nconns; i++) {
		t = s->conns[i]->last_ms + idle_ms - now_ms;
		if (t < wait)
			wait = t;
	}
	return (wait < 0 ? 0 : wait);
}

/*
 * One wait and one round of work.  Returns 0, or TK_ERR_IO when ppoll
 * fails for another reason than a signal.
 */
static int
tk_server_step(tk_server_t *s, bool draining, int64_t deadline_ms)
{
	struct timespec ts;
	struct tk_conn *c;
	struct pollfd *p;
	int64_t now_ms, wait, idle_ms;
	uint64_t expired;
	size_t i, n = 0, first;
	bool listening;
	int r;

	now_ms = tk_server_now_ms();
	listening = !draining && s->lfd >= 0 && now_ms >= s->accept_after_ms;
	if (listening) {
		s->pfds[n].fd = s->lfd;
		s->pfds[n].events = POLLIN;
		s->pfds[n++].revents = 0;
	}
	first = n;
	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		s->pfds[n].fd = c->fd;
		s->pfds[n].events = c->out != NULL ? POLLOUT : POLLIN;
		s->pfds[n++].revents = 0;
	}
	wait = tk_server_timeout(s, now_ms, draining);
	if (draining && deadline_ms - now_ms < wait)
		wait = deadline_ms > now_ms ? deadline_ms - now_ms : 0;
	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000;
	if (ppoll(s->pfds, (nfds_t)n, &ts, &s->wait_mask) < 0) {
		if (errno == EINTR)
			return (0);
		tk_log(LOG_ERR, "ppoll: %s", strerror(errno));
		return (TK_ERR_IO);
	}
	now_ms = tk_server_now_ms();

	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		p = &s->pfds[first + i];
		if (p->revents == 0)
			continue;
		if (c->out != NULL)
			r = tk_conn_write(c, now_ms);
		else if (draining)
			r = TK_ERR_CLOSED;
		else
			r = tk_conn_read(s, c, now_ms);
		if (r == 0 && (p->revents & (POLLERR | POLLNVAL)) != 0)
			r = TK_ERR_IO;
		if (r != 0)
			tk_server_drop(c);
	}
	tk_server_answer(s, now_ms);
	idle_ms = (int64_t)s->d->conf->idle_timeout * 1000;
	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		if (c->fd >= 0 && now_ms - c->last_ms >= idle_ms) {
			tk_log(LOG_DEBUG, "%s: uid %lld idle, closing",
			    __func__, (long long)c->peer.uid);
			tk_server_drop(c);
		}
	}
	tk_server_compact(s);

	if (listening && (s->pfds[0].revents & POLLIN) != 0)
		tk_server_accept(s, now_ms);
	if (!draining && now_ms >= s->next_expire_ms) {
		s->next_expire_ms = now_ms + TK_EXPIRE_INTERVAL_MS;
		if (tk_handle_expire_pending(s->d, &expired) == 0 &&
		    expired > 0)
			tk_log(LOG_INFO, "%llu pending enrollments expired",
			    (unsigned long long)expired);
	}
	return (0);
}

int
tk_server_run(tk_server_t *s)
{
	int64_t deadline_ms;
	size_t i;
	int r = 0;

#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, "READY=1");
#endif
	tk_log(LOG_INFO, "tokend %s serving (store %s)", PACKAGE_VERSION,
	    tk_store_kind(s->d->store));
	s->next_expire_ms = tk_server_now_ms();
	while (!stop_requested)
		if ((r = tk_server_step(s, false, 0)) != 0)
			break;
#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, "STOPPING=1");
#endif
	tk_log(LOG_INFO, "stopping");

	/* stop accepting; requests are synchronous, so only answers remain */
	if (s->lfd >= 0) {
		(void)close(s->lfd);
		s->lfd = -1;
	}
	for (i = 0; i < s->nconns; i++)
		if (s->conns[i]->out == NULL)
			tk_server_drop(s->conns[i]);
	tk_server_compact(s);
	deadline_ms = tk_server_now_ms() + TK_DRAIN_MS;
	while (s->nconns > 0 && tk_server_now_ms() < deadline_ms) {
		if (tk_server_step(s, true, deadline_ms) != 0)
			break;
		for (i = 0; i < s->nconns; i++)
			if (s->conns[i]->out == NULL)
				tk_server_drop(s->conns[i]);
		tk_server_compact(s);
	}
	return (r);
}

/*
 * Creates the parent directory of `path' when it is missing; refuses one
 * that is a symbolic link, another user's, or writable by others.
 */
static int
tk_server_make_dir(const char *path)
{
	struct stat st;
	char *dir = NULL, *slash;
	int r;

	if ((dir = strdup(path)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		r = 0;
		goto fail;	/* "/socket": the root exists */
	}
	*slash = '\0';
	/*
	 * Whoever may write the directory may unlink our socket and put
	 * another in its place: it must be ours or root's, and closed.
	 */
	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			tk_log(LOG_ERR, "%s is not a directory", dir);
			r = TK_ERR_PERM;
			goto fail;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			tk_log(LOG_ERR, "socket directory %s is owned by uid "
			    "%lu, not by uid %lu or root", dir,
			    (unsigned long)st.st_uid,
			    (unsigned long)geteuid());
			r = TK_ERR_PERM;
			goto fail;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
			tk_log(LOG_ERR, "socket directory %s is writable by "
			    "group or others (mode %04o)", dir,
			    (unsigned)(st.st_mode & 07777));
			r = TK_ERR_PERM;
			goto fail;
		}
	} else if (errno != ENOENT || mkdir(dir, TK_SOCKET_DIR_MODE) != 0) {
		tk_log(LOG_ERR, "cannot create %s: %s", dir, strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}

	r = 0; /* success */
fail:
	free(dir);
	return (r);
}

/*
 * Removes a socket left by a dead tokend at `sun'.  Refuses anything
 * that is not a socket, and a socket someone still listens on.
 */
static int
tk_server_clear_path(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd = -1, r;

	if (lstat(sun->sun_path, &st) != 0) {
		if (errno == ENOENT)
			return (0);
		tk_log(LOG_ERR, "%s: %s", sun->sun_path, strerror(errno));
		return (TK_ERR_IO);
	}
	if (!S_ISSOCK(st.st_mode)) {
		tk_log(LOG_ERR, "%s exists and is not a socket: refusing to "
		    "replace it", sun->sun_path);
		return (TK_ERR_PERM);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		tk_log(LOG_ERR, "socket: %s", strerror(errno));
		return (TK_ERR_IO);
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		tk_log(LOG_ERR, "%s: another tokend is listening",
		    sun->sun_path);
		r = TK_ERR_EXISTS;
		goto fail;
	}
	if (unlink(sun->sun_path) != 0 && errno != ENOENT) {
		tk_log(LOG_ERR, "cannot remove stale %s: %s", sun->sun_path,
		    strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}

	r = 0; /* success */
fail:
	(void)close(fd);
	return (r);
}

static int
tk_server_listen_path(tk_server_t *s, const char *path)
{
	struct sockaddr_un sun;
	int fd = -1, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || path[0] != '/' ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		tk_log(LOG_ERR, "socket path must be absolute and shorter "
		    "than %zu bytes", sizeof(sun.sun_path));
		r = TK_ERR_INVAL;
		goto fail;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((r = tk_server_make_dir(path)) != 0 ||
	    (r = tk_server_clear_path(&sun)) != 0)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		tk_log(LOG_ERR, "socket: %s", strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
		tk_log(LOG_ERR, "bind %s: %s", path, strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}
	if ((s->path = strdup(path)) == NULL) {
		(void)unlink(path);
		r = TK_ERR_NOMEM;
		goto fail;
	}
	/* every request is authorised by SO_PEERCRED, not by the mode */
	if (chmod(path, TK_SOCKET_MODE) != 0 || listen(fd, SOMAXCONN) != 0) {
		tk_log(LOG_ERR, "%s: %s", path, strerror(errno));
		r = TK_ERR_IO;
		goto fail;
	}
	s->lfd = fd;
	fd = -1;

	r = 0; /* success */
fail:
	if (fd >= 0)
		(void)close(fd);
	return (r);
}

#ifdef HAVE_SYSTEMD
/*
 * Takes the socket systemd passed, if any.  Returns 0 (s->lfd set, or
 * left -1 when not socket-activated) or TK_ERR_INVAL.
 */
static int
tk_server_listen_systemd(tk_server_t *s)
{
	int n, fl;

	if ((n = sd_listen_fds(1)) <= 0)
		return (0);
	if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1,
	    NULL, 0) <= 0) {
		tk_log(LOG_ERR, "socket activation: expected one listening "
		    "UNIX stream socket, got %d descriptors", n);
		return (TK_ERR_INVAL);
	}
	s->lfd = SD_LISTEN_FDS_START;
	if ((fl = fcntl(s->lfd, F_GETFL)) < 0 ||
	    fcntl(s->lfd, F_SETFL, fl | O_NONBLOCK) != 0) {
		tk_log(LOG_ERR, "socket activation: %s", strerror(errno));
		return (TK_ERR_IO);
	}
	tk_log(LOG_INFO, "listening on the socket passed by systemd");
	return (0);
}
#endif

static int
tk_server_signals(tk_server_t *s)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tk_server_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* delivered only inside ppoll(), so no request is ever interrupted */
	if (sigprocmask(SIG_BLOCK, &block, &s->saved_mask) != 0 ||
	    sigaction(SIGTERM, &sa, &s->saved_term) != 0 ||
	    sigaction(SIGINT, &sa, &s->saved_int) != 0) {
		tk_log(LOG_ERR, "signals: %s", strerror(errno));
		return (TK_ERR_IO);
	}
	s->signals_set = true;
	s->wait_mask = s->saved_mask;
	sigdelset(&s->wait_mask, SIGTERM);
	sigdelset(&s->wait_mask, SIGINT);
	stop_requested = 0;
	return (0);
}

int
tk_server_open(struct tk_daemon *d, tk_server_t **sp)
{
	tk_server_t *s = NULL;
	int r;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	s->d = d;
	s->lfd = -1;
	s->maxconns = d->conf->max_connections > 0 ?
	    d->conf->max_connections : 1;
	if ((s->conns = calloc(s->maxconns, sizeof(*s->conns))) == NULL ||
	    (s->pfds = calloc(s->maxconns + 1, sizeof(*s->pfds))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = tk_server_signals(s)) != 0)
		goto fail;
#ifdef HAVE_SYSTEMD
	if ((r = tk_server_listen_systemd(s)) != 0)
		goto fail;
#endif
	if (s->lfd < 0) {
		if ((r = tk_server_listen_path(s, d->conf->socket)) != 0)
			goto fail;
		tk_log(LOG_INFO, "listening on %s", d->conf->socket);
	}
	*sp = s;
	s = NULL;

	r = 0; /* success */
fail:
	tk_server_close(&s);
	return (r);
}

void
tk_server_close(tk_server_t **sp)
{
	tk_server_t *s;
	size_t i;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (i = 0; i < s->nconns; i++)
		tk_conn_free(&s->conns[i]);
	if (s->lfd >= 0)
		(void)close(s->lfd);
	/* only a socket we created, never systemd's */
	if (s->path != NULL)
		(void)unlink(s->path);
	if (s->signals_set) {
		(void)sigaction(SIGTERM, &s->saved_term, NULL);
		(void)sigaction(SIGINT, &s->saved_int, NULL);
		(void)sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
	}
	free(s->path);
	free(s->conns);
	free(s->pfds);
	free(s);
	*sp = NULL;
}
