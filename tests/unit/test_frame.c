/*
 * test_frame.c -- framing over socketpairs and pipes: headers, round
 * trips, limits, EOF in the middle of a frame, deadlines with a silent
 * peer, partial reads and writes, and no SIGPIPE from a closed peer.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "frame.h"
#include "wipe.h"

#define SILENT_MS	200	/* deadline used against a silent peer */
#define SLACK_MS	2000	/* generous upper bound on a deadline */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
raw_write(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void
test_header(void **state)
{
	unsigned char h[TK_FRAME_HDR_BYTES];
	static const unsigned char five[] = { 0, 0, 0, 5 };
	static const unsigned char max[] = { 0, 1, 0, 0 };
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	static const unsigned char over[] = { 0, 1, 0, 1 };
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff };
	size_t n = 99;

	assert_int_equal(tk_frame_header_make(5, h), 0);
	assert_memory_equal(h, five, sizeof(h));
	assert_int_equal(tk_frame_header_make(TK_FRAME_MAX, h), 0);
	assert_memory_equal(h, max, sizeof(h));
	assert_int_equal(tk_frame_header_make(0, h), TK_ERR_PROTO);
	assert_int_equal(tk_frame_header_make(TK_FRAME_MAX + 1, h),
	    TK_ERR_TOOBIG);
	assert_int_equal(tk_frame_header_parse(five, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(tk_frame_header_parse(max, &n), 0);
	assert_int_equal(n, TK_FRAME_MAX);
	assert_int_equal(tk_frame_header_parse(zero, &n), TK_ERR_PROTO);
	assert_int_equal(n, 0);
	assert_int_equal(tk_frame_header_parse(over, &n), TK_ERR_TOOBIG);
	assert_int_equal(tk_frame_header_parse(huge, &n), TK_ERR_TOOBIG);
}

static void
test_roundtrip(void **state)
{
	unsigned char *body = NULL, raw[9];
	size_t len = 0;
	int sv[2];

	pair(sv);
	assert_int_equal(tk_frame_write(sv[0], (const unsigned char *)"hello",
	    5, 1000), 0);
	/* the bytes on the wire */
	assert_int_equal(read(sv[1], raw, sizeof(raw)), 9);
	assert_memory_equal(raw, "\0\0\0\5hello", 9);
	assert_int_equal(tk_frame_write(sv[0], (const unsigned char *)"hello",
	    5, 1000), 0);
	assert_int_equal(tk_frame_write(sv[0], (const unsigned char *)"x",
	    1, 1000), 0);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(body, "hello", 5);
	tk_freezero(body, len);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(body, "x", 1);
	tk_freezero(body, len);
	close(sv[0]);
	close(sv[1]);
}

struct writer {
	int		 fd;
	size_t		 len;
	unsigned char	*buf;
	int		 r;
	size_t		 chunk;		/* raw write size; 0: frame */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct timespec pause = { 0, 1000000 };
	size_t off, n;

	if (w->chunk == 0) {
		w->r = tk_frame_write(w->fd, w->buf, w->len, 5000);
		return (NULL);
	}
	for (off = 0; off < w->len; off += n) {
		n = w->len - off < w->chunk ? w->len - off : w->chunk;
		if (write(w->fd, w->buf + off, n) != (ssize_t)n) {
			w->r = -1;
			return (NULL);
		}
		nanosleep(&pause, NULL);
	}
	w->r = 0;
	return (NULL);
}

static unsigned char *
pattern(size_t n)
{
	unsigned char *p;
	size_t i;

	p = malloc(n);
	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	return (p);
}

/* a full-size frame through small socket buffers: partial writes */
static void
test_max_frame_partial_writes(void **state)
{
	struct writer w;
	unsigned char *body = NULL;
	pthread_t th;
	size_t len = 0;
	int sv[2], small = 4096;

	pair(sv);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	memset(&w, 0, sizeof(w));
	w.fd = sv[0];
	w.len = TK_FRAME_MAX;
	w.buf = pattern(w.len);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 5000), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.r, 0);
	assert_int_equal(len, TK_FRAME_MAX);
	assert_memory_equal(body, w.buf, len);
	tk_freezero(body, len);
	free(w.buf);
	close(sv[0]);
	close(sv[1]);
}

/* a frame arriving a few bytes at a time: partial reads */
static void
test_partial_reads(void **state)
{
	struct writer w;
	unsigned char *body = NULL;
	pthread_t th;
	size_t len = 0;
	int sv[2];

	pair(sv);
	memset(&w, 0, sizeof(w));
	w.fd = sv[0];
	w.len = 4 + 300;
	w.buf = pattern(w.len);
	w.buf[0] = 0;
	w.buf[1] = 0;
	w.buf[2] = 1;
	w.buf[3] = 44;	/* 300 */
	w.chunk = 3;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 5000), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.r, 0);
	assert_int_equal(len, 300);
	assert_memory_equal(body, w.buf + 4, 300);
	tk_freezero(body, len);
	free(w.buf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_write_limits(void **state)
{
	unsigned char *big;
	int sv[2];

	pair(sv);
	big = pattern(TK_FRAME_MAX + 1);
	assert_int_equal(tk_frame_write(sv[0], big, 0, 1000), TK_ERR_PROTO);
	assert_int_equal(tk_frame_write(sv[0], big, TK_FRAME_MAX + 1, 1000),
	    TK_ERR_TOOBIG);
	assert_int_equal(tk_frame_write(-1, big, 1, 1000), TK_ERR_INVAL);
	free(big);
	close(sv[0]);
	/* nothing was sent */
	assert_int_equal(read(sv[1], &sv[0], 1), 0);
	close(sv[1]);
}

static void
test_read_bad_lengths(void **state)
{
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	static const unsigned char over[] = { 0, 1, 0, 1, 'x' };
	static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff };
	unsigned char *body = NULL;
	size_t len = 7;
	long t0;
	int sv[2];

	pair(sv);
	raw_write(sv[0], zero, sizeof(zero));
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_PROTO);
	assert_null(body);
	assert_int_equal(len, 0);
	/* refused at once, without waiting for a body that never comes */
	t0 = now_ms();
	raw_write(sv[0], over, sizeof(over));
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_TOOBIG);
	raw_write(sv[0], huge, sizeof(huge));
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_TOOBIG);
	assert_true(now_ms() - t0 < 500);
	assert_null(body);
	close(sv[0]);
	close(sv[1]);
}

