/*
 * testdir.h -- a private temporary directory for one test case.
 */
#ifndef TK_TESTDIR_H
#define TK_TESTDIR_H

#include <stddef.h>

#define TK_TESTDIR_PATH_MAX	4096

/*
 * Creates a fresh mode-0700 directory under $TMPDIR (or /tmp) and writes
 * its path to dir[dirlen].  Returns 0 or -1.
 */
int tk_testdir_make(char *dir, size_t dirlen);
/* Removes `dir' and everything below it (no symlink is followed). */
void tk_testdir_remove(const char *dir);
/* dir/name into out[outlen]; aborts the test program if it does not fit */
void tk_testdir_join(char *out, size_t outlen, const char *dir,
    const char *name);

#endif /* TK_TESTDIR_H */
