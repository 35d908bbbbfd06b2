/*
 * test_client.c -- the client against a tiny server thread on a socket
 * in a temporary directory: connect errors, untrusted sockets and peers,
 * answers of the wrong type, garbage, silence and hang-ups.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "err.h"
#include "frame.h"
#include "msg.h"
#include "wipe.h"

#define IO_MS		5000	/* the server's own deadline */
#define SILENT_MS	300	/* client deadline, silent server */
#define SLACK_MS	2000
#define NOBODY		65534

enum srv_mode {
	SRV_OK,		/* answer USER_STATUS ok, any number of times */
	SRV_OTHER_TYPE,	/* answer with a STATUS answer */
	SRV_GARBAGE,	/* a frame that is no CBOR map */
	SRV_VERSION,	/* an answer of protocol version 2 */
	SRV_SILENT,	/* read the request, never answer */
	SRV_HANGUP	/* close at once */
};

struct srv {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	pthread_t	 th;
	bool		 running;
	enum srv_mode	 mode;
	int		 calls;
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* the one request these tests send */
static tk_msg_t *
request(void)
{
	tk_msg_t *m;

	m = tk_msg_new(TK_DIR_REQUEST, TK_MSG_USER_STATUS);
	assert_non_null(m);
	assert_int_equal(tk_msg_set_text(m, TK_KEY_USER, "alice"), 0);
	return (m);
}

static int
send_msg(int fd, tk_msg_t *m)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = tk_msg_encode(m, &buf, &len)) == 0)
		r = tk_frame_write(fd, buf, len, IO_MS);
	tk_freezero(buf, len);
	return (r);
}

static void
serve(struct srv *s, int fd)
{
	/* {0:2, 1:2, 2:0, 40:1, 41:false, 42:0} */
	static const unsigned char v2[] = {
		0xa6, 0x00, 0x02, 0x01, 0x02, 0x02, 0x00, 0x18, 0x28, 0x01,
		0x18, 0x29, 0xf4, 0x18, 0x2a, 0x00
	};
	unsigned char *body = NULL;
	tk_msg_t *req = NULL, *ans = NULL;
	size_t len = 0;

	if (s->mode == SRV_HANGUP)
		return;
	while (tk_frame_read(fd, &body, &len, IO_MS) == 0) {
		s->calls++;
		if (tk_msg_decode(body, len, TK_DIR_REQUEST, &req) != 0)
			break;
		tk_freezero(body, len);
		body = NULL;
		switch (s->mode) {
		case SRV_OK:
			ans = tk_msg_new_answer(tk_msg_type(req), TK_ST_OK);
			tk_msg_set_uint(ans, TK_KEY_FACTORS, TK_FACTOR_TOTP);
			tk_msg_set_bool(ans, TK_KEY_LOCKED, false);
			tk_msg_set_uint(ans, TK_KEY_FAILURES, s->calls);
			send_msg(fd, ans);
			break;
		case SRV_OTHER_TYPE:
			ans = tk_msg_new_answer(TK_MSG_STATUS, TK_ST_DENIED);
			send_msg(fd, ans);
			break;
		case SRV_GARBAGE:
			tk_frame_write(fd, (const unsigned char *)"\xff\x00",
			    2, IO_MS);
			break;
		case SRV_VERSION:
			tk_frame_write(fd, v2, sizeof(v2), IO_MS);
			break;
		default:
			break;
		}
		tk_msg_free(&req);
		tk_msg_free(&ans);
	}
	tk_freezero(body, len);
	tk_msg_free(&req);
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd;
	int fd;

	pfd.fd = s->lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, IO_MS) != 1)
		return (NULL);
	if ((fd = accept(s->lfd, NULL, NULL)) < 0)
		return (NULL);
	serve(s, fd);
	close(fd);
	return (NULL);
}

/* binds a listening socket at s->path; listens unless told not to */
static int
srv_bind(struct srv *s, bool do_listen)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(s->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, s->path, strlen(s->path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return (fd);
}

static void
srv_start(struct srv *s, enum srv_mode mode)
{
	s->mode = mode;
	s->lfd = srv_bind(s, true);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	s->running = true;
}

static int
setup(void **state)
{
	struct srv *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (-1);
	s->lfd = -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/tk-client-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return (-1);
	snprintf(s->path, sizeof(s->path), "%s/socket", s->dir);
	*state = s;
	return (0);
}

static int
teardown(void **state)
{
	struct srv *s = *state;
	char cmd[128];

	if (s->lfd != -1)
		shutdown(s->lfd, SHUT_RDWR);
	if (s->running)
		pthread_join(s->th, NULL);
	if (s->lfd != -1)
		close(s->lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		return (-1);
	free(s);
	return (0);
}

static void
test_connect_missing(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;

	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c),
	    TK_ERR_CONNECT);
	assert_null(c);
	assert_int_equal(tk_client_open("/nonexistent/dir/socket", 1000,
	    getuid(), &c), TK_ERR_CONNECT);
}

static void
test_connect_refused(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	int fd;

	/* a socket file nobody listens on: a daemon that died */
	fd = srv_bind(s, false);
	close(fd);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c),
	    TK_ERR_CONNECT);
	assert_null(c);
}

