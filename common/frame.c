/*
 * frame.c -- length-prefixed frames over a stream descriptor, with one
 * deadline for the whole frame.
 *
 * Invariants:
 * 1. The body length MUST be checked (1..TK_FRAME_MAX) before anything
 *    is allocated for it.
 * 2. No call may wait past the deadline: every read or write is preceded
 *    by poll() with the time left, and the I/O itself never blocks
 *    (MSG_DONTWAIT on sockets; at most PIPE_BUF bytes a write on other
 *    descriptors, which poll() guarantees room for).
 * 3. Writing to a closed peer MUST NOT raise SIGPIPE (MSG_NOSIGNAL).
 * 4. A body read in part is wiped before it is freed: it may hold a code.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"
#include "wipe.h"

#define MS_PER_S	1000
#define NS_PER_MS	1000000

/* a point in CLOCK_MONOTONIC milliseconds, or none for a negative timeout */
struct deadline {
	bool		 none;
	long long	 end_ms;
};

static long long
now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS);
}

static void
deadline_set(struct deadline *d, int timeout_ms)
{
	d->none = timeout_ms < 0;
	d->end_ms = d->none ? 0 : now_ms() + timeout_ms;
}

/*
 * Waits until fd is ready for `events' or the deadline passes.  A
 * deadline already passed still polls once without waiting, so a ready
 * descriptor is served.  Returns 0, TK_ERR_TIMEOUT or TK_ERR_IO.
 */
static int
wait_fd(int fd, short events, const struct deadline *d)
{
	struct pollfd pfd;
	long long left;
	int ms, n;

	for (;;) {
		if (d->none)
			ms = -1;
		else {
			left = d->end_ms - now_ms();
			if (left < 0)
				left = 0;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (TK_ERR_IO);
		if (n == 0)
			return (TK_ERR_TIMEOUT);
		if (pfd.revents & POLLNVAL)
			return (TK_ERR_IO);
		/* POLLERR and POLLHUP: the next read or write reports them */
		return (0);
	}
}

static int
read_full(int fd, unsigned char *p, size_t len, const struct deadline *d)
{
	bool sock = true;
	size_t done = 0;
	ssize_t n;
	int r;

	while (done < len) {
		if ((r = wait_fd(fd, POLLIN, d)) != 0)
			return (r);
		if (sock) {
			n = recv(fd, p + done, len - done, MSG_DONTWAIT);
			if (n < 0 && errno == ENOTSOCK) {
				sock = false;
				continue;
			}
		} else
			n = read(fd, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return (TK_ERR_CLOSED);
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		if (errno == ECONNRESET)
			return (TK_ERR_CLOSED);
		return (TK_ERR_IO);
	}
	return (0);
}

static int
write_full(int fd, struct iovec *iov, int iovcnt, const struct deadline *d)
{
	struct msghdr mh;
	bool sock = true;
	size_t len;
	ssize_t n;
	int r;

	while (iovcnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			iovcnt--;
			continue;
		}
		if ((r = wait_fd(fd, POLLOUT, d)) != 0)
			return (r);
		if (sock) {
			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = iov;
			mh.msg_iovlen = (size_t)iovcnt;
			n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == ENOTSOCK) {
				sock = false;
				continue;
			}
		} else {
			len = iov->iov_len < PIPE_BUF ? iov->iov_len : PIPE_BUF;
			n = write(fd, iov->iov_base, len);
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return (TK_ERR_CLOSED);
			return (TK_ERR_IO);
		}
		if (n == 0)
			return (TK_ERR_IO);
		/* skip what was written, across iovec boundaries */
		while (n > 0) {
			if ((size_t)n >= iov->iov_len) {
				n -= (ssize_t)iov->iov_len;
				iov++;
				iovcnt--;
			} else {
				iov->iov_base = (unsigned char *)iov->iov_base +
				    n;
				iov->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return (0);
}

int
tk_frame_header_parse(const unsigned char hdr[TK_FRAME_HDR_BYTES],
    size_t *len)
{
	uint32_t n;

	*len = 0;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
	if (n == 0)
		return (TK_ERR_PROTO);
	if (n > TK_FRAME_MAX)
		return (TK_ERR_TOOBIG);
	*len = n;
	return (0);
}

int
tk_frame_header_make(size_t len, unsigned char hdr[TK_FRAME_HDR_BYTES])
{
	if (len == 0)
		return (TK_ERR_PROTO);
	if (len > TK_FRAME_MAX)
		return (TK_ERR_TOOBIG);
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	return (0);
}

int
tk_frame_write(int fd, const unsigned char *body, size_t len,
    int timeout_ms)
{
	unsigned char hdr[TK_FRAME_HDR_BYTES];
	struct iovec iov[2];
	struct deadline d;
	int r;

	if (fd < 0 || body == NULL)
		return (TK_ERR_INVAL);
	if ((r = tk_frame_header_make(len, hdr)) != 0)
		return (r);
	deadline_set(&d, timeout_ms);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	/* iovec has no const member; the body is only read */
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	return (write_full(fd, iov, 2, &d));
}

int
tk_frame_read(int fd, unsigned char **body, size_t *len, int timeout_ms)
{
	unsigned char hdr[TK_FRAME_HDR_BYTES];
	unsigned char *buf = NULL;
	struct deadline d;
	size_t n = 0;
	int r;

	if (body != NULL)
		*body = NULL;
	if (len != NULL)
		*len = 0;
	if (fd < 0 || body == NULL || len == NULL) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	deadline_set(&d, timeout_ms);
	if ((r = read_full(fd, hdr, sizeof(hdr), &d)) != 0)
		goto fail;
	if ((r = tk_frame_header_parse(hdr, &n)) != 0)
		goto fail;
	if ((buf = malloc(n)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = read_full(fd, buf, n, &d)) != 0)
		goto fail;
	*body = buf;
	*len = n;
	buf = NULL;

	r = 0; /* success */
fail:
	tk_freezero(buf, n);
	return (r);
}
