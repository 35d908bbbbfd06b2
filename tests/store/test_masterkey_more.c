/*
 * test_masterkey_more.c -- the master key file refusals test_seal.c does
 * not reach: missing arguments, no error buffer, a path through a
 * regular file (ENOTDIR) or too long, a key a non-root uid may not read
 * (EACCES, in a child that drops to uid 65534 when run as root), a
 * directory, and a derivation with no output.  Each refusal gives no key
 * and the message names the problem.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "seal.h"
#include "testdir.h"

#define NOBODY_UID	65534

struct fx {
	char	 dir[TK_TESTDIR_PATH_MAX];
	char	 path[TK_TESTDIR_PATH_MAX];
	char	 err[512];
};

static int
setup(void **state)
{
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if (tk_testdir_make(f->dir, sizeof(f->dir)) != 0) {
		free(f);
		return (-1);
	}
	tk_testdir_join(f->path, sizeof(f->path), f->dir, "master.key");
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tk_testdir_remove(f->dir);
	free(f);
	return (0);
}

static void
write_key(const char *path, mode_t mode)
{
	unsigned char raw[TK_MASTER_KEY_BYTES];
	int fd;

	randombytes_buf(raw, sizeof(raw));
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) >= 0);
	assert_int_equal(write(fd, raw, sizeof(raw)), (ssize_t)sizeof(raw));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* loads path, which must be refused with `want' and a message with `needle' */
static void
refused(struct fx *f, const char *path, int want, const char *needle)
{
	tk_master_key_t *k = (tk_master_key_t *)(uintptr_t)1;

	f->err[0] = 'x';
	assert_int_equal(tk_master_key_load(path, &k, f->err, sizeof(f->err)),
	    want);
	assert_null(k);
	if (strstr(f->err, needle) == NULL)
		print_error("message: %s (wanted %s)\n", f->err, needle);
	assert_non_null(strstr(f->err, needle));
}

static void
test_missing_arguments(void **state)
{
	struct fx *f = *state;
	tk_master_key_t *k = (tk_master_key_t *)(uintptr_t)1;
	unsigned char out[TK_AUDIT_KEY_BYTES];

	assert_int_equal(tk_master_key_load(NULL, &k, f->err, sizeof(f->err)),
	    TK_ERR_INVAL);
	assert_null(k);
	assert_string_equal(f->err, "no master key path");
	write_key(f->path, 0400);
	assert_int_equal(tk_master_key_load(f->path, NULL, f->err,
	    sizeof(f->err)), TK_ERR_INVAL);
	/* no error buffer: the same refusal, nothing written */
	assert_int_equal(tk_master_key_load(NULL, &k, NULL, 0), TK_ERR_INVAL);
	assert_int_equal(tk_master_key_load(NULL, &k, f->err, 0),
	    TK_ERR_INVAL);
	/* a loaded key derives, but not into nothing */
	assert_int_equal(tk_master_key_load(f->path, &k, NULL, 0), 0);
	assert_non_null(k);
	assert_int_equal(tk_master_key_derive(k, 1, "tkaudit1", NULL),
	    TK_ERR_INVAL);
	assert_int_equal(tk_master_key_derive(k, 1, "tkaudit1", out), 0);
	tk_master_key_free(&k);
	assert_null(k);
}

static void
test_bad_paths(void **state)
{
	struct fx *f = *state;
	char path[TK_TESTDIR_PATH_MAX + 16], *longp;
	size_t n;

	write_key(f->path, 0400);
	/* through a regular file: ENOTDIR, an I/O error naming the path */
	snprintf(path, sizeof(path), "%s/key", f->path);
	refused(f, path, TK_ERR_IO, path);
	/* a name longer than PATH_MAX */
	n = PATH_MAX + 64;
	assert_non_null(longp = malloc(n + 1));
	memset(longp, 'k', n);
	longp[0] = '/';
	longp[n] = '\0';
	refused(f, longp, TK_ERR_IO, "/kkkk");	/* cut to the buffer */
	free(longp);
	/* a directory opens, but is not a regular file */
	refused(f, f->dir, TK_ERR_PERM, "not a regular file");
	/* a truncated error buffer still holds the start of the message */
	f->err[0] = '\0';
	{
		tk_master_key_t *k = NULL;
		char small[8];

		assert_int_equal(tk_master_key_load(f->dir, &k, small,
		    sizeof(small)), TK_ERR_PERM);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		assert_memory_equal(small, f->dir, sizeof(small) - 1);
	}
}

static void
test_permission_denied(void **state)
{
	struct fx *f = *state;
	char sub[TK_TESTDIR_PATH_MAX], key[TK_TESTDIR_PATH_MAX];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	tk_testdir_join(sub, sizeof(sub), f->dir, "private");
	assert_int_equal(mkdir(sub, 0700), 0);
	tk_testdir_join(key, sizeof(key), sub, "master.key");
	write_key(key, 0400);
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tk_master_key_t *k = NULL;
		char err[512];
		int r;

		if (setgid(NOBODY_UID) != 0 || setuid(NOBODY_UID) != 0)
			_exit(2);
		r = tk_master_key_load(key, &k, err, sizeof(err));
		_exit(r == TK_ERR_PERM && k == NULL &&
		    strstr(err, "permission denied") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_missing_arguments),
		T(test_bad_paths),
		T(test_permission_denied),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