static void
test_eof(void **state)
{
	static const unsigned char part[] = { 0, 0, 0, 10, 'a', 'b' };
	unsigned char *body = NULL;
	size_t len = 0;
	int sv[2];

	/* before anything */
	pair(sv);
	close(sv[0]);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_CLOSED);
	close(sv[1]);
	/* inside the header */
	pair(sv);
	raw_write(sv[0], part, 2);
	close(sv[0]);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_CLOSED);
	close(sv[1]);
	/* inside the body */
	pair(sv);
	raw_write(sv[0], part, sizeof(part));
	close(sv[0]);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000),
	    TK_ERR_CLOSED);
	assert_null(body);
	assert_int_equal(len, 0);
	close(sv[1]);
}

static void
test_timeout_silent(void **state)
{
	static const unsigned char part[] = { 0, 0, 0, 10, 'a' };
	unsigned char *body = NULL;
	size_t len = 0;
	long t0, dt;
	int sv[2];

	pair(sv);
	t0 = now_ms();
	assert_int_equal(tk_frame_read(sv[1], &body, &len, SILENT_MS),
	    TK_ERR_TIMEOUT);
	dt = now_ms() - t0;
	assert_true(dt >= SILENT_MS - 10 && dt < SLACK_MS);
	/* a peer that stops in the middle of a frame */
	raw_write(sv[0], part, sizeof(part));
	t0 = now_ms();
	assert_int_equal(tk_frame_read(sv[1], &body, &len, SILENT_MS),
	    TK_ERR_TIMEOUT);
	dt = now_ms() - t0;
	assert_true(dt >= SILENT_MS - 10 && dt < SLACK_MS);
	assert_null(body);
	close(sv[0]);
	close(sv[1]);
}

/* a peer that never reads: the write gives up at the deadline */
static void
test_write_timeout(void **state)
{
	unsigned char *big;
	long t0, dt;
	int sv[2], small = 4096, r, i;

	pair(sv);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	big = pattern(TK_FRAME_MAX);
	t0 = now_ms();
	/* the socket buffers hold some frames; the next must time out */
	for (i = 0, r = 0; i < 100 && r == 0; i++)
		r = tk_frame_write(sv[0], big, TK_FRAME_MAX, SILENT_MS);
	dt = now_ms() - t0;
	assert_int_equal(r, TK_ERR_TIMEOUT);
	assert_true(dt < SLACK_MS + SILENT_MS * i);
	free(big);
	close(sv[0]);
	close(sv[1]);
}

static void
test_closed_peer_no_sigpipe(void **state)
{
	int sv[2];

	pair(sv);
	close(sv[1]);
	/* SIGPIPE would kill this test program */
	assert_int_equal(tk_frame_write(sv[0], (const unsigned char *)"abc",
	    3, 1000), TK_ERR_CLOSED);
	close(sv[0]);
}

static void
test_pipe(void **state)
{
	unsigned char *body = NULL;
	size_t len = 0;
	int p[2];

	/* not a socket: plain read and write */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tk_frame_write(p[1], (const unsigned char *)"pipe",
	    4, 1000), 0);
	assert_int_equal(tk_frame_read(p[0], &body, &len, 1000), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(body, "pipe", 4);
	tk_freezero(body, len);
	assert_int_equal(tk_frame_read(p[0], &body, &len, SILENT_MS),
	    TK_ERR_TIMEOUT);
	close(p[1]);
	assert_int_equal(tk_frame_read(p[0], &body, &len, 1000),
	    TK_ERR_CLOSED);
	close(p[0]);
	assert_int_equal(tk_frame_read(p[0], &body, &len, 1000), TK_ERR_IO);
}

static void
test_nonblocking_fd(void **state)
{
	unsigned char *body = NULL;
	size_t len = 0;
	int sv[2];

	pair(sv);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, SILENT_MS),
	    TK_ERR_TIMEOUT);
	assert_int_equal(tk_frame_write(sv[0], (const unsigned char *)"nb",
	    2, 1000), 0);
	assert_int_equal(tk_frame_read(sv[1], &body, &len, 1000), 0);
	assert_int_equal(len, 2);
	tk_freezero(body, len);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_max_frame_partial_writes),
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_write_limits),
		cmocka_unit_test(test_read_bad_lengths),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_timeout_silent),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_closed_peer_no_sigpipe),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_nonblocking_fd),
	};

	return (cmocka_run_group_tests_name("frame", tests, NULL, NULL));
}