static void
test_not_a_socket(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	char link[192];
	FILE *f;

	f = fopen(s->path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
	assert_int_equal(tk_client_open(s->dir, 1000, getuid(), &c),
	    TK_ERR_UNTRUSTED);
	/* a link to a real socket is refused too */
	unlink(s->path);
	srv_start(s, SRV_OK);
	snprintf(link, sizeof(link), "%s/link", s->dir);
	assert_int_equal(symlink(s->path, link), 0);
	assert_int_equal(tk_client_open(link, 1000, getuid(), &c),
	    TK_ERR_UNTRUSTED);
	/* let the server thread finish */
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	tk_client_close(&c);
}

static void
test_bad_arguments(void **state)
{
	tk_client_t *c = NULL;
	char longpath[200];

	assert_int_equal(tk_client_open("relative/socket", 1000, getuid(),
	    &c), TK_ERR_INVAL);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(tk_client_open(longpath, 1000, getuid(), &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_client_open(NULL, 1000, getuid(), &c),
	    TK_ERR_INVAL);
	assert_null(c);
	tk_client_close(&c);	/* NULL-safe */
}

static void
test_call_ok(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;
	uint64_t u;

	srv_start(s, SRV_OK);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	assert_non_null(c);
	req = request();
	assert_int_equal(tk_client_call(c, req, &ans), 0);
	assert_int_equal(tk_msg_type(ans), TK_MSG_USER_STATUS);
	assert_int_equal(tk_msg_status(ans), TK_ST_OK);
	assert_int_equal(tk_msg_get_uint(ans, TK_KEY_FAILURES, &u), 0);
	assert_int_equal(u, 1);
	tk_msg_free(&ans);
	/* the connection carries a second call */
	assert_int_equal(tk_client_call(c, req, &ans), 0);
	assert_int_equal(tk_msg_get_uint(ans, TK_KEY_FAILURES, &u), 0);
	assert_int_equal(u, 2);
	tk_msg_free(&ans);
	tk_msg_free(&req);
	/* an answer is not a request */
	req = tk_msg_new_answer(TK_MSG_USER_STATUS, TK_ST_OK);
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_INVAL);
	assert_null(ans);
	tk_msg_free(&req);
	tk_client_close(&c);
	assert_null(c);
}

static void
test_other_type(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;

	srv_start(s, SRV_OTHER_TYPE);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	req = request();
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_PROTO);
	assert_null(ans);
	/* after an error the connection is gone */
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_CLOSED);
	tk_msg_free(&req);
	tk_client_close(&c);
}

static void
test_garbage(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;

	srv_start(s, SRV_GARBAGE);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	req = request();
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_PROTO);
	assert_null(ans);
	tk_msg_free(&req);
	tk_client_close(&c);
}

static void
test_version(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;

	srv_start(s, SRV_VERSION);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	req = request();
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_VERSION);
	assert_null(ans);
	tk_msg_free(&req);
	tk_client_close(&c);
}

static void
test_timeout(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;
	long t0, dt;

	srv_start(s, SRV_SILENT);
	assert_int_equal(tk_client_open(s->path, SILENT_MS, getuid(), &c), 0);
	req = request();
	t0 = now_ms();
	assert_int_equal(tk_client_call(c, req, &ans), TK_ERR_TIMEOUT);
	dt = now_ms() - t0;
	assert_true(dt >= SILENT_MS - 10 && dt < SLACK_MS);
	assert_null(ans);
	tk_msg_free(&req);
	tk_client_close(&c);	/* the server sees EOF and ends */
}

static void
test_hangup(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	tk_msg_t *req, *ans = NULL;
	int r;

	srv_start(s, SRV_HANGUP);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	pthread_join(s->th, NULL);
	s->running = false;
	req = request();
	/* the write may still succeed into the buffer; the read cannot */
	r = tk_client_call(c, req, &ans);
	assert_true(r == TK_ERR_CLOSED);
	assert_null(ans);
	tk_msg_free(&req);
	tk_client_close(&c);
}

/*
 * A listener running as another user.  Only root can make one; as
 * another user the socket's owner (us) is what we can make untrusted.
 */
static void
test_untrusted_peer(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;
	int p[2], fd, status;
	pid_t pid;
	char b;

	if (geteuid() != 0) {
		srv_start(s, SRV_OK);
		assert_int_equal(tk_client_open(s->path, 1000, (uid_t)-1, &c),
		    TK_ERR_UNTRUSTED);
		assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c),
		    0);
		tk_client_close(&c);
		return;
	}
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		/* the socket file is root's; the listener is nobody */
		fd = srv_bind(s, false);
		if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
		    listen(fd, 4) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	close(p[1]);
	assert_int_equal(read(p[0], &b, 1), 1);
	close(p[0]);
	assert_int_equal(tk_client_open(s->path, 1000, (uid_t)-1, &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
	assert_int_equal(tk_client_open(s->path, 1000, 1000, &c),
	    TK_ERR_UNTRUSTED);
	/* the same listener is fine when it is the daemon's user */
	assert_int_equal(tk_client_open(s->path, 1000, NOBODY, &c), 0);
	tk_client_close(&c);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_untrusted_owner(void **state)
{
	struct srv *s = *state;
	tk_client_t *c = NULL;

	srv_start(s, SRV_OK);
	if (geteuid() == 0)
		assert_int_equal(chown(s->path, NOBODY, NOBODY), 0);
	/* a socket file owned by someone else than root and the daemon */
	assert_int_equal(tk_client_open(s->path, 1000, (uid_t)-1, &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
	if (geteuid() == 0)
		assert_int_equal(chown(s->path, 0, 0), 0);
	assert_int_equal(tk_client_open(s->path, 1000, getuid(), &c), 0);
	tk_client_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_call_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_type, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_peer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_owner, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("client", tests, NULL, NULL));
}
