/*
 * testdir.c -- private temporary directories for the store tests.
 */
#include "config.h"

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testdir.h"

#define TK_TESTDIR_FDS	16	/* descriptors nftw may hold open */

int
tk_testdir_make(char *dir, size_t dirlen)
{
	const char *tmp;
	int n;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	n = snprintf(dir, dirlen, "%s/tokend-test.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= dirlen)
		return (-1);
	if (mkdtemp(dir) == NULL)
		return (-1);
	return (0);
}

static int
remove_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	/* a test may have left a directory without write permission */
	if (type == FTW_DP)
		(void)chmod(path, 0700);
	(void)remove(path);
	return (0);
}

void
tk_testdir_remove(const char *dir)
{
	if (dir == NULL || *dir == '\0')
		return;
	(void)chmod(dir, 0700);
	(void)nftw(dir, remove_one, TK_TESTDIR_FDS, FTW_DEPTH | FTW_PHYS);
}

void
tk_testdir_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n;

	n = snprintf(out, outlen, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outlen) {
		fprintf(stderr, "test path too long: %s/%s\n", dir, name);
		exit(1);
	}
}
