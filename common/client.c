/*
 * client.c -- the client end of tokend's UNIX socket.
 *
 * Invariants:
 * 1. Nothing is sent before the path is known to be a socket owned by
 *    root or the daemon's user, and the listening process (SO_PEERCRED)
 *    runs as one of them.
 * 2. No call waits past its deadline: the socket is non-blocking from
 *    birth and every wait is a poll() with the time left.
 * 3. Encoded requests and answers are wiped before they are freed: a
 *    request may hold a code, an answer an otpauth URI.
 * 4. After any error the connection is closed: a half-read answer must
 *    never be taken for the next one.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "frame.h"
#include "wipe.h"

#define MS_PER_S		1000
#define NS_PER_MS		1000000
/* pause between tries while the listener's backlog is full */
#define CONNECT_RETRY_MS	10

struct tk_client {
	int	fd;
	int	timeout_ms;
};

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS);
}

/* milliseconds left before end_ms, never negative */
static int
ms_left(long long end_ms)
{
	long long left;

	left = end_ms - now_ms();
	if (left < 0)
		return (0);
	return (left > INT_MAX ? INT_MAX : (int)left);
}

static bool
uid_trusted(uid_t uid, uid_t daemon_uid)
{
	return (uid == 0 || (daemon_uid != (uid_t)-1 && uid == daemon_uid));
}

/*
 * Connects the non-blocking fd to sa before end_ms.  Returns 0,
 * TK_ERR_CONNECT or TK_ERR_TIMEOUT.
 */
static int
connect_deadline(int fd, const struct sockaddr_un *sa, long long end_ms)
{
	struct pollfd pfd;
	socklen_t sl;
	int n, soerr;

	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return (0);
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			break;
		/* AF_UNIX: a full backlog is EAGAIN, and poll cannot wait */
		if (errno == EAGAIN) {
			if (ms_left(end_ms) == 0)
				return (TK_ERR_TIMEOUT);
			pfd.fd = -1;
			pfd.events = 0;
			(void)poll(&pfd, 0, CONNECT_RETRY_MS);
			continue;
		}
		return (TK_ERR_CONNECT);
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms_left(end_ms));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (TK_ERR_CONNECT);
		if (n == 0)
			return (TK_ERR_TIMEOUT);
		break;
	}
	soerr = 0;
	sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
	    soerr != 0)
		return (TK_ERR_CONNECT);
	return (0);
}

int
tk_client_open(const char *path, int timeout_ms, uid_t daemon_uid,
    tk_client_t **cp)
{
	struct sockaddr_un sa;
	struct ucred cred;
	struct stat st;
	tk_client_t *c = NULL;
	socklen_t sl;
	long long end_ms;
	size_t plen;
	int fd = -1, r;

	if (cp != NULL)
		*cp = NULL;
	if (path == NULL || cp == NULL || path[0] != '/' || timeout_ms < 0) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	end_ms = now_ms() + timeout_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((plen = strlen(path)) >= sizeof(sa.sun_path)) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	memcpy(sa.sun_path, path, plen);
	if (lstat(path, &st) != 0) {
		r = TK_ERR_CONNECT;	/* no socket: no daemon */
		goto fail;
	}
	if (!S_ISSOCK(st.st_mode) || !uid_trusted(st.st_uid, daemon_uid)) {
		r = TK_ERR_UNTRUSTED;
		goto fail;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		r = errno == ENOMEM || errno == ENOBUFS ? TK_ERR_NOMEM :
		    TK_ERR_CONNECT;
		goto fail;
	}
	if ((r = connect_deadline(fd, &sa, end_ms)) != 0)
		goto fail;
	/* the path may have changed since lstat: the peer is what counts */
	memset(&cred, 0, sizeof(cred));
	sl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) != 0 ||
	    sl != sizeof(cred) || !uid_trusted(cred.uid, daemon_uid)) {
		r = TK_ERR_UNTRUSTED;
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	fd = -1;
	*cp = c;

	r = 0; /* success */
fail:
	if (fd != -1)
		(void)close(fd);
	return (r);
}

void
tk_client_close(tk_client_t **cp)
{
	tk_client_t *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	if (c->fd != -1)
		(void)close(c->fd);
	free(c);
	*cp = NULL;
}

int
tk_client_call(tk_client_t *c, const tk_msg_t *req, tk_msg_t **ansp)
{
	unsigned char *out = NULL, *in = NULL;
	size_t outlen = 0, inlen = 0;
	tk_msg_t *ans = NULL;
	long long end_ms;
	int r;

	if (ansp != NULL)
		*ansp = NULL;
	if (c == NULL || req == NULL || ansp == NULL ||
	    tk_msg_dir(req) != TK_DIR_REQUEST) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if (c->fd == -1) {
		r = TK_ERR_CLOSED;
		goto fail;
	}
	end_ms = now_ms() + c->timeout_ms;
	if ((r = tk_msg_encode(req, &out, &outlen)) != 0)
		goto fail;
	r = tk_frame_write(c->fd, out, outlen, ms_left(end_ms));
	tk_freezero(out, outlen);
	out = NULL;
	if (r != 0)
		goto fail;
	if ((r = tk_frame_read(c->fd, &in, &inlen, ms_left(end_ms))) != 0)
		goto fail;
	if ((r = tk_msg_decode(in, inlen, TK_DIR_ANSWER, &ans)) != 0)
		goto fail;
	if (tk_msg_type(ans) != tk_msg_type(req)) {
		r = TK_ERR_PROTO;
		goto fail;
	}
	*ansp = ans;
	ans = NULL;

	r = 0; /* success */
fail:
	/* after any error the stream may be mid-frame: never reuse it */
	if (r != 0 && c != NULL && c->fd != -1) {
		(void)close(c->fd);
		c->fd = -1;
	}
	tk_freezero(out, outlen);
	tk_freezero(in, inlen);
	tk_msg_free(&ans);
	return (r);
}
