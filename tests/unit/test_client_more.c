/*
 * test_client_more.c -- tk_client_open() cases test_client.c does not
 * reach: a daemon whose listen backlog is full (AF_UNIX connect gives
 * EAGAIN and poll cannot wait for it: the client retries until its
 * deadline, then gives TK_ERR_TIMEOUT, not a hang and not a
 * connection), a socket path that does not fit sun_path, a relative
 * path, a negative timeout, a path that is not a socket, and a socket
 * owned by a uid that is neither root nor the daemon's.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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

#define FILLERS_MAX	256

struct fx {
	char	 dir[64];
	char	 path[96];
	int	 lfd;
	int	 fillers[FILLERS_MAX];
	int	 n_fillers;
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tk-client.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	f->lfd = -1;
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char other[160];
	int i;

	for (i = 0; i < f->n_fillers; i++)
		close(f->fillers[i]);
	if (f->lfd >= 0)
		close(f->lfd);
	(void)unlink(f->path);
	snprintf(other, sizeof(other), "%s/file", f->dir);
	(void)unlink(other);
	(void)rmdir(f->dir);
	free(f);
	return (0);
}

static int
listen_on(const char *path, int backlog)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	return (fd);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
test_full_backlog_times_out(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa;
	tk_client_t *c = (tk_client_t *)(uintptr_t)1;
	long long t0, took;
	int fd, r;

	f->lfd = listen_on(f->path, 0);	/* never accepts */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	/* fill the backlog until the kernel says EAGAIN */
	for (;;) {
		assert_true(f->n_fillers < FILLERS_MAX);
		assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		f->fillers[f->n_fillers++] = fd;
	}
	t0 = ms_now();
	r = tk_client_open(f->path, 300, (uid_t)-1, &c);
	took = ms_now() - t0;
	assert_int_equal(r, TK_ERR_TIMEOUT);
	assert_null(c);
	/* it waited for its deadline, and not much longer */
	assert_true(took >= 250);
	assert_true(took < 3000);
	/* with no time at all, the same answer at once */
	c = (tk_client_t *)(uintptr_t)1;
	assert_int_equal(tk_client_open(f->path, 0, (uid_t)-1, &c),
	    TK_ERR_TIMEOUT);
	assert_null(c);
}

static void
test_bad_arguments(void **state)
{
	struct fx *f = *state;
	tk_client_t *c = (tk_client_t *)(uintptr_t)1;
	char longp[200], other[160];
	int fd;

	assert_int_equal(tk_client_open("relative/sock", 100, (uid_t)-1, &c),
	    TK_ERR_INVAL);
	assert_null(c);
	assert_int_equal(tk_client_open(f->path, -1, (uid_t)-1, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_client_open(NULL, 100, (uid_t)-1, &c),
	    TK_ERR_INVAL);
	assert_int_equal(tk_client_open(f->path, 100, (uid_t)-1, NULL),
	    TK_ERR_INVAL);
	/* longer than sun_path */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(tk_client_open(longp, 100, (uid_t)-1, &c),
	    TK_ERR_INVAL);
	assert_null(c);
	/* a regular file where the socket should be */
	snprintf(other, sizeof(other), "%s/file", f->dir);
	assert_true((fd = open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0600))
	    >= 0);
	close(fd);
	assert_int_equal(tk_client_open(other, 100, (uid_t)-1, &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
}

static void
test_untrusted_owner(void **state)
{
	struct fx *f = *state;
	tk_client_t *c = (tk_client_t *)(uintptr_t)1;

	if (geteuid() != 0)
		skip();
	f->lfd = listen_on(f->path, 4);
	assert_int_equal(chown(f->path, 65534, 65534), 0);
	/* owned by nobody, and the daemon is not nobody: refused */
	assert_int_equal(tk_client_open(f->path, 100, (uid_t)-1, &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
	assert_int_equal(tk_client_open(f->path, 100, 1000, &c),
	    TK_ERR_UNTRUSTED);
	assert_null(c);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_backlog_times_out),
		T(test_bad_arguments),
		T(test_untrusted_owner),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
