/*
 * test_log.c -- the stderr sink (tokend -f, tokenadm): a line is
 * "ident: message\n", written whole in one write(2), so two processes
 * sharing one pipe (a journal, a log file) never interleave their
 * lines; an over-long line is cut and ends in "...".
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define LINES		2000	/* lines a writer */
#define LINE_BODY	3000	/* under PIPE_BUF with the prefix */
#define LONG_BODY	40000	/* over the sink's line limit */

/* runs fn(arg) in a child whose stderr is wfd; returns its pid */
static int
spawn_writer(void (*fn)(int), int arg, int wfd)
{
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(wfd, STDERR_FILENO) < 0)
			_exit(2);
		fn(arg);
		_exit(0);
	}
	return ((int)pid);
}

static void
write_lines(int c)
{
	char body[LINE_BODY + 1];
	int i;

	memset(body, c, LINE_BODY);
	body[LINE_BODY] = '\0';
	tk_log_to_stderr("tk");
	for (i = 0; i < LINES; i++)
		tk_log(LOG_INFO, "%s", body);
}

/* reads fd to EOF into a malloc'd buffer */
static char *
slurp(int fd, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	ssize_t r;
	char *buf, *grown;

	assert_non_null(buf = malloc(cap + 1));
	for (;;) {
		if (n == cap) {
			cap *= 2;
			assert_non_null(grown = realloc(buf, cap + 1));
			buf = grown;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return (buf);
}

/* two processes on one pipe: every line arrives whole */
static void
test_lines_do_not_interleave(void **state)
{
	char *buf, *p, *nl;
	size_t len, seen[2] = { 0, 0 }, i;
	int fds[2], st;
	pid_t a, b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	a = spawn_writer(write_lines, 'a', fds[1]);
	b = spawn_writer(write_lines, 'b', fds[1]);
	close(fds[1]);
	buf = slurp(fds[0], &len);
	close(fds[0]);
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(waitpid(b, &st, 0), b);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	assert_int_equal(len, 2 * LINES * (4 + LINE_BODY + 1));
	for (p = buf; p < buf + len; p = nl + 1) {
		assert_non_null(nl = memchr(p, '\n', (size_t)(buf + len - p)));
		assert_int_equal(nl - p, 4 + LINE_BODY);
		assert_memory_equal(p, "tk: ", 4);
		assert_true(p[4] == 'a' || p[4] == 'b');
		for (i = 0; i < LINE_BODY; i++)
			if (p[4 + i] != p[4])
				fail_msg("line mixes two writers at %zu", i);
		seen[p[4] - 'a']++;
	}
	assert_int_equal(seen[0], LINES);
	assert_int_equal(seen[1], LINES);
	free(buf);
}

static void
write_long(int c)
{
	char *body;

	if ((body = malloc(LONG_BODY + 1)) == NULL)
		_exit(3);
	memset(body, c, LONG_BODY);
	body[LONG_BODY] = '\0';
	tk_log_to_stderr("tk");
	tk_log(LOG_INFO, "%s", body);
	tk_log(LOG_INFO, "after %d", 42);
	free(body);
}

/* an over-long line is cut, marked, and the next line is intact */
static void
test_long_line_is_cut(void **state)
{
	char *buf, *nl;
	size_t len;
	int fds[2], st;
	pid_t a;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	a = spawn_writer(write_long, 'x', fds[1]);
	close(fds[1]);
	buf = slurp(fds[0], &len);
	close(fds[0]);
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	assert_non_null(nl = memchr(buf, '\n', len));
	assert_true((size_t)(nl - buf) < LONG_BODY);
	assert_memory_equal(nl - 3, "...", 3);
	assert_memory_equal(buf, "tk: xxx", 7);
	assert_string_equal(nl + 1, "tk: after 42\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_do_not_interleave),
		cmocka_unit_test(test_long_line_is_cut),
	};

	return (cmocka_run_group_tests_name("log", tests, NULL, NULL));
}
